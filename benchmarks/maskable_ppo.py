"""Generic-learner comparison: sb3-contrib's MaskablePPO, default MLP, on the central view.

What it measures. The learned graph agent is compared against a *generic* learner given the same
wall-clock budget: sb3-contrib's ``MaskablePPO`` with its default hyperparameters and its default
MLP policy (``MultiInputPolicy``: the central observation is a ``Dict`` of stacked per-cluster
arrays, each flattened and concatenated by SB3's ``CombinedExtractor``, then the default 64-64
actor and critic MLPs) on the single-agent centralised view ``edgesched/EdgeSchedCentral-v1`` (one
joint ``MultiDiscrete`` action for all clusters, global reward ``-(tasks in the system)`` per slot
end, so the undiscounted return is minus the episode's total JCT). Only ``seed``, ``verbose=0`` and
``device="cpu"`` are set (``--quick`` also shrinks ``n_steps``/``batch_size``/``n_epochs`` and says
so in ``result.json``). Learning stops when the wall time of ``model.learn`` exceeds
``--budget-minutes`` (or ``--max-steps`` environment steps are reached): a callback checks after
every vectorised env step, so a run overshoots by at most one PPO update phase; the partial rollout
being collected at the stop is not trained on. The trained policy is then played deterministically
(``model.predict(..., action_masks=..., deterministic=True)``, masked argmax per component) on each
held-out evaluation seed, and the per-seed episode ``mean_jct`` (slots, the env's
``info["metrics"]`` at the episode end) is reported next to heuristic baselines
(:func:`agents.evaluate.evaluate`) on the same seeds.

Seed policy. Evaluation seeds (``--eval-seeds``, default ``1000-1009``) are never used for
training. Every training episode is reset with an explicit seed from the pool
``[0, 1000) minus the evaluation seeds``: a permutation of that pool drawn from
``np.random.SeedSequence(--seed)`` is dealt round-robin to the ``--num-envs`` training envs (env
``i`` plays the permutation's entries ``i, i + E, i + 2E, ...``); once the pool is exhausted a new
permutation is drawn from the same generator, so workloads repeat only after ``|pool|`` training
episodes (``result.json`` records how many episodes were played and whether seeds repeated).
``reset(seed)`` fixes a whole episode (workload, ties, noise), so train and test workloads are
disjoint. ``--seed`` also seeds SB3 (torch, numpy, action sampling).

Outputs (``--out DIR``): ``result.json`` (settings, versions, hyperparameters, per-seed and
aggregate JCTs of the policy and the baselines), ``progress.csv`` (one row per completed rollout and
one at the end: timesteps, wall seconds, episodes, rolling mean JCT of the last
:data:`ROLLING_WINDOW` training episodes, which are played with the *stochastic* policy) and
``policy.safetensors`` (``model.policy.state_dict()``; no pickle). A summary table goes to stdout.

Usage::

    .venv/bin/python benchmarks/maskable_ppo.py --preset tapfinger-synthetic --budget-minutes 20 \\
        --out runs/mppo-synth
    .venv/bin/python benchmarks/maskable_ppo.py --quick --max-steps 256 --num-tasks 10 \\
        --eval-seeds 1000-1001 --out /tmp/mppo-smoke          # smoke test, seconds
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import math
import platform
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import sb3_contrib
import stable_baselines3
import torch
from numpy.typing import NDArray
from safetensors.torch import save_file
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

import edgesched_env  # registers the Gymnasium id
from agents.evaluate import evaluate as evaluate_baseline
from agents.integrations import sb3

__all__ = [
    "ROLLING_WINDOW",
    "TRAIN_SEED_LIMIT",
    "BudgetCallback",
    "TrainSeedSchedule",
    "evaluate_policy",
    "main",
    "make_env",
    "make_model",
    "parse_seeds",
    "train_seed_pool",
]

ENV_ID = "edgesched/EdgeSchedCentral-v1"
#: Training episodes use seeds in ``[0, TRAIN_SEED_LIMIT)`` that are not evaluation seeds.
TRAIN_SEED_LIMIT = 1000
#: Training episodes averaged in the rolling mean JCT of ``progress.csv``.
ROLLING_WINDOW = 20
#: ``--quick`` hyperparameter overrides (everything else stays at MaskablePPO's defaults).
QUICK_OVERRIDES: dict[str, Any] = {"n_steps": 64, "batch_size": 64, "n_epochs": 2}
#: ``--quick`` defaults for options the user did not give.
QUICK_NUM_TASKS = 20
QUICK_MAX_STEPS = 1024
QUICK_BUDGET_MINUTES = 1.0


# ----------------------------------------------------------------------------------------- seeds
def parse_seeds(text: str) -> list[int]:
    """Parse ``"1000-1009"`` (inclusive range), ``"1,2,5-7"`` (comma list of ints and ranges).

    Raises ``ValueError`` on an empty list, a negative seed, a reversed range or a duplicate.
    """
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo_s, hi_s = part.split("-", 1)
            lo, hi = int(lo_s), int(hi_s)
            if hi < lo:
                raise ValueError(f"seed range {part!r} is reversed")
            seeds.extend(range(lo, hi + 1))
        else:
            seeds.append(int(part))
    if not seeds:
        raise ValueError(f"no seeds in {text!r}")
    if min(seeds) < 0:
        raise ValueError(f"seeds must be >= 0, got {text!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"duplicate seeds in {text!r}")
    return seeds


def train_seed_pool(eval_seeds: Sequence[int]) -> NDArray[np.int64]:
    """The training seed pool: ``[0, TRAIN_SEED_LIMIT)`` without the evaluation seeds."""
    held_out = set(int(s) for s in eval_seeds)
    pool = np.array([s for s in range(TRAIN_SEED_LIMIT) if s not in held_out], dtype=np.int64)
    if pool.shape[0] == 0:
        raise ValueError(f"the evaluation seeds cover the whole training range [0, {TRAIN_SEED_LIMIT})")
    return pool


class _SeedDealer:
    """Deals training seeds round-robin to ``num_envs`` envs from reshuffled permutations of a pool."""

    def __init__(self, pool: NDArray[np.int64], train_seed: int, num_envs: int) -> None:
        self.pool = pool
        self.rng = np.random.default_rng(np.random.SeedSequence(train_seed))
        self.num_envs = num_envs
        self.queues: list[deque[int]] = [deque() for _ in range(num_envs)]
        self.dealt = 0
        self.permutations = 0

    def _refill(self) -> None:
        perm = self.rng.permutation(self.pool)
        self.permutations += 1
        for j, s in enumerate(perm):
            self.queues[j % self.num_envs].append(int(s))

    def next_seed(self, env_idx: int) -> int:
        """The next training seed of env ``env_idx``."""
        if not self.queues[env_idx]:
            self._refill()
        self.dealt += 1
        return self.queues[env_idx].popleft()

    def seeds_repeated(self) -> bool:
        """Whether some training episode reused a seed (more episodes than the pool holds)."""
        return self.dealt > self.pool.shape[0]


class TrainSeedSchedule(gymnasium.Wrapper):
    """Resets the wrapped env with the dealer's next training seed, whatever seed is passed."""

    def __init__(self, env: gymnasium.Env, dealer: _SeedDealer, env_idx: int) -> None:
        super().__init__(env)
        self.dealer = dealer
        self.env_idx = env_idx
        self.episode_seeds: list[int] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        """Ignore ``seed`` (SB3 passes ``--seed + i`` once); use the next seed of the pool."""
        s = self.dealer.next_seed(self.env_idx)
        self.episode_seeds.append(s)
        return self.env.reset(seed=s, options=options)


