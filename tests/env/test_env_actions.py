"""Action validation (malformed -> ValueError) and infeasible actions (never raise) - SPEC.md s.5."""

from __future__ import annotations

import numpy as np
import pytest

import edgesched_env
from edgesched_env import FixedTask
from edgesched_env.sim.core import RUNNING, WAITING
from edgesched_env.testing import check_invariants, rollout, unmasked_random_policy

INSENSITIVE = 0
NOOP = 10


def act(slot, *units):
    return np.array([slot, *units], dtype=np.int64)


def small_env(**overrides):
    """cluster_0 (4, 4) and cluster_1 (16, 16); two insensitive tasks (min (2, 1)) seen by both."""
    tasks = (FixedTask(0, INSENSITIVE, (0, 1)), FixedTask(0, INSENSITIVE, (0, 1)))
    env = edgesched_env.parallel_env(
        "tapfinger-synthetic", capacities=[(4, 4), (16, 16)], fixed_tasks=tasks, num_tasks=2, **overrides
    )
    env.reset(seed=0)
    return env


def noops(env):
    return {a: act(NOOP, 0, 0) for a in env.agents}


MALFORMED = [
    # (the bad action of cluster_1, regex the message must match)
    ([0, 2], r"cluster_1.*shape"),
    ([0, 2, 1, 0], r"cluster_1.*shape"),
    ([[0, 2, 1]], r"cluster_1.*shape"),
    (np.int64(3), r"cluster_1.*shape"),
    (np.array([-1, 2, 1]), r"cluster_1.*component 0 \(slot\).*-1"),
    (np.array([0, -2, 1]), r"cluster_1.*component 1 \(cpu\).*-2"),
    (np.array([0, 2, -1]), r"cluster_1.*component 2 \(gpu\).*-1"),
    (np.array([11, 2, 1]), r"cluster_1.*component 0 \(slot\).*11.*\[0, 10\]"),
    (np.array([0, 17, 1]), r"cluster_1.*component 1 \(cpu\).*17.*\[0, 16\]"),
    (np.array([0, 2, 99]), r"cluster_1.*component 2 \(gpu\).*99"),
    (np.array([0.0, np.nan, 1.0]), r"cluster_1.*component 1 \(cpu\).*nan"),
    (np.array([0.0, 2.0, np.inf]), r"cluster_1.*component 2 \(gpu\).*inf"),
    (np.array([0.0, 2.5, 1.0]), r"cluster_1.*component 1 \(cpu\).*2\.5.*not an integer"),
    ([0, 2.5, 1], r"cluster_1.*component 1 \(cpu\).*not an integer"),
    ([0, -1, 1], r"cluster_1.*component 1 \(cpu\)"),
    (["a", "b", "c"], r"cluster_1.*integers"),
    ([0, None, 1], r"cluster_1"),
    ([[0, 1], 2, 3], r"cluster_1"),
]


@pytest.mark.parametrize(("bad", "pattern"), MALFORMED, ids=[f"case{i}" for i in range(len(MALFORMED))])
def test_malformed_actions_raise_a_clear_value_error(bad, pattern):
    env = small_env()
    before = (env.view.t, env.view.round_in_slot, env.view.free.copy(), env.view.pending.copy())
    with pytest.raises(ValueError, match=pattern):
        env.step({"cluster_0": act(0, 2, 1), "cluster_1": bad})
    # Nothing happened: not even cluster_0's valid pick was applied.
    after = (env.view.t, env.view.round_in_slot, env.view.free.copy(), env.view.pending.copy())
    assert before[:2] == after[:2]
    assert np.array_equal(before[2], after[2]) and np.array_equal(before[3], after[3])
    # The env is still usable.
    _, _, _, _, infos = env.step({"cluster_0": act(0, 2, 1), "cluster_1": act(1, 2, 1)})
    assert infos["cluster_0"]["placed"] and infos["cluster_1"]["placed"]


WRONG_SHAPE_ARRAYS = [np.array([0, 2]), np.array([0, 2, 1, 0]), np.array([[0, 2, 1]]), np.zeros((3, 1), int)]


