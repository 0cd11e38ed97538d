"""The Python examples of docs/integrations.md run as written (tiny budgets)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "integrations.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_page_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index, tmp_path, monkeypatch):
    code = BLOCKS[index]
    if "integrations import rllib" in code:
        pytest.skip("the RLlib example runs in .venv-pinned, by tests/rllib")
    if "integrations.benchmarl import" in code:
        pytest.skip("the BenchMARL example runs in .venv-pinned, by tests/benchmarl")
    if "torchrl" in code:
        pytest.importorskip("torchrl")
    monkeypatch.chdir(tmp_path)
    code = code.replace("/tmp/edgesched-sb3-shared", str(tmp_path / "sb3-shared"))
    exec(compile(code, f"{DOC.name}[{index}]", "exec"), {"__name__": "__doc_example__"})
