"""A rejected step changes nothing, in every env (issue 22, "bad input, at the call").

For each env (ParallelEnv, AEC, central view also through ``gymnasium.make``, vector env, central
vector env), a snapshot of the whole object graph (every array, RNG state, list and flag reachable
from the env) is taken before a malformed action, the action must raise a ``ValueError`` that
names what is wrong, and the snapshot after it must be equal. The rest of the episode then equals
that of a twin env that never saw the bad action, under a deterministic policy (the first pending
task that fits, at its minimal allocation).
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

import edgesched_env
from edgesched_env.testing import assert_same

PRESET = "tapfinger-synthetic"
SMALL = {"num_tasks": 6}
N, P, WIDTH = 3, 10, 3  # clusters, pending positions, 1 + R of the preset
NAN = float("nan")

# --------------------------------------------------------------------------------- the snapshot


def state_tree(obj: Any, seen: set[int] | None = None) -> Any:
    """Every piece of mutable state reachable from ``obj``, as nested dicts, lists and arrays.

    Arrays are copied; a ``numpy.random.Generator`` becomes its bit generator's state; objects
    become the dict of their attributes (``__dict__`` and ``__slots__``). An object reached a
    second time (a cycle or a shared reference) is recorded by its type only.
    """
    seen = set() if seen is None else seen
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, np.generic)):
        return obj
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if id(obj) in seen:
        return f"<seen {type(obj).__name__}>"
    seen.add(id(obj))
    if isinstance(obj, np.random.Generator):
        return {"bit_generator": obj.bit_generator.state}
    if isinstance(obj, dict):
        return {repr(k): state_tree(v, seen) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [state_tree(v, seen) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(map(repr, obj))
    if callable(obj) and not hasattr(obj, "__dict__"):  # builtins, bound C methods
        return f"<callable {type(obj).__name__}>"
    attrs: dict[str, Any] = {}
    if hasattr(obj, "__dict__"):
        attrs.update(vars(obj))
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(obj, name):
                attrs[name] = getattr(obj, name)
    if dataclasses.is_dataclass(obj) and not attrs:
        attrs = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return {"__type__": type(obj).__name__, **{k: state_tree(v, seen) for k, v in attrs.items()}}


def assert_rejected(env: Any, step: Callable[[Any], Any], action: Any, pattern: str) -> None:
    """``step(action)`` raises a ``ValueError`` matching ``pattern`` and ``env`` is unchanged."""
    before = state_tree(env)
    before_bytes = pickle.dumps(env)
    with pytest.raises(ValueError, match=pattern):
        step(action)
    assert_same(state_tree(env), before)
    assert pickle.dumps(env) == before_bytes


# -------------------------------------------------------------------------------------- policy


def first_fit(alloc_mask: np.ndarray) -> np.ndarray:
    """``(..., P, R, L)`` -> ``(..., 1 + R)``: the first pending task that fits now, at the lowest
    feasible level of each resource; the no-op (``P``, zeros) when none fits."""
    alloc = np.asarray(alloc_mask).astype(bool)
    p = alloc.shape[-3]
    fits = alloc[..., 0, :].any(axis=-1)  # (..., P)
    slot = np.where(fits.any(axis=-1), np.argmax(fits, axis=-1), p)
    chosen = np.take_along_axis(alloc, np.minimum(slot, p - 1)[..., None, None, None], axis=-3)[..., 0, :, :]
    units = np.argmax(chosen, axis=-1)  # (..., R)
    units[slot == p] = 0
    return np.concatenate([slot[..., None], units], axis=-1).astype(np.int64)


# ----------------------------------------------------------------------------- the bad actions

# (bad action of one agent, pattern of the error); every one also a numpy array where it can be
ONE_AGENT_BAD = [
    (np.array([0, 1]), r"action of cluster_\d must have shape \(3,\).*got shape \(2,\)"),
    ([0, 1, 2, 3], r"action of cluster_\d must have shape \(3,\).*got shape \(4,\)"),
    ([[0, 1, 1]], r"action of cluster_\d must have shape \(3,\)"),
    ([P + 1, 1, 1], r"action of cluster_\d: component 0 \(slot\) = 11 is out of range \[0, 10\]"),
    ([0, 17, 1], r"action of cluster_\d: component 1 \(cpu\) = 17 is out of range \[0, 16\]"),
    ([0, 1, -1], r"action of cluster_\d: component 2 \(gpu\) = -1 is out of range \[0, 16\]"),
    ([0, 0.5, 1], r"action of cluster_\d: component 1 \(cpu\) = 0.5 is not an integer"),
    (0.5, r"action of cluster_\d must have shape \(3,\)"),
    ("x", r"action of cluster_\d must have shape \(3,\)"),
    (["0", "1", "1"], r"action of cluster_\d must be integers, got dtype <U1"),
    ([0, NAN, 1], r"action of cluster_\d: component 1 \(cpu\) = nan is not an integer"),
    ([[0], [1, 2], 3], r"action of cluster_\d is not an array of integers"),
    (None, r"action of cluster_\d is None, but cluster_\d is alive"),
    (np.array([0, 2**40, 1]), r"component 1 \(cpu\) = 1099511627776 is out of range"),
]


def _make_parallel() -> Any:
    return edgesched_env.parallel_env(PRESET, **SMALL)


def _advance_parallel(env: Any, steps: int) -> dict[str, Any]:
    obs, _ = env.reset(seed=3)
    for _ in range(steps):
        obs, *_ = env.step({a: first_fit(obs[a]["alloc_mask"]) for a in env.agents})
    return obs


def _run_parallel(env: Any, obs: dict[str, Any]) -> list[Any]:
    """The rest of the episode under :func:`first_fit`: every step's outputs."""
    out = []
    while env.agents:
        step = env.step({a: first_fit(obs[a]["alloc_mask"]) for a in env.agents})
        obs = step[0]
        out.append(step)
    return out


