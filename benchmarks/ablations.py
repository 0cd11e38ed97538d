"""Ablations of the HGAT agent on tapfinger-synthetic, and the spread over training seeds.

Every variant is trained exactly like the shipped ``tapfinger-synthetic`` agent (training seed 0,
the same number of env rounds, one thread, the same selection seeds) with one thing changed:

============================ ============================================ ==================
variant                      change (``edgesched train`` flag)            paper (worse by)
============================ ============================================ ==================
``no-pointer``               uniform task choice (``task_choice=uniform``) 39.1%
``no-graph``                 MLP encoder, no messages (``encoder=mlp``)    27.0%
``vanilla-drl``              FIFO task choice (``task_choice=fifo``)       60.5%
``no-bayes``                 env's conflict rule (``--no-bayes``)          -
``global-reward``            ``--reward global`` (default: local)          -
``decentralised-actor``      own observation only (``actor_view=own``)     -
============================ ============================================ ==================

(see :class:`agents.hgat.model.ModelConfig` for what each option does). The full agent is run
with training seeds 0, 1 and 2 (seed 0 is the shipped agent) for the seed-to-seed spread.

Stages (``--stage``, default ``all``), each skipping what is done:

1. **train**: the runs missing under ``runs/ablations/`` (``--jobs`` at a time; an interrupted run
   resumes from its ``last/``).
2. **install**: each run's ``best/`` checkpoint and its training logs to
   ``benchmarks/checkpoints/ablations/<variant>/`` (committed, ~0.4 MB each).
3. **eval**: every checkpoint on seeds 0..S-1 (never used for training or selection) with
   ``edgesched bench`` (one cached bench per checkpoint under ``--out``); the table to
   ``benchmarks/results/ablations.{json,md}`` and the block ``<!-- ablations:start -->`` of
   ``docs/results.md`` and ``README.md``.

    python benchmarks/ablations.py [--stage all] [--jobs 2] [--seeds 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRESET = "tapfinger-synthetic"
#: env rounds of the shipped tapfinger-synthetic agent's training run (its card).
ROUNDS = 667_648
#: variant -> (flags of ``edgesched train``, the paper's "worse than TapFinger" figure in %).
VARIANTS: dict[str, tuple[list[str], float | None]] = {
    "no-pointer": (["--model-set", "task_choice=uniform"], 39.1),
    "no-graph": (["--model-set", "encoder=mlp"], 27.0),
    "vanilla-drl": (["--model-set", "task_choice=fifo"], 60.5),
    "no-bayes": (["--no-bayes"], None),
    "global-reward": (["--reward", "global"], None),
    "decentralised-actor": (["--model-set", "actor_view=own"], None),
}
DESCRIPTION = {
    "full": "full agent",
    "no-pointer": "no pointer (uniform task choice)",
    "no-graph": "no graph network (MLP encoder)",
    "vanilla-drl": "vanilla DRL (FIFO task choice, learned allocation)",
    "no-bayes": "no Bayes conflict rule",
    "global-reward": "global instead of local reward",
    "decentralised-actor": "decentralised actor (own observation only)",
}
#: training seeds of the full agent; seed 0 is the shipped agent, seed 1 a committed checkpoint.
FULL_SEEDS = (0, 1, 2)


def runs(args: argparse.Namespace) -> dict[str, tuple[Path, list[str]]]:
    """Run name -> (run directory, ``edgesched train`` arguments) of everything this script trains."""
    out: dict[str, tuple[Path, list[str]]] = {}
    base = ["--preset", PRESET, "--rounds", str(args.rounds), "--threads", "1", "--no-progress"]
    base += [a for kv in args.set for a in ("--set", kv)] + args.train_args
    for name in args.variants:
        flags, _ = VARIANTS[name]
        out[name] = (args.runs / name, [*base, "--seed", "0", *flags])
    for seed in FULL_SEEDS:
        if seed == 0 or (seed == 1 and not args.retrain_seed1):
            continue  # the shipped agent / the committed seed-1 checkpoint
        out[f"full-s{seed}"] = (args.runs / f"full-s{seed}", [*base, "--seed", str(seed)])
    return out


def stage_train(args: argparse.Namespace) -> None:
    from benchmarks._train import run_trainings

    run_trainings([(n, d, a) for n, (d, a) in runs(args).items()], args.jobs)


def stage_install(args: argparse.Namespace) -> None:
    from benchmarks._train import install_run

    for name, (d, targs) in runs(args).items():
        if not (d / "train_result.json").is_file():
            print(f"{name}: not trained yet", flush=True)
            continue
        install_run(d, args.store / name, "edgesched train " + " ".join(targs))
        print(f"installed {name}", flush=True)


def checkpoints(args: argparse.Namespace) -> dict[str, Path]:
    """Evaluated name -> checkpoint directory (``full-s0`` is the shipped agent)."""
    from agents.pretrained import checkpoint_path

    out = {"full-s0": Path(checkpoint_path(PRESET))}
    seed1 = args.store / "full-s1"
    out["full-s1"] = seed1 if seed1.is_dir() else ROOT / "benchmarks" / "checkpoints" / f"hgat-{PRESET}-s1"
    for name in [f"full-s{s}" for s in FULL_SEEDS[2:]] + list(args.variants):
        if (args.store / name / "checkpoint.json").is_file():
            out[name] = args.store / name
    return out


def _training_info(ckpt: Path) -> dict[str, Any]:
    t = ckpt / "training" / "train_result.json"
    card = ckpt / "card.json"
    src = json.loads(t.read_text()) if t.is_file() else json.loads(card.read_text())
    return {"rounds": int(src["rounds"]), "wall_min": float(src["wall_s"]) / 60.0}


def stage_eval(args: argparse.Namespace) -> dict[str, Any]:
    from agents.bench import run_bench, write_outputs

    ck = checkpoints(args)
    names = {n: f"hgat:{p}" for n, p in ck.items()}
    per: dict[str, list[float]] = {}
    for name, spec in names.items():  # one bench per checkpoint, cached: runs can be added later
        out = args.out / name
        if not (out / "results.json").is_file():
            res = run_bench(
                PRESET,
                [spec],
                list(range(args.seeds)),
                workers=args.workers,
                progress=False,
                lower_bound=False,
                **({"num_tasks": args.num_tasks} if args.num_tasks else {}),
            )
            write_outputs(res, out, plots=False)
        for r in json.loads((out / "results.json").read_text()):
            per.setdefault(spec, []).append(float(r["mean_jct"]))
    jct = {n: float(np.mean(per[spec])) for n, spec in names.items() if spec in per}
    from scipy import stats

    def half_width(v: list[float]) -> float:  # the 95% t-interval's half width, as the bench's
        return (
            float(stats.t.ppf(0.975, len(v) - 1) * np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
        )

    ci = {n: half_width(per[spec]) for n, spec in names.items() if spec in per}
    seeds_jct = [jct[f"full-s{s}"] for s in FULL_SEEDS if f"full-s{s}" in jct]
    full = jct["full-s0"]
    rows = []
    for name in ["full", *args.variants]:
        key = "full-s0" if name == "full" else name
        if key not in jct:
            continue
        rows.append(
            {
                "variant": name,
                "description": DESCRIPTION[name],
                "mean_jct": jct[key],
                "ci95": ci[key],
                "worse_pct": 100.0 * (jct[key] - full) / full,
                "paper_worse_pct": None if name == "full" else VARIANTS[name][1],
                **_training_info(ck[key]),
            }
        )
    spread = {
        "seeds": [s for s in FULL_SEEDS if f"full-s{s}" in jct],
        "mean_jct": seeds_jct,
        "mean": float(np.mean(seeds_jct)),
        "std": float(np.std(seeds_jct, ddof=1)) if len(seeds_jct) > 1 else 0.0,
        "training": [_training_info(ck[f"full-s{s}"]) for s in FULL_SEEDS if f"full-s{s}" in jct],
    }
    return {"preset": PRESET, "eval_seeds": list(range(args.seeds)), "rows": rows, "seed_spread": spread}


def markdown(rep: dict[str, Any]) -> str:
    s = rep["eval_seeds"]
    lines = [
        f"`python benchmarks/ablations.py`: `{rep['preset']}`, mean JCT in slots (95% CI) over unseen seeds "
        f"{s[0]}-{s[-1]}, one run. Every variant: training seed 0, the full agent's env-round budget, "
        "one thread, the same model selection. *Worse* = (variant - full) / full.",
        "",
        "| variant | mean JCT | worse | paper: worse | rounds | wall (min) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rep["rows"]:
        paper = "-" if r["paper_worse_pct"] is None else f"{r['paper_worse_pct']:.1f}%"
        worse = "-" if r["variant"] == "full" else f"{r['worse_pct']:+.1f}%"
        lines.append(
            f"| {r['description']} | {r['mean_jct']:.2f} ± {r['ci95']:.2f} | {worse} | {paper} "
            f"| {r['rounds']:,} | {r['wall_min']:.0f} |"
        )
    sp = rep["seed_spread"]
    vals = ", ".join(f"{v:.2f}" for v in sp["mean_jct"])
    walls = ", ".join(f"{t['wall_min']:.0f}" for t in sp["training"])
    lines += [
        "",
        f"Training seeds {', '.join(map(str, sp['seeds']))} of the full agent: mean JCT {vals} "
        f"(mean {sp['mean']:.2f}, standard deviation {sp['std']:.2f} over training seeds; "
        f"wall {walls} min). Differences between variants smaller than about twice that spread are "
        "within training noise (one training seed per variant).",
        "",
        "Wall times are as measured on this project's 2-core machine, one thread per run, with two or three "
        "other runs (and benchmarks) sharing it: they say what a run cost here, not how fast a variant is.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", choices=("all", "train", "install", "eval"), default="all")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset")
    ap.add_argument("--rounds", type=int, default=ROUNDS)
    ap.add_argument("--jobs", type=int, default=2, help="trainings at a time")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "ablations")
    ap.add_argument("--store", type=Path, default=ROOT / "benchmarks" / "checkpoints" / "ablations")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "ablations" / "bench")
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="env override (tests)")
    ap.add_argument(
        "--train-arg", dest="train_args", action="append", default=[], help="extra train argument (tests)"
    )
    ap.add_argument("--num-tasks", type=int, default=None, help="tasks per eval episode (tests)")
    ap.add_argument("--retrain-seed1", action="store_true", help="train seed 1 too (else the committed one)")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {list(VARIANTS)}")
    if args.stage in ("all", "train"):
        stage_train(args)
    if args.stage in ("all", "install"):
        stage_install(args)
    if args.stage in ("all", "eval"):
        rep = stage_eval(args)
        md = markdown(rep)
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / "ablations.json").write_text(json.dumps(rep, indent=1) + "\n")
        (args.results / "ablations.md").write_text(md)
        if not args.no_docs:
            from benchmarks._docs import splice_block

            for doc in (ROOT / "docs" / "results.md", ROOT / "README.md"):
                splice_block(doc, "ablations", md, "Ablations")
        print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
