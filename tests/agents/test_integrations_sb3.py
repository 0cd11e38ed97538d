"""agents.integrations.sb3: the shared-policy VecEnv, MaskablePPO on both views, the bench path."""

from __future__ import annotations

import json

import numpy as np
import pytest

import edgesched_env
from agents.bench import run_bench
from agents.checkpoint import CheckpointCorruptedError, CheckpointMismatchError
from agents.evaluate import evaluate
from agents.integrations import require, sb3

SMALL = {"num_tasks": 10, "max_cycles": 300}  # an untrained policy may idle: cap the episodes
TINY_PPO = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [16]}}


def test_missing_library_error_names_the_extra():
    with pytest.raises(ImportError, match=r"edgesched\[sb3\]"):
        require("surely_not_a_module_xyz", "sb3")


def test_shared_vec_env_is_the_vector_env_agent_by_agent():
    env = sb3.SharedPolicyVecEnv("tapfinger-synthetic", num_envs=2, **SMALL)
    ref = edgesched_env.vector_env("tapfinger-synthetic", num_envs=2, mask="strict", **SMALL)
    env.seed(7)
    obs = env.reset()
    robs, _ = ref.reset(seed=7)
    n = ref.num_agents
    assert env.num_envs == 2 * n
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(400):
        for k in robs:
            np.testing.assert_array_equal(obs[k], robs[k].reshape(2 * n, *robs[k].shape[2:]))
        masks = np.stack(env.env_method("action_masks"))
        np.testing.assert_array_equal(masks, robs["action_mask"].reshape(2 * n, -1).astype(bool))
        act = ref.random_actions(robs, rng)
        env.step_async(act.reshape(2 * n, -1))
        obs, rew, dones, infos = env.step_wait()
        robs, rrew, te, tr, _ = ref.step(act)
        np.testing.assert_array_equal(rew, rrew.reshape(-1))
        np.testing.assert_array_equal(dones, np.repeat(te | tr, n))
        done_rows = np.flatnonzero(te | tr)
        for b in done_rows:
            ended += 1
            for i in range(n):
                info = infos[b * n + i]
                assert info["mean_jct"] == ref.episode_metrics(b)["mean_jct"] > 0
                assert info["episode"]["l"] > 0
                np.testing.assert_array_equal(info["terminal_observation"]["pending"], robs["pending"][b, i])
        if done_rows.size:
            # the shared env reset those episodes in the same step; the reference does it next step
            robs, *_ = ref.step(ref.random_actions(robs, rng))
            for b in done_rows:
                first = obs["pending"].reshape(2, n, *obs["pending"].shape[1:])[b]
                np.testing.assert_array_equal(first, robs["pending"][b])
            break
    assert ended == 1
    assert sb3.mask_violations(env) == 0  # random feasible actions respect the strict mask


@pytest.mark.parametrize("view", ["shared", "central"])
def test_maskable_ppo_trains_with_no_mask_violations_and_is_benched(tmp_path, view):
    model = sb3.train(
        "tapfinger-synthetic", view=view, total_timesteps=128, num_envs=2, seed=0, overrides=SMALL, **TINY_PPO
    )
    assert model.num_timesteps >= 128
    assert sb3.mask_violations(model) == 0
    path = sb3.save(model, tmp_path / "pol", "tapfinger-synthetic")
    meta = json.loads((path / "checkpoint.json").read_text())["meta"]
    assert meta["kind"] == "sb3" and meta["view"] == view and meta["options"]["mask"] == "strict"
    # the model in memory and the saved one play the same episodes, deterministically
    live = [r["mean_jct"] for r in evaluate(sb3.as_scheduler(model), "tapfinger-synthetic", [0], **SMALL)]
    saved = [
        r["mean_jct"] for r in evaluate(sb3.as_scheduler(str(path)), "tapfinger-synthetic", [0], **SMALL)
    ]
    assert live == saved
    res = run_bench(
        "tapfinger-synthetic", [f"sb3:{path}", "fifo-greedy"], [0], workers=1, progress=False, **SMALL
    )
    got = [r["mean_jct"] for r in res.records if r["scheduler"] == f"sb3:{path}"]
    assert got == saved and all(
        r["infeasible_actions"] == 0 for r in res.records if r["scheduler"].startswith("sb3")
    )


def test_saved_policies_refuse_damage_and_other_envs(tmp_path):
    model = sb3.train(
        "tapfinger-synthetic", view="shared", total_timesteps=32, num_envs=1, overrides=SMALL, **TINY_PPO
    )
    path = sb3.save(model, tmp_path / "pol", "tapfinger-synthetic")
    # another env layout: the policy's input sizes differ, named before any episode is played
    sched = sb3.as_scheduler(str(path))
    with pytest.raises(CheckpointMismatchError, match="shape"):
        sched.bind(edgesched_env.parallel_env("edge-ml-small"))
    weights = path / "policy.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointCorruptedError):
        sb3.as_scheduler(str(path))
    with pytest.raises(ValueError, match="view"):
        sb3.train("tapfinger-synthetic", view="joint", total_timesteps=8)


def test_integration_speed_script_measures_every_path(run_speed_script):
    import importlib.util

    rep = run_speed_script()
    assert {"sb3 shared", "sb3 central"} <= set(rep["steps_per_s"])
    assert importlib.util.find_spec("torchrl") is None or {"torchrl native", "torchrl generic"} <= set(
        rep["steps_per_s"]
    )


def test_hgat_features_extractor_trains_saves_and_plays(tmp_path):
    kw = sb3.hgat_policy_kwargs("tapfinger-synthetic", hidden=16, net_arch=[16])
    model = sb3.train(
        "tapfinger-synthetic",
        view="central",
        total_timesteps=64,
        num_envs=2,
        n_steps=32,
        batch_size=32,
        n_epochs=1,
        overrides=SMALL,
        policy_kwargs=kw,
    )
    assert type(model.policy.features_extractor).__name__ == "HGATFeaturesExtractor"
    assert model.policy.features_extractor.features_dim == 4 * 16  # (N + 1) x hidden
    assert sb3.mask_violations(model) == 0
    path = sb3.save(model, tmp_path / "pol", "tapfinger-synthetic")
    meta = json.loads((path / "checkpoint.json").read_text())["meta"]
    assert meta["policy_kwargs"]["features_extractor"] == "hgat"
    live = evaluate(sb3.as_scheduler(model), "tapfinger-synthetic", [0], **SMALL)
    saved = evaluate(sb3.as_scheduler(str(path)), "tapfinger-synthetic", [0], **SMALL)
    assert live[0]["mean_jct"] == saved[0]["mean_jct"]
