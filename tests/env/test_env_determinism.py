"""Full-episode determinism: one seed fixes the whole episode, bit for bit (DESIGN.md rule 3)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import edgesched_env
from edgesched_env.presets import preset_names
from edgesched_env.testing import (
    assert_same,
    check_determinism,
    masked_random_policy,
    rollout,
    same_sequence,
    unmasked_random_policy,
)

PRESETS = preset_names()


def small(preset, num_tasks):
    """Overrides that keep an episode short: the non-tapfinger presets' tasks run for hundreds of
    slots, so their episodes are cut by ``max_slots`` (truncation is deterministic too)."""
    if preset.startswith("tapfinger"):
        return {"num_tasks": num_tasks}
    return {"num_tasks": min(num_tasks, 20), "max_slots": 60}


@pytest.mark.parametrize("preset", PRESETS)
def test_same_seed_same_whole_episode(preset):
    kw = small(preset, 60)
    env_fn = functools.partial(edgesched_env.parallel_env, preset, progress_noise=0.3, **kw)
    (traj,) = check_determinism(env_fn, 11, masked_random_policy, check=True)
    assert traj.metrics is not None and traj.metrics["tasks_completed"] > 0
    if "max_slots" not in kw:
        assert traj.metrics["tasks_completed"] == 60
    # Something random actually happened: conflicts were resolved and noise drawn.
    assert len(traj.actions) > 20


@pytest.mark.parametrize("preset", PRESETS)
def test_same_seed_same_episode_with_unmasked_actions_and_options(preset):
    env_fn = functools.partial(
        edgesched_env.parallel_env, preset, conflict_rule="random", reward="global", **small(preset, 40)
    )
    check_determinism(env_fn, 3, unmasked_random_policy)


def test_same_seed_same_episode_in_multi_task_mode():
    env_fn = functools.partial(edgesched_env.parallel_env, "tapfinger-synthetic6", num_tasks=60, mode="multi")
    (traj,) = check_determinism(env_fn, 5, masked_random_policy, check=True)
    assert traj.metrics["tasks_completed"] == 60


def test_full_default_episode_is_deterministic():
    # The whole default preset episode, not a shortened one.
    (traj,) = check_determinism(edgesched_env.parallel_env, 2024, masked_random_policy)
    default = edgesched_env.make_config(edgesched_env.DEFAULT_PRESET)
    assert traj.metrics["tasks_completed"] == default.workload.num_tasks


def test_reset_seed_then_reset_twice_matches_a_fresh_env():
    env_fn = functools.partial(
        edgesched_env.parallel_env, "tapfinger-synthetic", num_tasks=30, progress_noise=0.2
    )
    trajs = check_determinism(env_fn, 8, masked_random_policy, episodes=3)
    # reset() without a seed continues the RNG: the three episodes differ from each other.
    workloads = [
        [info["pending_task_ids"].tolist() for info in t.reset_infos.values()] + [t.metrics["total_jct"]]
        for t in trajs
    ]
    assert workloads[0] != workloads[1] != workloads[2]
    # And a reset(seed) after that brings back the first episode exactly.
    env = env_fn()
    for e in range(3):
        rollout(env, 8 if e == 0 else None, masked_random_policy, policy_rng=np.random.default_rng(e))
    again = rollout(env, 8, masked_random_policy, policy_rng=np.random.default_rng(8))
    assert_same(again.as_dict(), trajs[0].as_dict())


def test_different_seeds_give_different_episodes():
    env_fn = functools.partial(edgesched_env.parallel_env, "tapfinger-synthetic", num_tasks=40)
    episodes = []
    for seed in range(4):
        env = env_fn()
        traj = rollout(env, seed, masked_random_policy, policy_rng=np.random.default_rng(0))
        episodes.append((traj, np.array(env.view.arrival_slot), np.array(env.view.visible)))
    for i in range(4):
        for j in range(i + 1, 4):
            ti, tj = episodes[i][0], episodes[j][0]
            assert not same_sequence(ti.observations, tj.observations)
            workload_differs = not np.array_equal(episodes[i][1], episodes[j][1]) or not np.array_equal(
                episodes[i][2], episodes[j][2]
            )
            assert workload_differs


def test_workload_depends_on_the_seed_only_never_on_the_policy():
    # Two schedulers on the same seed face the same tasks (arrivals, types, visibility).
    envs = [edgesched_env.parallel_env("tapfinger-hetero6", num_tasks=50) for _ in range(2)]
    rollout(envs[0], 21, masked_random_policy)
    rollout(envs[1], 21, unmasked_random_policy, policy_rng=np.random.default_rng(99))
    for name in ("arrival_slot", "type_idx", "visible", "min_request"):
        assert np.array_equal(getattr(envs[0].view, name), getattr(envs[1].view, name)), name


def test_unseeded_reset_is_usable_and_seeded_runs_ignore_earlier_history():
    env = edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=10)
    rollout(env, None, masked_random_policy, policy_rng=np.random.default_rng(0))
    a = rollout(env, 4, masked_random_policy)
    b = rollout(edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=10), 4, masked_random_policy)
    assert_same(a.as_dict(), b.as_dict())


def test_check_determinism_catches_a_nondeterministic_env():
    # The checker itself must be able to fail: an env whose reset ignores the seed.
    class Unseeded(edgesched_env.EdgeSchedParallelEnv):
        counter = 0

        def reset(self, seed=None, options=None):
            Unseeded.counter += 1
            return super().reset(seed=None if seed is None else seed + Unseeded.counter, options=options)

    with pytest.raises(AssertionError, match="episode 0"):
        check_determinism(lambda: Unseeded("tapfinger-synthetic", num_tasks=10), 0, masked_random_policy)


def test_central_view_is_deterministic():
    import gymnasium

    def run(seed):
        env = gymnasium.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-sjf", num_tasks=20)
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        out, done = [obs], False
        while not done:
            mask = env.unwrapped.action_masks().astype(np.int8)
            obs, rew, term, trunc, info = env.step(env.action_space.sample(mask=mask))
            out.append((obs, rew, term, trunc, info))
            done = term or trunc
        return out

    assert_same(run(6), run(6))
    assert not same_sequence(run(6), run(7))
