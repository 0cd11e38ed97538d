"""The public APIs: PettingZoo (parallel and AEC), Gymnasium (central view), registries, pickling."""

from __future__ import annotations

import copy
import functools
import gc
import pickle
import types
import warnings
import weakref

import gymnasium
import numpy as np
import pettingzoo
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test, max_cycles_test, parallel_api_test, parallel_seed_test, render_test
from pettingzoo.test.state_test import state_test

import edgesched_env
from edgesched_env.central_env import CentralEdgeSchedEnv
from edgesched_env.observation import EXACT_KEYS
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.presets import preset_names
from edgesched_env.spaces import MaskedMultiDiscrete
from edgesched_env.testing import (
    EpisodeMonitor,
    assert_same,
    check_invariants,
    check_observations,
    masked_random_policy,
    rollout,
    unmasked_random_policy,
)

PRESETS = preset_names()


@pytest.fixture(autouse=True)
def _quiet_api_test_warnings():
    # PettingZoo's api_test warns that Dict observations are "not a NumPy array"; that is a
    # recommendation, not an API violation.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*probably should be.*")
        warnings.filterwarnings("ignore", message="Observation is not a NumPy array")
        warnings.filterwarnings("ignore", message=".*maximum value is infinity.*")
        warnings.filterwarnings("ignore", message=".*maximum state space value is infinity.*")
        yield


def test_presets_are_the_four_of_the_spec():
    assert set(PRESETS) >= {
        "tapfinger-synthetic",
        "tapfinger-synthetic6",
        "tapfinger-hetero6",
        "tapfinger-sjf",
    }


@pytest.mark.parametrize("preset", PRESETS)
def test_parallel_api_test(preset):
    parallel_api_test(edgesched_env.parallel_env(preset), num_cycles=400)


@pytest.mark.parametrize("preset", PRESETS)
def test_parallel_api_test_multi_task_mode(preset):
    parallel_api_test(edgesched_env.parallel_env(preset, mode="multi", max_picks=3), num_cycles=200)


@pytest.mark.parametrize("preset", PRESETS)
def test_parallel_seed_test(preset):
    parallel_seed_test(functools.partial(edgesched_env.parallel_env, preset), num_cycles=200)


@pytest.mark.parametrize("preset", PRESETS)
def test_max_cycles_test(preset):
    mod = types.SimpleNamespace(
        parallel_env=functools.partial(edgesched_env.parallel_env, preset),
        env=functools.partial(edgesched_env.env, preset),
    )
    max_cycles_test(mod)


def test_max_cycles_test_on_the_module():
    max_cycles_test(edgesched_env)


def test_max_cycles_truncates_and_reports_it():
    env = edgesched_env.parallel_env("tapfinger-synthetic", max_cycles=3)
    traj = rollout(env, 0, masked_random_policy)
    assert len(traj.actions) == 3
    assert all(traj.truncations[-1].values()) and not any(traj.terminations[-1].values())
    assert not any(any(tr.values()) for tr in traj.truncations[:-1])
    assert all(info["truncated_by"] == "max_cycles" for info in traj.infos[-1].values())
    assert env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})


@pytest.mark.parametrize("preset", PRESETS)
def test_aec_api_test(preset):
    api_test(edgesched_env.env(preset), num_cycles=300)


@pytest.mark.parametrize("preset", PRESETS)
def test_pettingzoo_state_test(preset):
    state_test(edgesched_env.env(preset), edgesched_env.parallel_env(preset), num_cycles=50)


def test_pettingzoo_render_test(capsys):
    render_test(lambda render_mode=None: edgesched_env.env("tapfinger-hetero6", render_mode=render_mode))
    assert "cluster_5:" in capsys.readouterr().out  # the human mode printed


@pytest.mark.parametrize("preset", PRESETS)
def test_gymnasium_check_env_on_the_central_view(preset):
    env = gymnasium.make("edgesched/EdgeSchedCentral-v1", preset=preset)
    assert isinstance(env.unwrapped, CentralEdgeSchedEnv)
    check_env(env.unwrapped)


def test_gymnasium_check_env_on_the_central_view_multi_task_mode():
    env = gymnasium.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetic", mode="multi")
    check_env(env.unwrapped)


def test_central_view_runs_a_whole_episode_with_masks_and_the_global_return():
    env = gymnasium.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetic", num_tasks=20)
    core = env.unwrapped
    obs, info = env.reset(seed=3)
    total, steps, done = 0.0, 0, False
    monitor = EpisodeMonitor(core)
    monitor.start()
    while not done:
        mask = core.action_masks()
        assert mask.dtype == bool and mask.shape == (int(core.action_space.nvec.sum()),)
        assert np.array_equal(mask, obs["action_mask"].reshape(-1).astype(bool))
        action = core.action_space.sample(mask=mask.astype(np.int8))
        assert core.action_space.contains(action)
        obs, reward, terminated, truncated, info = env.step(action)
        assert core.observation_space.contains(obs)
        monitor.update(info["agents"])
        total += reward
        steps += 1
        done = terminated or truncated
    assert terminated and not truncated
    assert total == -info["metrics"]["total_jct"]
    assert info["metrics"]["tasks_completed"] == 20


