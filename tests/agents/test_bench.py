"""The benchmark harness and the ``edgesched bench`` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from agents.bench import BenchResult, format_table, run_bench, summarize, t_quantile_975, write_outputs
from agents.cli import main
from agents.evaluate import evaluate
from agents.plots import gantt_lanes
from edgesched_env.parallel_env import EdgeSchedParallelEnv

SMALL = {"num_tasks": 30}


def test_evaluate_records() -> None:
    recs = evaluate("fair-share", "tapfinger-synthetic", [0, 1], **SMALL)
    env = EdgeSchedParallelEnv("tapfinger-synthetic", **SMALL)
    env.reset(seed=0)
    assert [r["seed"] for r in recs] == [0, 1]
    for r in recs:
        assert r["scheduler"] == "fair-share" and r["preset"] == "tapfinger-synthetic"
        for key in ("mean_jct", "p50_jct", "p95_jct", "p99_jct", "makespan", "mean_tasks_in_system",
                    "utilization", "conflicts", "rounds", "wall_time_s"):  # fmt: skip
            assert key in r
        assert set(r["utilization"]) == {"cpu", "gpu"}


def test_parallel_and_serial_results_are_byte_identical(tmp_path: Path) -> None:
    names = ["min", "optimus", "tiresias", "oracle-greedy"]
    serial = run_bench("tapfinger-synthetic", names, [0, 1], workers=1, progress=False, **SMALL)
    parallel = run_bench("tapfinger-synthetic", names, [0, 1], workers=2, progress=False, **SMALL)
    write_outputs(serial, tmp_path / "s", plots=False)
    write_outputs(parallel, tmp_path / "p", plots=False)
    a = (tmp_path / "s" / "results.json").read_bytes()
    b = (tmp_path / "p" / "results.json").read_bytes()
    assert a == b
    assert (tmp_path / "s" / "summary.csv").read_bytes() == (tmp_path / "p" / "summary.csv").read_bytes()
    recs = json.loads(a)
    assert [(r["scheduler"], r["seed"]) for r in recs] == [
        (n, s) for n in [*names, "lower-bound"] for s in (0, 1)
    ]
    env_keys = set(evaluate("min", "tapfinger-synthetic", [0], **SMALL)[0]) - {"wall_time_s"}
    for r in recs:
        assert env_keys <= set(r), set(env_keys) - set(r)
        assert "wall_time_s" not in r
    lb = [r for r in recs if r["scheduler"] == "lower-bound"]
    assert lb[0]["utilization"] is None and lb[0]["mean_jct"] > 0


def test_cli_bench_writes_everything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench"
    code = main([
        "bench", "--schedulers", "min,srtf,tiresias", "--seeds", "2", "--set", "num_tasks=30",
        "--out", str(out), "--no-progress",
    ])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "vs min" in text and "vs tiresias" in text and "lower-bound" in text
    for name in ("results.json", "timings.json", "summary.csv", "summary.md", "jct_cdf.png", "jct_box.png",
                 "tasks_in_system.png", "utilization.png", "gantt.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    recs = json.loads((out / "results.json").read_text())
    assert {r["scheduler"] for r in recs} == {"min", "srtf", "tiresias", "lower-bound"}
    assert all(r["overrides"] == {"num_tasks": 30} for r in recs)
    csv_head = (out / "summary.csv").read_text().splitlines()[0]
    assert "mean_jct_ci95" in csv_head and "vs_min" in csv_head


def test_cli_bench_with_workers_writes_the_files_of_one_worker(tmp_path: Path) -> None:
    """--workers 2 (cells and two of the plots in the worker processes) writes every file but
    timings.json byte for byte as --workers 1 does."""
    args = ["bench", "--schedulers", "min,optimus,tiresias", "--seeds", "2", "--set", "num_tasks=30"]
    for workers in ("1", "2"):
        assert main([*args, "--workers", workers, "--out", str(tmp_path / workers), "--no-progress"]) == 0
    files = sorted(p.name for p in (tmp_path / "1").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "2").iterdir())
    assert {"utilization.png", "gantt.png", "results.json"} <= set(files)
    for name in files:
        if name != "timings.json":
            assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes(), name


def test_run_bench_keeps_a_given_executor(tmp_path: Path) -> None:
    """Workers from start_workers run the cells with the records of a serial run, and stay up
    for the caller (who shuts them down)."""
    from agents.bench import _warm, start_workers

    names = ["min", "srtf"]
    serial = run_bench("tapfinger-synthetic", names, [0, 1], workers=1, progress=False, **SMALL)
    pool = start_workers(2)
    try:
        parallel = run_bench(
            "tapfinger-synthetic", names, [0, 1], workers=2, progress=False, executor=pool, **SMALL
        )
        assert pool.submit(_warm).result(timeout=60) is None  # not shut down by run_bench
    finally:
        pool.shutdown()
    assert parallel.records == serial.records
    assert sorted(parallel.series) == sorted(serial.series) == names


def test_cli_errors_are_clear(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--schedulers", "nope", "--seeds", "1", "--no-progress"]) == 2
    assert "unknown scheduler" in capsys.readouterr().err
    assert main(["bench", "--preset", "nope", "--seeds", "1", "--no-progress", "--schedulers", "min"]) == 2
    with pytest.raises(SystemExit) as info:  # argparse checks the count and names the option
        main(["bench", "--seeds", "0", "--no-progress"])
    assert info.value.code == 2 and "argument --seeds" in capsys.readouterr().err
    assert main(["bench", "--set", "bogus=1", "--seeds", "1", "--no-progress", "--schedulers", "min"]) == 2


def test_cli_run_and_presets_still_work(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--scheduler", "optimus", "--seed", "1", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    from edgesched_env.presets import DEFAULT_PRESET, make_config

    assert metrics["tasks_completed"] == make_config(DEFAULT_PRESET).workload.num_tasks
    assert main(["presets"]) == 0


def test_summary_reductions_and_ci() -> None:
    def rec(name: str, seed: int, jct: float) -> dict:
        return {"scheduler": name, "seed": seed, "mean_jct": jct, "p95_jct": 2 * jct, "p99_jct": 3 * jct,
                "makespan": 10, "mean_tasks_in_system": 1.0, "utilization": {"cpu": 0.5},
                "conflicts": 0, "rounds": 5}  # fmt: skip

    records = [rec("min", 0, 10.0), rec("min", 1, 12.0), rec("tiresias", 0, 8.0), rec("tiresias", 1, 8.0)]
    records += [rec("x", 0, 4.0), rec("x", 1, 6.0)]
    rows = summarize(BenchResult("p", ["min", "tiresias", "x"], [0, 1], records, []))
    x = rows[2]
    assert x["mean_jct"] == 5.0
    assert x["vs_min"] == pytest.approx((11.0 - 5.0) / 11.0)
    assert x["vs_tiresias"] == pytest.approx((8.0 - 5.0) / 8.0)
    assert x["mean_jct_ci95"] == pytest.approx(12.706 * math.sqrt(2.0) / math.sqrt(2))
    assert rows[1]["mean_jct_ci95"] == 0.0
    table = format_table(rows)
    assert "5.00 ± 12.71" in table and "+54.5%" in table
    assert format_table(rows, markdown=True).startswith("| scheduler |")


def test_t_quantiles() -> None:
    assert t_quantile_975(1) == 12.706
    assert t_quantile_975(9) == 2.262
    assert abs(t_quantile_975(60) - 2.000) < 0.005
    assert math.isnan(t_quantile_975(0))


def test_gantt_lanes() -> None:
    start = np.array([0, 0, 2, 3, 5])
    end = np.array([3, 2, 4, 6, 7])
    lanes = gantt_lanes(start, end)
    for lane in set(lanes.tolist()):
        idx = np.flatnonzero(lanes == lane)
        order = idx[np.argsort(start[idx])]
        assert (start[order][1:] >= end[order][:-1]).all()
    assert lanes.max() == 1
