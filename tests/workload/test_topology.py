"""The edge network: transfer delays (hand-computed), topologies and topology visibility."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import edgesched_env
from agents.baselines import make_scheduler
from agents.evaluate import run_episode
from edgesched_env.config import ClusterSpec, EnvConfig, TaskType, WorkloadSpec
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.presets import make_config
from edgesched_env.sim.metrics import transfer_metrics
from edgesched_env.workload.arrivals import generate_workload
from edgesched_env.workload.speed import SyntheticSpeed
from edgesched_env.workload.topology import (
    Link,
    Topology,
    random_geometric_topology,
    ring_topology,
    star_topology,
)


def _two_cluster_config(visibility: str = "all") -> EnvConfig:
    topo = Topology(2, (Link(0, 1, latency_ms=10.0, bandwidth_mbps=10.0),), slot_seconds=60.0)
    task = TaskType("fixed", (1, 1), SyntheticSpeed(bias=0.5), input_mb=(1000.0, 1000.0))
    return EnvConfig(
        clusters=(ClusterSpec((4, 4)), ClusterSpec((4, 4))),
        workload=WorkloadSpec((task,), (1.0,), arrival_rate=1.0, num_tasks=20, visibility=visibility),
        topology=topo,
    )


def test_transfer_delay_two_clusters_hand_computed():
    # 1000 MB over 10 Mbit/s = 800 s, plus 10 ms latency: 800.01 s -> ceil(800.01 / 60) = 14 slots.
    cfg = _two_cluster_config()
    wl = generate_workload(cfg, np.random.default_rng(0))
    assert wl.home is not None and wl.input_mb is not None
    np.testing.assert_allclose(wl.input_mb, 1000.0)
    for i in range(wl.num_tasks):
        h = wl.home[i]
        assert wl.delay_slots[i, h] == 0
        assert wl.delay_slots[i, 1 - h] == 14
    secs = cfg.topology.transfer_seconds(np.array([0]), np.array([1000.0]))
    np.testing.assert_allclose(secs, [[0.0, 800.01]])


def test_transfer_delay_delays_progress_and_shows_in_observation():
    cfg = _two_cluster_config()
    env = EdgeSchedParallelEnv(cfg)
    obs, _ = env.reset(seed=0)
    sim = env.view
    # Play no-op rounds until some task is pending on both clusters.
    noop = {a: np.array([cfg.max_pending, 0, 0]) for a in env.agents}
    while not (sim.pending >= 0).any(axis=1).all():
        obs, *_ = env.step(noop)
    task = int(sim.pending[0][sim.pending[0] >= 0][0])
    home = int(sim.workload.home[task])
    away = 1 - home
    slot_home = int(np.flatnonzero(sim.pending[home] == task)[0])
    slot_away = int(np.flatnonzero(sim.pending[away] == task)[0])
    # The pending feature (last column) shows the delay on this cluster / time_scale_slots.
    assert obs[f"cluster_{away}"]["pending"][slot_away, -1] == pytest.approx(14 / cfg.time_scale_slots)
    assert obs[f"cluster_{home}"]["pending"][slot_home, -1] == 0.0
    actions = dict(noop)
    actions[f"cluster_{away}"] = np.array([slot_away, 1, 1])
    env.step(actions)
    assert sim.host[task] == away
    assert sim.ready_slot[task] == sim.placed_slot[task] + 14
    metrics = run_episode(make_scheduler("random"), EdgeSchedParallelEnv(cfg), 0)
    assert metrics["tasks_completed"] == 20


def test_transfer_metrics_helper():
    env = EdgeSchedParallelEnv(_two_cluster_config())
    run_episode(make_scheduler("random"), env, 1)
    sim = env.view
    m = transfer_metrics(sim)
    away = sim.host != sim.workload.home
    assert m["transfer_slots_total"] == pytest.approx(14.0 * away.sum())
    assert m["placed_away_from_home"] == pytest.approx(away.mean())


def test_topology_shapes():
    star = star_topology(5)
    assert star.hops[1].tolist() == [1, 0, 2, 2, 2]
    ring = ring_topology(6)
    assert ring.hops[0].tolist() == [0, 1, 2, 3, 2, 1]
    geo = random_geometric_topology(8, radius=0.3, seed=4)
    assert np.isfinite(geo.hops).all()  # connected whatever the radius
    assert geo == random_geometric_topology(8, radius=0.3, seed=4)
    assert pickle.loads(pickle.dumps(geo)) == geo
    with pytest.raises(ValueError, match="connected"):
        Topology(3, (Link(0, 1, 1.0, 1.0),))
    with pytest.raises(ValueError, match="bandwidth_mbps"):
        Link(0, 1, 1.0, 0.0)


def test_bottleneck_bandwidth_and_min_latency_route():
    # 0-1 fast but long, 0-2-1 short latency with a slow middle link.
    topo = Topology(
        3, (Link(0, 1, 50.0, 1000.0), Link(0, 2, 5.0, 100.0), Link(2, 1, 5.0, 10.0)), slot_seconds=1.0
    )
    assert topo.latency_ms[0, 1] == 10.0
    assert topo.bandwidth_mbps[0, 1] == 10.0
    assert topo.hops[0, 1] == 1
    secs = topo.transfer_seconds(np.array([0]), np.array([10.0]))
    np.testing.assert_allclose(secs[0], [0.0, 0.01 + 8.0, 0.005 + 0.8])


def test_topology_visibility_radius_and_fit():
    cfg = make_config("edge-philly")
    wl = generate_workload(cfg, np.random.default_rng(0))
    hops = cfg.topology.hops
    assert wl.visible[np.arange(wl.num_tasks), wl.home].all()  # home always sees its task
    within = hops[wl.home] <= cfg.workload.visibility_hops
    caps = np.array([c.capacity for c in cfg.clusters])
    fits = (wl.min_request[:, None, :] <= caps[None]).all(axis=2)
    # Visible = within the radius, plus a repair only where nothing within the radius fits.
    repaired = ~(within & fits).any(axis=1)
    assert (wl.visible[~repaired] == within[~repaired]).all()
    assert (wl.visible & fits).any(axis=1).all()


def test_topology_visibility_needs_a_topology():
    with pytest.raises(ValueError, match=r"needs EnvConfig.topology"):
        edgesched_env.make_config("edge-ml-small", visibility="topology")
