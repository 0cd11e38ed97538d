"""The elastic API (``env.view.resize``): resize, preempt, switch penalty, bad resizes (SPEC.md s.2)."""

from __future__ import annotations

import numpy as np
import pytest

import edgesched_env
from edgesched_env import FixedTask
from edgesched_env.sim.core import DONE, RUNNING
from edgesched_env.testing import EpisodeMonitor, check_invariants

INSENSITIVE, GPU_CONCAVE = 0, 1


def act(slot, *units):
    return np.array([slot, *units], dtype=np.int64)


NOOP = act(10, 0, 0)


def env_with(tasks, preset="tapfinger-synthetic", **overrides):
    env = edgesched_env.parallel_env(
        preset, capacities=[(16, 16)], fixed_tasks=tuple(tasks), num_tasks=len(tasks), **overrides
    )
    env.reset(seed=0)
    monitor = EpisodeMonitor(env)
    monitor.start()
    return env, monitor


def place(env, monitor, slot, *units):
    """cluster_0 places the task of ``slot`` with ``units`` (a round that does not end the slot)."""
    _, _, _, _, infos = env.step({"cluster_0": act(slot, *units)})
    monitor.update(infos)
    assert infos["cluster_0"]["placed"] and not infos["cluster_0"]["slot_end"]


def end_slot(env, monitor):
    _, rew, _, _, infos = env.step({a: NOOP for a in env.agents})
    monitor.update(infos)
    assert infos["cluster_0"]["slot_end"]
    return rew


def test_resize_and_preempt_keep_capacity_accounting_exact():
    env, monitor = env_with([FixedTask(0, INSENSITIVE, (0,)), FixedTask(0, GPU_CONCAVE, (0,))])
    v = env.view
    place(env, monitor, 0, 2, 1)
    place(env, monitor, 1, 4, 8)
    assert v.free[0].tolist() == [10, 7]
    v.resize(0, (6, 3))  # grow T0
    assert v.alloc[0].tolist() == [6, 3] and v.free[0].tolist() == [6, 5]
    check_invariants(env)
    v.resize(1, (10, 12))  # T1 takes everything that is free plus what it holds
    assert v.free[0].tolist() == [0, 1]
    check_invariants(env)
    v.resize(0, (0, 0))  # preempt T0: it keeps its cluster, holds nothing
    assert v.free[0].tolist() == [6, 4] and v.status[0] == RUNNING and v.host[0] == 0
    assert v.running_count[0] == 2
    check_invariants(env)
    end_slot(env, monitor)
    assert env.sim.metrics()["resizes"] == 3


def test_preempted_task_keeps_progress_and_resumes():
    # Insensitive, penalty 0.5 (tapfinger-synthetic):
    #   slot 0 (2, 1): +0.25 -> 0.25
    #   slot 1 preempted: +0 -> 0.25 (any resource below the minimum: no progress)
    #   slot 2 back to (2, 1): the allocation differs from slot 1's (0, 0): +0.125 -> 0.375
    #   slots 3, 4: +0.25 each -> 0.875; slot 5: 1.125 -> done at slot 5, JCT 6.
    env, monitor = env_with([FixedTask(0, INSENSITIVE, (0,))])
    v = env.view
    place(env, monitor, 0, 2, 1)
    end_slot(env, monitor)
    assert v.oracle_progress[0] == 0.25
    v.resize(0, [0, 0])
    end_slot(env, monitor)
    assert v.oracle_progress[0] == 0.25 and v.slots_run[0] == 2
    # The observation shows the preempted task among the running ones, with zero units.
    obs = env.builder.per_agent(env.sim, env.agents)["cluster_0"]
    assert obs["running_mask"][0] == 1 and obs["running"][0, 2:4].tolist() == [0.0, 0.0]
    v.resize(0, np.array([2, 1]))
    end_slot(env, monitor)
    assert v.oracle_progress[0] == 0.375
    for _ in range(3):
        end_slot(env, monitor)
    assert v.status[0] == DONE and v.completion_slot[0] == 5
    assert env.agents == [] and env.last_metrics["mean_jct"] == 6.0


