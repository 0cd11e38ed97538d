"""The per-preset bench tables of docs/results.md and the ranking comparison, in one run.

For each preset, ``edgesched bench`` with every registered heuristic (what ``--schedulers all``
runs) and the lower bound, on seeds 0..S-1 (10 on the paper presets, 5 on the measured ones, as
the tables have always used; ``--seeds N`` for all), through :func:`agents.bench.run_bench` on
``--workers`` processes (the records do not depend on it). Writes:

* the block ``<!-- presets:start -->`` .. ``<!-- presets:end -->`` of ``docs/results.md``: one
  markdown table per preset (:func:`agents.bench.format_table`, the bench's own), then Kendall's
  tau between each preset's ranking (mean JCT over seeds) and ``tapfinger-synthetic``'s, with the
  best and worst three of each;
* ``benchmarks/results/preset_tables.json``: every row of every table, the taus, the package
  version and commit.

    python benchmarks/preset_tables.py [--seeds N] [--presets a,b] [--schedulers x,y]
        [--workers 2] [--no-write]
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _docs import splice_block  # noqa: E402

RESULTS = ROOT / "docs" / "results.md"
OUT = ROOT / "benchmarks" / "results" / "preset_tables.json"
#: preset -> seeds (the paper presets are cheap: 10 seeds; the measured ones 5)
PRESETS = {
    "tapfinger-synthetic": 10,
    "tapfinger-hetero6": 10,
    "edge-ml-small": 5,
    "edge-philly": 5,
    "edge-hetero-gpu": 5,
    "edge-pollux": 5,
}
REFERENCE = "tapfinger-synthetic"


def kendall_tau(a: list[float], b: list[float]) -> float:
    """Kendall's tau-a between two score lists (a pair tied in either list counts 0)."""
    pairs = list(itertools.combinations(range(len(a)), 2))
    s = sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) for i, j in pairs)
    return float(s / len(pairs)) if pairs else 1.0


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def run(presets: dict[str, int], workers: int, names: list[str] | None = None) -> dict[str, Any]:
    """Bench every preset with ``names`` (default: every heuristic); return the rows
    (``summarize``'s) per preset and the rankings."""
    from agents.baselines import LOWER_BOUND, heuristic_names
    from agents.bench import run_bench, summarize

    names = names or heuristic_names()
    tables: dict[str, Any] = {}
    for preset, n in presets.items():
        t0 = time.perf_counter()
        result = run_bench(preset, names, list(range(n)), workers=workers, progress=False)
        rows = summarize(result)
        tables[preset] = {
            "seeds": n,
            "rows": rows,
            "wall_s": round(time.perf_counter() - t0, 1),
        }
        print(f"{preset}: {n} seeds, {tables[preset]['wall_s']} s", file=sys.stderr, flush=True)
    means = {
        p: {r["scheduler"]: float(r["mean_jct"]) for r in t["rows"] if r["scheduler"] != LOWER_BOUND}
        for p, t in tables.items()
    }
    ranking = []
    ref = REFERENCE if REFERENCE in means else next(iter(means))
    for preset, row in means.items():
        common = [k for k in names if k in row and k in means[ref]]
        order = sorted(row, key=lambda k: (row[k], k))
        ranking.append(
            {
                "preset": preset,
                "tau": kendall_tau([means[ref][k] for k in common], [row[k] for k in common]),
                "best": order[:3],
                "worst": order[-3:][::-1],
            }
        )
    return {"reference": ref, "schedulers": names, "tables": tables, "ranking": ranking}


def markdown(res: dict[str, Any]) -> str:
    """The block for docs/results.md (the tables re-formatted from the rows by the bench's
    :func:`agents.bench.format_table`)."""
    from agents.bench import format_table

    lines = [
        f"`python benchmarks/preset_tables.py` (edgesched {res['version']}, commit {res['commit']}, "
        f"{res['wall_s']:.0f} s on 2 workers); one table per preset, each what "
        "`edgesched bench --preset P --seeds S --markdown` prints (seeds 0..S-1; every heuristic and "
        "the lower bound).",
        "",
    ]
    for preset, t in res["tables"].items():
        lines += [f"### `{preset}`", "", f"`edgesched bench --preset {preset} --seeds {t['seeds']}`", ""]
        lines += [format_table(t["rows"], markdown=True).rstrip("\n"), ""]
    ref = res["reference"]
    lines += [
        "### How much the ranking changes",
        "",
        f"Kendall's tau between each preset's ranking of the {len(res['schedulers'])} heuristics "
        f"(by mean JCT, from the tables above) and their ranking on `{ref}` (+1 = same order, 0 = "
        "unrelated, -1 = reversed):",
        "",
        f"| preset | tau vs {ref} | best three | worst three (worst first) |",
        "|---|---|---|---|",
    ]
    for r in res["ranking"]:
        if r["preset"] == ref:
            continue
        best, worst = ", ".join(r["best"]), ", ".join(r["worst"])
        lines.append(f"| {r['preset']} | {r['tau']:+.2f} | {best} | {worst} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=None, help="seeds per preset (default: 10 paper, 5 measured)")
    p.add_argument("--presets", default=",".join(PRESETS))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--schedulers", default=None, help="comma-separated (default: every heuristic)")
    p.add_argument("--no-write", action="store_true", help="print only; leave docs and results alone")
    args = p.parse_args(argv)
    presets = {name: args.seeds or PRESETS.get(name, 5) for name in args.presets.split(",")}
    t0 = time.perf_counter()
    res = run(presets, args.workers, args.schedulers.split(",") if args.schedulers else None)
    import edgesched_env

    res["commit"] = _commit()
    res["version"] = edgesched_env.__version__
    res["wall_s"] = round(time.perf_counter() - t0, 1)
    md = markdown(res)
    print(md)
    if not args.no_write:
        OUT.write_text(json.dumps(res, indent=1, default=float) + "\n")
        splice_block(RESULTS, "presets", md, "Per-preset tables")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
