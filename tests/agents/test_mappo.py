"""MAPPO: GAE with per-slot discounting, the loss functions, value normalisation, the config, and
small deterministic training runs (the long ones are ``slow``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import edgesched_env
from agents.cli import main
from agents.evaluate import evaluate
from agents.hgat import HGATScheduler
from agents.mappo import TrainConfig, train
from agents.mappo.buffer import RunningNorm, gae
from agents.mappo.config import TEST_SEEDS
from agents.mappo.losses import (
    clipped_policy_loss,
    entropy_bonus,
    explained_variance,
    normalize_advantages,
    value_loss,
)


# --------------------------------------------------------------------------------------- GAE
def _gae(term=(False,) * 4, trunc=(False,) * 4, gamma=0.5, lam=0.5):
    r = np.array([0.0, -2.0, 0.0, -3.0]).reshape(4, 1, 1)
    v = np.array([1.0, 2.0, 3.0, 4.0]).reshape(4, 1, 1)
    slot_end = np.array([False, True, False, True]).reshape(4, 1)
    adv, ret = gae(
        r,
        v,
        np.array([[5.0]]),
        np.array(term).reshape(4, 1),
        np.array(trunc).reshape(4, 1),
        slot_end,
        gamma,
        lam,
    )
    return adv.ravel().tolist(), ret.ravel().tolist()


def test_gae_discounts_only_across_slot_ends():
    adv, ret = _gae()
    # t3: -3 + .5 * 5 - 4 = -4.5; t2 (inside a slot: gamma = lambda = 1): 0 + 4 - 3 + A3 = -3.5;
    # t1: -2 + .5 * 3 - 2 + .5 * .5 * A2 = -3.375; t0: 0 + 2 - 1 + A1 = -2.375
    assert adv == pytest.approx([-2.375, -3.375, -3.5, -4.5])
    assert ret == pytest.approx([-1.375, -1.375, -0.5, -0.5])


def test_gae_cuts_at_terminations_and_bootstraps_truncations():
    adv, _ = _gae(term=(False, True, False, False))
    assert adv[:2] == pytest.approx([-3.0, -4.0])  # t1: -2 - 2 (no bootstrap), t0: 1 + A1
    adv, _ = _gae(trunc=(False, True, False, False))
    assert adv[:2] == pytest.approx([-1.5, -2.5])  # t1: -2 + .5 * V2 - 2, chain cut


def test_gae_undiscounted_global_return_is_minus_the_total_jct():
    """Little's law through the vector env's autoreset: the return of an episode's first round,
    with gamma = lambda = 1 and zero values, is minus its total JCT."""
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=2, num_tasks=12, reward="global")
    obs, _ = venv.reset(seed=4)
    rng = np.random.default_rng(0)
    rew, flags, totals = [], {"term": [], "trunc": [], "slot_end": []}, {}
    for _ in range(3000):
        obs, r, term, trunc, infos = venv.step(venv.random_actions(obs, rng))
        rew.append(r)
        for k, v in (("term", term), ("trunc", trunc), ("slot_end", infos["slot_end"])):
            flags[k].append(v)
        for i in np.flatnonzero(term).tolist():
            totals.setdefault(i, venv.episode_metrics(i)["total_jct"])
        if len(totals) == 2:
            break
    rewards = np.stack(rew)
    values = np.zeros_like(rewards)
    term, trunc, slot_end = (np.stack(flags[k]) for k in ("term", "trunc", "slot_end"))
    _, ret = gae(rewards, values, np.zeros(rewards.shape[1:]), term, trunc, slot_end, 1.0, 1.0)
    for i, total in totals.items():
        assert ret[0, i, 0] == pytest.approx(-total)


# ------------------------------------------------------------------------------------ losses
def test_clipped_policy_loss_known_values():
    w = torch.ones(1)
    loss, clip_frac, kl = clipped_policy_loss(
        torch.tensor([math.log(1.5)]), torch.zeros(1), torch.ones(1), w, 0.2
    )
    assert loss.item() == pytest.approx(-1.2) and clip_frac.item() == 1.0
    assert kl.item() == pytest.approx(0.5 - math.log(1.5))
    loss, _, _ = clipped_policy_loss(torch.tensor([math.log(1.5)]), torch.zeros(1), -torch.ones(1), w, 0.2)
    assert loss.item() == pytest.approx(1.5)  # the pessimistic (unclipped) side for a negative advantage
    # inside the trust region nothing is clipped and the loss is -ratio * A
    loss, clip_frac, _ = clipped_policy_loss(
        torch.tensor([math.log(1.1)]), torch.zeros(1), torch.ones(1), w, 0.2
    )
    assert loss.item() == pytest.approx(-1.1) and clip_frac.item() == 0.0


def test_weights_drop_samples_from_every_loss():
    w = torch.tensor([1.0, 0.0])
    loss, _, _ = clipped_policy_loss(torch.zeros(2), torch.zeros(2), torch.tensor([2.0, 100.0]), w, 0.2)
    assert loss.item() == pytest.approx(-2.0)
    assert value_loss(torch.tensor([1.0, 9.0]), torch.zeros(2), torch.tensor([3.0, 0.0]), w).item() == 2.0
    assert entropy_bonus(torch.tensor([0.5, 9.0]), w).item() == 0.5
    a = normalize_advantages(torch.tensor([1.0, 3.0, 1000.0]), torch.tensor([1.0, 1.0, 0.0]))
    assert a[:2].tolist() == pytest.approx([-1.0, 1.0], abs=1e-6)


def test_value_loss_clipping_and_explained_variance():
    w = torch.ones(1)
    assert value_loss(torch.tensor([1.0]), torch.zeros(1), torch.tensor([3.0]), w, clip=0.5).item() == 3.125
    t = torch.tensor([1.0, 2.0, 4.0])
    ones = torch.ones(3)
    assert explained_variance(t, t, ones) == pytest.approx(1.0)
    assert explained_variance(torch.full((3,), t.mean().item()), t, ones) == pytest.approx(0.0)
    assert math.isnan(explained_variance(t, torch.ones(3), ones))


def test_running_norm_matches_numpy_over_batches():
    rng = np.random.default_rng(0)
    data = rng.normal(5.0, 3.0, size=1000)
    norm = RunningNorm(eps=0.0)
    norm.count = 0.0
    for chunk in np.array_split(data, 7):
        norm.update(chunk)
    assert norm.mean == pytest.approx(data.mean()) and norm.std == pytest.approx(data.std())
    assert norm.denormalize(norm.normalize(data)) == pytest.approx(data)


# ------------------------------------------------------------------------------------ config
def test_train_config_validates_and_round_trips():
    cfg = TrainConfig(total_rounds=100, model_overrides={"hidden": 32})
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="total_rounds or budget_minutes"):
        TrainConfig()
    with pytest.raises(ValueError, match="num_envs"):
        TrainConfig(total_rounds=10, num_envs=0)
    with pytest.raises(ValueError, match="overlap the test seeds"):
        TrainConfig(total_rounds=10, selection_seeds=(TEST_SEEDS[0],))
    with pytest.raises(ValueError, match="gamma"):
        TrainConfig(total_rounds=10, gamma=1.5)
    with pytest.raises(ValueError, match="unknown TrainConfig keys"):
        TrainConfig.from_dict({"total_rounds": 10, "learning_rate": 1.0})
    # training episodes come from a range disjoint from the selection and test seeds
    assert cfg.train_seed > max(cfg.selection_seeds) > max(TEST_SEEDS)


# ---------------------------------------------------------------------------------- training
TINY = dict(
    preset="tapfinger-synthetic",
    env_overrides={"num_tasks": 40},
    num_envs=4,
    rollout_rounds=32,
    minibatches=2,
    epochs=2,
    model_overrides={"hidden": 32, "head_hidden": 32, "layers": 1, "heads": 2},
    selection_seeds=(900_000, 900_001),
    eval_every=2,
)


def test_training_is_deterministic_and_resumable(tmp_path):
    cfg = TrainConfig(total_rounds=4 * 32 * 2, **TINY)
    a = train(cfg, tmp_path / "a", progress=False)
    b = train(cfg, tmp_path / "b", progress=False)
    wa, wb = load_file(a.last / "model.safetensors"), load_file(b.last / "model.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    other = train(TrainConfig(total_rounds=4 * 32 * 2, seed=1, **TINY), tmp_path / "c", progress=False)
    wc = load_file(other.last / "model.safetensors")
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)
    for name in ("progress.csv", "train_result.json", "training_curve.png", "best/checkpoint.json"):
        assert (a.out_dir / name).exists(), name
    # resume: the counters continue from last/
    more = TrainConfig(total_rounds=4 * 32 * 3, **TINY)
    r = train(more, tmp_path / "a", resume=True, progress=False)
    assert r.iterations == 3 and r.rounds == 4 * 32 * 3
    assert len(open(tmp_path / "a" / "progress.csv").read().strip().splitlines()) == 1 + 3
    # resuming with other settings is refused, naming the setting
    with pytest.raises(ValueError, match="lr"):
        train(
            TrainConfig(total_rounds=4 * 32 * 4, **TINY, lr=1e-3), tmp_path / "a", resume=True, progress=False
        )


def test_tiny_training_run_beats_the_random_scheduler(tmp_path):
    """~20 s of training on a small tapfinger-synthetic: clearly below random on held-out seeds."""
    cfg = TrainConfig(
        preset="tapfinger-synthetic",
        env_overrides={"num_tasks": 60},
        total_rounds=16 * 64 * 8,
        num_envs=16,
        rollout_rounds=64,
        gamma=0.95,
        eval_every=4,
        selection_seeds=(900_000, 900_001, 900_002),
    )
    result = train(cfg, tmp_path / "run", progress=False)
    seeds = list(TEST_SEEDS[:5])
    learned = evaluate(HGATScheduler(result.best), "tapfinger-synthetic", seeds, num_tasks=60)
    rand = evaluate("random", "tapfinger-synthetic", seeds, num_tasks=60)
    jct_l = np.mean([r["mean_jct"] for r in learned])
    jct_r = np.mean([r["mean_jct"] for r in rand])
    assert jct_l < 0.75 * jct_r, (jct_l, jct_r)


def test_cli_train_and_eval(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(
        ["train", "--preset", "tapfinger-synthetic", "--rounds", "256", "--num-envs", "4", "--out", str(out),
         "--set", "num_tasks=16", "--model-set", "hidden=16", "--model-set", "head_hidden=16",
         "--train-set", "rollout_rounds=32", "--train-set", "eval_every=1", "--no-progress"]
    )  # fmt: skip
    assert rc == 0 and (out / "best" / "model.safetensors").exists()
    rc = main(
        ["eval", "--checkpoint", str(out / "best"), "--seeds", "2", "--set", "num_tasks=16",
         "--baselines", "random", "--no-plots", "--no-progress", "--out", str(tmp_path / "eval")]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0 and "hgat:" in text and "random" in text and "lower-bound" in text
    rc = main(["eval", "--checkpoint", str(tmp_path / "missing"), "--seeds", "1"])
    assert rc == 2 and "checkpoint" in capsys.readouterr().err
    rc = main(["train", "--preset", "tapfinger-synthetic", "--out", str(tmp_path / "x")])
    assert rc == 2 and "--budget-minutes" in capsys.readouterr().err


@pytest.mark.slow
def test_longer_training_run_on_the_paper_preset(tmp_path):
    """~3 minutes of training on full tapfinger-synthetic episodes: far below random and below the
    paper's TapFinger figure (6.42 slots) on the test seeds."""
    cfg = TrainConfig(preset="tapfinger-synthetic", total_rounds=16 * 64 * 64, eval_every=16)
    result = train(cfg, tmp_path / "run", progress=False)
    seeds = list(TEST_SEEDS)
    learned = np.mean([r["mean_jct"] for r in evaluate(HGATScheduler(result.best), cfg.preset, seeds)])
    rand = np.mean([r["mean_jct"] for r in evaluate("random", cfg.preset, seeds)])
    assert learned < 0.6 * rand and learned < 6.42, (learned, rand)
