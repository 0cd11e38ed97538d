"""Workload generation (arrivals, types, visibility), hidden information and noise (SPEC 2-4, 9).

The statistical checks use fixed seeds and tolerances of several standard errors: they are
deterministic, and they fail on a wrong distribution (e.g. visibility not uniform in k).
"""

from __future__ import annotations

import numpy as np
import pytest

import edgesched_env
from edgesched_env import FixedTask, make_config
from edgesched_env.testing import check_invariants, masked_random_policy, rollout
from edgesched_env.workload.arrivals import generate_workload, poisson_arrival_slots


def test_poisson_arrivals_have_the_right_rate_and_exact_count():
    rng = np.random.default_rng(0)
    for rate in (0.5, 2.0, 6.0):
        slots = poisson_arrival_slots(rate, 20_000, rng)
        assert slots.shape == (20_000,) and slots[0] >= 0
        assert (np.diff(slots) >= 0).all()
        counts = np.bincount(slots)[:-1]  # the last slot's batch is cut
        # Mean and variance of a Poisson(rate): both = rate; standard error ~ sqrt(rate / S).
        se = np.sqrt(rate / counts.shape[0])
        assert abs(counts.mean() - rate) < 5 * se
        assert abs(counts.var() / rate - 1.0) < 0.1


@pytest.mark.parametrize("n", [1, 3, 6])
def test_random_subset_visibility_is_uniform_in_size_then_subset(n):
    cfg = make_config("tapfinger-synthetic", capacities=[(16, 16)] * n, num_tasks=30_000)
    wl = generate_workload(cfg, np.random.default_rng(1))
    size = wl.visible.sum(axis=1)
    assert size.min() >= 1 and size.max() <= n
    freq = np.bincount(size, minlength=n + 1)[1:] / size.shape[0]
    # k ~ U{1..N}: each size has probability 1/N (standard error sqrt(p (1-p) / T) < 0.003).
    np.testing.assert_allclose(freq, 1.0 / n, atol=0.015)
    # Given k, the subset is uniform: every cluster is in it with probability k / N, so a
    # cluster sees a task with probability (N + 1) / (2 N), the same for every cluster.
    np.testing.assert_allclose(wl.visible.mean(axis=0), (n + 1) / (2 * n), atol=0.015)
    if n == 3:
        # The three 2-subsets are equally likely.
        pairs = wl.visible[size == 2]
        missing = np.argmin(pairs, axis=1)
        np.testing.assert_allclose(np.bincount(missing, minlength=3) / pairs.shape[0], 1 / 3, atol=0.02)


def test_all_visibility_and_type_mix():
    cfg = make_config("tapfinger-sjf", visibility="all", num_tasks=20_000)
    wl = generate_workload(cfg, np.random.default_rng(2))
    assert wl.visible.all()
    assert abs(wl.type_idx.mean() - 0.5) < 0.02  # two types, 1/2 each
    assert (wl.min_request == 3).all()
    cfg = make_config("tapfinger-sjf", visibility="all", num_tasks=20_000, type_probs=(0.9, 0.1))
    wl = generate_workload(cfg, np.random.default_rng(2))
    assert abs(wl.type_idx.mean() - 0.1) < 0.02


def test_fixed_tasks_are_replayed_exactly_whatever_the_seed():
    tasks = (FixedTask(0, 1, (2,)), FixedTask(4, 0, (0, 1)), FixedTask(4, 1, (0, 1, 2), work=2.0))
    cfg = make_config("tapfinger-synthetic", fixed_tasks=tasks, num_tasks=3)
    for seed in range(3):
        wl = generate_workload(cfg, np.random.default_rng(seed))
        assert wl.arrival_slot.tolist() == [0, 4, 4]
        assert wl.type_idx.tolist() == [1, 0, 1]
        assert wl.visible.tolist() == [[False, False, True], [True, True, False], [True, True, True]]
        assert wl.work.tolist() == [1.0, 1.0, 2.0]


