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


def settings() -> list[tuple[str, str, dict[str, Any], str | None]]:
    """``(label, preset, overrides, preset of a policy trained on that setting or None)``."""
    from edgesched_env.config import ClusterSpec

    out: list[tuple[str, str, dict[str, Any], str | None]] = [
        (f"{SOURCE} (training setting)", SOURCE, {}, SOURCE)
    ]
    out.append(
        ("6 clusters, rate 3 (= tapfinger-synthetic6)", "tapfinger-synthetic6", {}, "tapfinger-synthetic6")
    )
    for n in (12, 24):
        cl = (ClusterSpec((16, 16)),) * n
        out.append(
            (
                f"{n} clusters, rate {n // 2}",
                "tapfinger-synthetic6",
                {"clusters": cl, "arrival_rate": n / 2, "num_tasks": 64 * n},
                None,
            )
        )
    for rate in (1.0, 3.0, 4.0):
        out.append((f"3 clusters, rate {rate:g}", SOURCE, {"arrival_rate": rate}, None))
    for noise in (0.1, 0.3):
        out.append((f"3 clusters, progress_noise {noise:g}", SOURCE, {"progress_noise": noise}, SOURCE))
    return out


def build(args: argparse.Namespace) -> dict[str, Any]:
    from agents.baselines import LOWER_BOUND
    from agents.bench import run_bench, write_outputs
    from agents.pretrained import available, checkpoint_path

    zero = f"hgat:{checkpoint_path(SOURCE)}"
    rows = []
    for i, (label, preset, overrides, target) in enumerate(settings()):
        if args.num_tasks is not None:
            overrides = {**overrides, "num_tasks": args.num_tasks}
        out = args.out / f"setting{i}"
        names = [zero, *HEURISTICS, *REFERENCE]
        own = None
        if target is not None and target != SOURCE and target in available():
            own = f"hgat:{checkpoint_path(target)}"
            names.insert(1, own)
        if not (out / "results.json").is_file():
            res = run_bench(
                preset, names, list(range(args.seeds)), workers=args.workers, progress=False, **overrides
            )
            write_outputs(res, out, plots=False)
        recs = json.loads((out / "results.json").read_text())
        mean: dict[str, float] = {}
        for n in dict.fromkeys(r["scheduler"] for r in recs):
            mean[n] = float(np.mean([r["mean_jct"] for r in recs if r["scheduler"] == n]))
        best = min(HEURISTICS, key=mean.__getitem__)
        rows.append(
            {
                "setting": label,
                "preset": preset,
                "overrides": {k: (len(v) if k == "clusters" else v) for k, v in overrides.items()},
                "zero_shot": mean[zero],
                "target_trained": mean[own] if own else None,
                "target_preset": target if own else None,
                "best_heuristic": [best, mean[best]],
                "heuristics": {h: mean[h] for h in HEURISTICS},
                "oracle_greedy": mean["oracle-greedy"],
                "lower_bound": mean[LOWER_BOUND],
                "zero_shot_vs_best": mean[zero] / mean[best],
            }
        )
    return {"seeds": list(range(args.seeds)), "source": SOURCE, "rows": rows}


def markdown(rep: dict[str, Any]) -> str:
    s = rep["seeds"]
    lines = [
        f"`python benchmarks/transfer.py`: mean JCT in slots over seeds {s[0]}-{s[-1]} (unseen), one run. "
        f"*Zero-shot* = the shipped `{rep['source']}` agent unchanged; *trained there* = the shipped agent "
        "of the target preset where one exists (the noise rows: the same agent, trained without noise).",
        "",
        "| setting | zero-shot | trained there | best heuristic | zero-shot / best | oracle-greedy "
        "| lower bound |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rep["rows"]:
        own = "-" if r["target_trained"] is None else f"{r['target_trained']:.2f}"
        name, best = r["best_heuristic"]
        lines.append(
            f"| {r['setting']} | {r['zero_shot']:.2f} | {own} | `{name}` {best:.2f} | "
            f"{r['zero_shot_vs_best']:.2f}x | {r['oracle_greedy']:.2f} | {r['lower_bound']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "transfer")
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--num-tasks", type=int, default=None, help="override every setting's tasks (tests)")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    rep = build(args)
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