@pytest.mark.parametrize("steps", [0, 4])
@pytest.mark.parametrize("agent", [0, 2])
@pytest.mark.parametrize(("bad", "pattern"), ONE_AGENT_BAD)
def test_parallel_env_rejected_step_changes_nothing(bad, pattern, agent, steps):
    env, twin = _make_parallel(), _make_parallel()
    obs, twin_obs = _advance_parallel(env, steps), _advance_parallel(twin, steps)
    good = {a: first_fit(obs[a]["alloc_mask"]) for a in env.agents}
    assert_rejected(env, env.step, {**good, f"cluster_{agent}": bad}, pattern.replace(r"\d", str(agent)))
    assert_same(_run_parallel(env, obs), _run_parallel(twin, twin_obs))


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda acts: {k: v for k, v in acts.items() if k != "cluster_1"}, r"missing action.*cluster_1"),
        (lambda acts: {**acts, "cluster_9": acts["cluster_0"]}, r"unknown or finished agent.*cluster_9"),
        (lambda acts: {**acts, "custer_0": acts["cluster_0"]}, r"unknown or finished agent.*custer_0"),
        (lambda acts: list(acts.values()), r"actions must be a dict from agent name to action, got list"),
        (lambda acts: np.stack(list(acts.values())), r"actions must be a dict .* got ndarray"),
    ],
)
def test_parallel_env_rejects_missing_and_extra_agents_and_changes_nothing(change, pattern):
    env, twin = _make_parallel(), _make_parallel()
    obs, twin_obs = _advance_parallel(env, 2), _advance_parallel(twin, 2)
    good = {a: first_fit(obs[a]["alloc_mask"]) for a in env.agents}
    assert_rejected(env, env.step, change(good), pattern)
    assert_same(_run_parallel(env, obs), _run_parallel(twin, twin_obs))


@pytest.mark.parametrize(
    ("overrides", "bad", "pattern"),
    [
        ({"mode": "multi", "max_picks": 2}, [0, 1, 1], r"must have shape \(6,\)"),
        ({"mode": "multi", "max_picks": 2}, [0, 1, 1, 11, 1, 1], r"component 3 \(pick1.slot\) = 11"),
        ({"action_format": "discrete"}, [1, 2], r"must be one integer \(action_format='discrete'\)"),
        ({"action_format": "discrete"}, 0.5, r"action of cluster_1 = 0.5 is not an integer"),
        ({"action_format": "discrete"}, 10**9, r"action of cluster_1 = 1000000000 is out of range"),
        ({"action_format": "discrete"}, None, r"action of cluster_1 is None"),
    ],
)
def test_parallel_env_other_interfaces_reject_and_change_nothing(overrides, bad, pattern):
    def make() -> Any:
        return edgesched_env.parallel_env(PRESET, **SMALL, **overrides)

    def act(env: Any, obs: dict[str, Any]) -> dict[str, Any]:
        if overrides.get("action_format") == "discrete":
            return dict.fromkeys(env.agents, 0)  # code 0: the no-op
        return {a: np.tile(first_fit(obs[a]["alloc_mask"]), overrides["max_picks"]) for a in env.agents}

    env, twin = make(), make()
    obs, _ = env.reset(seed=5)
    twin_obs, _ = twin.reset(seed=5)
    assert_rejected(env, env.step, {**act(env, obs), "cluster_1": bad}, pattern)
    for _ in range(5):
        assert_same(env.step(act(env, obs)), twin.step(act(twin, twin_obs)))