# ------------------------------------------------------------------------------------------- envs
def make_env(preset: str, overrides: dict[str, Any]) -> gymnasium.Env:
    """A fresh central env (``gymnasium.make``) in the SB3 adapter's ``sb3.MaskCheck``, which serves
    its ``action_masks`` to MaskablePPO (the env's own ``mask`` option) and counts violations."""
    return sb3.MaskCheck(gymnasium.make(ENV_ID, preset=preset, **overrides))


def make_train_vec_env(
    preset: str, overrides: dict[str, Any], num_envs: int, dealer: _SeedDealer
) -> DummyVecEnv:
    """``num_envs`` central envs in a :class:`DummyVecEnv`, each reset from the seed schedule."""

    def factory(i: int) -> Callable[[], gymnasium.Env]:
        def _make() -> gymnasium.Env:
            inner = TrainSeedSchedule(gymnasium.make(ENV_ID, preset=preset, **overrides), dealer, i)
            return sb3.MaskCheck(inner)

        return _make

    return DummyVecEnv([factory(i) for i in range(num_envs)])


def make_model(env: Any, seed: int, overrides: dict[str, Any] | None = None) -> MaskablePPO:
    """MaskablePPO, ``MultiInputPolicy``, defaults except ``seed``, ``verbose=0``, ``device="cpu"``
    (and ``overrides``, used by ``--quick`` only)."""
    return MaskablePPO("MultiInputPolicy", env, seed=seed, verbose=0, device="cpu", **(overrides or {}))


