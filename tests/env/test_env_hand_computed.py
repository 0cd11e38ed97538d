"""Hand-computed toy cases with exact numbers (SPEC.md sections 2-7 and 10).

Every expected number is derived by hand in the comments; the env must reproduce it exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

import edgesched_env
from edgesched_env import ClusterSpec, EnvConfig, FixedTask, TaskType, WorkloadSpec
from edgesched_env.sim.core import DONE, RUNNING, WAITING
from edgesched_env.testing import EpisodeMonitor, check_invariants, jcts
from edgesched_env.workload.speed import SyntheticSpeed

INSENSITIVE, GPU_CONCAVE = 0, 1  # type order of the synthetic presets
SJF_SHORT, SJF_LONG = 0, 1
NOOP = 10  # max_pending: the no-op slot index


def act(slot, *units):
    return np.array([slot, *units], dtype=np.int64)


def noop():
    return act(NOOP, 0, 0)


def one_task_env(preset, type_idx, **overrides):
    """One task arriving at slot 0, visible to cluster_0 only."""
    task = FixedTask(arrival_slot=0, type_idx=type_idx, visible_to=(0,))
    return edgesched_env.parallel_env(preset, fixed_tasks=(task,), num_tasks=1, **overrides)


def slots_to_finish(env, units):
    """Place the single task on cluster_0 with ``units`` in round 0, then no-op; return its JCT."""
    env.reset(seed=0)
    monitor = EpisodeMonitor(env)
    monitor.start()
    others = {a: noop() for a in env.agents[1:]}
    _, rew, _, _, infos = env.step({"cluster_0": act(0, *units), **others})
    assert infos["cluster_0"]["placed"] and not infos["cluster_0"]["clipped"]
    assert env.view.alloc[0].tolist() == list(units)
    assert set(rew.values()) == {0.0}  # a round that placed a task gives 0 and keeps the slot
    monitor.update(infos)
    steps = 1
    while env.agents:
        _, rew, term, _, infos = env.step({a: noop() for a in env.agents})
        monitor.update(infos)
        steps += 1
        assert infos["cluster_0"]["slot_end"]
    assert all(term.values())
    m = infos["cluster_0"]["metrics"]
    # One task arrived at slot 0 and finished at slot c: JCT = c + 1 = makespan = slots played.
    assert m["makespan"] == m["total_jct"] == int(jcts(env)[0]) == steps - 1
    return int(env.view.completion_slot[0]) + 1


# SPEC section 4: g=1 -> 21, 2 -> 10, 4 -> 5, 8 -> 3, 12 or 16 -> 2.
GPU_CONCAVE_SLOTS = {1: 21, 2: 10, 4: 5, 8: 3, 12: 2, 16: 2}


@pytest.mark.parametrize(("gpu", "slots"), sorted(GPU_CONCAVE_SLOTS.items()))
def test_gpu_concave_slot_counts_through_the_env(gpu, slots):
    env = one_task_env("tapfinger-synthetic", GPU_CONCAVE)
    assert slots_to_finish(env, (2, gpu)) == slots


@pytest.mark.parametrize("units", [(2, 1), (16, 16), (5, 9)])
def test_insensitive_takes_four_slots_whatever_the_allocation(units):
    # W = 0, B = 0.25: 0.25, 0.5, 0.75, 1.0 -> done at the 4th slot (1.0 >= 1 exactly).
    env = one_task_env("tapfinger-synthetic", INSENSITIVE)
    assert slots_to_finish(env, units) == 4


@pytest.mark.parametrize(("type_idx", "slots"), [(SJF_SHORT, 1), (SJF_LONG, 11)])
def test_sjf_slot_counts_through_the_env(type_idx, slots):
    # short: B = 1 -> 1 slot; long: B = 0.1, ten additions give 0.9999999999999999 < 1 -> 11.
    env = one_task_env("tapfinger-sjf", type_idx)
    assert slots_to_finish(env, (3, 3)) == slots
    assert slots_to_finish(env, (16, 16)) == slots


def test_slot_counts_with_a_config_built_from_scratch():
    # The same cases through explicit dataclasses: one cluster, one task per type.
    types = (
        TaskType("sjf-long", (3, 3), SyntheticSpeed(bias=0.1)),
        TaskType("gpu-concave", (2, 1), SyntheticSpeed(resource_idx=1, scale=16.0), 0.5),
    )
    tasks = (FixedTask(0, 0, (0,)), FixedTask(0, 1, (0,)))
    workload = WorkloadSpec(types, (0.5, 0.5), arrival_rate=1.0, num_tasks=2, fixed_tasks=tasks)
    cfg = EnvConfig(clusters=(ClusterSpec((16, 16)),), workload=workload)
    env = edgesched_env.parallel_env(cfg)
    env.reset(seed=0)
    env.step({"cluster_0": act(0, 3, 3)})
    env.step({"cluster_0": act(1, 2, 4)})
    while env.agents:
        env.step({"cluster_0": noop()})
    # sjf-long: 11 slots (done at slot 10); gpu-concave with g = 4: 5 slots (done at slot 4).
    assert env.view.completion_slot.tolist() == [10, 4]
    assert env.last_metrics["total_jct"] == 16 and env.last_metrics["makespan"] == 11


def test_gpu_concave_on_hetero_cluster_of_four_units():
    # tapfinger-hetero6's cluster_0 has (4, 4): the task fits at most g = 4 -> 5 slots.
    env = one_task_env("tapfinger-hetero6", GPU_CONCAVE)
    assert slots_to_finish(env, (4, 4)) == 5


def _slots_of_model(model, units):
    p, n = np.zeros(1), 0
    alloc = np.array([units], dtype=np.int64)
    while p[0] < 1.0:
        dp = model.increment(alloc, p, np.ones(1), np.ones(1))
        assert dp.shape == (1,) and dp[0] >= 0
        p = p + dp
        n += 1
        assert n < 100
    return n


@pytest.mark.parametrize(("gpu", "slots"), sorted(GPU_CONCAVE_SLOTS.items()))
def test_gpu_concave_slot_counts_on_the_speed_model(gpu, slots):
    model = SyntheticSpeed(resource_idx=1, scale=16.0)
    assert _slots_of_model(model, (2, gpu)) == slots
    # The cpu units do not matter to this type.
    assert _slots_of_model(model, (16, gpu)) == slots


def test_synthetic_speed_model_formula_and_edge_values():
    model = SyntheticSpeed(resource_idx=1, scale=16.0)
    alloc = np.array([[2, 8], [2, 16], [2, 0]], dtype=np.int64)
    p = np.array([0.0, 0.2, 0.5])
    dp = model.increment(alloc, p, np.ones(3), np.ones(3))
    expected = np.tanh(np.array([8, 16, 0]) / 16.0) * np.sqrt(1.2 - p)
    np.testing.assert_allclose(dp, expected, rtol=0, atol=1e-15)
    # work divides and speed_factor multiplies the increment.
    dp2 = model.increment(alloc, p, np.full(3, 2.0), np.full(3, 3.0))
    np.testing.assert_allclose(dp2, expected * 1.5, rtol=1e-15)
    # The bias-only types: constant, independent of allocation and progress.
    for bias, slots in ((0.25, 4), (1.0, 1), (0.1, 11)):
        m = SyntheticSpeed(bias=bias)
        assert _slots_of_model(m, (3, 3)) == slots
        assert m.increment(np.array([[0, 0]]), np.array([0.9]), np.ones(1), np.ones(1))[0] == bias
    # dp is never negative: a negative bias is clamped at 0.
    neg = SyntheticSpeed(bias=-5.0, resource_idx=1)
    assert neg.increment(np.array([[2, 1]]), np.zeros(1), np.ones(1), np.ones(1))[0] == 0.0


def test_below_minimum_gives_no_progress_even_if_the_model_would():
    # SPEC 4: any resource below the minimum -> dp = 0. Through the elastic API we can hold a
    # running task at zero units (preempted): its progress stays put for slots on end.
    env = one_task_env("tapfinger-synthetic", INSENSITIVE)
    env.reset(seed=0)
    env.step({"cluster_0": act(0, 2, 1), "cluster_1": noop(), "cluster_2": noop()})
    env.view.resize(0, (0, 0))
    for _ in range(5):
        env.step({a: noop() for a in env.agents})
    assert env.view.oracle_progress[0] == 0.0
    assert env.view.status[0] == RUNNING


# --------------------------------------------------------------------------- 2-cluster walk-through
def walkthrough_env(**overrides):
    """Two clusters, cluster_0 (16, 16) and cluster_1 (8, 8); synthetic types, penalty 0.5.

    T0 insensitive  arrives 0, seen by both      T1 gpu-concave arrives 0, seen by cluster_0
    T2 insensitive  arrives 1, seen by both      T3 gpu-concave arrives 2, seen by cluster_1
    """
    tasks = (
        FixedTask(0, INSENSITIVE, (0, 1)),
        FixedTask(0, GPU_CONCAVE, (0,)),
        FixedTask(1, INSENSITIVE, (0, 1)),
        FixedTask(2, GPU_CONCAVE, (1,)),
    )
    return edgesched_env.parallel_env(
        "tapfinger-synthetic", capacities=[(16, 16), (8, 8)], fixed_tasks=tasks, num_tasks=4, **overrides
    )


@pytest.mark.parametrize("reward", ["local", "global"])
def test_two_cluster_episode_step_by_step(reward):
    env = walkthrough_env(reward=reward)
    v = env.view
    obs, infos = env.reset(seed=123)
    monitor = EpisodeMonitor(env)
    monitor.start()
    # Reset: t = 0, T0 and T1 arrive. cluster_0's slots: [T0, T1]; cluster_1's: [T0].
    assert v.t == 0 and v.pending[0, :3].tolist() == [0, 1, -1] and v.pending[1, :2].tolist() == [0, -1]
    assert obs["cluster_0"]["pending_mask"][:3].tolist() == [1, 1, 0]
    # Action mask, slot part: both of cluster_0's tasks fit, plus the no-op.
    assert obs["cluster_0"]["action_mask"][:11].tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    # Resource parts: every level from the minimum (cpu 2, gpu 1) to 16 is feasible.
    assert obs["cluster_0"]["action_mask"][11:28].tolist() == [0, 0] + [1] * 15
    assert obs["cluster_0"]["action_mask"][28:45].tolist() == [0] + [1] * 16
    # cluster_1 (8, 8): levels up to 8 only.
    assert obs["cluster_1"]["alloc_mask"][0, 0].tolist() == [0, 0] + [1] * 7 + [0] * 8
    assert obs["cluster_1"]["alloc_mask"][0, 1].tolist() == [0] + [1] * 8 + [0] * 8
    rewards = {"cluster_0": [], "cluster_1": []}

    def step(a0, a1):
        obs, rew, term, _, infos = env.step({"cluster_0": a0, "cluster_1": a1})
        monitor.update(infos)
        for a in rewards:
            rewards[a].append(rew[a])
        return obs, rew, term, infos

    # Slot 0, round 0: both pick T0 with (2, 1): a conflict. Capacity ratios for min (2, 1):
    # cluster_0 min(16/2, 16/1) = 8, cluster_1 min(8/2, 8/1) = 4 -> cluster_0 wins.
    _, rew, _, infos = step(act(0, 2, 1), act(0, 2, 1))
    assert infos["cluster_0"]["placed"] and infos["cluster_0"]["task"] == 0
    assert not infos["cluster_0"]["conflict"]
    assert infos["cluster_1"]["conflict"] and not infos["cluster_1"]["placed"]
    assert infos["cluster_1"]["task"] == 0 and not infos["cluster_1"]["infeasible"]
    assert rew == {"cluster_0": 0.0, "cluster_1": 0.0} and not infos["cluster_0"]["slot_end"]
    assert v.t == 0 and v.host[0] == 0 and v.free.tolist() == [[14, 15], [8, 8]]
    assert v.pending[0, :2].tolist() == [-1, 1] and v.pending[1, 0] == -1  # T0 left every list
    # Slot 0, round 1: cluster_0 places T1 (its slot 1) with (2, 8); cluster_1 picks its now
    # empty slot 0: an empty-slot no-op.
    _, rew, _, infos = step(act(1, 2, 8), act(0, 3, 3))
    assert infos["cluster_0"]["placed"] and infos["cluster_0"]["task"] == 1
    assert infos["cluster_1"]["empty_slot"] and infos["cluster_1"]["noop"]
    assert not infos["cluster_1"]["placed"] and infos["cluster_1"]["task"] == -1
    assert set(rew.values()) == {0.0} and infos["cluster_0"]["round"] == 1
    assert v.free.tolist() == [[12, 7], [8, 8]]
    # Slot 0, round 2: nobody places -> the slot ends. Rewards from the state after placements:
    # local: cluster_0 runs 2, holds 0 pending, 0 queued -> -2; cluster_1 -> 0.
    # global: 2 tasks in the system -> -2 each. Then T0 -> 0.25, T1 -> tanh(8/16) sqrt(1.2)
    # = 0.5062; t = 1; T2 arrives into slot 0 of both clusters.
    _, rew, _, infos = step(noop(), noop())
    assert infos["cluster_0"]["slot_end"] and infos["cluster_0"]["round"] == 2
    expected = {"local": {"cluster_0": -2.0, "cluster_1": -0.0}, "global": dict.fromkeys(rew, -2.0)}
    assert rew == expected[reward]
    assert v.t == 1 and v.oracle_progress[0] == 0.25
    assert v.oracle_progress[1] == pytest.approx(np.tanh(0.5) * np.sqrt(1.2), abs=1e-15)
    assert v.pending[0, 0] == 2 and v.pending[1, 0] == 2
    # Slot 1, round 0: cluster_1 asks T2 with (1, 0): below the minimum, clipped up to (2, 1).
    _, rew, _, infos = step(noop(), act(0, 1, 0))
    assert infos["cluster_1"]["placed"] and infos["cluster_1"]["clipped"]
    assert v.alloc[2].tolist() == [2, 1] and v.free.tolist() == [[12, 7], [6, 7]]
    assert infos["cluster_0"]["slot"] == 1 and infos["cluster_0"]["round"] == 0
    # Slot 1, round 1: no-ops -> slot end. local: cluster_0 runs T0, T1 -> -2; cluster_1 runs
    # T2 -> -1. global: 3 in system. T0 0.5, T1 0.5062 + tanh(.5) sqrt(1.2 - .5062) = 0.8911,
    # T2 0.25. t = 2, T3 arrives into cluster_1's slot 0.
    _, rew, _, infos = step(noop(), noop())
    expected = {"local": {"cluster_0": -2.0, "cluster_1": -1.0}, "global": dict.fromkeys(rew, -3.0)}
    assert rew == expected[reward]
    assert v.oracle_progress[1] == pytest.approx(0.8911, abs=1e-4)
    # Slot 2: cluster_1 places T3 with (2, 4) (5 slots: done at slot 6); then the slot ends:
    # local -2 / -2, global -4. T1 reaches 1.148 >= 1: done at slot 2, JCT 2 - 0 + 1 = 3.
    _, rew, _, infos = step(noop(), act(0, 2, 4))
    assert infos["cluster_1"]["placed"] and infos["cluster_1"]["task"] == 3
    _, rew, _, infos = step(noop(), noop())
    expected = {"local": {"cluster_0": -2.0, "cluster_1": -2.0}, "global": dict.fromkeys(rew, -4.0)}
    assert rew == expected[reward]
    assert v.status[1] == DONE and v.completion_slot[1] == 2 and v.free.tolist() == [[14, 15], [4, 3]]
    # Slot 3: local -1 / -2, global -3; T0 reaches 1.0: done at slot 3, JCT 4.
    # Slot 4: local 0 / -2, global -2; T2 (placed at 1) done at slot 4, JCT 4 - 1 + 1 = 4.
    # Slot 5: local 0 / -1, global -1.   Slot 6: local 0 / -1, global -1; T3 done, JCT 5.
    expected_slots = {
        "local": [(-1.0, -2.0), (-0.0, -2.0), (-0.0, -1.0), (-0.0, -1.0)],
        "global": [(-3.0, -3.0), (-2.0, -2.0), (-1.0, -1.0), (-1.0, -1.0)],
    }[reward]
    for i, (r0, r1) in enumerate(expected_slots):
        _, rew, term, infos = step(noop(), noop())
        assert rew == {"cluster_0": r0, "cluster_1": r1}
        assert all(term.values()) == (i == 3)
    assert env.agents == []
    assert v.completion_slot.tolist() == [3, 2, 4, 6]
    assert jcts(env).tolist() == [4, 3, 4, 5]
    returns = {a: sum(r) for a, r in rewards.items()}
    # Global: -(2 + 3 + 4 + 3 + 2 + 1 + 1) = -16 = -(4 + 3 + 4 + 5) = -total JCT.
    # Local: cluster_0 -(2 + 2 + 2 + 1) = -7; cluster_1 -(0 + 1 + 2 + 2 + 2 + 1 + 1) = -9.
    assert returns == (
        {"cluster_0": -7.0, "cluster_1": -9.0} if reward == "local" else dict.fromkeys(returns, -16.0)
    )
    m = infos["cluster_0"]["metrics"]
    assert m["total_jct"] == 16 and m["mean_jct"] == 4.0 and m["p50_jct"] == 4.0
    # numpy linear percentiles of [3, 4, 4, 5]: p95 at rank 2.85 -> 4.85, p99 at 2.97 -> 4.97.
    assert m["p95_jct"] == pytest.approx(4.85, abs=1e-12)
    assert m["p99_jct"] == pytest.approx(4.97, abs=1e-12)
    assert m["makespan"] == 7 and m["slots"] == 7
    assert m["mean_tasks_in_system"] == 16 / 7
    # Rounds: 3 in slot 0, 2 in slots 1 and 2, 1 in each of slots 3-6 = 11.
    assert m["rounds"] == 11 and m["conflicts"] == 1 and m["clipped_actions"] == 1
    assert m["infeasible_actions"] == 0 and m["tasks_completed"] == 4 and m["tasks_arrived"] == 4
    assert m["tasks_unfinished"] == 0 and m["truncated"] is False
    assert infos["cluster_0"]["truncated_by"] is None
    # Utilisation, sampled after each slot's placements, before completions (slots 0..6):
    # cluster_0 cpu 4 4 4 2 0 0 0 = 14, gpu 9 9 9 1 0 0 0 = 28 (capacity 16);
    # cluster_1 cpu 0 2 4 4 4 2 2 = 18, gpu 0 1 5 5 5 4 4 = 24 (capacity 8).
    assert m["utilization_per_cluster"]["cpu"] == pytest.approx([14 / 7 / 16, 18 / 7 / 8], abs=1e-12)
    assert m["utilization_per_cluster"]["gpu"] == pytest.approx([28 / 7 / 16, 24 / 7 / 8], abs=1e-12)
    # Overall: allocated units over capacity units, 7 slots x 24 units.
    assert m["utilization"]["cpu"] == pytest.approx(32 / 168, abs=1e-12)
    assert m["utilization"]["gpu"] == pytest.approx(52 / 168, abs=1e-12)


def test_local_reward_counts_a_shared_task_for_every_agent_that_sees_it():
    # Three tasks seen by both clusters, one by cluster_0 only, one by cluster_1 only; with
    # max_pending = 2 the rest queue. Nobody places: local -(pending + queue) = -4 and -4,
    # global -(tasks in the system) = -5.
    tasks = (
        FixedTask(0, INSENSITIVE, (0, 1)),
        FixedTask(0, INSENSITIVE, (0, 1)),
        FixedTask(0, INSENSITIVE, (0,)),
        FixedTask(0, INSENSITIVE, (0, 1)),
        FixedTask(0, INSENSITIVE, (1,)),
    )
    for reward, expected in (("local", (-4.0, -4.0)), ("global", (-5.0, -5.0))):
        env = edgesched_env.parallel_env(
            "tapfinger-synthetic",
            capacities=[(16, 16), (16, 16)],
            fixed_tasks=tasks,
            num_tasks=5,
            max_pending=2,
            reward=reward,
        )
        env.reset(seed=0)
        assert env.view.queue_len.tolist() == [2, 2]
        _, rew, _, _, _ = env.step({"cluster_0": act(2, 0, 0), "cluster_1": act(2, 0, 0)})
        assert (rew["cluster_0"], rew["cluster_1"]) == expected


def test_conflict_under_the_random_rule_and_capacity_ties_use_the_env_rng():
    # Two identical clusters pick the same task: under "capacity" the ratio ties (8 = 8), under
    # "random" it is a coin flip; either way the env RNG decides, so the seed fixes the winner
    # and both clusters win for some seeds.
    tasks = (FixedTask(0, INSENSITIVE, (0, 1)),)
    for rule in ("capacity", "random"):
        winners = set()
        for seed in range(24):
            env = edgesched_env.parallel_env(
                "tapfinger-synthetic",
                capacities=[(16, 16), (16, 16)],
                fixed_tasks=tasks,
                num_tasks=1,
                conflict_rule=rule,
            )
            env.reset(seed=seed)
            _, _, _, _, infos = env.step({"cluster_0": act(0, 2, 1), "cluster_1": act(0, 4, 4)})
            won = [a for a in env.agents if infos[a]["placed"]]
            lost = [a for a in env.agents if infos[a]["conflict"]]
            assert len(won) == 1 and len(lost) == 1 and won != lost
            again = edgesched_env.parallel_env(
                "tapfinger-synthetic",
                capacities=[(16, 16), (16, 16)],
                fixed_tasks=tasks,
                num_tasks=1,
                conflict_rule=rule,
            )
            again.reset(seed=seed)
            _, _, _, _, infos2 = again.step({"cluster_0": act(0, 2, 1), "cluster_1": act(0, 4, 4)})
            assert [a for a in again.agents if infos2[a]["placed"]] == won
            winners.add(won[0])
        assert winners == {"cluster_0", "cluster_1"}, rule


def test_capacity_rule_uses_the_real_ratio_not_rounded():
    # Task min (2, 1). cluster_0 free (5, 16): ratio min(2.5, 16) = 2.5; cluster_1 free (4, 16):
    # ratio 2.0. Rounded down both would be 2 (a tie); the real ratio makes cluster_0 win always.
    tasks = (FixedTask(0, INSENSITIVE, (0, 1)), FixedTask(0, INSENSITIVE, (0, 1)))
    for seed in range(10):
        env = edgesched_env.parallel_env(
            "tapfinger-synthetic", capacities=[(5, 16), (4, 16)], fixed_tasks=tasks, num_tasks=2
        )
        env.reset(seed=seed)
        _, _, _, _, infos = env.step({"cluster_0": act(0, 2, 1), "cluster_1": act(0, 2, 1)})
        assert infos["cluster_0"]["placed"] and infos["cluster_1"]["conflict"]
        assert env.view.capacity_ratio(np.array([0, 1]), 1).tolist() == [1.5, 2.0]
        # Round 1: both pick task 1; now cluster_1 (ratio 2.0) beats cluster_0 (1.5).
        _, _, _, _, infos = env.step({"cluster_0": act(1, 2, 1), "cluster_1": act(1, 2, 1)})
        assert infos["cluster_1"]["placed"] and infos["cluster_0"]["conflict"]


def test_only_feasible_picks_compete_in_a_conflict():
    # cluster_0 (8, 8) asks T0 with (2, 1): feasible. cluster_1 (16, 16) would win a conflict
    # (capacity ratio 8 against 4) but asks (2, 0), below the gpu minimum 1: under
    # infeasible="noop" that is a no-op, so it does not compete and cluster_0 places T0.
    tasks = (FixedTask(0, INSENSITIVE, (0, 1)),)
    env = edgesched_env.parallel_env(
        "tapfinger-synthetic",
        capacities=[(8, 8), (16, 16)],
        fixed_tasks=tasks,
        num_tasks=1,
        infeasible="noop",
    )
    env.reset(seed=0)
    _, _, _, _, infos = env.step({"cluster_0": act(0, 2, 1), "cluster_1": act(0, 2, 0)})
    assert infos["cluster_0"]["placed"] and not infos["cluster_0"]["conflict"]
    assert infos["cluster_1"]["infeasible"] and not infos["cluster_1"]["conflict"]
    assert not infos["cluster_1"]["placed"] and not infos["cluster_1"]["noop"]


def test_new_arrival_overtakes_the_queue_and_queues_refill_only_at_slot_end():
    # max_pending = 1 on one cluster. A and B arrive at 0 (B queued), C arrives at 1.
    tasks = (
        FixedTask(0, INSENSITIVE, (0,)),
        FixedTask(0, INSENSITIVE, (0,)),
        FixedTask(1, INSENSITIVE, (0,)),
    )
    env = edgesched_env.parallel_env(
        "tapfinger-synthetic", capacities=[(16, 16)], fixed_tasks=tasks, num_tasks=3, max_pending=1
    )
    v = env.view
    obs, _ = env.reset(seed=0)
    assert v.pending.tolist() == [[0]] and v.queue_len.tolist() == [1]
    assert obs["cluster_0"]["clusters"][0, 5] == 1.0  # queue length / P
    noop1 = act(1, 0, 0)  # P = 1: the no-op slot index is 1
    _, rew, _, _, infos = env.step({"cluster_0": act(0, 2, 1)})  # place A
    assert infos["cluster_0"]["placed"]
    # The freed pending slot is not refilled between rounds.
    assert v.pending.tolist() == [[-1]] and v.queue_len.tolist() == [1]
    check_invariants(env)
    _, rew, _, _, infos = env.step({"cluster_0": noop1})  # slot 0 ends
    # Local reward: 1 running + 0 pending + 1 queued = -2 (computed before the arrivals).
    assert rew == {"cluster_0": -2.0}
    # At t = 1, C arrives and takes the free slot before B is promoted (SPEC 2, step 5-6).
    assert v.t == 1 and v.pending.tolist() == [[2]] and v.queue_len.tolist() == [1]
    env.step({"cluster_0": act(0, 2, 1)})  # place C
    assert v.pending.tolist() == [[-1]] and v.queue_len.tolist() == [1]
    _, rew, _, _, _ = env.step({"cluster_0": noop1})  # slot 1 ends: 2 running + 1 queued
    assert rew == {"cluster_0": -3.0}
    assert v.pending.tolist() == [[1]] and v.queue_len.tolist() == [0]  # B, promoted at last
    assert v.status.tolist() == [RUNNING, WAITING, RUNNING]


def test_a_task_arriving_and_finishing_in_its_slot_has_jct_one():
    # SPEC 3: arrives at t, placed and finished within t -> JCT 1 (sjf-short, B = 1).
    tasks = (FixedTask(2, SJF_SHORT, (0,)),)
    env = edgesched_env.parallel_env("tapfinger-sjf", fixed_tasks=tasks, num_tasks=1, reward="global")
    env.reset(seed=0)
    total = 0.0
    for _ in range(2):  # slots 0 and 1 are empty: reward 0 (nothing in the system)
        _, rew, *_ = env.step({a: noop() for a in env.agents})
        total += rew["cluster_0"]
    assert total == 0.0 and env.view.t == 2
    env.step({"cluster_0": act(0, 3, 3), "cluster_1": noop(), "cluster_2": noop()})
    _, rew, term, _, infos = env.step({a: noop() for a in env.agents})
    assert all(term.values()) and rew["cluster_0"] == -1.0
    m = infos["cluster_0"]["metrics"]
    assert m["mean_jct"] == 1.0 and m["makespan"] == 3 and m["mean_tasks_in_system"] == 1 / 3


def test_multi_task_mode_applies_picks_position_by_position():
    # Two clusters of (8, 8), four insensitive tasks at slot 0:
    #   T0 seen by both, T1 by cluster_0, T2 by both, T3 by cluster_1.
    # cluster_0 picks [T0 (2,1), T1 (8,8), T2 (2,1)]; cluster_1 picks [T0 (2,1), T2 (2,1), T3 (2,1)].
    # Position 0: both pick T0 -> capacity tie (4 = 4) decided by the RNG.
    # Position 1: cluster_0's T1 with (8, 8) does not fit what remains (6, 7) -> clipped to
    #   (6, 7) under "clip"; cluster_1 places T2.
    # Position 2: cluster_0's T2 is gone (cluster_1 placed it): an empty slot, skipped;
    #   cluster_1 places T3.
    tasks = (
        FixedTask(0, INSENSITIVE, (0, 1)),
        FixedTask(0, INSENSITIVE, (0,)),
        FixedTask(0, INSENSITIVE, (0, 1)),
        FixedTask(0, INSENSITIVE, (1,)),
    )
    env = edgesched_env.parallel_env(
        "tapfinger-synthetic",
        capacities=[(8, 8), (8, 8)],
        fixed_tasks=tasks,
        num_tasks=4,
        mode="multi",
        max_picks=3,
        reward="global",
    )
    v = env.view
    obs, _ = env.reset(seed=0)
    assert env.action_space("cluster_0").nvec.tolist() == [11, 17, 17] * 3
    assert obs["cluster_0"]["action_mask"].shape == (3 * 45,)
    assert np.array_equal(obs["cluster_0"]["action_mask"][:45], obs["cluster_0"]["action_mask"][45:90])
    # cluster_0's pending: [T0, T1, T2]; cluster_1's: [T0, T2, T3].
    assert v.pending[0, :3].tolist() == [0, 1, 2] and v.pending[1, :3].tolist() == [0, 2, 3]
    a0 = np.concatenate([act(0, 2, 1), act(1, 8, 8), act(2, 2, 1)])
    a1 = np.concatenate([act(0, 2, 1), act(1, 2, 1), act(2, 2, 1)])
    _, rew, _, _, infos = env.step({"cluster_0": a0, "cluster_1": a1})
    i0, i1 = infos["cluster_0"], infos["cluster_1"]
    # One step = one slot.
    assert i0["slot_end"] and v.t == 1 and i0["slot"] == 0
    assert i0["task"][0] == i1["task"][0] == 0
    assert sorted([i0["placed"][0], i1["placed"][0]]) == [False, True]
    assert sorted([i0["conflict"][0], i1["conflict"][0]]) == [False, True]
    assert i1["placed"][1:] == [True, True] and i1["task"][1:] == [2, 3]
    assert v.host.tolist()[2:] == [1, 1]
    assert i0["placed"][2] is False and i0["empty_slot"][2] is True and i0["task"][2] == -1
    assert i0["placed"][1] is True
    if i0["placed"][0]:  # cluster_0 holds T0 (2, 1): T1 is capped at what is left, (6, 7)
        assert i0["clipped"][1] is True and v.alloc[1].tolist() == [6, 7]
    else:  # cluster_0 lost T0: all of its (8, 8) is free for T1
        assert i0["clipped"][1] is False and v.alloc[1].tolist() == [8, 8]
    assert rew == {"cluster_0": -4.0, "cluster_1": -4.0}
    check_invariants(env)


def test_multi_task_mode_skips_an_infeasible_pick_and_reports_it():
    # One cluster (4, 4), three insensitive tasks. Picks: T0 with (4, 4) -> fits, leaves (0, 0);
    # T1 with (2, 1) -> does not fit: skipped, infeasible; T2 with (0, 0): a no-op.
    tasks = tuple(FixedTask(0, INSENSITIVE, (0,)) for _ in range(3))
    for rule in ("clip", "noop"):
        env = edgesched_env.parallel_env(
            "tapfinger-synthetic",
            capacities=[(4, 4)],
            fixed_tasks=tasks,
            num_tasks=3,
            mode="multi",
            max_picks=3,
            infeasible=rule,
        )
        env.reset(seed=0)
        action = np.concatenate([act(0, 4, 4), act(1, 2, 1), act(2, 0, 0)])
        _, _, _, _, infos = env.step({"cluster_0": action})
        info = infos["cluster_0"]
        assert info["placed"] == [True, False, False]
        assert info["infeasible"] == [False, True, False]
        assert info["noop"] == [False, False, True]
        assert info["task"] == [0, 1, -1]
        assert env.view.status.tolist() == [RUNNING, WAITING, WAITING]
        m = env.sim.metrics()
        assert m["infeasible_actions"] == 1 and m["rounds"] == 1


def test_max_rounds_per_slot_ends_the_slot_even_after_a_placement():
    tasks = tuple(FixedTask(0, INSENSITIVE, (0,)) for _ in range(3))
    env = edgesched_env.parallel_env(
        "tapfinger-synthetic", capacities=[(16, 16)], fixed_tasks=tasks, num_tasks=3, max_rounds_per_slot=2
    )
    env.reset(seed=0)
    _, rew, _, _, infos = env.step({"cluster_0": act(0, 2, 1)})
    assert not infos["cluster_0"]["slot_end"] and rew["cluster_0"] == 0.0
    _, rew, _, _, infos = env.step({"cluster_0": act(1, 2, 1)})
    # Round limit reached: the slot ends although a task was placed. 2 running + 1 pending.
    assert infos["cluster_0"]["slot_end"] and rew["cluster_0"] == -3.0 and env.view.t == 1


def test_default_round_limit_never_binds_in_single_task_mode():
    # N * P + 1 rounds: with every agent placing one task per round, all N * P pending tasks
    # are placed in P rounds and the next round (nothing left) ends the slot.
    tasks = tuple(FixedTask(0, INSENSITIVE, (0,)) for _ in range(10))
    env = edgesched_env.parallel_env(
        "tapfinger-synthetic", capacities=[(32, 32)], fixed_tasks=tasks, num_tasks=10
    )
    env.reset(seed=0)
    for k in range(10):
        _, _, _, _, infos = env.step({"cluster_0": act(k, 2, 1)})
        assert infos["cluster_0"]["placed"] and not infos["cluster_0"]["slot_end"]
    _, _, _, _, infos = env.step({"cluster_0": act(NOOP, 0, 0)})
    assert infos["cluster_0"]["slot_end"] and infos["cluster_0"]["round"] == 10