# -------------------------------------------------------------------------------------- AEC env


def _aec_run(env: Any, limit: int = 100_000) -> list[Any]:
    """The rest of the AEC episode under :func:`first_fit`: ``last()`` and the state after each step."""
    out = []
    for agent in env.agent_iter(limit):
        obs, rew, term, trunc, info = env.last()
        env.step(None if term or trunc else first_fit(obs["alloc_mask"]))
        out.append((agent, obs, rew, term, trunc, info, env.unwrapped.state()))
    return out


def _aec_at(position: int, cycles: int) -> Any:
    env = edgesched_env.env(PRESET, **SMALL)
    env.reset(seed=7)
    for _ in range(cycles * N + position):  # to the given agent of the given cycle
        obs, *_ = env.last()
        env.step(first_fit(obs["alloc_mask"]))
    return env


@pytest.mark.parametrize("cycles", [0, 3])
@pytest.mark.parametrize("position", [0, 1, N - 1])  # first agent, one in between, the last one
@pytest.mark.parametrize(("bad", "pattern"), ONE_AGENT_BAD)
def test_aec_env_rejects_a_bad_action_at_that_step_and_the_episode_goes_on(bad, pattern, position, cycles):
    env, twin = _aec_at(position, cycles), _aec_at(position, cycles)
    agent = env.agent_selection
    assert agent == f"cluster_{position}"
    assert_rejected(env, env.step, bad, pattern.replace(r"\d", str(position)))
    assert env.agent_selection == agent  # the same agent acts again, validly
    rest, twin_rest = _aec_run(env), _aec_run(twin)
    assert rest and any(step[3] for step in rest)  # the episode went on to its end
    assert_same(rest, twin_rest)


def test_aec_env_a_done_agent_must_pass_none():
    env = edgesched_env.env(PRESET, **SMALL)
    env.reset(seed=1)
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        if term or trunc:
            assert_rejected(env, env.step, [P, 0, 0], rf"{agent} is done .*its action must be None")
            env.step(None)
        else:
            env.step(first_fit(obs["alloc_mask"]))
    assert not env.agents


# --------------------------------------------------------------------------------- central views

JOINT_BAD = [
    (np.zeros(N * WIDTH - 1, dtype=np.int64), r"joint action must have shape \(9,\), got \(8,\)"),
    (np.zeros((N, WIDTH), dtype=np.int64), r"joint action must have shape \(9,\), got \(3, 3\)"),
    ([P, 0, 0] * (N - 1) + [P + 1, 0, 0], r"action of cluster_2: component 0 \(slot\) = 11 is out of range"),
    ([P, 0, 0] * (N - 1) + [P, 0.5, 0], r"action of cluster_2: component 1 \(cpu\) = 0.5 is not an integer"),
    ([P, 0, 0] * (N - 1) + [P, NAN, 0], r"action of cluster_2: component 1 \(cpu\) = nan is not an integer"),
    (0.5, r"joint action must have shape \(9,\), got \(\)"),
    ("x" * 9, r"joint action must have shape \(9,\), got \(\)"),
    (["0"] * 9, r"action of cluster_0 must be integers, got dtype <U1"),
    ([[0, 1], [2]], r"joint action .* is not an array of integers"),
    (None, r"joint action must have shape \(9,\), got \(\)"),
]


def _central(maker: str) -> Any:
    if maker == "gymnasium.make":
        return gymnasium.make("edgesched/EdgeSchedCentral-v1", preset=PRESET, **SMALL)
    from edgesched_env.central_env import CentralEdgeSchedEnv

    return CentralEdgeSchedEnv(PRESET, **SMALL)


def _central_run(env: Any, obs: dict[str, Any], limit: int = 10_000) -> list[Any]:
    out = []
    for _ in range(limit):
        step = env.step(first_fit(obs["alloc_mask"]).reshape(-1))
        obs = step[0]
        out.append(step)
        if step[2] or step[3]:
            break
    return out