def test_first_batch_arrives_at_reset_and_num_tasks_is_exact():
    env = edgesched_env.parallel_env("tapfinger-synthetic6", num_tasks=37)
    first_batches = []
    for seed in range(6):
        env.reset(seed=seed)
        v = env.view
        assert v.num_tasks == 37
        at_zero = np.asarray(v.arrival_slot) == 0
        # Exactly the tasks of slot 0 have arrived (status waiting) right after reset.
        assert np.array_equal(np.asarray(v.status) == 1, at_zero)
        assert np.array_equal(np.asarray(v.status) == 0, ~at_zero)
        check_invariants(env)
        first_batches.append(int(at_zero.sum()))
    assert max(first_batches) > 0
    traj = rollout(env, 0, masked_random_policy)
    assert traj.metrics["tasks_arrived"] == traj.metrics["tasks_completed"] == 37


def test_hidden_progress_and_work_are_not_observable():
    # Two workloads identical but for the hidden amount of work of one task: every observation
    # and the global state are identical until that task's completion differs.
    def run(work):
        tasks = (FixedTask(0, 0, (0,), work=work), FixedTask(1, 1, (0, 1)))
        env = edgesched_env.parallel_env("tapfinger-synthetic", fixed_tasks=tasks, num_tasks=2)
        obs, _ = env.reset(seed=0)
        noop = np.array([10, 0, 0])
        out = [(obs, env.state())]
        obs, *_ = env.step({"cluster_0": np.array([0, 2, 1]), "cluster_1": noop, "cluster_2": noop})
        out.append((obs, env.state()))
        for _ in range(3):  # slots 0-2: no task completes in either run (0.25 / slot, or half)
            obs, *_ = env.step(dict.fromkeys(env.agents, noop))
            out.append((obs, env.state()))
        return out, env

    a, env_a = run(1.0)
    b, env_b = run(2.0)
    assert env_a.view.oracle_progress[0] == 0.75 and env_b.view.oracle_progress[0] == 0.375
    for (oa, sa), (ob, sb) in zip(a, b):
        assert np.array_equal(sa, sb)
        for agent in oa:
            for key in oa[agent]:
                assert np.array_equal(oa[agent][key], ob[agent][key]), key


def test_progress_noise_varies_durations_and_stays_deterministic():
    tasks = tuple(FixedTask(0, 0, (0, 1, 2)) for _ in range(24))  # insensitive: 4 slots exactly

    def durations(noise, seed):
        env = edgesched_env.parallel_env(
            "tapfinger-synthetic",
            capacities=[(64, 64)] * 3,
            fixed_tasks=tasks,
            num_tasks=24,
            progress_noise=noise,
            visibility="all",
        )
        env.reset(seed=seed)
        while env.agents:
            actions = {}
            for i, agent in enumerate(env.agents):  # first occupied slot with (2, 1), else no-op
                occupied = np.flatnonzero(env.view.pending[i] >= 0)
                slot = int(occupied[0]) if occupied.shape[0] else 10
                actions[agent] = np.array([slot, 2, 1])
            env.step(actions)
        v = env.view
        return (np.asarray(v.completion_slot) - np.asarray(v.placed_slot) + 1).tolist()

    assert set(durations(0.0, 0)) == {4}
    noisy = durations(0.5, 0)
    assert len(set(noisy)) > 1 and min(noisy) >= 3 and max(noisy) <= 8
    assert durations(0.5, 0) == noisy
    assert durations(0.5, 1) != noisy


def test_the_workload_comes_from_the_env_rng_seeded_by_reset():
    from gymnasium.utils import seeding

    for preset in ("tapfinger-synthetic", "tapfinger-hetero6"):
        env = edgesched_env.parallel_env(preset, num_tasks=50)
        env.reset(seed=17)
        wl = generate_workload(env.config, seeding.np_random(17)[0])
        v = env.view
        assert np.array_equal(wl.arrival_slot, v.arrival_slot)
        assert np.array_equal(wl.type_idx, v.type_idx)
        assert np.array_equal(wl.visible, v.visible)


def test_no_global_random_state_is_used():
    # DESIGN rule 3: one RNG, passed down; no `random` module, no legacy np.random.* calls.
    import random

    # The legacy global state is read on purpose: it must be untouched by the env.
    np_state = np.random.get_state()  # noqa: NPY002  # reading the legacy global RNG is the test
    py_state = random.getstate()
    env = edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=30, progress_noise=0.3)
    rollout(env, 5, masked_random_policy)
    after = np.random.get_state()  # noqa: NPY002  # see above
    assert all(np.array_equal(a, b) for a, b in zip(np_state, after))
    assert random.getstate() == py_state