def test_central_view_rejects_local_reward_and_bad_joint_actions():
    with pytest.raises(ValueError, match="global"):
        CentralEdgeSchedEnv("tapfinger-synthetic", reward="local")
    env = CentralEdgeSchedEnv("tapfinger-synthetic")
    with pytest.raises(RuntimeError, match="reset"):
        env.action_masks()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(4, dtype=np.int64))
    bad = np.zeros(env.action_space.shape, dtype=np.int64)
    bad[3] = -1  # cluster_1's slot component
    with pytest.raises(ValueError, match="cluster_1"):
        env.step(bad)


def test_pettingzoo_registry_makes_the_env():
    par = pettingzoo.make("parallel", "edgesched/EdgeSched-v1")
    assert isinstance(par, EdgeSchedParallelEnv)
    par = pettingzoo.make("parallel", "edgesched/EdgeSched-v1", preset="tapfinger-hetero6")
    assert par.possible_agents == [f"cluster_{i}" for i in range(6)]
    assert par.config.name == "tapfinger-hetero6"
    aec = pettingzoo.make("aec", "edgesched/EdgeSched-v1")
    assert isinstance(aec, pettingzoo.AECEnv)
    aec.reset(seed=0)
    assert aec.agent_selection == "cluster_0"


def test_gymnasium_registry_passes_overrides():
    env = gymnasium.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-sjf", num_tasks=7)
    assert env.unwrapped.par.config.workload.num_tasks == 7
    assert env.unwrapped.par.config.reward == "global"


@pytest.mark.parametrize("preset", PRESETS)
def test_spaces_are_identical_cached_and_match_the_spec_shapes(preset):
    env = edgesched_env.parallel_env(preset)
    cfg = env.config
    n, p, r, k = cfg.num_clusters, cfg.max_pending, cfg.num_resources, cfg.num_types
    first = env.possible_agents[0]
    for a in env.possible_agents:
        assert env.observation_space(a) is env.observation_space(a)
        assert env.action_space(a) is env.action_space(a)
        assert env.observation_space(a) == env.observation_space(first)
        assert env.action_space(a) == env.action_space(first)
    space = env.action_space(first)
    assert isinstance(space, MaskedMultiDiscrete) and isinstance(space, gymnasium.spaces.MultiDiscrete)
    assert space.nvec.tolist() == [p + 1, *cfg.num_levels]
    obs_space = env.observation_space(first)
    assert obs_space["clusters"].shape == (n, 2 * r + 4)
    assert obs_space["pending"].shape == (p, k + r + 3)
    assert obs_space["pending_mask"].shape == (p,)
    assert obs_space["alloc_mask"].shape == (p, r, max(cfg.num_levels))
    assert obs_space["action_mask"].shape == (int(space.nvec.sum()),)
    # v1: the exact blocks (int64), after the v0 keys
    m = cfg.max_running
    assert obs_space["clock"].shape == (2,)
    assert obs_space["cluster_info"].shape == (n, r + 3)
    assert obs_space["pending_info"].shape == (p, r + 5)
    assert obs_space["running_info"].shape == (m, 2 * r + 3)
    for key, sub in obs_space.spaces.items():
        expected = np.int64 if key in EXACT_KEYS else (np.int8 if key.endswith("mask") else np.float32)
        assert sub.dtype == expected, key


def test_masked_multidiscrete_accepts_flat_and_tuple_masks():
    space = MaskedMultiDiscrete([3, 4])
    space.seed(0)
    flat = np.array([0, 1, 0, 0, 0, 0, 1], dtype=np.int8)
    for _ in range(20):
        assert space.sample(mask=flat).tolist() == [1, 3]
    parts = (np.array([1, 0, 0], dtype=np.int8), np.array([0, 1, 0, 0], dtype=np.int8))
    assert space.sample(mask=parts).tolist() == [0, 1]
    with pytest.raises(ValueError, match=r"shape \(7,\)"):
        space.sample(mask=np.ones(6, dtype=np.int8))


@pytest.mark.parametrize("preset", PRESETS)
def test_state_is_in_the_state_space_through_an_episode(preset):
    env = edgesched_env.parallel_env(preset, num_tasks=30, max_cycles=250)
    obs, _ = env.reset(seed=1)
    rng = np.random.default_rng(1)
    shapes = env.builder.state_shapes
    while env.agents:
        state = env.state()
        assert state.dtype == np.float32
        assert env.state_space.contains(state)
        pieces = env.state_dict()
        assert {k: v.shape for k, v in pieces.items()} == shapes
        assert np.array_equal(np.concatenate([v.ravel() for v in pieces.values()]), state)
        # The pool is the set of tasks in any pending slot.
        in_pool = int(pieces["pool_mask"].sum())
        assert in_pool == np.unique(env.view.pending[env.view.pending >= 0]).shape[0]
        obs, *_ = env.step(masked_random_policy(env, obs, rng))


