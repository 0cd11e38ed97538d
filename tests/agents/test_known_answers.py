"""Toy cases with known answers: hand-computed durations, the lower bound, orderings."""

from __future__ import annotations

import numpy as np
import pytest

from agents.baselines import OFFLINE, lower_bound_jct, make_scheduler, scheduler_names
from agents.baselines.oracle import slots_to_finish
from agents.evaluate import episode_trace, evaluate, run_episode
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.presets import preset_names

TAPFINGER = [p for p in preset_names() if p.startswith("tapfinger")]


def test_oracle_durations_match_spec_section_4() -> None:
    env = EdgeSchedParallelEnv("tapfinger-synthetic")
    insensitive, concave = env.view.oracle_speed_models
    g = np.array([1, 2, 4, 8, 12, 16])
    alloc = np.stack([np.full_like(g, 2), g], axis=1)
    m = np.array([2, 1])
    assert slots_to_finish(concave, alloc, m).tolist() == [21, 10, 5, 3, 2, 2]
    assert slots_to_finish(insensitive, alloc, m).tolist() == [4] * 6
    below = np.array([[1, 16], [2, 0]])
    assert np.isinf(slots_to_finish(concave, below, m)).all()
    sjf = EdgeSchedParallelEnv("tapfinger-sjf").view.oracle_speed_models
    three = np.array([[3, 3]])
    assert slots_to_finish(sjf[0], three, np.array([3, 3])).tolist() == [1]
    assert slots_to_finish(sjf[1], three, np.array([3, 3])).tolist() == [11]  # 10 x 0.1 < 1


def test_lower_bound_is_alone_at_best() -> None:
    env = EdgeSchedParallelEnv("tapfinger-synthetic")
    env.reset(seed=0)
    jct = lower_bound_jct(env)
    # insensitive: 4 slots whatever the allocation; gpu-concave: 2 slots at 12+ gpus.
    expected = np.where(env.view.type_idx == 0, 4.0, 2.0)
    np.testing.assert_array_equal(jct, expected)
    env = EdgeSchedParallelEnv("tapfinger-hetero6")
    env.reset(seed=0)
    jct = lower_bound_jct(env)
    # a gpu-concave task seen only by the (4, 4) cluster needs 5 slots there.
    only_small = env.view.visible[:, 0] & (env.view.visible.sum(axis=1) == 1) & (env.view.type_idx == 1)
    assert only_small.any()
    assert (jct[only_small] == 5).all()


def _lower_bound_holds(preset: str, seeds: range, names: list[str], **overrides: object) -> None:
    env = EdgeSchedParallelEnv(preset, **overrides)
    for seed in seeds:
        env.reset(seed=seed)
        lb = lower_bound_jct(env)
        lb_makespan = float(np.max(env.view.arrival_slot + lb))
        for name in names:
            metrics = run_episode(make_scheduler(name), env, seed)
            jct = episode_trace(env)["jct"]
            assert (jct >= lb).all(), (preset, seed, name)  # per task, not only on average
            assert metrics["mean_jct"] >= lb.mean() - 1e-12
            assert metrics["makespan"] >= lb_makespan


@pytest.mark.parametrize("preset", TAPFINGER)
def test_lower_bound_below_every_scheduler(preset: str) -> None:
    _lower_bound_holds(preset, range(2), scheduler_names(), num_tasks=40)


@pytest.mark.slow
@pytest.mark.parametrize("preset", preset_names())
def test_lower_bound_below_every_scheduler_full(preset: str) -> None:
    names = [n for n in scheduler_names() if n not in OFFLINE]  # oracle-plan: its own slow test
    _lower_bound_holds(preset, range(3 if preset.startswith("tapfinger") else 1), names)


def test_srtf_beats_fifo_greedy_on_sjf() -> None:
    srtf = evaluate("srtf", "tapfinger-sjf", range(3))
    fifo = evaluate("fifo-greedy", "tapfinger-sjf", range(3))
    for a, b in zip(srtf, fifo):
        assert a["mean_jct"] < b["mean_jct"], (a["seed"], a["mean_jct"], b["mean_jct"])


@pytest.mark.parametrize("preset", TAPFINGER)
def test_oracle_greedy_at_or_below_random(preset: str) -> None:
    oracle = evaluate("oracle-greedy", preset, range(2), num_tasks=80)
    rand = evaluate("random", preset, range(2), num_tasks=80)
    for a, b in zip(oracle, rand):
        assert a["mean_jct"] <= b["mean_jct"], (preset, a["seed"])


def test_srtf_learns_sjf_durations() -> None:
    env = EdgeSchedParallelEnv("tapfinger-sjf")
    sched = make_scheduler("srtf")
    run_episode(sched, env, 0)
    model = sched.model  # type: ignore[attr-defined]
    a = np.array([[3, 3], [8, 8], [16, 16]])
    np.testing.assert_allclose(model.predict(0, a), 1.0, atol=1e-6)
    np.testing.assert_allclose(model.predict(1, a), 11.0, atol=1e-6)


def test_tracker_sees_exact_durations_of_min() -> None:
    env = EdgeSchedParallelEnv("tapfinger-synthetic", num_tasks=40)
    sched = make_scheduler("min")
    run_episode(sched, env, 0)
    tr = sched.tracker  # type: ignore[attr-defined]
    assert tr.num_samples >= 30  # the last slot's completions end the episode unobserved
    for k, slots in ((0, 4.0), (1, 21.0)):
        alloc, dur = tr.samples_of(k)
        assert dur.shape[0] > 0
        np.testing.assert_array_equal(dur, slots)
        np.testing.assert_array_equal(alloc, [[2.0, 1.0]] * dur.shape[0])
