"""The monotone duration model of the estimation-based heuristics, and their strength."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.baselines import make_scheduler
from agents.baselines._common import DurationModel, TaskTracker, box_grid
from agents.baselines._monotone import MonotoneDurationModel
from agents.baselines.oracle import OracleDurations
from agents.evaluate import evaluate
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.presets import preset_names

NAMES3 = ("cpu", "gpu", "mem")
MAX3 = np.array([16, 4, 16])


def tracker(samples: list[tuple[int, np.ndarray, float, int]], r: int = 3) -> TaskTracker:
    """A tracker holding completed samples ``(type, allocation, slots, host)``."""
    tr = TaskTracker()
    tr._start(0, r, 0)
    for k, a, d, h in samples:
        tr.sample_type.append(k)
        tr.sample_alloc.append(np.asarray(a, dtype=np.float64))
        tr.sample_slots.append(float(d))
        tr.sample_host.append(h)
        tr.sample_delay.append(0.0)
    return tr


def measured_table() -> tuple[np.ndarray, np.ndarray]:
    """Every allocation of a measured edge type (resnet18, 1..16 cpu, 1..4 gpu, 1..16 mem) and
    its true duration alone (slots), from the simulator's own speed model."""
    env = EdgeSchedParallelEnv("edge-ml-small")
    env.reset(seed=0)
    tab = OracleDurations(env.view).table(0, 1.0, 1.0)
    grid = box_grid(np.array([1, 1, 1]), MAX3)
    slots = tab[tuple(grid.T)]
    ok = np.isfinite(slots)  # below the type's smallest minimum request: never finishes
    return grid[ok], slots[ok]


def test_monotone_model_fits_a_measured_type_that_the_optimus_form_does_not() -> None:
    grid, slots = measured_table()
    rng = np.random.default_rng(0)
    train = rng.choice(grid.shape[0], 40, replace=False)
    work = np.exp(rng.normal(0.0, 0.4, train.shape[0]))  # per-task work: multiplicative noise
    samples = [(0, grid[i], np.ceil(slots[i] * w), 0) for i, w in zip(train, work)]
    mono = MonotoneDurationModel(tracker(samples), NAMES3, 1, MAX3, num_clusters=1)
    optimus = DurationModel(tracker(samples), NAMES3, 1)
    assert mono.fitted(0) and optimus.fitted(0)

    def log_error(model: DurationModel) -> float:
        return float(np.median(np.abs(np.log(model.predict(0, grid) / slots))))

    assert log_error(mono) < 0.35  # within ~40% of the truth at the median, noise included
    assert log_error(mono) < 0.6 * log_error(optimus)
    # what matters to a scheduler: the fastest allocation is estimated fast, the minimum slow
    best, worst = int(np.argmin(slots)), int(np.argmax(slots))
    est = mono.predict(0, grid)
    assert est[worst] > 3.0 * est[best]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_monotone_model_never_prefers_fewer_units(seed: int) -> None:
    rng = np.random.default_rng(seed)
    allocs = rng.integers(1, 17, size=(12, 3))
    allocs[:, 1] = rng.integers(1, 5, size=12)
    samples = [(0, a, float(rng.integers(1, 40)), 0) for a in allocs]
    model = MonotoneDurationModel(tracker(samples), NAMES3, 1, MAX3, num_clusters=1)
    assert model.fitted(0)
    base = np.array([[rng.integers(1, 16), rng.integers(1, 4), rng.integers(1, 16)]])
    d0 = model.predict(0, base)[0]
    for r in (0, 2):  # more cpu or memory at the same gpus: never slower
        more = base.copy()
        more[0, r] += 1
        assert model.predict(0, more)[0] <= d0 + 1e-9
    scaled = base * 2  # more gpus with the same cpu and memory per gpu: never slower
    assert model.predict(0, np.minimum(scaled, [32, 8, 32]))[0] <= d0 + 1e-9


def test_cluster_offsets_are_learned_across_types() -> None:
    rng = np.random.default_rng(3)
    samples = []
    for _ in range(60):
        k, h = int(rng.integers(0, 2)), int(rng.integers(0, 2))
        g = int(rng.integers(1, 5))
        a = np.array([4 * g, g, 4 * g])
        samples.append((k, a, (10.0 + 10 * k) / g * (2.0 if h == 1 else 1.0), h))
    model = MonotoneDurationModel(tracker(samples), NAMES3, 2, MAX3, num_clusters=2)
    a = np.array([[8, 2, 8]])
    ratio = model.predict(0, a, cluster=1)[0] / model.predict(0, a, cluster=0)[0]
    assert ratio == pytest.approx(2.0, rel=0.15)  # hardware twice as slow on cluster 1
    assert model.predict(1, a, 0)[0] / model.predict(0, a, 0)[0] == pytest.approx(2.0, rel=0.15)


