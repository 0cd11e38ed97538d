"""EdgeSched-v1: the exact observation keys, the v1 / v0 ids, and v0 as v1 without those keys."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium
import numpy as np
import pettingzoo
import pytest

import edgesched_env
from edgesched_env import edgesched_v0, edgesched_v1
from edgesched_env.observation import EXACT_KEYS, exact_columns
from edgesched_env.sim.core import RUNNING
from edgesched_env.sim.exact import observe_exact
from edgesched_env.vector import random_feasible_actions


def _play(env: Any, seed: int, rounds: int = 400) -> list[dict[str, dict[str, np.ndarray]]]:
    """Observations of a random-feasible episode (the same actions for the same seed)."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    seen = [obs]
    for _ in range(rounds):
        if not env.agents:
            break
        batch = {k: np.stack([obs[a][k] for a in env.agents]) for k in ("action_mask", "alloc_mask")}
        acts = random_feasible_actions(batch, rng)
        obs, *_ = env.step({a: acts[i] for i, a in enumerate(env.agents)})
        seen.append(obs)
    return seen


@pytest.mark.parametrize("preset", ["tapfinger-synthetic", "edge-ml-small"])
def test_v0_is_v1_without_the_exact_keys_bit_for_bit(preset: str) -> None:
    v1 = edgesched_v1.parallel_env(preset, num_tasks=30)
    with pytest.warns(DeprecationWarning, match="EdgeSched-v0 is deprecated"):
        v0 = edgesched_v0.parallel_env(preset, num_tasks=30)
    assert v1.metadata["name"] == "EdgeSched-v1" and v0.metadata["name"] == "EdgeSched-v0"
    assert set(v1.observation_space("cluster_0").spaces) - set(
        v0.observation_space("cluster_0").spaces
    ) == set(EXACT_KEYS)
    for o1, o0 in zip(_play(v1, 3), _play(v0, 3), strict=True):
        for a in o1:
            assert set(o1[a]) - set(o0[a]) == set(EXACT_KEYS)
            for k, v in o0[a].items():
                assert v.dtype == o1[a][k].dtype and np.array_equal(v, o1[a][k]), k
            assert v1.observation_space(a).contains(o1[a])
            assert v0.observation_space(a).contains(o0[a])


def test_ids_create_each_version_and_only_v0_warns() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        par = pettingzoo.make("parallel", edgesched_env.PARALLEL_ID, preset="tapfinger-synthetic")
        central = gymnasium.make(edgesched_env.CENTRAL_ID, preset="tapfinger-synthetic")
        assert "clock" in par.observation_space("cluster_0").spaces
        assert "clock" in central.observation_space.spaces
    with pytest.warns(DeprecationWarning):
        par0 = pettingzoo.make("parallel", edgesched_env.PARALLEL_ID_V0, preset="tapfinger-synthetic")
    with pytest.warns(DeprecationWarning):
        central0 = gymnasium.make(edgesched_env.CENTRAL_ID_V0, preset="tapfinger-synthetic")
    assert "clock" not in par0.observation_space("cluster_0").spaces
    assert "clock" not in central0.observation_space.spaces
    with pytest.warns(DeprecationWarning):
        venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=2, version=0)
    assert "clock" not in venv.reset(seed=0)[0]


@pytest.mark.parametrize("bad", [2, -1, "1", True, 1.0])
def test_an_unknown_version_is_a_clear_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="version must be one of"):
        edgesched_env.parallel_env("tapfinger-synthetic", version=bad)


def _expected(env: Any) -> dict[str, np.ndarray]:
    """The exact blocks of every agent, from the simulator's state, with numpy."""
    v, cfg = env.view, env.config
    n, r = cfg.num_clusters, cfg.num_resources
    cols = exact_columns(cfg)
    occupied = (v.pending >= 0).sum(axis=1)
    cinfo = np.concatenate(
        [v.free, occupied[:, None], v.queue_len[:, None], v.running_count[:, None]], axis=1
    )
    out: dict[str, list[np.ndarray]] = {k: [] for k in EXACT_KEYS}
    for i in range(n):
        out["clock"].append(np.array([v.t, v.round_in_slot]))
        out["cluster_info"].append(cinfo)
        pinfo = np.full((cfg.max_pending, r + 5), -1)
        for s, tid in enumerate(v.pending[i]):
            if tid >= 0:
                pc = cols["pending_info"]
                pinfo[s, pc["task"]] = tid
                pinfo[s, pc["type"]] = v.type_idx[tid]
                pinfo[s, pc["arrival_slot"]] = v.arrival_slot[tid]
                pinfo[s, pc["delay_slots"]] = v.delay_slots[tid, i]
                pinfo[s, pc["num_visible"]] = v.num_visible[tid]
                pinfo[s, pc["min_request"]] = v.min_request[tid]
        out["pending_info"].append(pinfo)
    return {k: np.stack(x) for k, x in out.items() if x}


def test_exact_blocks_state_what_the_simulator_holds_with_preemption() -> None:
    """Every block against the state; ``running_info`` shows every task holding units even when
    preempted tasks fill the running table (elastic resizes to zero), and the plain-Python kernel
    writes the same blocks as the compiled one."""
    env = edgesched_env.parallel_env(
        "tapfinger-sjf", num_tasks=60, max_pending=3, arrival_rate=3.0, max_slots=40
    )
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=1)
    hidden_seen = 0
    while env.agents:
        v = env.view
        running = np.flatnonzero(v.status == RUNNING)
        for task in running[rng.random(running.shape[0]) < 0.3]:  # preempt some, restore others
            if v.alloc[task].any():
                env.view.resize(int(task), np.zeros(env.config.num_resources, dtype=np.int64))
            elif (v.free[v.host[task]] >= v.min_request[task]).all():
                env.view.resize(int(task), v.min_request[task].copy())
        batch = env.builder.batch(env.sim)
        exp = _expected(env)
        for k in ("clock", "cluster_info", "pending_info"):
            assert np.array_equal(batch[k][0], exp[k]), k
        holders = np.flatnonzero((v.status == RUNNING) & v.alloc.any(axis=1))
        for i in range(env.config.num_clusters):
            rows = batch["running_info"][0, i]
            shown = rows[rows[:, 0] >= 0, 0]
            assert len(set(shown.tolist())) == shown.shape[0]
            assert set(holders[v.host[holders] == i].tolist()) <= set(shown.tolist())
            for row in rows[rows[:, 0] >= 0]:
                tid = int(row[0])
                assert v.status[tid] == RUNNING and v.host[tid] == i
                assert np.array_equal(
                    row[1:], [v.type_idx[tid], v.placed_slot[tid], *v.alloc[tid], *v.min_request[tid]]
                )
            hidden_seen += int(
                ((v.run_row < 0) & (v.status == RUNNING) & (v.host == i) & v.alloc.any(1)).sum()
            )
        if hasattr(observe_exact, "py_func"):
            outs = [np.empty_like(batch[k]) for k in EXACT_KEYS]
            observe_exact.py_func(np.ones(1, bool), env.sim.state.packed(), tuple(outs))
            for k, got in zip(EXACT_KEYS, outs, strict=True):
                assert np.array_equal(got, batch[k]), k
        mask = {k: np.stack([obs[a][k] for a in env.agents]) for k in ("action_mask", "alloc_mask")}
        acts = random_feasible_actions(mask, rng)
        obs, *_ = env.step({a: acts[i] for i, a in enumerate(env.agents)})
    assert hidden_seen > 0, "the scenario never hid a task holding units: it tests nothing"
