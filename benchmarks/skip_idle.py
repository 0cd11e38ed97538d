"""Wall time of a bench on a trace with a long idle gap, with and without ``skip_idle``, one run.

The trace: two bursts of ``--jobs`` jobs (10 min each, a minute apart), ``--gap-days`` apart,
replayed with 60 s slots on ``edge-ml-small``; fifo-greedy and srtf on seeds 0-1. Prints both wall
times, their ratio, and whether every metric but ``rounds`` is the same.

    python benchmarks/skip_idle.py [--gap-days 30] [--jobs 6]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gap-days", type=float, default=30.0)
    ap.add_argument("--jobs", type=int, default=6)
    args = ap.parse_args(argv)
    from agents.bench import run_bench
    from edgesched_env.presets import make_config
    from edgesched_env.workload.traces import TraceReplay

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gap.csv"
        gap_s = args.gap_days * 86400
        rows = ["submit_s,duration_s,num_gpus"]
        rows += [f"{i * 60},600,1" for i in range(args.jobs)]
        rows += [f"{gap_s + i * 60},600,1" for i in range(args.jobs)]
        path.write_text("\n".join(rows) + "\n")
        trace = TraceReplay(str(path), arrival_seconds_per_slot=60.0, duration_seconds_per_slot=60.0)
        base = make_config("edge-ml-small")
        wall, recs = {}, {}
        for skip in (False, True):
            cfg = make_config(
                base, arrival_process="trace", trace=trace, num_tasks=2 * args.jobs, skip_idle=skip
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the long-gap warning of skip_idle=False
                t0 = time.perf_counter()
                recs[skip] = run_bench(cfg, ["fifo-greedy", "srtf"], seeds=[0, 1], progress=False).records
                wall[skip] = time.perf_counter() - t0

    def same(r: dict) -> dict:
        return {k: v for k, v in r.items() if k != "rounds"}

    equal = [same(a) for a in recs[False]] == [same(b) for b in recs[True]]
    rounds = {k: sum(r.get("rounds") or 0 for r in v) for k, v in recs.items()}
    slots = max(r.get("slots") or 0 for r in recs[True])
    print(
        f"trace: 2 x {args.jobs} jobs, {args.gap_days:g} days apart ({slots} slots), edge-ml-small, "
        "2 schedulers x 2 seeds"
    )
    print(f"skip_idle=False: {wall[False]:8.2f} s, {rounds[False]} rounds")
    print(f"skip_idle=True:  {wall[True]:8.2f} s, {rounds[True]} rounds")
    print(f"speed-up {wall[False] / wall[True]:.0f}x; every metric but rounds identical: {equal}")
    return 0 if equal else 1


if __name__ == "__main__":
    raise SystemExit(main())
