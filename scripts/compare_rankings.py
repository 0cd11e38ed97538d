#!/usr/bin/env python3
"""Rank the registered schedulers on synthetic and measured presets, and compare the rankings.

Runs every scheduler of ``agents.baselines.SCHEDULERS`` (or ``--schedulers``) on the same seeds of
each preset, prints the mean JCT table (slots; mean over seeds of the per-episode mean JCT) and
the Kendall rank correlation between each preset's ranking and the reference preset's
(``tapfinger-synthetic`` by default): 1 = same order, -1 = reversed.

Usage: ``python scripts/compare_rankings.py [--seeds 3] [--presets a,b] [--schedulers x,y]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np


def kendall_tau(a: list[float], b: list[float]) -> float:
    """Kendall's tau-a between two score lists (pairs tied in either list count 0)."""
    pairs = list(itertools.combinations(range(len(a)), 2))
    s = sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) for i, j in pairs)
    return float(s / len(pairs)) if pairs else 1.0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    from agents.baselines import SCHEDULERS
    from agents.evaluate import evaluate

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument(
        "--presets",
        default="tapfinger-synthetic,tapfinger-hetero6,edge-ml-small,edge-philly,edge-hetero-gpu,edge-pollux",
    )
    p.add_argument("--schedulers", default=",".join(SCHEDULERS))
    p.add_argument("--json", default=None, help="write the table to this JSON file")
    args = p.parse_args(argv)
    presets = args.presets.split(",")
    scheds = args.schedulers.split(",")
    table: dict[str, dict[str, float]] = {}
    for preset in presets:
        table[preset] = {}
        for name in scheds:
            t0 = time.perf_counter()
            try:
                jcts = [r["mean_jct"] for r in evaluate(name, preset, range(args.seeds))]
                table[preset][name] = float(np.mean(jcts))
            except Exception as exc:  # a scheduler that cannot run a preset is reported, not fatal
                table[preset][name] = float("nan")
                print(f"{preset} {name}: {type(exc).__name__}: {exc}")
            print(
                f"{preset:<22} {name:<24} {table[preset][name]:9.2f}  ({time.perf_counter() - t0:.1f}s)",
                flush=True,
            )
    ref = presets[0]
    print(f"\nmean JCT (slots), mean over seeds 0..{args.seeds - 1}; rank in brackets")
    for preset in presets:
        row = table[preset]
        order = sorted((v, k) for k, v in row.items() if np.isfinite(v))
        rank = {k: i + 1 for i, (_v, k) in enumerate(order)}
        common = [k for k in scheds if np.isfinite(row[k]) and np.isfinite(table[ref][k])]
        tau = kendall_tau([table[ref][k] for k in common], [row[k] for k in common])
        cells = "  ".join(f"{k}={row[k]:.1f}[{rank.get(k, '-')}]" for k in scheds)
        print(f"{preset:<22} tau_vs_{ref}={tau:+.2f}  {cells}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(table, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
