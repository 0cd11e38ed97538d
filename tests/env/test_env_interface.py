"""The interface options (edgesched_env.interface): layouts, strict and exact masks, flat infos."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from pettingzoo.test import parallel_api_test

import edgesched_env
from edgesched_env.interface import FLAT_KEYS, OUTCOME_KEYS, TRUNCATION_CODES
from edgesched_env.presets import make_config, preset_names

SMALL = {"num_tasks": 12}


def _quiet():
    warnings.filterwarnings("ignore", message=".*infinity.*")


def _is_plain(v) -> bool:
    """A number, a bool or a fixed-dtype numeric array: what every library can stack."""
    if isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating)):
        return True
    return isinstance(v, np.ndarray) and v.dtype.kind in "biuf"


def test_bad_options_are_named_errors():
    with pytest.raises(ValueError, match="obs_layout"):
        edgesched_env.parallel_env("tapfinger-synthetic", obs_layout="image")
    with pytest.raises(ValueError, match="mask"):
        edgesched_env.vector_env("tapfinger-synthetic", mask="exact")
    with pytest.raises(ValueError, match="info_format"):
        gym.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetic", info_format="json")
    with pytest.raises(ValueError, match="mode='single'"):
        edgesched_env.parallel_env("tapfinger-synthetic", action_format="discrete", mode="multi")


def test_defaults_are_the_v0_interface():
    env = edgesched_env.parallel_env("tapfinger-synthetic")
    assert env.interface.options.is_default
    assert env.observation_space("cluster_0") is env.builder.observation_space
    assert env.action_space("cluster_0") is env.builder.action_space
    _obs, infos = env.reset(seed=0)
    assert set(infos["cluster_0"]) == {"slot", "round", "pending_task_ids"}


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_passes_the_api_tests_in_the_library_formats(preset):
    _quiet()
    for kw in (
        {"obs_layout": "flat", "mask": "strict", "info_format": "flat"},
        {"obs_layout": "rllib", "action_format": "discrete"},
    ):
        par = edgesched_env.parallel_env(preset, **SMALL, **kw)
        parallel_api_test(par, num_cycles=60)
        central = gym.make("edgesched/EdgeSchedCentral-v1", preset=preset, **SMALL, **kw)
        check_env(central.unwrapped, skip_render_check=True)
        space = par.observation_space("cluster_0")
        obs, _ = par.reset(seed=1)
        assert space.contains(obs["cluster_0"])
        assert obs["cluster_0"]["action_mask"].dtype == (
            np.float32 if kw["obs_layout"] == "rllib" else np.int8
        )


def test_flat_layout_is_the_dict_layout_concatenated():
    dict_env = edgesched_env.vector_env("edge-ml-small", num_envs=2)
    flat_env = edgesched_env.vector_env("edge-ml-small", num_envs=2, obs_layout="flat")
    rng = np.random.default_rng(0)
    a, _ = dict_env.reset(seed=4)
    b, _ = flat_env.reset(seed=4)
    for _ in range(40):
        parts = flat_env.interface.unflatten(b["observation"])
        for k in FLAT_KEYS:
            np.testing.assert_array_equal(parts[k], a[k].astype(np.float32))
        np.testing.assert_array_equal(b["action_mask"], a["action_mask"])
        act = dict_env.random_actions(a, rng)
        a, *_ = dict_env.step(act)
        b, *_ = flat_env.step(act)
    assert (
        sum(int(np.prod(s)) for _, s in flat_env.interface.flat_slices.values()) == b["observation"].shape[-1]
    )


def _placements(env, seed: int, rounds: int, pick) -> tuple[int, int]:
    """(picks of a task, of which placed nothing and were not conflicts) over ``rounds`` rounds."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    tried = wasted = 0
    for _ in range(rounds):
        acts = {a: pick(env, obs[a], rng) for a in env.agents}
        obs, _, terms, truncs, infos = env.step(acts)
        for _a, info in infos.items():
            if info["task"] >= 0 or info["infeasible"] or info["empty_slot"]:
                tried += 1
                wasted += not info["placed"] and not info["conflict"]
        if any(terms.values()) or any(truncs.values()):
            obs, _ = env.reset(seed=seed + 1)
    return tried, wasted


def _uniform_task_pick(env, o, rng):
    """A uniform draw inside the flat mask, but never the no-op while a task is allowed."""
    m = o["action_mask"].copy()
    p = env.config.max_pending
    if m[:p].any():
        m[p] = 0
    return env.action_space("cluster_0").sample(mask=m)


