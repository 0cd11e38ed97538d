"""The vector env and the batched simulator: bit-for-bit equivalence with single envs, spaces,
autoreset, errors, the batched random policy and the central vector view."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edgesched_env
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.presets import preset_names
from edgesched_env.sim.state import SimState, state_fields
from edgesched_env.testing import assert_same, check_invariants
from edgesched_env.vector import _flatten, random_feasible_actions

KEYS = ("task", "placed", "noop", "empty_slot", "infeasible", "clipped", "conflict")


def _small(preset: str) -> dict[str, Any]:
    return {"num_tasks": 24, "max_cycles": 150} if preset.startswith("edge") else {"num_tasks": 30}


def _actions(
    venv: edgesched_env.EdgeSchedVectorEnv, obs: dict[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """A mix per episode row: feasible random, unmasked random (often infeasible) and no-op."""
    feas = venv.random_actions(obs, rng)
    raw = rng.integers(venv.nvec, size=feas.shape)
    noop = np.zeros_like(feas)
    width = 1 + venv.config.num_resources
    noop[..., 0::width] = venv.config.max_pending
    kind = rng.integers(0, 10, size=feas.shape[0])
    out = np.where((kind < 6)[:, None, None], feas, np.where((kind < 9)[:, None, None], raw, noop))
    return out.astype(np.int64)


def run_equivalence(
    preset: str | Any, num_envs: int, seed: int, steps: int, act_seed: int = 0, **overrides: Any
) -> int:
    """Step a vector env and ``num_envs`` single envs with the same actions and compare everything.

    Returns the number of episodes that ended (so callers can check autoresets were exercised).
    """
    venv = edgesched_env.vector_env(preset, num_envs=num_envs, **overrides)
    singles = [EdgeSchedParallelEnv(preset, **overrides) for _ in range(num_envs)]
    obs_v, infos_v = venv.reset(seed=seed)
    assert venv.observation_space.contains(obs_v)
    for i, env in enumerate(singles):
        obs, infos = env.reset(seed=seed + i)
        _same_obs(obs, obs_v, i, f"reset episode {i}")
        for j, a in enumerate(env.agents):
            assert infos[a]["pending_task_ids"].tolist() == infos_v["pending_task_ids"][i, j].tolist()
    assert_same(venv.state()[0], singles[0].state(), "state at reset")
    rng = np.random.default_rng(act_seed)
    ended = 0
    for step in range(steps):
        acts = _actions(venv, obs_v, rng)
        obs_v, rew_v, term_v, trunc_v, infos_v = venv.step(acts)
        states = venv.state()
        for i, env in enumerate(singles):
            where = f"step {step} episode {i}"
            if infos_v["reset"][i]:
                assert not env.agents
                obs, _ = env.reset()
                _same_obs(obs, obs_v, i, where + " (autoreset)")
                assert not term_v[i] and not trunc_v[i] and (rew_v[i] == 0).all()
                continue
            obs, rew, term, trunc, infos = env.step(
                {a: acts[i, j] for j, a in enumerate(env.possible_agents)}
            )
            _same_obs(obs, obs_v, i, where)
            agents = env.possible_agents
            assert [rew[a] for a in agents] == rew_v[i].tolist(), where
            assert term[agents[0]] == bool(term_v[i]) and trunc[agents[0]] == bool(trunc_v[i]), where
            for j, a in enumerate(agents):
                for key in KEYS:
                    assert infos[a][key] == infos_v[key][i, j].tolist(), f"{where} {a} {key}"
                assert infos[a]["slot"] == infos_v["slot"][i] and infos[a]["round"] == infos_v["round"][i]
                assert infos[a]["slot_end"] == bool(infos_v["slot_end"][i])
                assert infos[a]["pending_task_ids"].tolist() == infos_v["pending_task_ids"][i, j].tolist()
            if term_v[i] or trunc_v[i]:
                ended += 1
                m = infos[agents[0]]["metrics"]
                assert_same(m, venv.episode_metrics(i), where + " metrics")
                assert infos_v["_metrics"][i]
                for key, value in _flatten(m).items():
                    assert np.array_equal(infos_v["metrics"][key][i], np.asarray(value, dtype=np.float64)), (
                        key
                    )
                assert (infos[agents[0]]["truncated_by"] or "") == infos_v["truncated_by"][i]
            else:
                assert_same(states[i], env.state(), where + " state")
                check_invariants(venv.sim_view(i))
    return ended


def _same_obs(
    single: dict[str, dict[str, np.ndarray]], batched: dict[str, np.ndarray], i: int, where: str
) -> None:
    for j, a in enumerate(sorted(single, key=lambda s: int(s.split("_")[1]))):
        for key, arr in single[a].items():
            assert_same(arr, batched[key][i, j], f"{where} {a} {key}")


@pytest.mark.parametrize("preset", preset_names())
@pytest.mark.parametrize("mode", ["single", "multi"])
def test_vector_equals_single_envs_on_every_preset(preset: str, mode: str) -> None:
    ended = run_equivalence(
        preset, 3, seed=11, steps=400 if mode == "single" else 160, mode=mode, **_small(preset)
    )
    assert ended >= 1  # at least one autoreset happened and was compared


@pytest.mark.slow
@pytest.mark.parametrize("preset", preset_names())
def test_vector_equals_single_envs_full_episodes(preset: str) -> None:
    assert run_equivalence(preset, 4, seed=3, steps=2500) >= 4


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    preset=st.sampled_from(["tapfinger-synthetic", "tapfinger-hetero6", "tapfinger-sjf", "edge-ml-small"]),
    num_envs=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
    act_seed=st.integers(0, 1000),
    mode=st.sampled_from(["single", "multi"]),
    conflict_rule=st.sampled_from(["capacity", "random"]),
    infeasible=st.sampled_from(["clip", "noop"]),
    reward=st.sampled_from(["local", "global"]),
    noise=st.sampled_from([0.0, 0.3]),
    visibility=st.sampled_from(["random-subset", "all"]),
)
def test_vector_equivalence_property(
    preset: str,
    num_envs: int,
    seed: int,
    act_seed: int,
    mode: str,
    conflict_rule: str,
    infeasible: str,
    reward: str,
    noise: float,
    visibility: str,
) -> None:
    run_equivalence(
        preset,
        num_envs,
        seed,
        steps=120,
        act_seed=act_seed,
        num_tasks=12,
        mode=mode,
        conflict_rule=conflict_rule,
        infeasible=infeasible,
        reward=reward,
        progress_noise=noise,
        visibility=visibility,
    )


def test_max_cycles_truncation_and_autoreset() -> None:
    ended = run_equivalence("tapfinger-synthetic", 2, seed=0, steps=60, max_cycles=25)
    assert ended >= 4


def test_global_return_is_minus_total_jct_per_episode() -> None:
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=4, reward="global", num_tasks=30)
    obs, _ = venv.reset(seed=5)
    rng = np.random.default_rng(0)
    ret = np.zeros(4)
    done = np.zeros(4, dtype=bool)
    while not done.all():
        obs, rew, term, trunc, infos = venv.step(venv.random_actions(obs, rng))
        ret += np.where(done, 0.0, rew[:, 0])
        for i in np.flatnonzero((term | trunc) & ~done):
            assert ret[i] == -infos["metrics"]["total_jct"][i]
        done |= term | trunc


def test_random_feasible_actions_are_always_placeable() -> None:
    venv = edgesched_env.vector_env("tapfinger-hetero6", num_envs=8, num_tasks=40)
    obs, _ = venv.reset(seed=1)
    rng = np.random.default_rng(2)
    for _ in range(150):
        acts = venv.random_actions(obs, rng)
        obs, _, _, _, infos = venv.step(acts)
        live = ~infos["reset"][:, None]
        assert not (infos["infeasible"] & live).any()
        assert not (infos["empty_slot"] & live).any()
        assert not (infos["clipped"] & live).any()


def test_random_feasible_actions_sample_every_fitting_task() -> None:
    obs = {
        "alloc_mask": np.zeros((1, 1, 3, 1, 4), dtype=np.int8),
        "action_mask": np.zeros((1, 1, 8), dtype=np.int8),
    }
    obs["alloc_mask"][0, 0, 0, 0, 1:3] = 1  # position 0 fits with 1 or 2 units; 1 and 2 do not fit
    obs["alloc_mask"][0, 0, 2, 0, 3] = 1  # position 2 fits with exactly 3 units
    rng = np.random.default_rng(0)
    seen = {tuple(random_feasible_actions(obs, rng)[0, 0].tolist()) for _ in range(300)}
    assert seen == {(0, 1), (0, 2), (2, 3), (3, 0)}


def test_batched_spaces_and_state() -> None:
    venv = edgesched_env.vector_env("edge-ml-small", num_envs=5)
    obs, _ = venv.reset(seed=0)
    assert venv.observation_space.contains(obs)
    assert venv.action_space.shape == (5, venv.num_agents, venv.nvec.shape[0])
    assert venv.state_space.contains(venv.state())
    assert venv.action_space.contains(venv.random_actions(obs, np.random.default_rng(0)))
    assert venv.memory_bytes() > 0


def test_malformed_actions_name_episode_agent_and_component() -> None:
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=2)
    obs, _ = venv.reset(seed=0)
    good = venv.random_actions(obs, np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        venv.step(good[:1])
    bad = good.copy()
    bad[1, 2, 1] = 99
    with pytest.raises(ValueError, match=r"episode 1, cluster_2: component 1 = 99"):
        venv.step(bad)
    with pytest.raises(ValueError, match="not an integer"):
        venv.step(good + 0.5)
    with pytest.raises(ValueError, match="num_envs"):
        edgesched_env.vector_env("tapfinger-synthetic", num_envs=0)
    with pytest.raises(RuntimeError, match="reset"):
        edgesched_env.vector_env("tapfinger-synthetic", num_envs=1).step(good[:1])


def test_reset_seeds_sequence_and_determinism() -> None:
    a = edgesched_env.vector_env("tapfinger-synthetic", num_envs=3)
    b = edgesched_env.vector_env("tapfinger-synthetic", num_envs=3)
    oa, _ = a.reset(seed=[7, 8, 9])
    ob, _ = b.reset(seed=7)
    assert_same(oa, ob)
    with pytest.raises(ValueError, match="seeds"):
        a.reset(seed=[1, 2])


def test_simstate_snapshot_stack_and_episode() -> None:
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=3)
    venv.reset(seed=0)
    st = venv.sim.state
    snap = st.copy()
    assert snap.free is not st.free and np.array_equal(snap.free, st.free)
    parts = [st.episode(i) for i in range(3)]
    stacked = SimState.stack(parts)
    for name, _, _ in state_fields():
        assert np.array_equal(getattr(stacked, name), getattr(st, name)), name
    for name, axes, doc in state_fields():
        assert getattr(st, name).ndim == len(axes) and axes[0] == "B" and doc


def test_central_vector_env_via_make_vec() -> None:
    v = gymnasium.make_vec(
        "edgesched/EdgeSchedCentral-v1",
        num_envs=3,
        vectorization_mode="vector_entry_point",
        preset="tapfinger-synthetic",
        num_tasks=20,
    )
    obs, _ = v.reset(seed=4)
    assert v.observation_space.contains(obs)
    single = gymnasium.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetic", num_tasks=20)
    o1, _ = single.reset(seed=5)
    assert_same({k: obs[k][1] for k in o1}, o1)
    masks = v.unwrapped.action_masks()
    assert masks.shape == (3, int(v.unwrapped.single_action_space.nvec.sum()))
    assert np.array_equal(masks[1], single.unwrapped.action_masks())
    obs, rew, term, _, _ = v.step(v.action_space.sample())
    assert rew.shape == (3,) and term.shape == (3,)


def test_reset_options_naming_a_setting_are_refused() -> None:
    env = EdgeSchedParallelEnv("tapfinger-synthetic", num_tasks=8)
    with pytest.raises(ValueError, match="num_tasks"):
        env.reset(seed=0, options={"num_tasks": 3})
    with pytest.raises(ValueError, match="obs_layout"):
        env.reset(seed=0, options={"obs_layout": "flat"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.reset(seed=0, options={"options": 1})  # what PettingZoo's parallel_api_test passes
    with pytest.raises(ValueError, match="dict or None"):
        env.reset(seed=0, options=[1])  # type: ignore[arg-type]
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=2, num_tasks=8)
    with pytest.raises(ValueError, match="max_pending"):
        venv.reset(seed=0, options={"max_pending": 1})
