"""agents.integrations.torchrl: the native batched env, TorchRL's multi-agent PPO, the bench path."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torchrl", reason="the [torchrl] extra is not installed")

import torch
from torchrl.envs.utils import check_env_specs

import edgesched_env
from agents.bench import run_bench
from agents.integrations import torchrl as trl

SMALL = {"num_tasks": 10, "max_cycles": 300}


@pytest.mark.parametrize("preset", ["tapfinger-synthetic", "edge-ml-small"])
def test_native_env_passes_check_env_specs(preset):
    env = trl.EdgeSchedTorchRLEnv(preset, num_envs=3, num_tasks=10)
    check_env_specs(env, seed=0)
    td = env.rollout(50, break_when_any_done=False)
    assert td.batch_size == torch.Size([3, 50])
    acts, mask = td.get(("agents", "action")), td.get(("agents", "action_mask"))
    assert mask.gather(-1, acts.unsqueeze(-1)).all()  # rollout's random actions follow the mask


def test_native_env_is_the_vector_env_and_resets_only_what_it_is_asked():
    env = trl.EdgeSchedTorchRLEnv("tapfinger-synthetic", num_envs=2, num_tasks=6)
    ref = edgesched_env.vector_env(
        "tapfinger-synthetic", num_envs=2, obs_layout="flat", action_format="discrete", num_tasks=6
    )
    env.set_seed(11)
    td = env.reset()
    robs, _ = ref.reset(seed=11)
    rng = np.random.default_rng(0)
    for _ in range(200):
        np.testing.assert_array_equal(td.get(("agents", "observation")).numpy(), robs["observation"])
        a = ref.random_actions(robs, rng)
        td.set(("agents", "action"), torch.as_tensor(a))
        out = env.step(td)
        robs, rew, te, tr, infos = ref.step(a)
        nxt = out.get("next")
        np.testing.assert_array_equal(nxt.get(("agents", "reward")).squeeze(-1).numpy(), rew)
        done = te | tr
        np.testing.assert_array_equal(nxt.get("done").squeeze(-1).numpy(), done)
        if done.any():
            b = int(np.flatnonzero(done)[0])
            assert nxt.get("mean_jct")[b, 0].item() == pytest.approx(infos["metrics"]["mean_jct"][b])
            reset = nxt.select().clone()
            reset.set("_reset", torch.as_tensor(done).unsqueeze(-1))
            td = env.reset(reset)
            robs, *_ = ref.step(ref.random_actions(robs, rng))  # the reference autoresets those rows
            for row in np.flatnonzero(done):
                np.testing.assert_array_equal(
                    td.get(("agents", "observation"))[row].numpy(), robs["observation"][row]
                )
            return
        td = nxt
    pytest.fail("no episode ended")


def test_mappo_recipe_trains_with_no_mask_violations_and_is_benched():
    res = trl.train_ppo(
        "tapfinger-synthetic",
        total_frames=200,
        frames_per_batch=100,
        num_envs=2,
        minibatch=50,
        epochs=1,
        hidden=16,
        depth=1,
        overrides=SMALL,
    )
    assert res["frames"] == 200 and res["mask_violations"] == 0
    sched = trl.as_scheduler(res)
    out = run_bench(
        "tapfinger-synthetic",
        ["torchrl-mappo", "fifo-greedy"],
        [0],
        workers=1,
        progress=False,
        instances={"torchrl-mappo": sched},
        **SMALL,
    )
    again = run_bench(
        "tapfinger-synthetic",
        ["torchrl-mappo"],
        [0],
        workers=1,
        progress=False,
        instances={"torchrl-mappo": sched},
        **SMALL,
    )
    jct = [r["mean_jct"] for r in out.records if r["scheduler"] == "torchrl-mappo"]
    assert jct == [r["mean_jct"] for r in again.records if r["scheduler"] == "torchrl-mappo"]
    assert all(r["infeasible_actions"] == 0 for r in out.records if r["scheduler"] == "torchrl-mappo")
    with pytest.raises(ValueError, match="workers=1"):
        run_bench(
            "tapfinger-synthetic", ["torchrl-mappo"], [0], workers=2, instances={"torchrl-mappo": sched}
        )
    with pytest.raises(ValueError, match="fixes"):
        trl.EdgeSchedTorchRLEnv("tapfinger-synthetic", obs_layout="dict")


def test_torchrl_generic_pettingzoo_wrapper_works_with_the_library_options():
    """The issue's first failure (reset infos with fewer keys, nested metrics, None values) is gone
    under ``info_format="flat"``; the generic wrapper then passes its own checker too."""

    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    env = edgesched_env.parallel_env(
        "tapfinger-synthetic", num_tasks=8, obs_layout="flat", action_format="discrete", info_format="flat"
    )
    wrapped = PettingZooWrapper(env, use_mask=True, return_state=False, categorical_actions=True)
    check_env_specs(wrapped, seed=0)
    td = wrapped.rollout(30, break_when_any_done=True)
    assert td.batch_size[0] > 0
