"""Property tests (hypothesis) over presets, seeds, config overrides and random actions.

Each example plays a whole (small) episode and checks, after every step, the invariants of
:func:`edgesched_env.testing.check_invariants` and :class:`~edgesched_env.testing.EpisodeMonitor`
(capacity accounting, at-most-once placement, time and progress never going back, infos agreeing
with the state), that observations lie in their space and agree with the state, and the reward
rules; at the end, the exact Little's-law identities of SPEC.md section 7.
"""

from __future__ import annotations

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

import edgesched_env
from edgesched_env import FixedTask
from edgesched_env.presets import preset_names
from edgesched_env.sim.core import DONE, RUNNING
from edgesched_env.testing import (
    EpisodeMonitor,
    check_determinism,
    check_observations,
    jcts,
    masked_random_policy,
    sample_masked,
    unmasked_random_policy,
)

PRESETS = preset_names()
TAPFINGER = [p for p in PRESETS if p.startswith("tapfinger")]


@st.composite
def scenarios(draw, presets=PRESETS):
    preset = draw(st.sampled_from(presets))
    mode = draw(st.sampled_from(["single", "single", "multi"]))
    overrides = {
        "num_tasks": draw(st.integers(1, 16)),
        "arrival_rate": draw(st.floats(0.25, 6.0)),
        "visibility": draw(st.sampled_from(["all", "random-subset"])),
        "conflict_rule": draw(st.sampled_from(["capacity", "random"])),
        "infeasible": draw(st.sampled_from(["clip", "noop"])),
        "reward": draw(st.sampled_from(["local", "global"])),
        "mode": mode,
        "max_pending": draw(st.integers(1, 10)),
        "progress_noise": draw(st.sampled_from([0.0, 0.0, 0.4])),
    }
    if mode == "multi":
        overrides["max_picks"] = draw(st.integers(1, 4))
    max_slots = draw(st.one_of(st.none(), st.integers(1, 40)))
    if max_slots is None and preset not in TAPFINGER:
        max_slots = 200  # the edge presets' tasks run for hundreds of slots
    if max_slots is not None:
        overrides["max_slots"] = max_slots
    policy = draw(st.sampled_from(["masked", "unmasked", "mixed"]))
    seed = draw(st.integers(0, 2**32 - 1))
    return preset, overrides, policy, seed


def mixed_policy(env, obs, rng):
    """Per agent: masked sample, unmasked sample or a no-op, at random."""
    actions = {}
    for a in env.agents:
        nvec = env.action_space(a).nvec
        u = rng.random()
        if u < 0.4:
            actions[a] = sample_masked(nvec, obs[a]["action_mask"], rng)
        elif u < 0.8:
            actions[a] = rng.integers(nvec).astype(np.int64)
        else:
            actions[a] = np.zeros(len(nvec), dtype=np.int64)  # slot 0, zero units: a no-op
    return actions


POLICIES = {"masked": masked_random_policy, "unmasked": unmasked_random_policy, "mixed": mixed_policy}


def check_observation_matches_state(env, obs):
    """The documented observation layout agrees with the simulator view."""
    v, cfg = env.view, env.config
    r, p = cfg.num_resources, cfg.max_pending
    levels = np.asarray(cfg.num_levels)
    upper = np.minimum(v.free, levels - 1)  # (N, R)
    for i, a in enumerate(env.agents):
        o = obs[a]
        ids = v.pending[i]
        occupied = ids >= 0
        assert np.array_equal(o["pending_mask"], occupied.astype(np.int8))
        assert not o["pending"][~occupied].any()
        np.testing.assert_allclose(o["clusters"][:, :r], v.free / v.capacity, rtol=1e-6)
        assert o["clusters"][i, -1] == 1.0 and o["clusters"][:, -1].sum() == 1.0
        assert o["running_mask"].sum() == min(int(v.running_count[i]), o["running_mask"].shape[0])
        m = v.min_request[np.maximum(ids, 0)]  # (P, R)
        fits = occupied & (m <= upper[i]).all(axis=1)
        lv = np.arange(o["alloc_mask"].shape[2])
        want = (lv >= m[:, :, None]) & (lv <= upper[i][None, :, None]) & fits[:, None, None]
        assert np.array_equal(o["alloc_mask"].astype(bool), want)
        if cfg.mode == "single":
            mask = o["action_mask"]
            slot_part = mask[: p + 1]
            assert slot_part[p] == 1  # the no-op is always allowed
            assert not slot_part[:p][~occupied].any()  # never an empty slot
            assert slot_part[:p][fits].all()  # every task that fits now is allowed
            # Resource parts: the levels feasible for at least one placeable slot.
            start = p + 1
            for k in range(r):
                part = mask[start : start + levels[k]].astype(bool)
                if fits.any():
                    assert np.array_equal(part, want[:, k, : levels[k]].any(axis=0))
                else:
                    assert part[0] and not part[1:].any()
                start += levels[k]