@pytest.mark.parametrize(
    ("penalty_preset", "penalty"), [("tapfinger-synthetic", 0.5), ("tapfinger-hetero6", 1.0)]
)
def test_switch_penalty_scales_the_slot_after_a_change(penalty_preset, penalty):
    # gpu-concave placed at (2, 4), resized to (2, 8) before slot 1's end.
    #   slot 0: p1 = tanh(4/16) sqrt(1.2)                   (first slot: never penalised)
    #   slot 1: p2 = p1 + penalty * tanh(8/16) sqrt(1.2 - p1)
    #   slot 2: p3 = p2 + tanh(8/16) sqrt(1.2 - p2)           (no change: no penalty)
    tasks = [FixedTask(0, GPU_CONCAVE, (0,))]
    if penalty_preset == "tapfinger-hetero6":
        env = edgesched_env.parallel_env(
            penalty_preset, capacities=[(16, 16)], fixed_tasks=tuple(tasks), num_tasks=1
        )
        env.reset(seed=0)
        monitor = EpisodeMonitor(env)
        monitor.start()
    else:
        env, monitor = env_with(tasks)
    v = env.view
    place(env, monitor, 0, 2, 4)
    end_slot(env, monitor)
    p1 = np.tanh(4 / 16) * np.sqrt(1.2)
    assert v.oracle_progress[0] == pytest.approx(p1, abs=1e-15)
    v.resize(0, (2, 8))
    end_slot(env, monitor)
    p2 = p1 + penalty * np.tanh(8 / 16) * np.sqrt(1.2 - p1)
    assert v.oracle_progress[0] == pytest.approx(p2, abs=1e-15)
    end_slot(env, monitor)
    p3 = p2 + np.tanh(8 / 16) * np.sqrt(1.2 - p2)
    if p3 < 1.0:
        assert v.oracle_progress[0] == pytest.approx(p3, abs=1e-15)
    else:
        assert v.status[0] == DONE and v.completion_slot[0] == 2


def test_insensitive_task_with_one_resize_takes_one_more_slot():
    # Penalty 0.5: 0.25, then 0.125 (changed), then 0.25, 0.25, 0.25 -> 1.125 at slot 4: JCT 5
    # instead of 4.
    env, monitor = env_with([FixedTask(0, INSENSITIVE, (0,))])
    place(env, monitor, 0, 2, 1)
    end_slot(env, monitor)
    env.view.resize(0, (4, 2))
    while env.agents:
        end_slot(env, monitor)
    assert env.view.completion_slot[0] == 4 and env.last_metrics["mean_jct"] == 5.0


def test_resize_in_the_slot_of_placement_is_not_penalised():
    # The first slot after placement is never penalised, even if resized before it ends.
    env, monitor = env_with([FixedTask(0, GPU_CONCAVE, (0,))])
    place(env, monitor, 0, 2, 4)
    env.view.resize(0, (2, 8))
    end_slot(env, monitor)
    assert env.view.oracle_progress[0] == pytest.approx(np.tanh(0.5) * np.sqrt(1.2), abs=1e-15)


def test_resizing_to_the_same_units_costs_nothing():
    env, monitor = env_with([FixedTask(0, INSENSITIVE, (0,))])
    place(env, monitor, 0, 2, 1)
    end_slot(env, monitor)
    env.view.resize(0, (2, 1))
    end_slot(env, monitor)
    assert env.view.oracle_progress[0] == 0.5


BAD_RESIZES = [
    (1, (2, 1), r"task 1 is not running"),  # waiting, never placed
    (7, (2, 1), r"task 7 is not running"),  # no such task
    (-1, (2, 1), r"task -1 is not running"),
    (0, (2, 1, 0), r"expected 2 units"),
    (0, (1, 1), r"outside"),  # below the minimum (2, 1)
    (0, (2, 0), r"outside"),  # a zero on one resource is not a preemption
    (0, (17, 1), r"outside"),  # above the per-task maximum 16
    (0, (-2, 1), r"outside|negative"),
    (0, (16, 16), r"exceed"),  # more than free (12, 14) + held (2, 1) = (14, 15)
]
BAD_IDS = [
    "waiting",
    "unknown",
    "negative-id",
    "shape",
    "below-min",
    "half-zero",
    "over-max",
    "negative",
    "over-free",
]


