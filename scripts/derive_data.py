#!/usr/bin/env python3
"""Regenerate the small derived data files shipped in ``edgesched_env/workload/data/``.

Reads the third-party measurements and traces in ``../shared/data`` (see each ``SOURCE.md``
there for origin and licence) and writes, deterministically (same input -> byte-identical output):

- ``measured_models.json``: per-model measurements behind the measured speed models:
    * ``pollux``: for each of the 6 Pollux models, the step time (s) of single-node placements with
      1, 2, 3 and 4 GPUs at one local batch size (the largest batch size measured at all four
      placements), and the derived throughput in samples/s (``gpus * local_bsz / step_time``);
    * ``synergy``: for each of the 12 Synergy models, the 9 x 5 grid of normalised throughput over
      CPUs per GPU x host memory (GB) per GPU, and the model's metadata row;
    * ``gavel``: for each Gavel model family (job types without the batch size), the geometric mean
      over its batch sizes of single-GPU throughput on each GPU type relative to the V100.
- ``philly_cut.csv``: the Philly jobs (from Pollux's ``philly.csv``) submitted in a fixed window
  (default 2017-10-02 00:00:00 .. 2017-10-04 00:00:00), sorted by submit time (ties keep file
  order), with the submit time as whole seconds since the window start.
- ``pollux_workloads.csv``: Pollux's 8 evaluation workloads in one file, with a ``workload`` column.

Usage: ``python scripts/derive_data.py [--shared PATH] [--out PATH]``. Uses the standard library
only, so it runs before the package is installed.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections import defaultdict
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POLLUX_MODELS = ("bert", "cifar10", "deepspeech2", "imagenet", "ncf", "yolov3")
GAVEL_GPU_TYPES = ("k80", "p100", "v100")
PHILLY_WINDOW = ("2017-10-02 00:00:00", "2017-10-04 00:00:00")


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _round(x: float, digits: int = 9) -> float:
    """Round for a stable text form (measurements have far fewer significant digits)."""
    return float(f"{x:.{digits}g}")


def derive_pollux(shared: Path) -> dict[str, object]:
    """Single-node step times (1..4 GPUs) of each Pollux model at one local batch size."""
    out: dict[str, object] = {}
    for model in POLLUX_MODELS:
        times: dict[tuple[int, int], list[float]] = defaultdict(list)
        for row in _read_csv(shared / "pollux" / "traces" / model / "placements.csv"):
            placement = row["placement"]
            if len(placement) != 1:  # multi-node placement: not used
                continue
            times[(int(placement), int(row["local_bsz"]))].append(float(row["step_time"]))
        batch_sizes = sorted({b for (_g, b) in times})
        complete = [b for b in batch_sizes if all((g, b) in times for g in (1, 2, 3, 4))]
        if not complete:
            raise SystemExit(f"pollux/{model}: no batch size measured at all of 1..4 GPUs")
        bsz = max(complete)
        step = [sum(times[(g, bsz)]) / len(times[(g, bsz)]) for g in (1, 2, 3, 4)]
        out[model] = {
            "local_bsz": bsz,
            "gpus": [1, 2, 3, 4],
            "step_time_s": [_round(s) for s in step],
            "samples_per_s": [_round(g * bsz / s) for g, s in zip((1, 2, 3, 4), step)],
        }
    return out


def derive_synergy(shared: Path) -> dict[str, object]:
    """The CPU x memory throughput grid and metadata of each Synergy model."""
    grid: dict[str, dict[tuple[float, float], float]] = defaultdict(dict)
    task: dict[str, str] = {}
    for row in _read_csv(shared / "synergy" / "synergy_cpu_mem_tput.csv"):
        grid[row["model"]][(float(row["cpus_per_gpu"]), float(row["mem_gb_per_gpu"]))] = float(
            row["norm_tput"]
        )
        task[row["model"]] = row["task"]
    meta = {row["model"]: row for row in _read_csv(shared / "synergy" / "synergy_model_meta.csv")}
    out: dict[str, object] = {}
    for model in sorted(grid):
        cells = grid[model]
        cpus = sorted({c for c, _m in cells})
        mems = sorted({m for _c, m in cells})
        m = meta[model]
        out[model] = {
            "task": task[model],
            "cpus_per_gpu": cpus,
            "mem_gb_per_gpu": mems,
            "norm_tput": [[cells[(c, g)] for g in mems] for c in cpus],
            "best_cpus_per_gpu": float(m["best_cpus_per_gpu"]),
            "best_mem_gb_per_gpu": float(m["best_mem_gb_per_gpu"]),
            "batch_size": int(m["batch_size"]),
            "iter_time_s_fair_share": float(m["iter_time_s_fair_share"]),
            "speedup_at_best": float(m["speedup_at_best"]),
        }
    return out


def derive_gavel(shared: Path) -> dict[str, object]:
    """Per model family: single-GPU throughput of each GPU type relative to the V100 (geo. mean)."""
    tput: dict[tuple[str, str], float] = {}
    for row in _read_csv(shared / "gavel" / "gavel_isolated_throughputs_flat.csv"):
        if row["gpu_type"] in GAVEL_GPU_TYPES and int(row["num_gpus"]) == 1:
            tput[(row["gpu_type"], row["job_type"])] = float(row["steps_per_sec_isolated"])
    families: dict[str, list[str]] = defaultdict(list)
    for _gpu, job in tput:
        fam = job.split(" (")[0]
        if job not in families[fam]:
            families[fam].append(job)
    out: dict[str, object] = {}
    for fam in sorted(families):
        jobs = sorted(families[fam])
        rel = {}
        for gpu in GAVEL_GPU_TYPES:
            logs = [math.log(tput[(gpu, j)] / tput[("v100", j)]) for j in jobs]
            rel[gpu] = _round(math.exp(sum(logs) / len(logs)))
        out[fam] = {"job_types": jobs, "relative_to_v100": rel}
    return out


def derive_philly(shared: Path, out_dir: Path) -> int:
    """Write the sorted Philly window; returns the number of jobs."""
    start = datetime.fromisoformat(PHILLY_WINDOW[0])
    stop = datetime.fromisoformat(PHILLY_WINDOW[1])
    rows = []
    for i, row in enumerate(_read_csv(shared / "pollux" / "traces" / "philly.csv")):
        ts = datetime.fromisoformat(row["timestamp"])
        if start <= ts < stop:
            rows.append((ts, i, row))
    rows.sort(key=lambda x: (x[0], x[1]))
    with (out_dir / "philly_cut.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["submit_s", "duration_s", "num_gpus", "cluster"])
        for ts, _i, row in rows:
            w.writerow(
                [
                    int((ts - start).total_seconds()),
                    round(float(row["duration"])),
                    int(row["num_gpus"]),
                    row["cluster"],
                ]
            )
    return len(rows)


def derive_pollux_workloads(shared: Path, out_dir: Path) -> int:
    """Concatenate Pollux's workload-1..8 with a leading ``workload`` column; returns rows."""
    count = 0
    with (out_dir / "pollux_workloads.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["workload", "name", "time", "application", "num_replicas", "batch_size"])
        for k in range(1, 9):
            for row in _read_csv(shared / "pollux" / "workloads" / f"workload-{k}.csv"):
                w.writerow(
                    [k, row["name"], row["time"], row["application"], row["num_replicas"], row["batch_size"]]
                )
                count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse the paths and write every derived file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "edgesched_env" / "workload" / "data")
    args = parser.parse_args(argv)
    shared: Path = args.shared
    if not (shared / "INDEX.md").is_file():
        raise SystemExit(f"{shared} does not look like shared/data (no INDEX.md)")
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    models = {
        "pollux": derive_pollux(shared),
        "synergy": derive_synergy(shared),
        "gavel": derive_gavel(shared),
    }
    (out_dir / "measured_models.json").write_text(json.dumps(models, indent=1, sort_keys=True) + "\n")
    n_philly = derive_philly(shared, out_dir)
    n_pollux = derive_pollux_workloads(shared, out_dir)
    print(
        f"wrote {out_dir}: measured_models.json, philly_cut.csv ({n_philly} jobs), "
        f"pollux_workloads.csv ({n_pollux} jobs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
