"""tests/rllib runs in its own environment (RLlib pins gymnasium 1.2.2): ``make test`` builds
``.venv-rllib`` and runs this folder there with ``EDGESCHED_RLLIB=1``. Elsewhere it is skipped."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("EDGESCHED_RLLIB") == "1":
        return
    skip = pytest.mark.skip(reason="RLlib tests run in .venv-rllib (make test sets EDGESCHED_RLLIB=1)")
    for item in items:
        if "tests/rllib" in str(item.fspath):
            item.add_marker(skip)