@pytest.mark.parametrize("bad", WRONG_SHAPE_ARRAYS, ids=["short", "long", "2d", "column"])
def test_wrong_shape_numpy_action_names_the_agent(bad):
    env = small_env()
    try:
        env.step({"cluster_0": act(0, 2, 1), "cluster_1": bad})
    except ValueError as exc:
        assert "cluster_1" in str(exc) and "shape" in str(exc), str(exc)
    else:
        pytest.fail("no ValueError for a wrong-shape action")


def test_wrong_shape_numpy_action_of_every_agent_names_an_agent():
    # Same shapes for all agents take the stacked path, which does check the width.
    env = small_env()
    with pytest.raises(ValueError, match=r"cluster_0.*shape"):
        env.step({"cluster_0": np.array([0, 2]), "cluster_1": np.array([0, 2])})


def test_missing_and_unknown_agents_raise():
    env = small_env()
    with pytest.raises(ValueError, match=r"missing.*cluster_1"):
        env.step({"cluster_0": act(0, 2, 1)})
    with pytest.raises(ValueError, match=r"cluster_7"):
        env.step({**noops(env), "cluster_7": act(NOOP, 0, 0)})
    with pytest.raises(ValueError, match=r"dict"):
        env.step([act(NOOP, 0, 0), act(NOOP, 0, 0)])
    check_invariants(env)


def test_multi_mode_errors_name_the_pick_and_component():
    env = small_env(mode="multi", max_picks=2)
    good = np.concatenate([act(NOOP, 0, 0), act(NOOP, 0, 0)])
    bad = np.concatenate([act(NOOP, 0, 0), act(0, 2, 17)])
    with pytest.raises(ValueError, match=r"cluster_0.*component 5 \(pick1\.gpu\).*17"):
        env.step({"cluster_0": bad, "cluster_1": good})
    with pytest.raises(ValueError, match=r"cluster_1.*shape \(6,\)"):
        env.step({"cluster_0": good, "cluster_1": [NOOP, 0, 0]})


def test_integer_like_inputs_are_accepted():
    env = small_env()
    _, _, _, _, infos = env.step({"cluster_0": [0, 2, 1], "cluster_1": np.array([1.0, 3.0, 2.0])})
    assert infos["cluster_0"]["placed"] and infos["cluster_1"]["placed"]
    assert env.view.alloc.tolist() == [[2, 1], [3, 2]]
    assert env.view.host.tolist() == [0, 1]
    env = small_env()
    _, _, _, _, infos = env.step(
        {"cluster_0": np.array([0, 2, 1], dtype=np.int32), "cluster_1": np.array([1, 2, 1], dtype=np.uint8)}
    )
    assert infos["cluster_0"]["placed"] and infos["cluster_1"]["placed"]


def test_all_zero_allocation_on_an_occupied_slot_is_a_noop():
    env = small_env()
    _, _, _, _, infos = env.step({"cluster_0": act(0, 0, 0), "cluster_1": act(NOOP, 5, 5)})
    for a in env.agents:
        info = infos[a]
        assert info["noop"] and not info["placed"] and not info["infeasible"] and not info["clipped"]
        assert info["task"] == -1 and not info["empty_slot"]
    assert info["slot_end"]  # nobody placed anything: the slot is over
    assert env.view.status.tolist() == [WAITING, WAITING]


def test_empty_pending_slot_is_a_noop():
    env = small_env()
    _, _, _, _, infos = env.step({"cluster_0": act(5, 2, 1), "cluster_1": act(9, 2, 1)})
    for a in env.agents:
        assert infos[a]["empty_slot"] and infos[a]["noop"] and not infos[a]["infeasible"]
        assert infos[a]["task"] == -1


def test_clip_raises_to_the_minimum():
    env = small_env()
    # cpu 1 < min 2 -> 2; gpu 0 < min 1 -> 1.
    _, _, _, _, infos = env.step({"cluster_0": act(0, 1, 0), "cluster_1": act(NOOP, 0, 0)})
    assert infos["cluster_0"]["placed"] and infos["cluster_0"]["clipped"]
    assert not infos["cluster_0"]["infeasible"]
    assert env.view.alloc[0].tolist() == [2, 1]


