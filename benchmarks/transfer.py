"""How far a trained policy carries: the tapfinger-synthetic agent, zero-shot, on other settings.

The graph policy has no fixed number of clusters or tasks. The shipped ``tapfinger-synthetic``
agent (3 clusters of (16, 16), 2 arrivals per slot) is evaluated unchanged on:

* more clusters of the same resources: 6, 12 and 24, at 0.5 arrivals per cluster and slot and
  64 tasks per cluster (6 clusters is exactly ``tapfinger-synthetic6``, whose own shipped agent
  is the policy trained on the target setting);
* other arrival rates on 3 clusters: 1, 3 and 4 per slot (2 is its training setting);
* noisy progress (``progress_noise`` 0.1 and 0.3; each increment times U[1-x, 1+x]).

Each against the strongest heuristics (``optimus-np``, ``optimus-np-paper``, ``srtf``,
``tetris``), the clairvoyant ``oracle-greedy`` and the lower bound, on seeds 0..S-1 (never used
for training or selection). Writes ``benchmarks/results/transfer.{json,md}`` and the block
``<!-- transfer:start -->`` / ``<!-- transfer:end -->`` of ``docs/results.md`` and ``README.md``.

    python benchmarks/transfer.py [--seeds 5] [--workers 2] [--out runs/transfer]
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

SOURCE = "tapfinger-synthetic"
HEURISTICS = ("optimus-np", "optimus-np-paper", "srtf", "tetris")
REFERENCE = ("oracle-greedy",)


#: env rounds of the shipped tapfinger-synthetic agent's training run (its card), used for the
#: 3-cluster targets; the 12- and 24-cluster targets get about the same wall time (20 minutes on one
#: core: 182 and 90 rounds/s measured against the source's ~550).
SOURCE_ROUNDS = 667_648
TARGET_ROUNDS = {"clusters12": 229_376, "clusters24": 114_688}


def _clusters(n: int) -> list[list[int]]:
    return [[16, 16]] * n


def settings() -> list[dict[str, Any]]:
    """The settings, each ``{"key", "label", "preset", "overrides", "target"}``.

    ``target`` names the policy trained on that setting: ``"source"`` (the setting *is* the
    training setting), ``"pretrained:P"`` (the shipped agent of preset ``P``) or ``"train"`` (trained
    by this script's *train* stage, installed under ``benchmarks/checkpoints/transfer/<key>/``).
    """
    out: list[dict[str, Any]] = [
        {
            "key": "source",
            "label": f"{SOURCE} (training setting)",
            "preset": SOURCE,
            "overrides": {},
            "target": "source",
        },
        {
            "key": "clusters6",
            "label": "6 clusters, rate 3 (= tapfinger-synthetic6)",
            "preset": "tapfinger-synthetic6",
            "overrides": {},
            "target": "pretrained:tapfinger-synthetic6",
        },
    ]
    for n in (12, 24):
        out.append(
            {
                "key": f"clusters{n}",
                "label": f"{n} clusters, rate {n // 2}",
                "preset": "tapfinger-synthetic6",
                "overrides": {"clusters": _clusters(n), "arrival_rate": n / 2, "num_tasks": 64 * n},
                "target": "train",
            }
        )
    for rate in (1, 3, 4):
        out.append(
            {
                "key": f"rate{rate}",
                "label": f"3 clusters, rate {rate}",
                "preset": SOURCE,
                "overrides": {"arrival_rate": float(rate)},
                "target": "train",
            }
        )
    for noise in (0.1, 0.3):
        out.append(
            {
                "key": f"noise{noise:g}",
                "label": f"3 clusters, progress_noise {noise:g}",
                "preset": SOURCE,
                "overrides": {"progress_noise": noise},
                "target": "train",
            }
        )
    return out


def train_args(st: dict[str, Any], rounds: int | None = None) -> list[str]:
    """``edgesched train`` arguments of the policy trained on setting ``st`` (training seed 0)."""
    n = rounds if rounds is not None else TARGET_ROUNDS.get(st["key"], SOURCE_ROUNDS)
    a = ["--preset", st["preset"], "--rounds", str(n), "--seed", "0", "--threads", "1", "--no-progress"]
    for k, v in st["overrides"].items():
        a += ["--set", f"{k}={json.dumps(v, separators=(',', ':'))}"]
    return a


def stage_train(args: argparse.Namespace) -> None:
    """Train the missing target policies, ``--jobs`` at a time (an interrupted run resumes)."""
    from benchmarks._train import run_trainings

    by_key = {st["key"]: st for st in settings()}
    todo = [by_key[k] for k in args.targets if by_key[k]["target"] == "train"]  # in --targets order
    run_trainings(
        [(st["key"], args.runs / st["key"], [*train_args(st, args.rounds), *args.train_args]) for st in todo],
        args.jobs,
    )


def stage_install(args: argparse.Namespace) -> None:
    """Copy each finished run's ``best/`` checkpoint and training logs to ``--store``."""
    from benchmarks._train import install_run

    for st in settings():
        d = args.runs / st["key"]
        if st["target"] != "train" or st["key"] not in args.targets:
            continue
        if not (d / "train_result.json").is_file():
            print(f"{st['key']}: not trained yet", flush=True)
            continue
        rounds = json.loads((d / "train_config.json").read_text()).get("total_rounds")
        install_run(d, args.store / st["key"], "edgesched train " + " ".join(train_args(st, rounds)))
        print(f"installed {st['key']}", flush=True)


def target_checkpoint(st: dict[str, Any], store: Path) -> Path | None:
    """The checkpoint directory of the policy trained on ``st`` (``None``: none, or the source)."""
    from agents.pretrained import available, checkpoint_path

    t = st["target"]
    if t.startswith("pretrained:"):
        name = t.split(":", 1)[1]
        return Path(checkpoint_path(name)) if name in available() else None
    if t == "train" and (store / st["key"] / "checkpoint.json").is_file():
        return store / st["key"]
    return None


def _stats(path: Path) -> tuple[dict[str, float], dict[str, int]]:
    """Per scheduler of a cached bench: the mean JCT over seeds, and how many episodes were
    truncated (ended before every task finished; their JCTs count time so far)."""
    jct: dict[str, list[float]] = {}
    cut: dict[str, int] = {}
    for r in json.loads((path / "results.json").read_text()):
        jct.setdefault(r["scheduler"], []).append(float(r["mean_jct"]))
        cut[r["scheduler"]] = cut.get(r["scheduler"], 0) + int(bool(r.get("truncated")))
    return {n: float(np.mean(v)) for n, v in jct.items()}, cut


def stage_eval(args: argparse.Namespace) -> dict[str, Any]:
    """Bench every setting (cached per setting under ``--out``) and return the report."""
    from agents.baselines import LOWER_BOUND
    from agents.bench import run_bench, write_outputs
    from agents.pretrained import checkpoint_path

    zero = f"hgat:{checkpoint_path(SOURCE)}"
    seeds = list(range(args.seeds))
    rows = []
    for i, st in enumerate(settings()):
        overrides = dict(st["overrides"])
        if args.num_tasks is not None:
            overrides["num_tasks"] = args.num_tasks
        out = args.out / f"setting{i}"
        if not (out / "results.json").is_file():
            res = run_bench(
                st["preset"],
                [zero, *HEURISTICS, *REFERENCE],
                seeds,
                workers=args.workers,
                progress=False,
                **overrides,
            )
            write_outputs(res, out, plots=False)
        mean, cut = _stats(out)
        ck = target_checkpoint(st, args.store)
        own = None
        tout = args.out / f"{st['key']}-target"
        if ck is not None and st["target"] == "train" and st["key"] not in args.targets:
            if not (tout / "results.json").is_file():
                ck = None  # left out of --targets and not benched yet: no number
        if ck is not None:
            own = f"hgat:{ck}"
            if own not in mean:  # one cached bench per target policy: it can be trained later
                if not (tout / "results.json").is_file():
                    res = run_bench(
                        st["preset"],
                        [own],
                        seeds,
                        workers=args.workers,
                        progress=False,
                        lower_bound=False,
                        **overrides,
                    )
                    write_outputs(res, tout, plots=False)
                t_mean, t_cut = _stats(tout)
                mean.update(t_mean)
                cut.update(t_cut)
        best = min(HEURISTICS, key=mean.__getitem__)
        target_info = None
        if ck is not None:
            tr = ck / "training" / "train_result.json"
            src = json.loads(tr.read_text()) if tr.is_file() else json.loads((ck / "card.json").read_text())
            target_info = {
                "checkpoint": str(ck.relative_to(ROOT)) if ck.is_relative_to(ROOT) else str(ck),
                "rounds": int(src["rounds"]),
                "wall_min": float(src["wall_s"]) / 60.0,
            }
        rows.append(
            {
                "key": st["key"],
                "setting": st["label"],
                "preset": st["preset"],
                "overrides": {k: (len(v) if k == "clusters" else v) for k, v in overrides.items()},
                "zero_shot": mean[zero],
                "target_trained": mean[own] if own else (mean[zero] if st["target"] == "source" else None),
                "target": target_info,
                "best_heuristic": [best, mean[best]],
                "heuristics": {h: mean[h] for h in HEURISTICS},
                "oracle_greedy": mean["oracle-greedy"],
                "lower_bound": mean[LOWER_BOUND],
                "zero_shot_vs_best": mean[zero] / mean[best],
                "zero_shot_vs_target": mean[zero] / mean[own] if own else None,
                "zero_shot_truncated": cut.get(zero, 0),
                "target_truncated": cut.get(own, 0) if own else None,
            }
        )
    return {"seeds": seeds, "source": SOURCE, "rows": rows}


def markdown(rep: dict[str, Any]) -> str:
    s = rep["seeds"]
    lines = [
        f"`python benchmarks/transfer.py`: mean JCT in slots over seeds {s[0]}-{s[-1]} (unseen), one run. "
        f"*Zero-shot* = the shipped `{rep['source']}` agent unchanged; *trained there* = a policy trained "
        "on that setting with training seed 0 (6 clusters: the shipped `tapfinger-synthetic6` agent; the "
        "others: `benchmarks/checkpoints/transfer/<setting>/`, about the source's 20 minutes of training "
        "on one core each, rounds and minutes in the last column). *Truncated*: episodes cut at "
        "the slot limit with a task never placed (the greedy policy stalls on it); their JCT counts "
        "its time so far, so the mean is not comparable.",
        "",
        "| setting | zero-shot | trained there | zero-shot / trained | best heuristic | zero-shot / best "
        "| oracle-greedy | lower bound | target training |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rep["rows"]:
        own = "-" if r["target_trained"] is None else f"{r['target_trained']:.2f}"
        if r.get("target_truncated"):
            own += f" ({r['target_truncated']} of {len(s)} truncated*)"
        ratio = "-" if r["zero_shot_vs_target"] is None else f"{r['zero_shot_vs_target']:.2f}x"
        if r["target"]:
            tr = f"{r['target']['rounds']:,} rounds, {r['target']['wall_min']:.0f} min"
        elif r["key"] == "source":
            tr = "(the source itself)"
        else:
            tr = "not trained"
        name, best = r["best_heuristic"]
        lines.append(
            f"| {r['setting']} | {r['zero_shot']:.2f} | {own} | {ratio} | `{name}` {best:.2f} | "
            f"{r['zero_shot_vs_best']:.2f}x | {r['oracle_greedy']:.2f} | {r['lower_bound']:.2f} | {tr} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    keys = [st["key"] for st in settings() if st["target"] == "train"]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", choices=("all", "train", "install", "eval"), default="all")
    ap.add_argument(
        "--targets",
        default=",".join(keys),
        help=f"target policies to train / install / bench (default all: {keys}); the cached bench of "
        "one left out is still reported",
    )
    ap.add_argument("--jobs", type=int, default=2, help="trainings at a time")
    ap.add_argument("--rounds", type=int, default=None, help="override every target's rounds (tests)")
    ap.add_argument(
        "--train-arg", dest="train_args", action="append", default=[], help="extra edgesched train argument"
    )
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "transfer-train")
    ap.add_argument("--store", type=Path, default=ROOT / "benchmarks" / "checkpoints" / "transfer")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "transfer")
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--num-tasks", type=int, default=None, help="override every setting's tasks (tests)")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = sorted(set(args.targets) - set(keys))
    if unknown:
        ap.error(f"unknown --targets {unknown}; choose from {keys}")
    if args.stage in ("all", "train"):
        stage_train(args)
    if args.stage in ("all", "install"):
        stage_install(args)
    if args.stage not in ("all", "eval"):
        return 0
    rep = stage_eval(args)
    md = markdown(rep)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "transfer.json").write_text(json.dumps(rep, indent=1) + "\n")
    (args.results / "transfer.md").write_text(md)
    if not args.no_docs:
        from benchmarks._docs import splice_block

        for doc in (ROOT / "docs" / "results.md", ROOT / "README.md"):
            splice_block(doc, "transfer", md, "How far a trained policy carries")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
