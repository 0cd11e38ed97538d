"""Episode metrics (SPEC.md section 10) and episode end (section 8)."""

from __future__ import annotations

import numpy as np
import pytest

import edgesched_env
from edgesched_env import FixedTask
from edgesched_env.presets import preset_names
from edgesched_env.testing import jcts, masked_random_policy, noop_policy, rollout

REQUIRED_KEYS = {
    "mean_jct",
    "p50_jct",
    "p95_jct",
    "p99_jct",
    "makespan",
    "mean_tasks_in_system",
    "utilization",
    "tasks_completed",
    "rounds",
    "conflicts",
}


@pytest.mark.parametrize("preset", preset_names())
def test_metrics_of_a_full_episode(preset):
    num_tasks = 40 if preset.startswith("tapfinger") else 15
    env = edgesched_env.parallel_env(preset, num_tasks=num_tasks, reward="global", arrival_rate=4.0)
    traj = rollout(env, 7, masked_random_policy)
    m = traj.metrics
    assert m is not None and REQUIRED_KEYS <= set(m)
    assert all(info["metrics"] is m or info["metrics"] == m for info in traj.infos[-1].values())
    assert env.last_metrics == m
    cfg = env.config
    assert set(m["utilization"]) == set(cfg.resource_names)
    for name in cfg.resource_names:
        assert 0.0 <= m["utilization"][name] <= 1.0
        assert len(m["utilization_per_cluster"][name]) == cfg.num_clusters
    j = jcts(env)
    assert j.shape == (num_tasks,) and (j >= 1).all()
    assert m["tasks_completed"] == num_tasks and m["tasks_unfinished"] == 0 and not m["truncated"]
    assert m["total_jct"] == int(j.sum())
    assert m["mean_jct"] == pytest.approx(j.mean(), rel=1e-12)
    p50, p95, p99 = np.percentile(j, [50, 95, 99])
    assert (m["p50_jct"], m["p95_jct"], m["p99_jct"]) == pytest.approx((p50, p95, p99), rel=1e-12)
    assert m["p50_jct"] <= m["p95_jct"] <= m["p99_jct"] <= j.max()
    # Makespan: last completion slot + 1.
    assert m["makespan"] == int(env.view.completion_slot.max()) + 1
    # Little's law, exactly: mean tasks in system = total JCT / makespan, and the global
    # return with discount 1 = -total JCT.
    assert m["mean_tasks_in_system"] == m["total_jct"] / m["makespan"]
    assert sum(r["cluster_0"] for r in traj.rewards) == -m["total_jct"]
    assert m["rounds"] == len(traj.actions)
    n_conflicts = sum(
        bool(info["conflict"]) for infos in traj.infos for info in infos.values() if "conflict" in info
    )
    assert m["conflicts"] == n_conflicts
    n_slot_ends = sum(bool(infos["cluster_0"]["slot_end"]) for infos in traj.infos)
    assert m["makespan"] == n_slot_ends


def test_truncation_by_max_slots_reports_unfinished_tasks():
    env = edgesched_env.parallel_env("tapfinger-synthetic", max_slots=3)
    traj = rollout(env, 0, noop_policy)  # nobody places anything: nothing can finish
    assert len(traj.actions) == 3  # one no-op round per slot
    last = traj.infos[-1]
    assert all(traj.truncations[-1].values()) and not any(traj.terminations[-1].values())
    assert all(info["truncated_by"] == "max_slots" for info in last.values())
    m = last["cluster_0"]["metrics"]
    assert m["truncated"] is True
    assert m["tasks_completed"] == 0
    assert m["tasks_unfinished"] == m["tasks_arrived"] > 0
    assert REQUIRED_KEYS <= set(m)
    assert m["mean_jct"] > 0 and m["slots"] == 3
    assert env.agents == []


def test_truncation_with_some_tasks_done():
    env = edgesched_env.parallel_env("tapfinger-sjf", max_slots=4, num_tasks=60)
    traj = rollout(env, 1, masked_random_policy)
    m = traj.metrics
    assert traj.infos[-1]["cluster_0"]["truncated_by"] == "max_slots"
    assert m["tasks_completed"] > 0 and m["tasks_unfinished"] > 0
    assert m["tasks_completed"] + m["tasks_unfinished"] == m["tasks_arrived"]


def test_truncated_metrics_keep_littles_law():
    env = edgesched_env.parallel_env("tapfinger-synthetic", max_slots=2, reward="global")
    traj = rollout(env, 0, noop_policy)
    m = traj.metrics
    global_return = sum(r["cluster_0"] for r in traj.rewards)
    # Every task that arrived during slots 0 and 1 spent every slot since its arrival in the
    # system: its JCT so far is 2 - arrival; the global return counts exactly those slots.
    assert m["total_jct"] == -global_return
    assert m["mean_tasks_in_system"] == m["total_jct"] / m["makespan"]


def test_truncation_by_max_cycles_keeps_the_episode_metrics_consistent():
    env = edgesched_env.parallel_env("tapfinger-synthetic", max_cycles=30)
    traj = rollout(env, 0, masked_random_policy)
    m = traj.metrics
    assert traj.infos[-1]["cluster_0"]["truncated_by"] == "max_cycles"
    assert m["rounds"] == 30 and m["tasks_arrived"] >= m["tasks_completed"]


def test_empty_slots_before_the_first_arrival_count_in_the_makespan():
    # One sjf-long task arriving at slot 3, placed at once: 11 slots of work, done at slot 13.
    tasks = (FixedTask(3, 1, (0, 1, 2)),)
    env = edgesched_env.parallel_env("tapfinger-sjf", fixed_tasks=tasks, num_tasks=1)
    env.reset(seed=0)

    def noops():
        return {a: np.array([10, 0, 0]) for a in env.agents}

    for _ in range(3):
        env.step(noops())
    env.step({**noops(), "cluster_2": np.array([0, 3, 3])})
    while env.agents:
        _, _, _, _, infos = env.step(noops())
    m = infos["cluster_0"]["metrics"]
    assert m["makespan"] == 14 and m["mean_jct"] == 11.0
    assert m["mean_tasks_in_system"] == 11 / 14
    # Only cluster_2 ever held units: 3 of 16 during 11 of the 14 slots.
    assert m["utilization_per_cluster"]["cpu"] == pytest.approx([0.0, 0.0, 3 * 11 / 14 / 16], abs=1e-12)
    assert m["utilization"]["cpu"] == pytest.approx(3 * 11 / (14 * 48), abs=1e-12)
