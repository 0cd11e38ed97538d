"""``tests/base_install`` runs only on a base install (``pip install -e .`` plus pytest).

``make test`` builds ``.venv-base`` and runs this folder there with ``EDGESCHED_BASE=1`` (and
``--confcutdir``, so ``tests/conftest.py``, which needs hypothesis, is not loaded); anywhere else
the folder is skipped.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("EDGESCHED_BASE") == "1":
        return
    skip = pytest.mark.skip(reason="base install only: make test runs it in .venv-base (EDGESCHED_BASE=1)")
    for item in items:
        if "base_install" in str(item.fspath):
            item.add_marker(skip)