def test_strict_mask_offers_only_tasks_that_fit_and_the_discrete_mask_is_exact():
    strict = edgesched_env.parallel_env("edge-ml-small", mask="strict")
    obs, _ = strict.reset(seed=0)
    p = strict.config.max_pending
    for _ in range(60):
        for a in strict.agents:
            o = obs[a]
            np.testing.assert_array_equal(o["action_mask"][:p], o["alloc_mask"][:, 0, :].any(-1))
            assert o["action_mask"][p] == 1
        obs, *_ = strict.step(
            {a: strict.action_space(a).sample(mask=obs[a]["action_mask"]) for a in strict.agents}
        )
    # a uniform draw inside the joint Discrete mask never wastes a pick (only conflicts lose)
    disc = edgesched_env.parallel_env("edge-ml-small", action_format="discrete")

    def joint_pick(env, o, rng):
        m = o["action_mask"].copy()
        if m[1:].any():
            m[0] = 0
        return env.action_space("cluster_0").sample(mask=m)

    tried, wasted = _placements(disc, 0, 800, joint_pick)
    assert tried > 100 and wasted == 0
    loose_tried, loose_wasted = _placements(
        edgesched_env.parallel_env("edge-ml-small"), 0, 800, _uniform_task_pick
    )
    assert loose_wasted > 0 and loose_tried > 100


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["tapfinger-synthetic", "edge-ml-small"]))
def test_discrete_codes_round_trip_and_mask_bits_match_the_allocation_masks(seed, preset):
    env = edgesched_env.vector_env(preset, num_envs=1, action_format="discrete")
    iface = env.interface
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, iface.num_discrete, size=64)
    md = iface.decode(codes)
    back = iface.encode(md)
    # every code but the all-zero allocations (which are no-ops, code 0) survives the round trip
    nonzero = md[:, 1:].any(-1) & (md[:, 0] < iface.p)
    np.testing.assert_array_equal(back[nonzero], codes[nonzero])
    assert (back[~nonzero] == 0).all()
    obs, _ = env.reset(seed=seed)
    for _ in range(seed % 7):
        obs, *_ = env.step(env.random_actions(obs, rng))
    raw = env.last_obs_batch
    mask = obs["action_mask"][0]
    for i in range(env.num_agents):
        for c, (slot, *units) in zip(codes, md):
            if c == 0:
                assert mask[i, 0] == 1
                continue
            ok = all(raw["alloc_mask"][0, i, slot, r, u] for r, u in enumerate(units)) and any(units)
            assert mask[i, c] == ok


def test_malformed_discrete_actions_raise_and_name_the_agent():
    env = edgesched_env.parallel_env("tapfinger-synthetic", action_format="discrete")
    env.reset(seed=0)
    good = dict.fromkeys(env.agents, 0)
    with pytest.raises(ValueError, match=r"cluster_1.*out of range"):
        env.step({**good, "cluster_1": env.interface.num_discrete})
    with pytest.raises(ValueError, match=r"cluster_2.*one integer"):
        env.step({**good, "cluster_2": [1, 2]})
    with pytest.raises(ValueError, match="missing"):
        env.step({"cluster_0": 0})
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=2, action_format="discrete")
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(num_envs, num_agents\)"):
        venv.step(np.zeros((2, 3, 3), dtype=np.int64))
    # nothing was lost: the env still steps
    env.step(good)
    venv.step(np.zeros((2, 3), dtype=np.int64))


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_flat_infos_have_the_same_plain_keys_on_reset_and_every_step(mode):
    kw = {"num_tasks": 10, "mode": mode, "max_cycles": 400}
    flat = edgesched_env.parallel_env("tapfinger-synthetic", info_format="flat", **kw)
    nested = edgesched_env.parallel_env("tapfinger-synthetic", **kw)
    obs, infos = flat.reset(seed=3)
    nested.reset(seed=3)
    keys = set(infos["cluster_0"])
    assert {"episode_end", "truncated_by", "metrics.mean_jct", *OUTCOME_KEYS} <= keys
    assert any(k.startswith("metrics.utilization_per_cluster.") for k in keys)
    ended = False
    while not ended:
        acts = {a: flat.action_space(a).sample(mask=obs[a]["action_mask"]) for a in flat.agents}
        obs, _, terms, truncs, infos = flat.step(acts)
        _, _, _, _, ninfos = nested.step(acts)
        for a, info in infos.items():
            assert set(info) == keys and all(_is_plain(v) for v in info.values()), a
        ended = any(terms.values()) or any(truncs.values())
        assert infos["cluster_0"]["episode_end"] == ended
    m = ninfos["cluster_0"]["metrics"]
    i0 = infos["cluster_0"]
    assert (
        i0["metrics.mean_jct"] == m["mean_jct"] and i0["metrics.utilization.cpu"] == m["utilization"]["cpu"]
    )
    assert i0["truncated_by"] == TRUNCATION_CODES[ninfos["cluster_0"]["truncated_by"] or ""]


def test_vector_flat_infos_carry_every_metric_on_every_step():
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=3, info_format="flat", num_tasks=8)
    single = edgesched_env.vector_env("tapfinger-synthetic", num_envs=3, num_tasks=8)
    obs, infos = venv.reset(seed=5)
    single.reset(seed=5)
    keys = set(infos)
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(300):
        act = venv.random_actions(obs, rng)
        obs, _, te, tr, infos = venv.step(act)
        _, _, _, _, sinfo = single.step(act)
        assert set(infos) == keys
        for b in np.flatnonzero(te | tr):
            ends += 1
            assert infos["episode_end"][b]
            assert infos["metrics.mean_jct"][b] == sinfo["metrics"]["mean_jct"][b]
        assert (infos["metrics.mean_jct"][~(te | tr)] == 0).all()
    assert ends >= 3


def test_make_make_vec_and_pettingzoo_creation_take_the_options():
    _quiet()
    env = gym.make(
        "edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetic", obs_layout="flat", mask="strict"
    )
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"observation", "action_mask"} and obs["observation"].shape[0] == 3
    vec = gym.make_vec(
        "edgesched/EdgeSchedCentral-v1",
        num_envs=2,
        vectorization_mode="vector_entry_point",
        preset="tapfinger-synthetic",
        action_format="discrete",
    )
    vobs, _ = vec.reset(seed=0)
    assert vobs["action_mask"].shape == (2, 3, make_config("tapfinger-synthetic").max_pending * 17 * 17 + 1)
    assert vec.unwrapped.action_masks().shape == (2, 3 * vobs["action_mask"].shape[-1])
    vec.step(np.zeros((2, 3), dtype=np.int64))
    aec = edgesched_env.env("tapfinger-synthetic", obs_layout="rllib")
    aec.reset(seed=0)
    assert set(aec.observe(aec.agent_selection)) == {"observations", "action_mask"}