def check_state_matches_view(env, obs):
    """The global state's pieces agree with the view and with the agents' observations."""
    v, cfg = env.view, env.config
    sd = env.state_dict()
    pending = np.asarray(v.pending)
    ids = np.unique(pending[pending >= 0])
    cnt = ids.shape[0]
    assert sd["pool_mask"].tolist() == [1.0] * cnt + [0.0] * (sd["pool_mask"].shape[0] - cnt)
    assert np.array_equal(sd["pool_visible"][:cnt], np.asarray(v.visible)[ids].astype(np.float32))
    in_slot = np.zeros((cnt, cfg.num_clusters), dtype=bool)
    for j, task in enumerate(ids):
        in_slot[j] = (pending == task).any(axis=1)
    assert np.array_equal(sd["pool_in_slot"][:cnt].astype(bool), in_slot)
    k = cfg.num_types
    assert np.array_equal(sd["pool"][:cnt, :k], np.eye(k, dtype=np.float32)[np.asarray(v.type_idx)[ids]])
    assert not sd["pool"][cnt:].any() and not sd["pool_visible"][cnt:].any()
    for i, a in enumerate(env.agents):
        assert np.array_equal(sd["clusters"], obs[a]["clusters"][:, :-1])
        assert np.array_equal(sd["running"][i], obs[a]["running"])


@settings(max_examples=150)
@given(scenarios())
def test_random_episodes_keep_every_invariant(scenario):
    preset, overrides, policy_name, seed = scenario
    env = edgesched_env.parallel_env(preset, **overrides)
    cfg = env.config
    policy = POLICIES[policy_name]
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    monitor = EpisodeMonitor(env)
    monitor.start()
    check_observations(env, obs)
    returns = dict.fromkeys(env.agents, 0.0)
    flag_counts = {"conflict": 0, "infeasible": 0, "clipped": 0}
    slot_end_in_system = []
    steps = 0
    while env.agents:
        obs, rew, term, trunc, infos = env.step(policy(env, obs, rng))
        steps += 1
        monitor.update(infos)
        check_observations(env, obs)
        if env.agents:
            check_observation_matches_state(env, obs)
            check_state_matches_view(env, obs)
        slot_end = infos[next(iter(infos))]["slot_end"]
        assert all(info["slot_end"] == slot_end for info in infos.values())
        assert all(x <= 0.0 for x in rew.values())
        if not slot_end:
            assert all(x == 0.0 for x in rew.values())
        elif cfg.reward == "global":
            assert len(set(rew.values())) == 1
            slot_end_in_system.append(-rew[next(iter(rew))])
        for a, x in rew.items():
            returns[a] += x
        for info in infos.values():
            for flag in flag_counts:
                value = info[flag]
                flag_counts[flag] += sum(value) if isinstance(value, list) else int(value)
        assert len(set(term.values())) == 1 and len(set(trunc.values())) == 1
        assert steps <= 100_000
    v = env.view
    final = infos[next(iter(infos))]
    m = final["metrics"]
    terminated = all(term.values())
    assert terminated != all(trunc.values())
    event(f"{'terminated' if terminated else 'truncated'} ({preset})")
    event(f"steps {'< 20' if steps < 20 else '< 100' if steps < 100 else '>= 100'}")
    status = np.asarray(v.status)
    arrived = int((status > 0).sum())
    assert m["tasks_arrived"] == arrived
    assert m["tasks_completed"] == int((status == DONE).sum()) == int((v.completion_slot >= 0).sum())
    assert m["rounds"] == steps
    assert m["conflicts"] == flag_counts["conflict"]
    assert m["infeasible_actions"] == flag_counts["infeasible"]
    assert m["clipped_actions"] == flag_counts["clipped"]
    for name in cfg.resource_names:
        assert 0.0 <= m["utilization"][name] <= 1.0
        assert all(0.0 <= u <= 1.0 for u in m["utilization_per_cluster"][name])
    if terminated:
        assert final["truncated_by"] is None
        # Every task arrived, was placed once and completed exactly once.
        assert (status == DONE).all() and (v.placed_slot >= 0).all() and (v.completion_slot >= 0).all()
        assert m["tasks_completed"] == cfg.workload.num_tasks and m["tasks_unfinished"] == 0
        total = int(jcts(env).sum())
        assert m["total_jct"] == total
        assert m["makespan"] == int(v.completion_slot.max()) + 1 == v.t
        assert m["mean_tasks_in_system"] == total / m["makespan"]
        if cfg.reward == "global":
            # Little's law with discount 1, exactly (integers summed as floats stay exact).
            assert all(ret == -total for ret in returns.values())
            assert sum(slot_end_in_system) == total
    else:
        assert final["truncated_by"] == "max_slots"
        assert m["truncated"] and v.t == cfg.slots_limit  # max_slots, or the default horizon
        assert m["tasks_completed"] + m["tasks_unfinished"] == m["tasks_arrived"]
    assert env.state_space.contains(env.state())