def test_observations_are_fresh_arrays_every_step():
    env = edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=12)
    obs, _ = env.reset(seed=0)
    kept = copy.deepcopy(obs)
    rng = np.random.default_rng(0)
    for _ in range(6):
        new, *_ = env.step(masked_random_policy(env, obs, rng))
        assert_same(obs, kept)  # what an agent stored is never mutated by the env
        obs, kept = new, copy.deepcopy(new)


def test_view_arrays_are_read_only():
    env = edgesched_env.parallel_env("tapfinger-synthetic")
    env.reset(seed=0)
    for name in ("free", "pending", "status", "alloc", "capacity", "oracle_progress", "visible"):
        arr = getattr(env.view, name)
        with pytest.raises(ValueError, match="read-only"):
            arr[...] = 0


def _continue(env, obs, rng, steps):
    out = []
    for _ in range(steps):
        if not env.agents:
            break
        step = env.step(masked_random_policy(env, obs, rng))
        obs = step[0]
        out.append(step)
    return out


@pytest.mark.parametrize("preset", PRESETS)
def test_pickle_mid_episode_both_continue_identically(preset):
    env = edgesched_env.parallel_env(preset, num_tasks=40, progress_noise=0.2, max_cycles=300)
    obs, _ = env.reset(seed=5)
    rng = np.random.default_rng(5)
    for _ in range(25):
        obs, *_ = env.step(masked_random_policy(env, obs, rng))
    clone = pickle.loads(pickle.dumps(env))
    check_invariants(clone)
    assert clone.agents == env.agents
    rng_clone = copy.deepcopy(rng)
    a = _continue(env, obs, rng, 10_000)
    b = _continue(clone, copy.deepcopy(obs), rng_clone, 10_000)
    assert a and len(a) == len(b)
    assert_same(a, b)
    assert env.agents == clone.agents == []
    assert_same(env.last_metrics, clone.last_metrics)


def test_pickle_then_reset_with_the_same_seed_matches_a_fresh_env():
    env = edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=15)
    rollout(env, 2, masked_random_policy, max_steps=10)
    clone = pickle.loads(pickle.dumps(env))
    fresh = edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=15)
    ta = rollout(clone, 9, unmasked_random_policy)
    tb = rollout(fresh, 9, unmasked_random_policy)
    assert_same(ta.as_dict(), tb.as_dict())


def test_pickle_the_central_view_mid_episode():
    env = CentralEdgeSchedEnv("tapfinger-synthetic", num_tasks=20)
    env.reset(seed=4)
    env.action_space.seed(4)
    for _ in range(10):
        env.step(env.action_space.sample(mask=env.action_masks().astype(np.int8)))
    clone = pickle.loads(pickle.dumps(env))
    rng = np.random.default_rng(0)
    for _ in range(15):
        mask = env.action_masks()
        assert np.array_equal(mask, clone.action_masks())
        act = np.array(
            [rng.choice(np.flatnonzero(m)) for m in np.split(mask, np.cumsum(env.action_space.nvec)[:-1])]
        )
        a, b = env.step(act), clone.step(act)
        assert_same(list(a), list(b))
        if a[2] or a[3]:
            break


def test_reset_infos_and_agents():
    env = edgesched_env.parallel_env("tapfinger-synthetic")
    assert env.agents == []
    obs, infos = env.reset(seed=0)
    assert env.agents == env.possible_agents == ["cluster_0", "cluster_1", "cluster_2"]
    assert set(obs) == set(infos) == set(env.agents)
    for i, a in enumerate(env.agents):
        assert infos[a]["slot"] == 0 and infos[a]["round"] == 0
        assert np.array_equal(infos[a]["pending_task_ids"], env.view.pending[i])
        assert np.array_equal(obs[a]["pending_mask"], (env.view.pending[i] >= 0).astype(np.int8))
    check_observations(env, obs)


def test_envs_are_garbage_collected():
    # No class-level cache may keep env instances (and their simulators) alive.
    env = edgesched_env.parallel_env("tapfinger-synthetic")
    env.reset(seed=0)
    env.observation_space("cluster_0"), env.action_space("cluster_1")
    ref = weakref.ref(env)
    del env
    gc.collect()
    assert ref() is None


def test_unknown_render_mode_is_rejected():
    with pytest.raises(ValueError, match="render_mode"):
        edgesched_env.parallel_env("tapfinger-synthetic", render_mode="video")
