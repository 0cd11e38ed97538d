"""benchmarks/bench_time.py: it times the Makefile's own bench recipe, and a tiny run of it works."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from _scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
#: a tiny version of the main job (the timed command's own options come first; later ones win)
TINY = [
    "--seeds",
    "1",
    "--workers",
    "1",
    "--schedulers",
    "min,fifo-greedy",
    "--set",
    "num_tasks=6",
    "--no-plots",
]


def load() -> ModuleType:
    return load_script("benchmarks/bench_time.py")


def test_the_timed_command_is_the_makefile_bench_recipe() -> None:
    cmd = load().make_bench_command()
    recipe = (ROOT / "Makefile").read_text().split("\nbench:", 1)[1].splitlines()[1].strip()
    assert Path(cmd[0]).name == "edgesched" and Path(cmd[0]).parent == Path(sys.executable).parent
    assert recipe == "$(BIN)/edgesched " + " ".join(cmd[1:])
    from agents.cli import build_parser

    args = build_parser().parse_args(cmd[1:])  # the options the script times are the CLI's
    assert args.command == "bench" and args.workers == 2


@pytest.mark.skipif(
    shutil.which("edgesched", path=str(Path(sys.executable).parent)) is None, reason="no console script"
)
def test_a_tiny_timing_run_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "bench_time.json"
    assert load().main(["--repeats", "1", "--out", str(out), "--extra", *TINY]) == 0
    rep = json.loads(out.read_text())
    assert rep["command"].startswith("make bench = edgesched bench --seeds 3 --workers 2 --seeds 1")
    assert len(rep["wall_s"]) == 1 and rep["median_wall_s"] >= 0
    assert set(rep["cell_s_per_scheduler"]) == {"min", "fifo-greedy", "lower-bound"}
    assert "baseline" not in rep


@pytest.mark.slow
def test_a_tiny_run_against_a_baseline_revision_reports_the_ratio(tmp_path: Path) -> None:
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    out = tmp_path / "bench_time.json"
    assert load().main(["--repeats", "1", "--baseline", "HEAD", "--out", str(out), "--extra", *TINY]) == 0
    rep = json.loads(out.read_text())
    assert len(rep["baseline"]["commit"]) == 40 and len(rep["baseline"]["wall_s"]) == 1
    assert rep["speedup_vs_baseline"] > 0


def test_the_readme_quotes_the_measured_figure() -> None:
    """The README's time for ``make bench`` is the median in the file the script wrote (and its
    speed-up over the version it was measured against, when the file has one)."""
    rep = json.loads((ROOT / "benchmarks" / "results" / "bench_time.json").read_text())
    readme = (ROOT / "README.md").read_text()
    assert f"({rep['median_wall_s']} s after set-up on 2 cores" in readme
    if "speedup_vs_baseline" in rep:
        assert f"{rep['speedup_vs_baseline']}x" in readme
