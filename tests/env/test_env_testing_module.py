"""The shipped checkers of :mod:`edgesched_env.testing` detect what they claim to detect.

Each case corrupts one piece of a live simulator (through its private arrays, as a buggy env would)
and expects the checker to fail with a message that names the problem.
"""

from __future__ import annotations

import numpy as np
import pytest

import edgesched_env
from edgesched_env.sim.core import DONE, RUNNING
from edgesched_env.testing import (
    EpisodeMonitor,
    assert_same,
    check_invariants,
    check_observations,
    get_view,
    masked_random_policy,
    noop_policy,
    rollout,
    sample_masked,
    unmasked_random_policy,
)


@pytest.fixture
def env():
    """tapfinger-synthetic mid-episode, with tasks running, waiting and done."""
    e = edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=60, visibility="all")
    rollout(e, 0, masked_random_policy, max_steps=40)
    v = e.view
    assert (v.status == RUNNING).any() and (v.status == DONE).any() and (v.pending >= 0).any()
    check_invariants(e)
    return e


def running_task(env):
    return int(np.flatnonzero(env.view.status == RUNNING)[0])


def test_detects_broken_capacity_accounting(env):
    c = int(env.sim.state.host[0][running_task(env)])
    env.sim.state.free[0][c, 0] += 1  # a task runs there, so free < capacity still
    with pytest.raises(AssertionError, match="capacity accounting"):
        check_invariants(env)


def test_detects_negative_free_units(env):
    env.sim.state.free[0][0, 1] = -1
    with pytest.raises(AssertionError, match="negative free"):
        check_invariants(env)


def test_detects_a_task_below_its_minimum(env):
    task = running_task(env)
    c = int(env.sim.state.host[0][task])
    held = env.sim.state.alloc[0][task].copy()
    env.sim.state.alloc[0][task] = [0, held[1]]
    env.sim.state.free[0][c, 0] += held[0]
    with pytest.raises(AssertionError, match="outside"):
        check_invariants(env)


def test_detects_a_duplicated_pending_task(env):
    i = int(np.flatnonzero((env.sim.state.pending[0] >= 0).sum(axis=1) < env.config.max_pending)[0])
    row = env.sim.state.pending[0][i]
    row[np.flatnonzero(row < 0)[0]] = row[np.flatnonzero(row >= 0)[0]]
    with pytest.raises(AssertionError, match=r"twice|pending"):
        check_invariants(env)


def test_detects_a_lost_waiting_task(env):
    i, s = (int(x) for x in np.argwhere(env.sim.state.pending[0] >= 0)[0])
    env.sim.state.pending[0][i, s] = -1
    with pytest.raises(AssertionError, match="waiting tasks are visible"):
        check_invariants(env)


def test_detects_running_count_mismatch(env):
    env.sim.state.running_count[0][0] += 1
    with pytest.raises(AssertionError, match="running_count"):
        check_invariants(env)


def test_detects_a_done_task_with_progress_below_one(env):
    task = int(np.flatnonzero(env.view.status == DONE)[0])
    env.sim.state.progress[0][task] = 0.5
    with pytest.raises(AssertionError, match="progress"):
        check_invariants(env)


def test_monitor_detects_progress_going_back():
    env = edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=30)
    obs, _ = env.reset(seed=0)
    monitor = EpisodeMonitor(env)
    monitor.start()
    rng = np.random.default_rng(0)
    while not (env.view.oracle_progress > 0.3).any():
        obs, _, _, _, infos = env.step(masked_random_policy(env, obs, rng))
        monitor.update(infos)
    task = int(np.argmax(env.view.oracle_progress))
    env.sim.state.progress[0][task] -= 0.2
    with pytest.raises(AssertionError, match="decreased"):
        monitor.update()


