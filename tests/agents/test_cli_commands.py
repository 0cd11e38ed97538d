"""The ``edgesched`` commands on first contact (issue 22, "Commands"): ``eval`` takes a training run
directory and never writes into it, the training bar shows no ``nan``, and results are written
before plots, which an install without matplotlib skips with one line instead of a crash."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agents.cli import main
from agents.mappo.trainer import progress_postfix

PRESET = "tapfinger-synthetic"
TINY_ENV = ["--set", "num_tasks=6"]
#: a tiny training run of two iterations: the first without a selection evaluation, the second with
TRAIN = [
    "train", "--preset", PRESET, "--rounds", "64", "--num-envs", "2", *TINY_ENV, "--arch", "tiny",
    "--train-set", "rollout_rounds=16", "--train-set", "eval_every=2",
    "--train-set", "selection_seeds=[900000]",
]  # fmt: skip
TINY_BENCH = ["--preset", PRESET, *TINY_ENV, "--seeds", "1", "--no-progress"]
RESULT_FILES = ("results.json", "timings.json", "summary.csv", "summary.md")
PLOT_FILES = ("jct_cdf.png", "jct_box.png", "tasks_in_system.png", "utilization.png", "gantt.png")


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes) and every directory (-> b"/")."""
    return {
        str(p.relative_to(root)): (b"/" if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A real tiny ``edgesched train --out RUN`` (progress bar on); ``(RUN, the bar's output)``."""
    run = tmp_path_factory.mktemp("train") / "run1"
    bar = io.StringIO()
    with contextlib.redirect_stderr(bar):
        assert main([*TRAIN, "--out", str(run)]) == 0
    assert (run / "best" / "checkpoint.json").is_file() and (run / "last" / "checkpoint.json").is_file()
    return run, bar.getvalue()


# ------------------------------------------------------------------------------ the progress bar
def test_progress_postfix_has_a_placeholder_until_the_first_selection_evaluation():
    before = progress_postfix(1, 32, 123.4, math.nan)
    assert "nan" not in before.lower() and "sel-JCT --" in before and "it 1 rounds 32 123 rounds/s" in before
    after = progress_postfix(2, 64, 99.0, 7.25)
    assert after.endswith("sel-JCT 7.250") and "nan" not in after


def test_training_bar_shows_no_nan(run_dir):
    _, bar = run_dir
    assert "sel-JCT --" in bar  # the first iteration, before any selection evaluation
    assert "nan" not in bar.lower()
    last = bar.replace("\r", "\n").strip().splitlines()
    figures = [line.split("sel-JCT ")[1].split()[0] for line in last if "sel-JCT " in line]
    assert figures[0] == "--" and float(figures[-1]) > 0  # then the selection figure


# ------------------------------------------------------------------------- eval --checkpoint RUN
def _eval(checkpoint: Path, *extra: str) -> list[str]:
    return ["eval", "--checkpoint", str(checkpoint), "--seeds", "1", *TINY_ENV, "--baselines", "random",
            "--no-progress", "--no-plots", *extra]  # fmt: skip


def test_eval_takes_the_run_directory_uses_best_and_writes_only_to_the_working_directory(
    run_dir, tmp_path, monkeypatch, capsys
):
    run, _ = run_dir
    before = _snapshot(run)
    monkeypatch.chdir(tmp_path)
    assert main(_eval(run)) == 0
    cap = capsys.readouterr()
    said = [line for line in cap.err.splitlines() if "training run" in line]
    assert len(said) == 1 and str(run / "best") in said[0], cap.err
    out = tmp_path / f"eval-run1-{PRESET}"
    assert all((out / f).is_file() for f in RESULT_FILES), sorted(os.listdir(tmp_path))
    records = json.loads((out / "results.json").read_text())
    assert records[0]["scheduler"] == f"hgat:{run / 'best'}"
    assert _snapshot(run) == before  # not a file added or changed in the run directory

    # the checkpoint directory itself gives the same records, under the same default --out
    assert main(_eval(run / "best", "--out", str(tmp_path / "direct"))) == 0
    assert "training run" not in capsys.readouterr().err
    assert json.loads((tmp_path / "direct" / "results.json").read_text()) == records
    assert main(_eval(run / "last")) == 0
    assert (tmp_path / f"eval-run1-last-{PRESET}" / "results.json").is_file()
    assert _snapshot(run) == before


def test_eval_refuses_an_out_inside_the_run_or_checkpoint_and_names_what_a_checkpoint_is(
    run_dir, tmp_path, capsys
):
    run, _ = run_dir
    before = _snapshot(run)
    for inside in (run / "evals", run / "best" / "e"):
        assert main(_eval(run, "--out", str(inside))) == 2
        err = capsys.readouterr().err
        assert "never writes into a checkpoint or training run directory" in err and "--out" in err
    assert _snapshot(run) == before

    neither = tmp_path / "neither"
    (neither / "sub").mkdir(parents=True)
    (neither / "notes.txt").write_text("x")
    assert main(_eval(neither)) == 2
    err = capsys.readouterr().err
    assert "checkpoint.json" in err and "best" in err and "edgesched train --out" in err
    assert "notes.txt" in err and "sub/" in err  # what it holds instead
    assert main(_eval(tmp_path / "missing")) == 2
    assert "does not exist" in capsys.readouterr().err


# ----------------------------------------------------------------- results first; no matplotlib
def test_bench_writes_results_and_prints_the_table_before_drawing_plots(tmp_path, monkeypatch, capsys):
    import agents.plots

    out = tmp_path / "b"
    seen: dict[str, Any] = {}

    def plot_all(result: Any, out_dir: Any, **kw: Any) -> list[Path]:
        seen["files"] = sorted(p.name for p in Path(out_dir).iterdir())
        seen["stdout"] = capsys.readouterr().out
        return []

    monkeypatch.setattr(agents.plots, "plot_all", plot_all)
    assert main(["bench", *TINY_BENCH, "--schedulers", "srtf", "--out", str(out)]) == 0
    assert set(RESULT_FILES) <= set(seen["files"])
    assert "srtf" in seen["stdout"] and "lower-bound" in seen["stdout"]  # the table came first


def _without_matplotlib(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, str]:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def test_bench_without_matplotlib_writes_every_result_and_says_so_once(tmp_path, monkeypatch, capsys):
    out = tmp_path / "b"
    rc, text = _without_matplotlib(["bench", *TINY_BENCH, "--schedulers", "srtf", "--out", str(out)],
                                   monkeypatch, capsys)  # fmt: skip
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(RESULT_FILES)
    hint = [line for line in text.splitlines() if "edgesched[viz]" in line]
    assert len(hint) == 1 and "pip install 'edgesched[viz]'" in hint[0]
    # --no-plots: silent
    rc, text = _without_matplotlib(["bench", *TINY_BENCH, "--schedulers", "srtf", "--out", str(out),
                                    "--no-plots"], monkeypatch, capsys)  # fmt: skip
    assert rc == 0 and "viz" not in text


def test_eval_without_matplotlib_writes_every_result_and_says_so_once(run_dir, tmp_path, monkeypatch, capsys):
    run, _ = run_dir
    out = tmp_path / "e"
    argv = [a for a in _eval(run, "--out", str(out)) if a != "--no-plots"]
    rc, text = _without_matplotlib(argv, monkeypatch, capsys)
    assert rc == 0 and sorted(p.name for p in out.iterdir()) == sorted(RESULT_FILES)
    assert sum("edgesched[viz]" in line for line in text.splitlines()) == 1


def test_train_without_matplotlib_says_so_once(tmp_path, monkeypatch, capsys):
    rc, text = _without_matplotlib([*TRAIN, "--rounds", "32", "--no-progress", "--out", str(tmp_path / "r")],
                                   monkeypatch, capsys)  # fmt: skip
    assert rc == 0 and (tmp_path / "r" / "best" / "checkpoint.json").is_file()
    assert sum("edgesched[viz]" in line for line in text.splitlines()) == 1
    assert not (tmp_path / "r" / "training_curve.png").exists()


def test_bench_in_a_process_that_cannot_import_matplotlib(tmp_path):
    """The console command itself, in a fresh interpreter whose ``import matplotlib`` fails."""
    out = tmp_path / "b"
    code = (
        "import sys; sys.modules['matplotlib'] = None; from agents.cli import main; "
        f"raise SystemExit(main({['bench', *TINY_BENCH, '--schedulers', 'srtf', '--out', str(out)]!r}))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(RESULT_FILES)
    lines = (proc.stdout + proc.stderr).splitlines()
    assert sum("pip install 'edgesched[viz]'" in line for line in lines) == 1
    assert "Traceback" not in proc.stderr


def test_bench_with_matplotlib_still_draws_every_plot(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "b"
    assert main(["bench", *TINY_BENCH, "--schedulers", "srtf", "--out", str(out)]) == 0
    assert set(RESULT_FILES) | set(PLOT_FILES) == {p.name for p in out.iterdir()}