@pytest.mark.parametrize(("task", "units", "pattern"), BAD_RESIZES, ids=BAD_IDS)
def test_bad_resizes_raise_and_change_nothing(task, units, pattern):
    tasks = [
        FixedTask(0, INSENSITIVE, (0,)),
        FixedTask(0, INSENSITIVE, (0,)),
        FixedTask(0, INSENSITIVE, (0,)),
    ]
    env, monitor = env_with(tasks)
    place(env, monitor, 0, 2, 1)
    place(env, monitor, 2, 2, 1)  # tasks 0 and 2 run, (12, 14) free
    before = (env.view.free.copy(), env.view.alloc.copy())
    with pytest.raises(ValueError, match=pattern):
        env.view.resize(task, units)
    assert np.array_equal(before[0], env.view.free) and np.array_equal(before[1], env.view.alloc)
    check_invariants(env)


def test_resize_a_finished_task_raises():
    env, monitor = env_with([FixedTask(0, 0, (0,))], preset="tapfinger-sjf")  # sjf-short: 1 slot
    place(env, monitor, 0, 3, 3)
    end_slot(env, monitor)
    assert env.view.status[0] == DONE
    with pytest.raises(ValueError, match="not running"):
        env.view.resize(0, (3, 3))


def test_resize_up_to_exactly_what_is_available_is_allowed():
    env, monitor = env_with([FixedTask(0, INSENSITIVE, (0,)), FixedTask(0, INSENSITIVE, (0,))])
    place(env, monitor, 0, 2, 1)
    place(env, monitor, 1, 2, 1)
    env.view.resize(0, (14, 15))  # free (12, 14) + held (2, 1)
    assert env.view.free[0].tolist() == [0, 0]
    with pytest.raises(ValueError, match="exceed"):
        env.view.resize(1, (3, 1))
    check_invariants(env)


def running_shown(obs, agent="cluster_0"):
    return int(obs[agent]["running_mask"].sum())


def test_observation_shows_every_running_task_up_to_the_padding():
    # Without preemption the running block lists exactly the tasks running on the cluster.
    tasks = tuple(FixedTask(0, INSENSITIVE, (0,)) for _ in range(8))
    env, monitor = env_with(tasks)
    assert env.config.max_running == 8  # 16 // 2 copies of the (2, 1) minimum
    for k in range(8):
        obs, _, _, _, infos = env.step({"cluster_0": act(k, 2, 1)})
        monitor.update(infos)
        assert running_shown(obs) == k + 1


def test_task_placed_after_a_preemption_is_observed_once_there_is_room():
    # cluster (16, 16): 8 insensitive tasks at (2, 1) fill the running table (M = 8). T0 is
    # preempted, which frees (2, 1): T8 (gpu-concave, g = 1: 21 slots) is placed -> 9 running.
    # Four slots later T1..T7 are done; T0 (preempted) and T8 still run: both must be shown.
    tasks = (*(FixedTask(0, INSENSITIVE, (0,)) for _ in range(8)), FixedTask(0, GPU_CONCAVE, (0,)))
    env, monitor = env_with(tasks)
    for k in range(8):
        place(env, monitor, k, 2, 1)
    env.view.resize(0, (0, 0))
    place(env, monitor, 8, 2, 1)
    for _ in range(4):
        end_slot(env, monitor)
    assert env.view.running_count[0] == 2 and env.view.status[8] == RUNNING
    obs = env.builder.per_agent(env.sim, env.agents)
    assert running_shown(obs) == 2


@pytest.mark.parametrize("units", [(3.9, 1.5), (np.nan, 1.0)], ids=["fraction", "nan"])
def test_resize_rejects_non_integer_units(units):
    env, monitor = env_with([FixedTask(0, INSENSITIVE, (0,))])
    place(env, monitor, 0, 2, 1)
    with pytest.raises(ValueError, match=r"resize.*integer"):
        env.view.resize(0, units)
    assert env.view.alloc[0].tolist() == [2, 1]