def test_monitor_detects_a_status_going_back_and_infos_disagreeing():
    env = edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=30)
    obs, _ = env.reset(seed=0)
    monitor = EpisodeMonitor(env)
    monitor.start()
    rng = np.random.default_rng(0)
    obs, _, _, _, infos = env.step(masked_random_policy(env, obs, rng))
    placed = [a for a in infos if infos[a]["placed"]]
    assert placed
    infos[placed[0]]["placed"] = False  # a lie about what happened
    with pytest.raises(AssertionError, match="infos report placements"):
        monitor.update(infos)
    env2 = edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=30)
    obs, _ = env2.reset(seed=0)
    monitor2 = EpisodeMonitor(env2)
    monitor2.start()
    obs, _, _, _, infos = env2.step(masked_random_policy(env2, obs, np.random.default_rng(0)))
    monitor2.update(infos)
    task = int(np.flatnonzero(env2.view.status == RUNNING)[0])
    env2.sim.state.status[0][task] = 1  # back to waiting
    with pytest.raises(AssertionError):
        monitor2.update()


def test_check_observations_detects_an_out_of_space_observation():
    env = edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=10)
    obs, _ = env.reset(seed=0)
    check_observations(env, obs)
    obs["cluster_1"]["clusters"] = obs["cluster_1"]["clusters"] - 2.0
    with pytest.raises(AssertionError, match=r"cluster_1.*clusters"):
        check_observations(env, obs)
    obs, _ = env.reset(seed=0)
    obs["cluster_0"]["action_mask"][: env.config.max_pending + 1] = 0
    with pytest.raises(AssertionError, match=r"cluster_0.*component 0"):
        check_observations(env, obs)


def test_assert_same_names_the_first_difference():
    a = {"x": [1, 2.0, np.arange(3)], "y": {"z": "s"}}
    assert_same(a, {"x": [1, 2.0, np.arange(3)], "y": {"z": "s"}})
    with pytest.raises(AssertionError, match=r"\['x'\]\[2\].*\(2,\)"):
        assert_same(a, {"x": [1, 2.0, np.array([0, 1, 5])], "y": {"z": "s"}})
    with pytest.raises(AssertionError, match="keys differ"):
        assert_same(a, {"x": [1, 2.0, np.arange(3)]})
    with pytest.raises(AssertionError, match=r"\['x'\]\[1\]"):
        assert_same(a, {"x": [1, 2, np.arange(3)], "y": {"z": "s"}})  # int vs float
    with pytest.raises(AssertionError, match="float32"):
        assert_same(np.zeros(2), np.zeros(2, dtype=np.float32))
    assert_same([float("nan"), np.array([np.nan])], [float("nan"), np.array([np.nan])])


def test_sample_masked_respects_the_mask_and_fails_on_an_empty_component():
    rng = np.random.default_rng(0)
    nvec = np.array([3, 4])
    mask = np.array([0, 1, 1, 0, 0, 0, 1])
    seen = {tuple(sample_masked(nvec, mask, rng)) for _ in range(50)}
    assert seen == {(1, 3), (2, 3)}
    with pytest.raises(AssertionError, match="component 1"):
        sample_masked(nvec, np.array([1, 0, 0, 0, 0, 0, 0]), rng)


def test_policies_return_well_formed_actions():
    env = edgesched_env.parallel_env("tapfinger-sjf", mode="multi", max_picks=2)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for policy in (masked_random_policy, unmasked_random_policy, noop_policy):
        actions = policy(env, obs, rng)
        assert set(actions) == set(env.agents)
        for a, x in actions.items():
            assert env.action_space(a).contains(np.asarray(x, dtype=np.int64))
    noops = noop_policy(env, obs, rng)
    _, _, _, _, infos = env.step(noops)
    assert all(all(info["noop"]) and not any(info["placed"]) for info in infos.values())


def test_get_view_finds_the_view_through_wrappers():
    import gymnasium

    par = edgesched_env.parallel_env("tapfinger-synthetic")
    assert get_view(par) is par.view
    aec = edgesched_env.env()
    assert get_view(aec) is aec.unwrapped.view
    central = gymnasium.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetic")
    assert get_view(central) is central.unwrapped.par.view
    with pytest.raises(TypeError):
        get_view(object())


def test_the_module_docstring_example_runs():
    import doctest

    import edgesched_env.testing as mod

    result = doctest.testmod(mod, raise_on_error=False, verbose=False)
    assert result.attempted >= 5 and result.failed == 0