def test_clip_caps_at_what_is_free():
    env = small_env()
    # cluster_0 has (4, 4): (16, 3) -> (4, 3).
    _, _, _, _, infos = env.step({"cluster_0": act(0, 16, 3), "cluster_1": act(NOOP, 0, 0)})
    assert infos["cluster_0"]["placed"] and infos["cluster_0"]["clipped"]
    assert env.view.alloc[0].tolist() == [4, 3] and env.view.free[0].tolist() == [0, 1]


def test_clip_with_no_room_left_is_an_infeasible_noop():
    env = small_env()
    env.step({"cluster_0": act(0, 4, 4), "cluster_1": act(NOOP, 0, 0)})
    # cluster_0 is full: task 1 cannot fit even at its minimum.
    _, _, _, _, infos = env.step({"cluster_0": act(1, 2, 1), "cluster_1": act(NOOP, 0, 0)})
    info = infos["cluster_0"]
    assert info["infeasible"] and not info["placed"] and not info["clipped"] and info["task"] == 1
    assert info["slot_end"]
    assert env.view.status[1] == WAITING


def test_exact_fit_is_not_clipped():
    env = small_env()
    _, _, _, _, infos = env.step({"cluster_0": act(0, 4, 4), "cluster_1": act(1, 16, 16)})
    for a in env.agents:
        assert infos[a]["placed"] and not infos[a]["clipped"]


def test_noop_policy_turns_below_minimum_and_over_free_into_noops():
    env = small_env(infeasible="noop")
    _, _, _, _, infos = env.step({"cluster_0": act(0, 1, 1), "cluster_1": act(1, 2, 0)})
    for a in env.agents:
        info = infos[a]
        assert info["infeasible"] and not info["placed"] and not info["clipped"] and not info["noop"]
    env = small_env(infeasible="noop")
    _, _, _, _, infos = env.step({"cluster_0": act(0, 5, 1), "cluster_1": act(1, 2, 1)})
    assert infos["cluster_0"]["infeasible"] and not infos["cluster_0"]["placed"]
    assert infos["cluster_1"]["placed"] and not infos["cluster_1"]["clipped"]
    assert env.view.alloc[1].tolist() == [2, 1]
    assert env.view.status.tolist() == [WAITING, RUNNING]


def test_a_task_is_never_placed_below_its_minimum():
    # Whatever the (well-formed) action, placed allocations are within [min, max] and fit.
    for rule in ("clip", "noop"):
        for seed in range(3):
            env = edgesched_env.parallel_env("tapfinger-sjf", num_tasks=15, infeasible=rule)
            traj = rollout(env, seed, unmasked_random_policy)  # checks the invariants every step
            assert traj.metrics is not None and traj.metrics["tasks_completed"] == 15
            assert traj.metrics["infeasible_actions"] > 0
            placed = env.view.alloc[env.view.placed_slot >= 0]
            assert (placed >= env.view.min_request[env.view.placed_slot >= 0]).all()


def test_unmasked_random_actions_never_raise_on_any_preset():
    for preset in edgesched_env.preset_names():
        if preset.startswith("tapfinger"):
            env = edgesched_env.parallel_env(preset, num_tasks=25)
        else:  # long tasks: cut the episode
            env = edgesched_env.parallel_env(preset, num_tasks=10, max_slots=80)
        for seed in range(2):
            traj = rollout(env, seed, unmasked_random_policy)
            assert traj.metrics is not None
            if preset.startswith("tapfinger"):
                assert not traj.metrics["truncated"] and traj.metrics["tasks_completed"] == 25


def test_multi_mode_infos_are_lists_even_with_one_pick():
    env = small_env(mode="multi", max_picks=1)
    _, _, _, _, infos = env.step({"cluster_0": act(0, 2, 1), "cluster_1": act(NOOP, 0, 0)})
    for key in ("task", "placed", "noop", "empty_slot", "infeasible", "clipped", "conflict"):
        assert isinstance(infos["cluster_0"][key], list), key
    assert infos["cluster_0"]["placed"] == [True]