def _jsonable(value: Any) -> Any:
    """A JSON-friendly rendering of a hyperparameter value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)


def hyperparameters(model: MaskablePPO, overrides: dict[str, Any]) -> dict[str, Any]:
    """MaskablePPO's constructor defaults with ``overrides`` applied, plus the policy's architecture."""
    skip = {"self", "policy", "env", "_init_setup_model", "tensorboard_log"}
    params = {
        name: _jsonable(p.default)
        for name, p in inspect.signature(MaskablePPO.__init__).parameters.items()
        if name not in skip and p.default is not inspect.Parameter.empty
    }
    params.update({k: _jsonable(v) for k, v in overrides.items()})
    params.update({"seed": model.seed, "verbose": 0, "device": "cpu"})
    policy = model.policy
    params["policy"] = "MultiInputPolicy"
    params["policy_class"] = _jsonable(type(policy))
    params["policy_net_arch"] = _jsonable(getattr(policy, "net_arch", None))
    params["policy_activation_fn"] = _jsonable(getattr(policy, "activation_fn", None))
    params["features_extractor"] = _jsonable(type(policy.features_extractor))
    params["features_dim"] = int(policy.features_extractor.features_dim)
    params["policy_num_params"] = int(sum(p.numel() for p in policy.parameters()))
    return params


# --------------------------------------------------------------------------------------- callback
class BudgetCallback(BaseCallback):
    """Stops ``learn`` when the wall budget is spent or ``max_steps`` env steps were taken; logs
    training episodes' ``mean_jct`` and writes ``progress.csv`` rows (one per completed rollout)."""

    FIELDS = (
        "timesteps",
        "wall_s",
        "episodes",
        "rolling_mean_jct",
        "rolling_episodes",
        "rollouts",
        "steps_per_s",
    )

    def __init__(self, budget_s: float, max_steps: int | None, csv_path: Path | None) -> None:
        super().__init__(verbose=0)
        self.budget_s = budget_s
        self.max_steps = max_steps
        self.csv_path = csv_path
        self.t0 = 0.0
        self.elapsed = 0.0
        self.episodes = 0
        self.truncated_episodes = 0
        self.rollouts = 0
        self.stopped_by: str | None = None
        self.recent: deque[float] = deque(maxlen=ROLLING_WINDOW)
        self.rows: list[dict[str, Any]] = []

    def _on_training_start(self) -> None:
        self.t0 = time.perf_counter()

    def _on_step(self) -> bool:
        for done, info in zip(self.locals["dones"], self.locals["infos"]):
            if done and "metrics" in info:
                self.episodes += 1
                self.recent.append(float(info["metrics"]["mean_jct"]))
                if info.get("truncated_by") is not None:
                    self.truncated_episodes += 1
        self.elapsed = time.perf_counter() - self.t0
        if self.max_steps is not None and self.num_timesteps >= self.max_steps:
            self.stopped_by = "max_steps"
            return False
        if self.elapsed >= self.budget_s:
            self.stopped_by = "budget"
            return False
        return True

    def _on_rollout_end(self) -> None:
        self.rollouts += 1
        self._row()

    def _on_training_end(self) -> None:
        self.elapsed = time.perf_counter() - self.t0
        self._row()

    def _row(self) -> None:
        wall = time.perf_counter() - self.t0
        row = {
            "timesteps": int(self.num_timesteps),
            "wall_s": round(wall, 3),
            "episodes": self.episodes,
            "rolling_mean_jct": float(np.mean(self.recent)) if self.recent else "",
            "rolling_episodes": len(self.recent),
            "rollouts": self.rollouts,
            "steps_per_s": round(self.num_timesteps / wall, 1) if wall > 0 else "",
        }
        self.rows.append(row)
        print(
            f"[mppo] t={row['timesteps']} wall={wall:.1f}s episodes={self.episodes} "
            f"rolling_jct={row['rolling_mean_jct']}",
            file=sys.stderr,
            flush=True,
        )
        if self.csv_path is not None:
            with self.csv_path.open("w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=self.FIELDS)
                writer.writeheader()
                writer.writerows(self.rows)


# ------------------------------------------------------------------------------------- evaluation
def evaluate_policy(
    model: MaskablePPO, preset: str, seeds: Sequence[int], overrides: dict[str, Any]
) -> list[dict[str, Any]]:
    """Play ``model`` deterministically (masked argmax) on a fresh central env per seed.

    The seeds' episodes run side by side and each step's observations go through one batched
    ``model.predict(obs, action_masks=..., deterministic=True)`` call (SB3's per-call overhead is
    several ms, more than an env step); every episode is still its own env, ``reset(seed=s)``.

    Returns one record per seed, in the order of ``seeds``: ``seed``, ``mean_jct`` and a few
    other episode metrics, ``truncated_by`` (``None`` for a finished episode) and ``steps``.
    """
    envs: list[Any] = [make_env(preset, overrides) for _ in seeds]  # MaskCheck: serves action_masks()
    obs: list[dict[str, NDArray]] = [env.reset(seed=int(s))[0] for env, s in zip(envs, seeds)]
    steps = [0] * len(envs)
    records: list[dict[str, Any] | None] = [None] * len(envs)
    active = list(range(len(envs)))
    while active:
        batch = {k: np.stack([obs[i][k] for i in active]) for k in obs[active[0]]}
        masks = np.stack([envs[i].action_masks() for i in active])
        actions, _ = model.predict(batch, action_masks=masks, deterministic=True)
        still = []
        for row, i in enumerate(active):
            obs[i], _, term, trunc, info = envs[i].step(actions[row])
            steps[i] += 1
            if not (term or trunc):
                still.append(i)
                continue
            m = info["metrics"]
            records[i] = {
                "seed": int(seeds[i]),
                "mean_jct": float(m["mean_jct"]),
                "p95_jct": float(m["p95_jct"]),
                "makespan": int(m["makespan"]),
                "tasks_completed": int(m["tasks_completed"]),
                "tasks_unfinished": int(m["tasks_unfinished"]),
                "rounds": int(m["rounds"]),
                "conflicts": int(m["conflicts"]),
                "truncated_by": info.get("truncated_by"),
                "steps": steps[i],
            }
            envs[i].close()
        active = still
    return [r for r in records if r is not None]


def _summary(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample std (ddof=1; 0 for one seed), min and max."""
    arr = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if arr.shape[0] > 1 else 0.0,
        "min": float(arr.min()),
        "max": float(arr.max()),
    }


# ------------------------------------------------------------------------------------------- main
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("--preset", default="tapfinger-synthetic", help="env preset (default %(default)s)")
    p.add_argument("--budget-minutes", type=float, default=None, help="wall budget of learn (default 20)")
    p.add_argument("--max-steps", type=int, default=None, help="cap on training env steps (all envs)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default %(default)s)")
    p.add_argument("--eval-seeds", default="1000-1009", help='held-out seeds, "a-b" and/or "a,b,c"')
    p.add_argument("--num-envs", type=int, default=4, help="training envs in the DummyVecEnv")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--baselines", default="random", help='comma list of agents.baselines names, "" for none')
    p.add_argument("--num-tasks", type=int, default=None, help="override the preset's num_tasks")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke settings: {QUICK_OVERRIDES}, num_tasks {QUICK_NUM_TASKS}, max steps "
        f"{QUICK_MAX_STEPS}, budget {QUICK_BUDGET_MINUTES} min (each unless given)",
    )
    return p


def _iter_rows(table: list[tuple[str, ...]]) -> Iterator[str]:
    widths = [max(len(r[c]) for r in table) for c in range(len(table[0]))]
    for i, r in enumerate(table):
        yield "| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |"
        if i == 0:
            yield "|" + "|".join("-" * (w + 2) for w in widths) + "|"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train, evaluate, write the outputs; return the ``result.json`` dict."""
    args = _parser().parse_args(argv)
    budget_min = args.budget_minutes
    if budget_min is None:
        budget_min = QUICK_BUDGET_MINUTES if args.quick else 20.0
    max_steps = args.max_steps if args.max_steps is not None else (QUICK_MAX_STEPS if args.quick else None)
    num_tasks = args.num_tasks if args.num_tasks is not None else (QUICK_NUM_TASKS if args.quick else None)
    hp_overrides = dict(QUICK_OVERRIDES) if args.quick else {}
    if args.num_envs < 1 or args.threads < 1 or budget_min <= 0:
        raise SystemExit("--num-envs and --threads must be >= 1 and --budget-minutes > 0")
    eval_seeds = parse_seeds(args.eval_seeds)
    pool = train_seed_pool(eval_seeds)
    overrides: dict[str, Any] = {} if num_tasks is None else {"num_tasks": num_tasks}
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)

    dealer = _SeedDealer(pool, args.seed, args.num_envs)
    venv = make_train_vec_env(args.preset, overrides, args.num_envs, dealer)
    model = make_model(venv, args.seed, hp_overrides)
    callback = BudgetCallback(budget_min * 60.0, max_steps, out / "progress.csv")
    t0 = time.perf_counter()
    model.learn(total_timesteps=10**12, callback=callback)
    train_wall = time.perf_counter() - t0
    venv.close()
    n_steps, num_envs = int(model.n_steps), int(model.n_envs)

    save_file(
        {k: v.detach().contiguous() for k, v in model.policy.state_dict().items()},
        str(out / "policy.safetensors"),
    )

    print(f"[mppo] evaluating on {len(eval_seeds)} seeds", file=sys.stderr, flush=True)
    t_eval = time.perf_counter()
    policy_recs = evaluate_policy(model, args.preset, eval_seeds, overrides)
    eval_wall = time.perf_counter() - t_eval
    base_out: dict[str, Any] = {}
    for name in baselines:
        recs = evaluate_baseline(name, args.preset, eval_seeds, **overrides)
        per_seed = {str(r["seed"]): float(r["mean_jct"]) for r in recs}
        base_out[name] = {
            "per_seed_mean_jct": per_seed,
            **{f"{k}_jct": v for k, v in _summary(list(per_seed.values())).items()},
            "truncated_seeds": [r["seed"] for r in recs if r.get("truncated")],
        }

    per_seed = {str(r["seed"]): r["mean_jct"] for r in policy_recs}
    stats = _summary(list(per_seed.values()))
    result: dict[str, Any] = {
        "benchmark": "maskable_ppo",
        "env_id": ENV_ID,
        "preset": args.preset,
        "env_overrides": overrides,
        "train_seed": args.seed,
        "train_seed_pool": f"[0, {TRAIN_SEED_LIMIT}) minus eval seeds ({pool.shape[0]} seeds)",
        "train_episodes_started": dealer.dealt,
        "train_seeds_repeated": dealer.seeds_repeated(),
        "eval_seeds": eval_seeds,
        "per_seed_mean_jct": per_seed,
        "mean_jct": stats["mean"],
        "std_jct": stats["std"],
        "min_jct": stats["min"],
        "max_jct": stats["max"],
        "eval_records": policy_recs,
        "eval_truncated_seeds": [r["seed"] for r in policy_recs if r["truncated_by"] is not None],
        "eval_wall_s": eval_wall,
        "train_timesteps": int(model.num_timesteps),
        "train_rollouts_trained": callback.rollouts,
        "train_timesteps_trained": callback.rollouts * n_steps * num_envs,
        "train_episodes_finished": callback.episodes,
        "train_episodes_truncated": callback.truncated_episodes,
        "train_final_rolling_mean_jct": float(np.mean(callback.recent)) if callback.recent else None,
        "train_wall_s": train_wall,
        "train_steps_per_s": model.num_timesteps / train_wall if train_wall > 0 else math.nan,
        "budget_minutes": budget_min,
        "max_steps": max_steps,
        "stopped_by": callback.stopped_by,
        "num_envs": args.num_envs,
        "torch_threads": torch.get_num_threads(),
        "quick": bool(args.quick),
        "hyperparameter_overrides": _jsonable(hp_overrides),
        "hyperparameters": hyperparameters(model, hp_overrides),
        "baselines": base_out,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "stable_baselines3": stable_baselines3.__version__,
            "sb3_contrib": sb3_contrib.__version__,
            "gymnasium": gymnasium.__version__,
            "numpy": np.__version__,
            "edgesched": edgesched_env.__version__,
        },
        "platform": platform.platform(),
    }
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")

    table: list[tuple[str, ...]] = [("scheduler", "mean JCT", "std", "min", "max", "truncated")]
    table.append(
        (
            f"MaskablePPO ({model.num_timesteps} steps, {train_wall:.0f} s)",
            f"{stats['mean']:.3f}",
            f"{stats['std']:.3f}",
            f"{stats['min']:.3f}",
            f"{stats['max']:.3f}",
            str(len(result["eval_truncated_seeds"])),
        )
    )
    for name, b in base_out.items():
        table.append(
            (
                name,
                f"{b['mean_jct']:.3f}",
                f"{b['std_jct']:.3f}",
                f"{b['min_jct']:.3f}",
                f"{b['max_jct']:.3f}",
                str(len(b["truncated_seeds"])),
            )
        )
    print(
        f"\n{args.preset} (overrides {overrides or 'none'}), eval seeds {args.eval_seeds}, "
        f"train seed {args.seed}, {result['train_steps_per_s']:.0f} steps/s, "
        f"{torch.get_num_threads()} torch thread(s); mean JCT in slots, std over seeds (ddof=1)"
    )
    for line in _iter_rows(table):
        print(line)
    print(f"wrote {out / 'result.json'}, {out / 'progress.csv'}, {out / 'policy.safetensors'}")
    return result


if __name__ == "__main__":
    main()