@pytest.mark.parametrize("maker", ["class", "gymnasium.make"])
@pytest.mark.parametrize(("bad", "pattern"), JOINT_BAD)
def test_central_env_rejected_step_changes_nothing(bad, pattern, maker):
    env, twin = _central(maker), _central(maker)
    obs, _ = env.reset(seed=11)
    twin_obs, _ = twin.reset(seed=11)
    for _ in range(3):
        obs = env.step(first_fit(obs["alloc_mask"]).reshape(-1))[0]
        twin_obs = twin.step(first_fit(twin_obs["alloc_mask"]).reshape(-1))[0]
    assert_rejected(env, env.step, bad, pattern)
    rest = _central_run(env, obs)
    assert rest[-1][2]  # terminated
    assert_same(rest, _central_run(twin, twin_obs))


# ---------------------------------------------------------------------------------- vector envs

E = 2
VECTOR_BAD = [
    (np.zeros((E, N), dtype=np.int64), r"actions must have shape \(num_envs, num_agents, len\(nvec\)\)"),
    (np.zeros((E, N, WIDTH + 1), dtype=np.int64), r"= \(2, 3, 3\), got \(2, 3, 4\)"),
    (np.full((E, N, WIDTH), P + 1), r"action of episode 0, cluster_0: component 0 = 11 is out of range"),
    (np.full((E, N, WIDTH), 0.5), r"action of episode 0, cluster_0: component 0 = 0.5 is not an integer"),
    (np.full((E, N, WIDTH), NAN), r"action of episode 0, cluster_0: component 0 = nan is not an integer"),
    (np.full((E, N, WIDTH), "0"), r"actions must be integers, got dtype <U1"),
    (0.5, r"got \(\)"),
    ("x", r"got \(\)"),
    ([[[0, 0]], [[0]]], r"actions .* is not an array of integers"),
]


def _vector_run(venv: Any, obs: dict[str, Any], steps: int) -> list[Any]:
    out = []
    for _ in range(steps):
        step = venv.step(first_fit(obs["alloc_mask"]))
        obs = step[0]
        out.append(step)
    return out


@pytest.mark.parametrize(("bad", "pattern"), VECTOR_BAD)
def test_vector_env_rejected_step_changes_nothing(bad, pattern):
    venv, twin = (edgesched_env.vector_env(PRESET, num_envs=E, **SMALL) for _ in range(2))
    obs, _ = venv.reset(seed=13)
    twin_obs, _ = twin.reset(seed=13)
    obs, twin_obs = _vector_run(venv, obs, 3)[-1][0], _vector_run(twin, twin_obs, 3)[-1][0]
    assert_rejected(venv, venv.step, bad, pattern)
    rest = _vector_run(venv, obs, 60)
    assert any(step[2].any() for step in rest)  # an episode ended (and was reset) on the way
    assert_same(rest, _vector_run(twin, twin_obs, 60))


def _central_vector() -> Any:
    return gymnasium.make_vec(
        "edgesched/EdgeSchedCentral-v1",
        num_envs=E,
        vectorization_mode="vector_entry_point",
        preset=PRESET,
        **SMALL,
    )


@pytest.mark.parametrize(
    ("bad", "pattern"),
    [
        (
            np.zeros((E, N * WIDTH - 1), dtype=np.int64),
            r"joint actions must have shape \(2, 9\), got \(2, 8\)",
        ),
        (np.full((E, N * WIDTH), P + 1), r"action of episode 0, cluster_0: component 0 = 11 is out of range"),
        (np.full((E, N * WIDTH), 0.5), r"= 0.5 is not an integer"),
        (np.full((E, N * WIDTH), NAN), r"= nan is not an integer"),
        ("x", r"joint actions must have shape \(2, 9\), got \(\)"),
    ],
)
def test_central_vector_env_rejected_step_changes_nothing(bad, pattern):
    venv, twin = _central_vector(), _central_vector()
    obs, _ = venv.reset(seed=17)
    twin_obs, _ = twin.reset(seed=17)
    assert isinstance(venv.single_action_space, spaces.MultiDiscrete)
    assert_rejected(venv, venv.step, bad, pattern)

    def run(v: Any, o: dict[str, Any]) -> list[Any]:
        out = []
        for _ in range(40):
            step = v.step(first_fit(o["alloc_mask"]).reshape(E, -1))
            o = step[0]
            out.append(step)
        return out

    assert_same(run(venv, obs), run(twin, twin_obs))
