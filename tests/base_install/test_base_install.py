"""What a user of ``pip install -e .`` (no extra: no torch, no matplotlib) gets: every documented
base feature works and every optional one fails at the call with one line naming its extra."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test

import edgesched_env
from edgesched_env.render import RENDER_MODES


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def test_this_is_a_base_install() -> None:
    """The other tests mean something only without the optional libraries."""
    for module in ("torch", "matplotlib", "torch_geometric", "safetensors", "stable_baselines3", "ortools"):
        assert importlib.util.find_spec(module) is None, f"{module} is installed: not a base install"


def test_bench_writes_results_and_says_plots_need_viz(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _cli(
        "bench",
        "--seeds",
        "1",
        "--set",
        "num_tasks=10",
        "--schedulers",
        "random,drf",
        "--workers",
        "1",
        "--no-progress",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert results, "results.json is empty"
    assert (out / "summary.csv").stat().st_size > 0
    viz = [line for line in proc.stderr.splitlines() if "edgesched[viz]" in line]
    assert len(viz) == 1, proc.stderr
    assert not list(out.glob("*.png"))


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("bench", "--schedulers", "hgat", "--seeds", "1"), "agents"),
        (("bench", "--schedulers", "random,oracle-plan", "--seeds", "1"), "plan"),
        (("bench", "--schedulers", "sb3:nowhere", "--seeds", "1"), "sb3"),
        (("train", "--rounds", "64"), "agents"),
        (("eval", "--checkpoint", "nowhere"), "agents"),
    ],
)
def test_optional_feature_is_one_line_naming_its_extra(
    tmp_path: Path, args: tuple[str, ...], extra: str
) -> None:
    proc = _cli(*args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"edgesched[{extra}]" in lines[0], lines[0]


def test_make_scheduler_names_the_extra() -> None:
    from agents._optional import MissingExtraError
    from agents.baselines import make_scheduler

    with pytest.raises(MissingExtraError, match=r"edgesched\[agents\]"):
        make_scheduler("hgat")


@pytest.mark.parametrize("render_mode", [None, *RENDER_MODES])
def test_check_env_on_the_central_env(render_mode: str | None) -> None:
    env = gymnasium.make("edgesched/EdgeSchedCentral-v1", num_tasks=10, render_mode=render_mode)
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


def test_rgb_array_is_numpy_only() -> None:
    env = gymnasium.make("edgesched/EdgeSchedCentral-v1", num_tasks=10, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
    assert frame.ndim == 3 and frame.shape[2] == 3


def test_parallel_api_test() -> None:
    parallel_api_test(edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=10), num_cycles=200)