@settings(max_examples=50)
@given(scenarios(presets=TAPFINGER), st.integers(0, 2**32 - 1))
def test_random_elastic_resizes_keep_capacity_exact(scenario, resize_seed):
    # A fuzzing "elastic scheduler" resizes or preempts random running tasks between rounds,
    # with valid and invalid units; invalid ones must raise ValueError and change nothing.
    preset, overrides, policy_name, seed = scenario
    overrides = {**overrides, "max_slots": overrides.get("max_slots") or 60}
    env = edgesched_env.parallel_env(preset, **overrides)
    v = env.view
    policy = POLICIES[policy_name]
    rng, rz = np.random.default_rng(seed), np.random.default_rng(resize_seed)
    obs, _ = env.reset(seed=seed)
    monitor = EpisodeMonitor(env)
    monitor.start()
    max_level = np.asarray(v.max_level)
    while env.agents:
        running = np.flatnonzero(np.asarray(v.status) == RUNNING)
        for task in running[rz.random(running.shape[0]) < 0.3]:
            c = int(v.host[task])
            avail = np.asarray(v.free[c]) + np.asarray(v.alloc[task])
            lo = np.asarray(v.min_request[task])
            hi = np.minimum(avail, max_level)
            choice = rz.random()
            if choice < 0.2:
                units = np.zeros_like(lo)
            elif choice < 0.8 and (lo <= hi).all():
                units = rz.integers(lo, hi + 1)
            else:
                units = rz.integers(-1, max_level + 2)
            valid = not units.any() or ((units >= lo).all() and (units <= hi).all())
            before = (np.array(v.free), np.array(v.alloc))
            try:
                v.resize(int(task), units)
            except ValueError:
                assert not valid, f"valid resize {units} of task {task} rejected"
                assert np.array_equal(before[0], v.free) and np.array_equal(before[1], v.alloc)
            else:
                assert valid, f"invalid resize {units} of task {task} (allowed {lo}..{hi}) accepted"
                assert np.array_equal(v.alloc[task], units)
        obs, _, _, _, infos = env.step(policy(env, obs, rng))
        monitor.update(infos)
        check_observations(env, obs)


@settings(max_examples=20)
@given(scenarios())
def test_random_scenarios_are_deterministic(scenario):
    preset, overrides, policy_name, seed = scenario
    overrides = {**overrides, "max_slots": min(overrides.get("max_slots") or 40, 40)}
    check_determinism(lambda: edgesched_env.parallel_env(preset, **overrides), seed, POLICIES[policy_name])


@settings(max_examples=40)
@given(
    type_idx=st.sampled_from([0, 1]),
    cpu=st.integers(2, 16),
    gpu=st.integers(1, 16),
    arrival=st.integers(0, 3),
    work=st.sampled_from([1.0, 0.5, 2.0]),
)
def test_jct_of_a_lone_task_follows_its_speed_model(type_idx, cpu, gpu, arrival, work):
    # One task, placed at once on arrival with fixed units: its JCT is the number of slots the
    # hidden speed model needs to reach progress 1 (work divides every increment).
    task = FixedTask(arrival, type_idx, (0,), work)
    env = edgesched_env.parallel_env("tapfinger-synthetic", fixed_tasks=(task,), num_tasks=1)
    env.reset(seed=0)
    noop = np.array([10, 0, 0])
    while env.view.t < arrival:
        env.step(dict.fromkeys(env.agents, noop))
    env.step({"cluster_0": np.array([0, cpu, gpu]), "cluster_1": noop, "cluster_2": noop})
    while env.agents:
        _, _, _, _, infos = env.step(dict.fromkeys(env.agents, noop))
    model = env.config.workload.task_types[type_idx].speed
    p, slots = np.zeros(1), 0
    while p[0] < 1.0:
        p = p + model.increment(np.array([[cpu, gpu]]), p, np.array([work]), np.ones(1))
        slots += 1
    assert infos["cluster_0"]["metrics"]["mean_jct"] == slots
    assert env.view.completion_slot[0] == arrival + slots - 1
