"""Time the main job: the exact ``make bench`` command (``edgesched bench --seeds 3 --workers 2``).

Runs the command once to warm up (numba's on-disk cache, the OS file cache), then ``--repeats``
times more, each as a subprocess into a temporary ``--out``, and writes
``benchmarks/results/bench_time.json``: wall seconds of each timed run, their median, the summed
per-cell seconds per scheduler (from the run's ``timings.json``; the cells run on 2 workers, so
the sum is about twice the wall), and the machine (cores, Python, load average before the runs).
The README quotes the median from that file. Both sides run as ``python -m agents.cli`` started
in their checkout, so each times its own code (not whichever checkout is installed).

``--baseline REF`` also times the same command on the code of git revision ``REF`` (checked out
into a temporary worktree and run with this interpreter as ``python -m agents.cli``), the two
versions taking turns, and records ``speedup_vs_baseline`` = baseline median / this median: a
ratio measured in one run, so that the machine's speed cancels out.

    python benchmarks/bench_time.py [--repeats 2] [--baseline REF]
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


def run_once(cmd: list[str], cwd: Path | None = None) -> tuple[float, dict[str, float]]:
    """Wall seconds of one run of ``cmd`` (writing into a temporary ``--out``; run in ``cwd``,
    default that directory) and its summed cell seconds per scheduler."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([*cmd, "--out", tmp, "--no-progress"], check=True, capture_output=True, cwd=cwd or tmp)
        wall = time.perf_counter() - t0
        cells = json.loads((Path(tmp) / "timings.json").read_text())
    per: dict[str, float] = defaultdict(float)
    for c in cells:
        per[c["scheduler"]] += float(c["wall_time_s"])
    return wall, dict(sorted(per.items(), key=lambda kv: -kv[1]))


def git_commit(ref: str) -> str:
    """The full commit hash of ``ref`` in this repository."""
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", ref], check=True, capture_output=True, text=True
    )
    return proc.stdout.strip()


def module_command(cmd: list[str]) -> list[str]:
    """``cmd`` (``.../edgesched bench ...``) as ``python -m agents.cli bench ...``: it runs the
    code of the working directory it is started in."""
    return [sys.executable, "-m", "agents.cli", *cmd[1:]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2, help="timed runs after the warm-up")
    ap.add_argument("--baseline", metavar="REF", help="also time git revision REF, taking turns")
    ap.add_argument("--out", type=Path, default=OUT, help="the JSON written (default: %(default)s)")
    ap.add_argument(
        "--extra", nargs=argparse.REMAINDER, default=[], help="arguments appended to the command (tests)"
    )
    args = ap.parse_args(argv)
    cmd = [*make_bench_command(), *args.extra]
    load = os.getloadavg()
    result: dict[str, object] = {"command": "make bench = " + " ".join(["edgesched", *cmd[1:]])}
    base_walls: list[float] = []
    with tempfile.TemporaryDirectory() as wt:
        if args.baseline:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", wt, args.baseline],
                check=True,
                capture_output=True,
            )
        try:
            # this checkout's code, whatever the interpreter has installed (an editable install
            # of another checkout, e.g. when run from a git worktree)
            mine = module_command(cmd)
            run_once(mine, cwd=ROOT)  # warm-up
            if args.baseline:
                run_once(module_command(cmd), cwd=Path(wt))
            runs = []
            for _ in range(args.repeats):
                runs.append(run_once(mine, cwd=ROOT))
                if args.baseline:
                    base_walls.append(run_once(module_command(cmd), cwd=Path(wt))[0])
        finally:
            if args.baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", wt], check=False)
    walls = [w for w, _ in runs]
    result["wall_s"] = [round(w, 2) for w in walls]
    result["median_wall_s"] = round(statistics.median(walls), 1)
    if args.baseline:
        result["baseline"] = {
            "ref": args.baseline,
            "commit": subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", args.baseline],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip(),
            "wall_s": [round(w, 2) for w in base_walls],
            "median_wall_s": round(statistics.median(base_walls), 1),
        }
        result["speedup_vs_baseline"] = round(statistics.median(base_walls) / statistics.median(walls), 2)
    result["cell_s_per_scheduler"] = {k: round(v, 2) for k, v in runs[-1][1].items()}
    result["machine"] = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_before": [round(x, 2) for x in load],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
