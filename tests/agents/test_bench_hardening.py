"""The bench loses no work and fakes no statistics: output path checked first, Ctrl-C keeps the
finished cells, duplicate names and seeds run once, truncated episodes are flagged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import agents.bench as bench
from agents.baselines import make_scheduler
from agents.bench import BenchInterrupted, check_writable, format_table, run_bench, summarize, write_outputs
from agents.cli import main
from agents.evaluate import run_episode
from edgesched_env.parallel_env import EdgeSchedParallelEnv

SMALL = {"num_tasks": 12}


def test_duplicate_schedulers_and_seeds_run_once() -> None:
    res = run_bench(
        "tapfinger-synthetic", ["min", "min"], [0, 1, 1], progress=False, lower_bound=False, **SMALL
    )
    assert res.schedulers == ["min"] and res.seeds == [0, 1]
    assert [(r["scheduler"], r["seed"]) for r in res.records] == [("min", 0), ("min", 1)]
    (row,) = summarize(res)
    assert row["seeds"] == 2


def test_unwritable_output_fails_before_any_work(tmp_path: Path, monkeypatch, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"cannot write the bench output to '.*file/out'"):
        check_writable(blocker / "out")
    ran = []
    monkeypatch.setattr(bench, "run_bench", lambda *a, **k: ran.append(1))
    rc = main(
        ["bench", "--schedulers", "min", "--seeds", "1", "--out", str(blocker / "out"), "--no-progress"]
    )
    assert rc == 2 and not ran
    assert "cannot write the bench output" in capsys.readouterr().err


def _interrupt_after(monkeypatch, n: int) -> None:
    real = bench.run_cell
    calls = {"n": 0}

    def cell(c):  # the n+1-th cell (one scheduler's batch of seeds) is "interrupted by Ctrl-C"
        calls["n"] += 1
        if calls["n"] > n:
            raise KeyboardInterrupt
        return real(c)

    monkeypatch.setattr(bench, "run_cell", cell)


def test_ctrl_c_keeps_the_finished_cells(monkeypatch) -> None:
    _interrupt_after(monkeypatch, 1)  # a cell is one scheduler's seeds, run as one batch
    with pytest.raises(BenchInterrupted) as info:
        run_bench("tapfinger-synthetic", ["min", "random"], [0, 1], progress=False, **SMALL)
    part = info.value.partial
    assert not part.complete
    assert [(r["scheduler"], r["seed"]) for r in part.records] == [("min", 0), ("min", 1)]
    assert isinstance(info.value, KeyboardInterrupt)  # still a Ctrl-C for callers that only know that


def test_cli_bench_interrupted_writes_the_partial_result(tmp_path: Path, monkeypatch) -> None:
    _interrupt_after(monkeypatch, 1)
    out = tmp_path / "b"
    args = ["bench", "--schedulers", "min,random", "--seeds", "2", "--set", "num_tasks=12"]
    rc = main([*args, "--out", str(out), "--no-progress", "--no-plots"])
    assert rc == 130
    recs = json.loads((out / "results.json").read_text())
    assert [(r["scheduler"], r["seed"]) for r in recs] == [("min", 0), ("min", 1)]
    assert "partial: interrupted after 2 episodes" in (out / "summary.md").read_text()


def test_interrupt_with_workers_stops_without_running_the_queue(monkeypatch) -> None:
    real = bench.as_completed

    def first_then_ctrl_c(futures):  # one cell arrives, then Ctrl-C
        it = real(futures)
        yield next(it)
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "as_completed", first_then_ctrl_c)
    with pytest.raises(BenchInterrupted) as info:
        names = ["min", "random", "fifo-greedy"]  # 4 cells with the lower bound, one per name
        run_bench("tapfinger-synthetic", names, [0, 1], workers=2, progress=False, **SMALL)
    part = info.value.partial
    assert len(part.records) == 2 and not part.complete  # the finished cell, none of the queued ones


def test_truncated_episodes_are_flagged_in_metrics_and_table(tmp_path: Path) -> None:
    env = EdgeSchedParallelEnv("tapfinger-synthetic", max_cycles=20, num_tasks=30)
    m = run_episode(make_scheduler("min"), env, 0)
    assert m["truncated"] is True and m["tasks_completed"] < 30  # cut by max_cycles, not max_slots
    full = run_episode(make_scheduler("min"), EdgeSchedParallelEnv("tapfinger-synthetic", num_tasks=8), 0)
    assert full["truncated"] is False
    res = run_bench("tapfinger-synthetic", ["min"], [0, 1], progress=False, max_cycles=20, num_tasks=30)
    rows = summarize(res)
    assert rows[0]["truncated"] == 2
    text = format_table(rows)
    assert "min*" in text and "truncated episodes" in text and "min 2 of 2" in text
    write_outputs(res, tmp_path, plots=False)
    assert "truncated" in (tmp_path / "summary.csv").read_text().splitlines()[0]
    clean = summarize(run_bench("tapfinger-synthetic", ["min"], [0], progress=False, num_tasks=8))
    assert clean[0]["truncated"] == 0 and "truncated" not in format_table(clean)


def test_help_has_no_docstring_markup(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":mod:" not in text and "agents.bench" in text


def test_moving_average_of_the_utilisation_plot() -> None:
    from agents.plots import moving_average

    assert moving_average(np.array([0.0, 0.0, 3.0, 0.0, 0.0]), 3).tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert moving_average(np.array([1.0, 3.0, 5.0]), 9).tolist() == [2.0, 3.0, 4.0]  # shrinks at the ends
    assert moving_average(np.zeros(0)).shape == (0,)


def test_bench_worker_exits_without_the_interpreter_teardown(tmp_path: Path) -> None:
    """``_worker_init`` ends a worker right after the exit handlers: they still run and stdout is
    flushed, but no module is torn down (a global's ``__del__`` would print at teardown)."""
    import subprocess
    import sys

    marker = tmp_path / "handler-ran"
    code = (
        "import atexit, sys\n"
        "from agents.bench import _worker_init\n"
        "_worker_init()\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        "class Late:\n"
        "    def __del__(self):\n"
        "        print('torn down', flush=True)\n"
        "late = Late()\n"
        "sys.stdout.write('unflushed')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "unflushed"
    assert marker.read_text() == "ran"


def test_gantt_draws_every_placed_task_once_in_its_lane() -> None:
    """One bar collection per (cluster, lane): every placed task is one bar, at its lane's height,
    spanning placement to completion (an unfinished task to the end)."""
    from agents.plots import _gantt, _pyplot

    plt = _pyplot()
    s = {
        "placed_slot": np.array([0, 2, 1, -1, 5]),
        "completion_slot": np.array([3, 4, 6, -1, -1]),
        "cluster": np.array([0, 0, 1, 0, 0]),
        "type_idx": np.array([0, 1, 2, 0, 1]),
        "type_names": ("a", "b", "c"),
        "capacity": np.ones((2, 1)),
    }
    fig, ax = plt.subplots()
    try:
        _gantt(ax, s, "t")
        bars = sorted(
            (round(float(v[0, 1]), 1), float(v[0, 0]), float(v[2, 0]))  # (bottom, start, end)
            for coll in ax.collections
            for v in (path.vertices for path in coll.get_paths())
        )
    finally:
        plt.close(fig)
    # cluster 0: lanes 0 (tasks 0 [0, 4), 4 [5, 7)) and 1 (task 1 [2, 5)); cluster 1 from 3 up
    assert bars == [(0.0, 0.0, 4.0), (0.0, 5.0, 7.0), (1.0, 2.0, 5.0), (3.0, 1.0, 7.0)]
