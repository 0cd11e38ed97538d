"""Time the main job: the exact ``make bench`` command (``edgesched bench --seeds 3 --workers 2``).

Runs the command once to warm up (numba's on-disk cache, the OS file cache), then ``--repeats``
times more, each as a subprocess into a temporary ``--out``, and writes
``benchmarks/results/bench_time.json``: wall seconds of each timed run, their median, the summed
per-cell seconds per scheduler (from the run's ``timings.json``; the cells run on 2 workers, so
the sum is about twice the wall), and the machine (cores, Python, load average before the runs).
The README quotes the median from that file.

    python benchmarks/bench_time.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_time.json"


def make_bench_command() -> list[str]:
    """The ``bench`` recipe of the Makefile, with ``$(BIN)/`` as this interpreter's bin dir."""
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith("bench:"):
            break
    else:
        raise SystemExit("Makefile has no bench target")
    lines = (ROOT / "Makefile").read_text().splitlines()
    recipe = lines[lines.index(line) + 1].strip()
    exe = Path(sys.executable).parent / "edgesched"
    return [str(exe), *recipe.replace("$(BIN)/edgesched", "").split()]


def run_once(cmd: list[str]) -> tuple[float, dict[str, float]]:
    """Wall seconds of one run and its summed cell seconds per scheduler."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([*cmd, "--out", tmp, "--no-progress"], check=True, capture_output=True, cwd=tmp)
        wall = time.perf_counter() - t0
        cells = json.loads((Path(tmp) / "timings.json").read_text())
    per: dict[str, float] = defaultdict(float)
    for c in cells:
        per[c["scheduler"]] += float(c["wall_time_s"])
    return wall, dict(sorted(per.items(), key=lambda kv: -kv[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2, help="timed runs after the warm-up")
    args = ap.parse_args()
    cmd = make_bench_command()
    load = os.getloadavg()
    run_once(cmd)  # warm-up
    runs = [run_once(cmd) for _ in range(args.repeats)]
    walls = [w for w, _ in runs]
    result = {
        "command": "make bench = " + " ".join(["edgesched", *cmd[1:]]),
        "wall_s": [round(w, 2) for w in walls],
        "median_wall_s": round(statistics.median(walls), 1),
        "cell_s_per_scheduler": {k: round(v, 2) for k, v in runs[-1][1].items()},
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in load],
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
