"""The realistic presets: PettingZoo API, determinism, invariants, episodes end, tapfinger unchanged."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

import edgesched_env
from agents.baselines import make_scheduler
from agents.cli import main
from agents.evaluate import run_episode
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.presets import PRESET_INFO, PRESETS, make_config
from edgesched_env.testing import check_determinism, masked_random_policy, rollout
from edgesched_env.workload.arrivals import generate_workload

NEW = ["edge-ml-small", "edge-philly", "edge-hetero-gpu", "edge-pollux"]
TAPFINGER = ["tapfinger-synthetic", "tapfinger-synthetic6", "tapfinger-hetero6", "tapfinger-sjf"]


def test_presets_registered_with_sources():
    for name in NEW:
        assert name in PRESETS and PRESET_INFO[name]
    cfg = make_config("edge-ml-small")
    assert cfg.resource_names == ("cpu", "gpu", "mem") and cfg.num_clusters == 4
    assert make_config("edge-philly").num_clusters == 8
    gens = {c.speed_factor for c in make_config("edge-hetero-gpu").clusters}
    assert len(gens) == 3
    for name in TAPFINGER:
        assert make_config(name).resource_names == ("cpu", "gpu")


@pytest.mark.parametrize("preset", NEW)
def test_parallel_api(preset):
    parallel_api_test(edgesched_env.parallel_env(preset=preset, num_tasks=12), num_cycles=200)


@pytest.mark.parametrize("preset", NEW)
def test_parallel_seed(preset):
    parallel_seed_test(functools.partial(edgesched_env.parallel_env, preset, num_tasks=12), num_cycles=100)


@pytest.mark.parametrize("preset", NEW)
def test_determinism_and_invariants(preset):
    fn = functools.partial(edgesched_env.parallel_env, preset, num_tasks=15)
    check_determinism(fn, seed=3, policy=masked_random_policy, check=True)


@pytest.mark.parametrize("preset", NEW)
def test_workload_depends_on_the_seed_only(preset):
    cfg = make_config(preset)
    a = generate_workload(cfg, np.random.default_rng(5))
    b = generate_workload(cfg, np.random.default_rng(5))
    c = generate_workload(cfg, np.random.default_rng(6))
    for field in ("arrival_slot", "type_idx", "visible", "min_request", "work", "delay_slots"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.work, c.work)
    # Tasks of one type differ (per-task work and minimum requests).
    k = int(a.type_idx[0])
    same = a.type_idx == k
    assert np.unique(a.work[same]).shape[0] > 1
    # Every task is visible to some cluster that can hold its minimum.
    caps = np.array([cl.capacity for cl in cfg.clusters])
    fits = (a.min_request[:, None, :] <= caps[None]).all(axis=2)
    assert (fits & a.visible).any(axis=1).all()
    if a.home is not None:
        assert a.visible[np.arange(a.num_tasks), a.home].all()


@pytest.mark.parametrize("preset", NEW)
def test_full_episode_ends_with_random_scheduler(preset):
    env = EdgeSchedParallelEnv(preset)
    metrics = run_episode(make_scheduler("random"), env, 0)
    assert metrics["tasks_completed"] == env.config.workload.num_tasks
    assert not metrics["truncated"]


@pytest.mark.parametrize("preset", NEW)
def test_rollout_with_checks_on_a_short_episode(preset):
    traj = rollout(edgesched_env.parallel_env(preset, num_tasks=10), 1, masked_random_policy, check=True)
    assert traj.infos[-1]


@pytest.mark.parametrize("preset", TAPFINGER)
def test_tapfinger_workloads_draw_nothing_new(preset):
    cfg = make_config(preset)
    wl = generate_workload(cfg, np.random.default_rng(0))
    assert wl.home is None and wl.input_mb is None and not wl.delay_slots.any()
    mins = np.array([t.min_request for t in cfg.workload.task_types])[wl.type_idx]
    np.testing.assert_array_equal(wl.min_request, mins)
    assert (wl.work == 1.0).all()
    # The RNG is left where the original generator left it: arrivals, types, visibility only.
    rng = np.random.default_rng(0)
    generate_workload(cfg, rng)
    ref = np.random.default_rng(0)
    from edgesched_env.workload.arrivals import _random_subsets, poisson_arrival_slots

    poisson_arrival_slots(cfg.workload.arrival_rate, cfg.workload.num_tasks, ref)
    ref.choice(cfg.num_types, size=cfg.workload.num_tasks, p=np.asarray(cfg.workload.type_probs))
    _random_subsets(cfg.workload.num_tasks, cfg.num_clusters, ref)
    assert rng.random() == ref.random()


def test_presets_command_lists_the_new_presets(capsys):
    assert main(["presets", "--json"]) == 0
    rows = {r["preset"]: r for r in json.loads(capsys.readouterr().out)}
    for name in NEW:
        assert rows[name]["source"] == PRESET_INFO[name]
    assert rows["edge-ml-small"]["resources"] == "cpu,gpu,mem"