def test_a_running_task_older_than_its_estimate_raises_the_estimate() -> None:
    samples = [(0, np.array([8, 2, 8]), 5.0, 0), (0, np.array([16, 4, 16]), 4.0, 0)] * 3
    tr = tracker(samples)
    model = MonotoneDurationModel(tr, NAMES3, 1, MAX3, num_clusters=1)
    small = np.array([[2, 1, 2]])
    before = model.predict(0, small)[0]
    # a task at (2, 1, 2) has been running for 40 slots and is not done
    tr.attained = np.array([[80.0, 40.0, 80.0]])
    tr.active_slots = np.array([40])
    tr.running_ids = np.array([0])
    tr.type_idx = np.array([0])
    tr.host = np.array([0])
    tr.delay_slots = np.zeros((1, 1), dtype=np.int64)
    tr._last_t = 40
    after = model.predict(0, small)[0]
    assert after > before and after > 10.0


def test_schedulers_descend_one_halving_below_what_they_saw() -> None:
    sched = make_scheduler("srtf")
    env = EdgeSchedParallelEnv("edge-ml-small", num_tasks=10)
    sched.bind(env)
    env.reset(seed=0)
    sched.reset(0)
    sched.tracker = tracker([(0, np.array([8, 2, 8]), 5.0, 0)])
    sched.tracker.running_ids = np.zeros(0, dtype=np.int64)
    grid = np.array([[8, 2, 8], [4, 2, 4], [3, 2, 4], [4, 1, 4], [2, 1, 2], [16, 4, 16]])
    # seen: 2 gpus with 4 cpu and 4 memory units per gpu -> at least 1 gpu and 2 units per gpu
    assert sched.explored(0, grid).tolist() == [True, True, False, True, True, True]
    assert make_scheduler("optimus-paper").explored(0, grid).all()  # the paper form: unrestricted


def test_unfitted_types_explore_alternately_with_everything_and_their_fair_share() -> None:
    env = EdgeSchedParallelEnv("edge-ml-small", num_tasks=30)
    sched = make_scheduler("srtf")
    paper = make_scheduler("optimus-np-paper")
    sched.bind(env)
    paper.bind(env)
    obs, _ = env.reset(seed=0)
    sched.reset(0)
    paper.reset(0)
    view = env.view
    while not view.pending_count.any():  # no-ops until the first task arrives
        obs, *_ = env.step({a: sched.noop() for a in env.agents})
    for s in (sched, paper):  # what act() does first: take in the round's observations
        s.observed.update(obs)
    agent = int(np.flatnonzero(view.pending_count)[0])
    cand = sched.candidates(agent, view.free[agent].copy())
    # nothing placed yet: every type's first task explores with everything it may get ...
    assert sched.explore_big(cand.tasks).all()
    np.testing.assert_array_equal(sched.share_box_hi(agent, cand), cand.hi)
    # ... the paper variants with their fair share (capacity // jobs, within lo..hi)
    jobs = sched.waiting_count(agent) + int(view.running_count[agent])
    share = np.clip((view.capacity[agent] // max(1, jobs))[None, :], cand.lo, cand.hi)
    np.testing.assert_array_equal(paper.share_box_hi(agent, cand), share)
    # one task of a type placed: that type's next task gets the fair share, the others still all
    k = int(view.type_idx[cand.tasks[0]])
    seen = sched.observed
    other = int(np.flatnonzero((view.type_idx == k) & (view.placed_slot < 0))[-1])
    seen.type_idx[other], seen.placed_slot[other] = k, 0  # as if observed placed (test only)
    big = sched.explore_big(cand.tasks)
    same = view.type_idx[cand.tasks] == k
    assert not big[same].any() and big[~same].all()
    np.testing.assert_array_equal(sched.share_box_hi(agent, cand)[same], share[same])


ESTIMATORS = ("srtf", "tetris", "optimus", "optimus-np")


def _mean(name: str, preset: str, seeds: range, **overrides: Any) -> float:
    return float(np.mean([r["mean_jct"] for r in evaluate(name, preset, seeds=seeds, **overrides)]))


@pytest.mark.parametrize("preset", ["tapfinger-hetero6", "edge-ml-small"])
def test_estimators_beat_random_on_a_small_instance(preset: str) -> None:
    overrides = {"num_tasks": 80 if preset.startswith("tapfinger") else 40}
    rand = _mean("random", preset, range(2), **overrides)
    for name in ESTIMATORS:
        assert _mean(name, preset, range(2), **overrides) < rand, name


@pytest.mark.slow
@pytest.mark.parametrize("preset", preset_names())
def test_estimators_beat_random_on_every_preset(preset: str) -> None:
    rand = _mean("random", preset, range(3))
    for name in ESTIMATORS:
        assert _mean(name, preset, range(3)) < rand, (name, preset)
