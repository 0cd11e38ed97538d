"""Shared pytest configuration of the whole test suite.

- Tests marked ``@pytest.mark.slow`` are skipped unless ``--runslow`` is given, ``-m`` selects
  them (e.g. ``-m slow``), or ``EDGESCHED_RUN_SLOW=1`` is set: the default run (``make test``)
  stays within a few minutes on 2 cores, and each slow test has a tiny version that always runs.
- Hypothesis: no per-example deadline (timings vary on shared CI machines; no test asserts on
  wall-clock time) and no persistent example database writes from CI.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "edgesched",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "ci",
    parent=settings.get_profile("edgesched"),
    database=None,
    derandomize=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "edgesched"))


@pytest.fixture
def run_speed_script(tmp_path: Path) -> Callable[[], dict[str, Any]]:
    """Run ``benchmarks/integration_speed.py`` on a tiny run (no docs written); its JSON report."""

    def run() -> dict[str, Any]:
        from _scripts import load_script

        mod = load_script("benchmarks/integration_speed.py")
        out = tmp_path / "speed.json"
        argv = ["--rounds", "3", "--num-envs", "2", "--json", str(out), "--no-docs", "--repeats", "1"]
        assert mod.main(argv) == 0
        rep: dict[str, Any] = json.loads(out.read_text())
        assert rep["ratio_to_raw"]["raw vector env"] == 1.0 and min(rep["steps_per_s"].values()) > 0
        return rep

    return run


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


#: folders whose libraries pin versions the main environment cannot have (RLlib: gymnasium 1.2.2;
#: BenchMARL: torchrl < 0.12): ``make test`` runs them in ``.venv-pinned`` with EDGESCHED_PINNED=1.
PINNED_FOLDERS = ("tests/rllib", "tests/benchmarl")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("EDGESCHED_PINNED") != "1":
        pinned = pytest.mark.skip(reason="runs in .venv-pinned (make test sets EDGESCHED_PINNED=1)")
        for item in items:
            if any(f in str(item.fspath) for f in PINNED_FOLDERS):
                item.add_marker(pinned)
    markexpr = config.getoption("-m", default="") or ""
    if config.getoption("--runslow") or "slow" in markexpr or os.environ.get("EDGESCHED_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow, -m slow or EDGESCHED_RUN_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
