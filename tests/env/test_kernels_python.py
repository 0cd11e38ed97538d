"""The kernels' plain Python (what runs without numba) against the compiled kernels.

The simulator and the observation builder are driven with random picks (no-ops, empty positions,
requests beyond the largest level), random elastic resizes and preemptions, partial resets and
truncations, once with the compiled kernels and once with each kernel's ``py_func`` (the same
code, run by the interpreter, as with ``EDGESCHED_NO_NUMBA=1``): every outcome, reward,
observation, global state and state field must be bit-identical. Then the kernels' annotations
(for mypy) are checked against the argument types numba compiled them for.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from edgesched_env.observation import ObservationBuilder
from edgesched_env.presets import make_config
from edgesched_env.sim import kernels as K
from edgesched_env.sim.core import RUNNING, Simulator
from edgesched_env.sim.state import Packed, PickOutcome, StateArrays

numba = pytest.importorskip("numba")
if not K.HAVE_NUMBA:  # pragma: no cover - numba installed but disabled (EDGESCHED_NO_NUMBA)
    pytest.skip("the kernels are plain Python already", allow_module_level=True)

Record = list[tuple[str, NDArray[Any]]]

#: (preset, overrides, batch, rounds): between them every branch of every kernel
SCENARIOS = {
    # clipped picks, the capacity rule, noisy progress, queues (2 pending positions), preemption
    # (tasks of (3, 3) at least: 5 rows per cluster, so preempted tasks leave some without a row)
    "single-clip-capacity": (
        "tapfinger-sjf",
        {"num_tasks": 40, "max_pending": 2, "progress_noise": 0.2, "arrival_rate": 3.0, "max_slots": 30},
        3,
        160,
    ),
    # infeasible picks become no-ops, random conflict rule (ties drawn), multi-task mode, idle skips
    "multi-noop-random": (
        "tapfinger-synthetic",
        {
            "num_tasks": 30,
            "infeasible": "noop",
            "conflict_rule": "random",
            "mode": "multi",
            "max_picks": 2,
            "skip_idle": True,
            "arrival_rate": 0.3,
        },
        2,
        90,
    ),
}


def _dispatchers() -> dict[str, Any]:
    return {name: f for name, f in vars(K).items() if isinstance(f, numba.core.dispatcher.Dispatcher)}


def _random_resizes(sim: Simulator, rng: np.random.Generator, record: Record) -> None:
    """Now and then grow, shrink or preempt a running task of each episode (the elastic API)."""
    st = sim.state
    for b in range(sim.batch_size):
        running = np.flatnonzero(st.status[b] == RUNNING)
        if running.shape[0] == 0 or rng.random() > 0.4:
            continue
        task = int(running[rng.integers(running.shape[0])])
        host = int(st.host[b, task])
        avail = st.free[b, host] + st.alloc[b, task]
        low = st.min_request[b, task]
        high = np.minimum(avail, sim.max_level)
        if rng.random() < 0.5 or (low > high).any():
            units = np.zeros(sim.num_resources, dtype=np.int64)  # preempt
        else:
            units = rng.integers(low, high + 1)
        sim.resize(b, task, units)
        record.append(("resize", np.array([b, task, *units.tolist()])))


def _drive(preset: str, overrides: dict[str, Any], batch: int, rounds: int) -> Record:
    """Everything the kernels computed in a random run (the same for the same arguments)."""
    config = make_config(preset, **overrides)
    sim = Simulator(config, batch_size=batch, record_history=True)
    builder = ObservationBuilder(config)
    seeds = iter(range(10_000))
    sim.reset([np.random.default_rng(next(seeds)) for _ in range(batch)])
    rng = np.random.default_rng(1234)
    n, p, r = sim.num_clusters, sim.max_pending, sim.num_resources
    picks = config.max_picks if config.mode == "multi" else 1
    record: Record = []
    for step in range(rounds):
        active = rng.random(batch) < 0.85
        pick = rng.integers(0, p + 1, size=(batch, n, picks))
        request = rng.integers(0, sim.max_level + 3, size=(batch, n, picks, r))
        request[rng.random((batch, n, picks)) < 0.1] = 0  # all-zero units: a no-op
        if config.mode == "single":
            out, slot_over = sim.play_round(pick[:, :, 0], request[:, :, 0], active)
            outs = [out]
            record.append(("slot_over", slot_over))
            ending = slot_over
        else:
            outs = sim.play_multi(pick, request, active)
            ending = active
        for k, out in enumerate(outs):
            for name in out._fields:
                record.append((f"{step}.{k}.{name}", getattr(out, name)))
        local, glob = sim.end_slot(ending)
        record += [("local", local), ("global", glob)]
        _random_resizes(sim, rng, record)
        for key, arr in sorted(builder.batch(sim).items()):
            record.append((key, arr))
        record.append(("state", builder.state_batch(sim)))
        record += [("queue_len", sim.state.queue_len.copy()), ("hidden", sim.state.run_hidden.copy())]
        done = np.flatnonzero(sim.terminated | sim.truncated).tolist()
        if done:
            sim.reset_episodes(done, [np.random.default_rng(next(seeds)) for _ in done])
    for f in dataclasses.fields(sim.state):
        record.append((f.name, getattr(sim.state, f.name)))
    record += [("in_system", np.array(h)) for h in sim.hist_in_system]
    return record


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_python_kernels_are_bit_identical_to_the_compiled_ones(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = _drive(*SCENARIOS[scenario])
    dispatchers = _dispatchers()
    assert len(dispatchers) >= 10
    for name, f in dispatchers.items():
        # a kernel calls another through the module's globals: it gets the Python one as well
        monkeypatch.setattr(K, name, f.py_func)
    python = _drive(*SCENARIOS[scenario])
    assert [k for k, _ in python] == [k for k, _ in compiled]
    for (key, a), (_, b) in zip(compiled, python):
        assert a.dtype == b.dtype and a.shape == b.shape, key
        assert a.tobytes() == b.tobytes(), key


def test_the_random_run_reaches_the_rare_paths() -> None:
    """The scenarios above exercise what they are meant to (else the comparison proves little)."""
    record = _drive(*SCENARIOS["single-clip-capacity"])
    values = dict(record)
    assert sum(1 for k, _ in record if k == "resize") > 10
    assert any(a.any() for k, a in record if k == "hidden")  # preempted tasks without a row
    assert any(a.any() for k, a in record if k == "queue_len")
    clipped = sum(int(a.sum()) for k, a in record if k.endswith(".clipped"))
    conflicts = sum(int(a.sum()) for k, a in record if k.endswith(".conflict"))
    assert clipped > 0 and conflicts > 0
    assert values["num_completed"].sum() > 0
    multi = _drive(*SCENARIOS["multi-noop-random"])
    infeasible = sum(int(a.sum()) for k, a in multi if k.endswith(".infeasible"))
    assert infeasible > 0 and dict(multi)["idle_skipped"].sum() > 0


def _dtype_of(hint: Any) -> np.dtype[Any]:
    """``NDArray[np.int64]`` -> ``dtype('int64')``."""
    dtype_alias = typing.get_args(hint)[1]
    return np.dtype(typing.get_args(dtype_alias)[0])


#: the struct each packed parameter (``Packed``: a plain tuple) of a kernel holds, by name
PACKED = {
    "state": StateArrays,
    "sim": K.SimConsts,
    "obs": K.ObsConsts,
    "outcome": PickOutcome,
    "gathered": K.Gathered,
    "out": K.ObsBlocks,
    "exact": K.ExactBlocks,
}


def _matches(hint: Any, compiled: Any) -> bool:
    types = numba.core.types
    if isinstance(hint, type) and issubclass(hint, tuple):  # a struct: a (named) tuple of fields
        fields = list(typing.get_type_hints(hint).values())
        return (
            isinstance(compiled, types.BaseTuple)
            and len(compiled) == len(fields)
            and all(_matches(h, t) for h, t in zip(fields, compiled))
        )
    if hint is bool:
        return isinstance(compiled, types.Boolean)
    if hint is int:
        return isinstance(compiled, types.Integer)
    if hint is float:
        return isinstance(compiled, types.Float)
    if not isinstance(compiled, types.Array):
        return False
    return numba.np.numpy_support.as_dtype(compiled.dtype) == _dtype_of(hint)


#: kernels only called by other kernels: numba records no signature of their own for them (mypy
#: checks the calls against the callers' annotations, which the test below checks)
INNER = {
    "_ratio",
    "_lose",
    "_show_hidden",
    "_arrive",
    "_cluster_row",
    "_task_row",
    "_running_block",
    "_exact_rows",
    "_holds",
    "decode_picks",  # phases 1-2: called by play_picks
    "resolve_conflicts",
}


def test_kernel_annotations_match_the_compiled_argument_types() -> None:
    _drive(*SCENARIOS["single-clip-capacity"])
    _drive(*SCENARIOS["multi-noop-random"])
    K.capacity_ratio(np.zeros((2, 2), np.int64), np.ones((2, 2), np.int64))  # called from Python only
    # the exact blocks alone (the envs get them from observe)
    config = make_config("tapfinger-sjf")
    sim = Simulator(config)
    sim.reset([np.random.default_rng(0)])
    batch = ObservationBuilder(config).batch(sim)
    exact = tuple(np.empty_like(batch[k]) for k in K.EXACT_BLOCKS)
    K.observe_exact(np.ones(1, dtype=bool), sim.state.packed(), exact)
    assert all(np.array_equal(a, batch[k]) for a, k in zip(exact, K.EXACT_BLOCKS, strict=True))
    # every kernel the envs call is compiled by these two drives; the inner ones (called only
    # from other kernels) may also have been compiled from Python by another test of the process
    never = {name for name, f in _dispatchers().items() if not f.signatures}
    assert never <= INNER, never - INNER
    for name, f in _dispatchers().items():
        hints = typing.get_type_hints(f.py_func)
        params = [PACKED[k] if h == Packed else h for k, h in hints.items() if k != "return"]
        for sig in f.signatures:
            assert len(sig) == len(params), name
            bad = [(h, t) for h, t in zip(params, sig) if not _matches(h, t)]
            assert not bad, f"{name}: annotation vs compiled type {bad}"


def test_the_annotation_check_can_fail() -> None:
    types = numba.core.types
    i64 = typing.get_type_hints(StateArrays)["free"]
    assert _matches(i64, types.Array(types.int64, 3, "C"))
    assert not _matches(i64, types.Array(types.float64, 3, "C"))
    assert not _matches(i64, types.int64)
    assert not _matches(bool, types.int64) and not _matches(float, types.int64)
    consts = numba.typeof(tuple(Simulator(make_config("tapfinger-sjf")).consts))
    assert _matches(K.SimConsts, consts)
    assert not _matches(K.SimConsts, types.UniTuple(types.int64, len(K.SimConsts._fields)))
    assert not _matches(K.Gathered, consts)
