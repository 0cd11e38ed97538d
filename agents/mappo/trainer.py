"""The MAPPO trainer: collect from the vector env -> advantages -> epochs x minibatches -> losses
-> clip -> step -> log, top to bottom in :func:`train`.

One sample is one decision round of one episode (a graph of all its agents); each agent of it
contributes its own clipped-ratio term, value term and entropy (the actor is shared, the critic
centralised). The trainer writes to ``out_dir``:

* ``progress.csv``: one row per iteration (losses, entropy, approx KL, clip fraction, explained
  variance, learning rate, rounds/s, mean JCT of the training episodes that ended, and the mean JCT
  on the selection seeds when evaluated); TensorBoard event files under ``tb/`` when
  ``tensorboard`` is installed;
* ``last/`` and ``best/``: agent checkpoints (:mod:`agents.hgat.io`; ``last`` also holds the
  optimizer and the train state, to resume); ``best`` is the lowest mean JCT on the selection seeds;
* ``train_result.json``: counters, wall time, the time split (env, graph building, forward,
  backward) and the evaluation history; ``training_curve.png`` when matplotlib is installed.

Determinism: with ``total_rounds`` (not a wall-time budget, which depends on the machine's speed),
the same config, seed and thread count give the same weights bit for bit. A resumed run continues
the counters, the optimizer, the value normaliser and the sampling generator, but restarts the
training episodes (seeded from the iteration), so it is not bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray

from agents.checkpoint import CheckpointMismatchError, flatten_state, unflatten_state
from agents.hgat.io import load_agent, save_agent
from agents.hgat.model import NAMED_CONFIGS, HGATActorCritic, ModelConfig
from agents.hgat.policy import JointPolicy
from agents.mappo.buffer import RunningNorm, gae
from agents.mappo.config import TrainConfig
from agents.mappo.losses import (
    clipped_policy_loss,
    entropy_bonus,
    explained_variance,
    normalize_advantages,
    value_loss,
)
from edgesched_env.config import EnvConfig
from edgesched_env.presets import make_config
from edgesched_env.vector import EdgeSchedVectorEnv

__all__ = ["TrainResult", "build_model", "env_config_for", "evaluate_model", "progress_postfix", "train"]

_CSV_FIELDS = (
    "iteration",
    "rounds",
    "wall_s",
    "lr",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_frac",
    "explained_variance",
    "rounds_per_s",
    "train_episodes",
    "train_mean_jct",
    "selection_mean_jct",
)


@dataclass
class TrainResult:
    """What :func:`train` returns (also written to ``train_result.json``)."""

    out_dir: Path
    iterations: int
    rounds: int
    wall_s: float
    best_selection_jct: float
    timing_s: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def best(self) -> Path:
        """The best checkpoint directory."""
        return self.out_dir / "best"

    @property
    def last(self) -> Path:
        """The last checkpoint directory."""
        return self.out_dir / "last"


def env_config_for(cfg: TrainConfig) -> EnvConfig:
    """The env config a run trains on (preset, overrides and the reward choice)."""
    overrides = dict(cfg.env_overrides)
    if cfg.reward != "env":
        overrides["reward"] = cfg.reward
    if cfg.profile is not None:
        from edgesched_env.presets import profile_config

        return make_config(profile_config(cfg.profile, **cfg.profile_options), **overrides)
    if cfg.profile_options:
        raise ValueError("TrainConfig.profile_options needs TrainConfig.profile")
    return make_config(cfg.preset, **overrides)


def build_model(cfg: TrainConfig, env_config: EnvConfig) -> HGATActorCritic:
    """A freshly initialised actor-critic for ``env_config`` (seeded by ``cfg.seed``)."""
    if cfg.arch not in NAMED_CONFIGS:
        raise ValueError(f"unknown arch {cfg.arch!r}; available: {sorted(NAMED_CONFIGS)}")
    picks = env_config.num_picks
    fields = {
        "num_types": env_config.num_types,
        "num_resources": env_config.num_resources,
        "num_levels": max(env_config.num_levels),
        "num_agents": env_config.num_clusters,
        "max_picks": picks,
        **NAMED_CONFIGS[cfg.arch],
        **cfg.model_overrides,
    }
    torch.manual_seed(cfg.seed)
    return HGATActorCritic(ModelConfig(**fields))


def evaluate_model(
    model: HGATActorCritic,
    env_config: EnvConfig,
    seeds: list[int] | tuple[int, ...],
    *,
    bayes: bool = True,
    mode: str = "greedy",
) -> list[dict[str, Any]]:
    """Play one episode per seed with ``model`` in decision ``mode`` (all at once in a vector env,
    through :func:`agents.evaluate.evaluate`); return each episode's metrics.

    Each episode is played as :class:`~agents.hgat.scheduler.HGATScheduler` plays it alone in a
    parallel env seeded with its seed (greedy and sampling alike), so the selection JCT of a
    checkpoint is the one ``edgesched eval`` reports for it on the same seeds.
    """
    from agents.evaluate import evaluate
    from agents.hgat.scheduler import HGATScheduler

    if mode not in ("greedy", "sample"):
        raise ValueError(f"evaluate_model: mode must be 'greedy' or 'sample', got {mode!r}")
    decision: Literal["greedy", "sample"] = "sample" if mode == "sample" else "greedy"
    was_training = model.training
    model.eval()
    try:
        sched = HGATScheduler.from_model(model, mode=decision, bayes=bayes)
        records = evaluate(sched, env_config, [int(s) for s in seeds])
    finally:
        model.train(was_training)
    keep = ("scheduler", "seed", "preset", "wall_time_s")
    return [{k: v for k, v in r.items() if k not in keep} for r in records]


def _mean_jct(metrics: list[dict[str, Any]]) -> float:
    return float(np.mean([m["mean_jct"] for m in metrics]))


class _Logger:
    """CSV always; TensorBoard when installed."""

    def __init__(self, out_dir: Path, append: bool) -> None:
        self.path = out_dir / "progress.csv"
        new = not (append and self.path.exists())
        self._fh = self.path.open("w" if new else "a", newline="")
        self._csv = csv.DictWriter(self._fh, fieldnames=_CSV_FIELDS)
        if new:
            self._csv.writeheader()
        self._tb: Any = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(out_dir / "tb"))
        except Exception:  # tensorboard not installed: CSV only
            self._tb = None

    def log(self, row: dict[str, Any]) -> None:
        self._csv.writerow({k: row.get(k, "") for k in _CSV_FIELDS})
        self._fh.flush()
        if self._tb is not None:
            for k, v in row.items():
                if k not in ("iteration", "rounds") and isinstance(v, (int, float)) and math.isfinite(v):
                    self._tb.add_scalar(k, v, row["rounds"])

    def close(self) -> None:
        self._fh.close()
        if self._tb is not None:
            self._tb.close()


def _progress_bar(total: float, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, unit="%", bar_format="{l_bar}{bar}| {elapsed} {postfix}")


def progress_postfix(iteration: int, rounds: int, rounds_per_s: float, selection_jct: float) -> str:
    """The progress bar's postfix: iteration, env rounds, speed and the last selection mean JCT.

    Args:
        iteration: iterations done; rounds: env rounds done; rounds_per_s: the last iteration's
            speed (env rounds per second).
        selection_jct: mean JCT (slots) of the last selection evaluation; NaN before the first
            one, shown as ``sel-JCT --`` (not ``nan``) until there is a figure.
    """
    sel = "--" if math.isnan(selection_jct) else f"{selection_jct:.3f}"
    return f"it {iteration} rounds {rounds} {rounds_per_s:.0f} rounds/s sel-JCT {sel}"


def train(
    cfg: TrainConfig, out_dir: str | Path, *, resume: bool = False, progress: bool = True
) -> TrainResult:
    """Train an HGAT actor-critic with MAPPO; see the module docstring for the outputs."""
    out = Path(out_dir)
    env_cfg = env_config_for(cfg)  # a bad preset, profile or override fails before anything is written
    model = build_model(cfg, env_cfg)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, eps=1e-5)
    vnorm = RunningNorm()
    policy = JointPolicy(model, env_cfg, bayes=cfg.bayes, seed=cfg.seed)
    learner = _Learner(cfg, env_cfg, model, opt, vnorm, policy)
    perm_rng = np.random.default_rng(cfg.seed + 17)
    it, rounds, prev_wall, best = 0, 0, 0.0, math.inf
    history: list[dict[str, Any]] = []
    timing = {"env": 0.0, "graph": 0.0, "forward": 0.0, "backward": 0.0, "evaluation": 0.0}
    if resume and (out / "last").exists():
        it, rounds, prev_wall, best, history = _restore(out / "last", learner)
        perm_rng = np.random.default_rng([cfg.seed + 17, it])
    (out / "train_config.json").write_text(json.dumps(cfg.to_dict(), indent=2))

    # selection episodes stop at 5x the expected length (a greedy policy that idles with work
    # pending would otherwise play to the 100x safety valve); truncated tasks count as they stand
    sel_cfg = dataclasses.replace(env_cfg, max_slots=max(1, env_cfg.slots_limit // 20))
    venv = EdgeSchedVectorEnv(env_cfg, num_envs=cfg.num_envs)
    obs, _ = venv.reset(seed=cfg.train_seed + 7919 * it)
    ids = venv.pending_task_ids()
    e, n, t_len = cfg.num_envs, env_cfg.num_clusters, cfg.rollout_rounds
    start = time.perf_counter()
    logger = _Logger(out, append=resume)
    bar = _progress_bar(100.0, progress)
    last_eval = history[-1]["selection_mean_jct"] if history else math.nan

    def frac_done() -> float:
        f = 0.0
        if cfg.total_rounds is not None:
            f = max(f, rounds / cfg.total_rounds)
        if cfg.budget_minutes is not None:
            f = max(f, (prev_wall + time.perf_counter() - start) / (60.0 * cfg.budget_minutes))
        return f

    while frac_done() < 1.0:
        it += 1
        frac = frac_done()
        lr = cfg.lr + (cfg.lr_final - cfg.lr) * frac
        for group in opt.param_groups:
            group["lr"] = lr
        t_iter = time.perf_counter()

        # 1. collect T rounds of E episodes with the current policy
        buf: dict[str, list[Any]] = {k: [] for k in ("obs", "ids", "act", "lost", "logp", "value", "rew")}
        flags: dict[str, list[NDArray[np.bool_]]] = {k: [] for k in ("term", "trunc", "slot_end", "reset")}
        ended_jct: list[float] = []
        model.eval()
        for _ in range(t_len):
            dec = policy.decide(obs, ids, mode="sample", timing=timing)
            buf["obs"].append(obs)
            buf["ids"].append(ids)
            buf["act"].append(dec.actions)
            buf["lost"].append(dec.lost)
            lp = dec.out.logp_slot + dec.out.logp_alloc * torch.from_numpy(~dec.lost)
            buf["logp"].append(lp.numpy())
            buf["value"].append(dec.out.value.numpy())
            t0 = time.perf_counter()
            obs, rew, term, trunc, infos = venv.step(dec.executed)
            ids = venv.pending_task_ids()
            timing["env"] += time.perf_counter() - t0
            buf["rew"].append(rew)
            for k, v in (("term", term), ("trunc", trunc), ("slot_end", infos["slot_end"])):
                flags[k].append(np.asarray(v, dtype=bool))
            flags["reset"].append(np.asarray(infos["reset"], dtype=bool))
            if "_metrics" in infos:
                ended_jct += infos["metrics"]["mean_jct"][infos["_metrics"]].tolist()
        rounds += t_len * e
        with torch.no_grad():
            t0 = time.perf_counter()
            gb = policy.builder.build(obs, ids)
            timing["graph"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            next_v = model.value(gb, model.encode(gb)).numpy()
            timing["forward"] += time.perf_counter() - t0

        # 2. advantages (env units) and normalised value targets
        values = vnorm.denormalize(np.stack(buf["value"]))
        adv, ret = gae(
            np.stack(buf["rew"]).astype(np.float64),
            values,
            vnorm.denormalize(next_v),
            np.stack(flags["term"]),
            np.stack(flags["trunc"]),
            np.stack(flags["slot_end"]),
            cfg.gamma,
            cfg.gae_lambda,
        )
        valid = ~np.stack(flags["reset"])  # (T, E): an autoreset round's action was ignored
        v_old = np.stack(buf["value"])
        vnorm.update(ret[valid])
        target = vnorm.normalize(ret)
        stacked = {k: np.stack([o[k] for o in buf["obs"]]) for k in buf["obs"][0]}
        ids_all, act_all = np.stack(buf["ids"]), np.stack(buf["act"])
        lost_all, logp_all = np.stack(buf["lost"]), np.stack(buf["logp"])

        # 3. epochs x minibatches of clipped PPO
        model.train()
        num = t_len * e
        mb_size = math.ceil(num / cfg.minibatches)
        stats: dict[str, list[float]] = {k: [] for k in ("pl", "vl", "ent", "kl", "cf")}
        stop = False
        for _epoch in range(cfg.epochs):
            perm = perm_rng.permutation(num)
            for m0 in range(0, num, mb_size):
                sel = perm[m0 : m0 + mb_size]
                ti, ei = sel // e, sel % e
                t0 = time.perf_counter()
                gb = policy.builder.build({k: v[ti, ei] for k, v in stacked.items()}, ids_all[ti, ei])
                timing["graph"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                res = model(gb, actions=torch.from_numpy(act_all[ti, ei]))
                keep = torch.from_numpy(~lost_all[ti, ei])
                logp_new = res.logp_slot + res.logp_alloc * keep
                weight = torch.from_numpy(valid[ti, ei]).float().unsqueeze(-1).expand(-1, n)
                a = torch.from_numpy(adv[ti, ei]).float()
                if cfg.norm_adv:
                    a = normalize_advantages(a, weight)
                pl, cf, kl = clipped_policy_loss(
                    logp_new, torch.from_numpy(logp_all[ti, ei]), a, weight, cfg.clip
                )
                vl = value_loss(
                    res.value,
                    torch.from_numpy(v_old[ti, ei]).float(),
                    torch.from_numpy(target[ti, ei]).float(),
                    weight,
                    cfg.vf_clip,
                )
                ent = entropy_bonus(res.entropy, weight)
                loss = pl + cfg.vf_coef * vl - cfg.ent_coef * ent
                timing["forward"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                opt.step()
                timing["backward"] += time.perf_counter() - t0
                for k, v in (("pl", pl), ("vl", vl), ("ent", ent), ("kl", kl), ("cf", cf)):
                    stats[k].append(float(v.detach()))
                if cfg.target_kl is not None and float(kl) > cfg.target_kl:
                    stop = True
                    break
            if stop:
                break

        # 4. log, evaluate on the selection seeds, checkpoint
        wall = prev_wall + time.perf_counter() - start
        ev_w = torch.from_numpy(valid).float().unsqueeze(-1).expand(-1, -1, n)
        row: dict[str, Any] = {
            "iteration": it,
            "rounds": rounds,
            "wall_s": round(wall, 3),
            "lr": lr,
            "policy_loss": float(np.mean(stats["pl"])),
            "value_loss": float(np.mean(stats["vl"])),
            "entropy": float(np.mean(stats["ent"])),
            "approx_kl": float(np.mean(stats["kl"])),
            "clip_frac": float(np.mean(stats["cf"])),
            "explained_variance": explained_variance(
                torch.from_numpy(values), torch.from_numpy(ret), ev_w.double()
            ),
            "rounds_per_s": t_len * e / max(time.perf_counter() - t_iter, 1e-9),
            "train_episodes": len(ended_jct),
            "train_mean_jct": float(np.mean(ended_jct)) if ended_jct else math.nan,
            "selection_mean_jct": math.nan,
        }
        final = frac_done() >= 1.0
        if it % cfg.eval_every == 0 or final:
            t0 = time.perf_counter()
            by_mode = {
                mode: _mean_jct(
                    evaluate_model(model, sel_cfg, cfg.selection_seeds, bayes=cfg.bayes, mode=mode)
                )
                for mode in cfg.selection_modes
            }
            timing["evaluation"] += time.perf_counter() - t0
            mode = min(by_mode, key=lambda k: by_mode[k])
            jct = by_mode[mode]
            row["selection_mean_jct"] = last_eval = jct
            history.append(
                {
                    "iteration": it,
                    "rounds": rounds,
                    "wall_s": wall,
                    "selection_mean_jct": jct,
                    "by_mode": by_mode,
                }
            )
            train_state = {"iteration": it, "rounds": rounds, "wall_s": wall, "best": min(best, jct)}
            if jct < best:
                best = jct
                meta = _meta(cfg, train_state, history, vnorm)
                meta["decision_mode"] = mode
                save_agent(out / "best", model, env_cfg, meta=meta)
            _save_last(out / "last", learner, train_state, history)
        logger.log(row)
        bar.n = min(100.0, 100.0 * frac_done())
        bar.set_postfix_str(progress_postfix(it, rounds, row["rounds_per_s"], last_eval), refresh=True)

    bar.close()
    logger.close()
    wall = prev_wall + time.perf_counter() - start
    result = TrainResult(
        out_dir=out,
        iterations=it,
        rounds=rounds,
        wall_s=wall,
        best_selection_jct=best,
        timing_s=timing,
        history=history,
    )
    (out / "train_result.json").write_text(
        json.dumps(
            {
                "iterations": it,
                "rounds": rounds,
                "wall_s": wall,
                "rounds_per_s": rounds / max(wall, 1e-9),
                "best_selection_jct": best,
                "selection_seeds": list(cfg.selection_seeds),
                "timing_s": timing,
                "history": history,
                "threads": cfg.threads,
            },
            indent=2,
        )
    )
    _plot_curve(out)
    return result


def _meta(cfg: TrainConfig, train_state: dict[str, Any], history: list[dict[str, Any]], vnorm: RunningNorm):
    return {
        "train_config": cfg.to_dict(),
        "train_state": train_state,
        "history": history,
        "value_norm": vnorm.state(),
    }


@dataclass
class _Learner:
    """What a checkpoint of a run holds, besides the counters."""

    cfg: TrainConfig
    env_cfg: EnvConfig
    model: HGATActorCritic
    opt: torch.optim.Optimizer
    vnorm: RunningNorm
    policy: JointPolicy


def _save_last(path: Path, run: _Learner, train_state: dict[str, Any], history: list[dict[str, Any]]) -> None:
    opt_tensors, opt_skeleton = flatten_state(run.opt.state_dict())
    meta = _meta(run.cfg, train_state, history, run.vnorm)
    meta["optimizer"] = opt_skeleton
    meta["tie_rng"] = run.policy.rng.bit_generator.state
    save_agent(
        path,
        run.model,
        run.env_cfg,
        extra_tensors={"optimizer": opt_tensors, "generator": {"state": run.policy.generator.get_state()}},
        meta=meta,
    )


def _restore(path: Path, run: _Learner) -> tuple[int, int, float, float, list[dict[str, Any]]]:
    cfg, env_cfg, model, opt, vnorm, policy = run.cfg, run.env_cfg, run.model, run.opt, run.vnorm, run.policy
    loaded, meta, tensors = load_agent(path, env_cfg, groups=("model", "optimizer", "generator"))
    stored = TrainConfig.from_dict(meta["train_config"])
    differ = [
        k
        for k, v in cfg.to_dict().items()
        if k not in ("budget_minutes", "total_rounds") and stored.to_dict()[k] != v
    ]
    if differ:
        raise CheckpointMismatchError(
            f"{path}: cannot resume: the run was trained with other settings: "
            + ", ".join(
                f"{k}: checkpoint has {stored.to_dict()[k]!r}, now {cfg.to_dict()[k]!r}" for k in differ[:5]
            )
        )
    model.load_state_dict(loaded.state_dict())
    opt.load_state_dict(unflatten_state(tensors["optimizer"], meta["optimizer"]))
    vnorm.load(meta["value_norm"])
    policy.generator.set_state(tensors["generator"]["state"])
    policy.rng.bit_generator.state = meta["tie_rng"]
    st = meta["train_state"]
    return (
        int(st["iteration"]),
        int(st["rounds"]),
        float(st["wall_s"]),
        float(st["best"]),
        list(meta["history"]),
    )


def _plot_curve(out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except Exception:
        return
    with (out / "progress.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return
    x = [int(r["rounds"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    tr = [
        (xi, float(r["train_mean_jct"])) for xi, r in zip(x, rows) if r["train_mean_jct"] not in ("", "nan")
    ]
    se = [
        (xi, float(r["selection_mean_jct"]))
        for xi, r in zip(x, rows)
        if r["selection_mean_jct"] not in ("", "nan")
    ]
    if tr:
        ax.plot(*zip(*tr), alpha=0.5, label="training episodes (sampling)")
    if se:
        ax.plot(*zip(*se), marker="o", label="selection seeds (best of greedy, sample)")
    ax.set_xlabel("env rounds")
    ax.set_ylabel("mean JCT (slots)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "training_curve.png", dpi=120)
    plt.close(fig)
