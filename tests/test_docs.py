"""Every fenced block of README.md and docs/**/*.md runs, at a tiny size, or is marked as not code.

The marker syntax (``<!-- doc-test: DIRECTIVE ARGS -->`` on the line above a fence) is described
in ``tests/_doc_blocks.py``. How blocks run:

- Every block is its own test, in a fresh temporary working directory: blocks do not share
  state. The only exception is a page's ``file NAME`` blocks (a CSV sample), written into the
  directory of every later block of that page before it runs.
- ``python`` blocks: ``exec`` in a fresh namespace (``isolate``: a subprocess), cwd the temporary
  directory.
- ``bash`` blocks: line by line (backslash continuations joined), each line through
  ``bash -e -o pipefail`` in the block's directory, so a train -> eval -> bench sequence runs in
  order on the same files; the first failing line fails the test and is named. ``PATH`` starts
  with a directory whose ``edgesched`` and ``python`` are this interpreter running
  ``agents.cli`` of this checkout (``PYTHONPATH`` = the repository), so the console script of
  another install is never the one tested.
- An unmarked fence that is neither python nor shell fails ``test_every_block_is_classified``.

``make test`` lines are this suite (marker ``self``); ``make bench`` runs its Makefile recipe with
the block's size override (see ``test_make_bench_is_what_the_readme_says`` too).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import _doc_blocks as db
import pytest

BLOCKS = db.all_blocks()
RUNNABLE = [b for b in BLOCKS if b.kind in ("python", "shell")]
TIMEOUT_S = 600


def _id(b: db.Block) -> str:
    return b.id + "".join(f"[{m}]" for m in b.args("requires"))


def test_the_pages_have_blocks():
    pages = {b.page for b in BLOCKS}
    assert {"README.md", "docs/integrations.md", "docs/agents.md", "docs/workloads.md"} <= pages
    assert len(RUNNABLE) >= 15


def test_every_block_is_classified():
    """No block is skipped silently: each is python, shell, or carries a text/file marker."""
    assert db.problems(BLOCKS) == []


def test_inventory():
    """What the docs run hold, by kind (printed with ``-s``; ``self``/``help`` lines counted)."""
    kinds = Counter(b.kind for b in BLOCKS)
    selfed = [(b.id, p) for b in BLOCKS for p in b.args("self")]
    helped = [(b.id, p) for b in BLOCKS for p in b.args("help")]
    print(f"doc blocks: {dict(kinds)}; self (not run: this suite): {selfed}; run as --help: {helped}")
    assert sum(kinds.values()) == len(BLOCKS) and kinds["unmarked"] == 0


def test_self_lines_are_this_suite():
    """A ``self`` line is ``make test``, which runs pytest on the whole tests/ folder (in its gate)."""
    for b in BLOCKS:
        for prefix in b.args("self"):
            assert prefix == "make test", f"{b.id}: only 'make test' is this suite, not {prefix!r}"
    commands = db.makefile_commands("test")
    assert any("-m pytest" in r and "tests/" not in r for r in commands), commands


def test_make_test_runs_the_gate_the_readme_describes():
    """``make test`` runs ruff (check, format), mypy on both packages and the suite with coverage,
    checked per package against the thresholds the README states (issue 23)."""
    commands = db.makefile_commands("test")
    gate = db.makefile_commands("gate")
    assert commands[: len(gate)] == gate, "the gate runs first"
    for step in ("ruff check .", "ruff format --check .", "mypy edgesched_env agents"):
        assert any(step in c for c in gate), step
    (suite,) = [c for c in gate if "-m pytest" in c]
    assert "--cov" in suite.split()
    assert gate.index(suite) > max(i for i, c in enumerate(gate) if "mypy" in c or "ruff" in c)
    makefile = (db.ROOT / "Makefile").read_text()
    thresholds = dict(re.findall(r"^COV_MIN_(ENV|AGENTS) := (\d+)$", makefile, re.M))
    assert thresholds == {"ENV": "90", "AGENTS": "85"}
    assert "--include='edgesched_env/*' --fail-under=$(COV_MIN_ENV)" in makefile
    assert "--include='agents/*' --fail-under=$(COV_MIN_AGENTS)" in makefile
    readme = (db.ROOT / "README.md").read_text()
    assert "90% for `edgesched_env`" in readme and "85% for `agents`" in readme


def test_make_bench_is_what_the_readme_says():
    """The README describes ``make bench`` as its recipe's command, word for word."""
    (recipe,) = db.makefile_recipe("bench")
    command = recipe.replace("$(BIN)/", "")
    assert f"`make bench` is `{command}`" in " ".join((db.ROOT / "README.md").read_text().split())


def _env(bindir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(db.ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PATH"] = os.pathsep.join([str(bindir), str(Path(sys.executable).parent), env["PATH"]])
    env["MPLBACKEND"] = "Agg"
    return env


def _shims(bindir: Path) -> None:
    bindir.mkdir()
    for name, run in (("edgesched", f'"{sys.executable}" -m agents.cli'), ("python", f'"{sys.executable}"')):
        (bindir / name).write_text(f'#!/usr/bin/env bash\nexec {run} "$@"\n')
        (bindir / name).chmod(0o755)


def _write_page_files(block: db.Block, where: Path) -> None:
    for b in BLOCKS:
        if b.page == block.page and b.line < block.line and b.kind == "file":
            (where / b.args("file")[0]).write_text(b.code)


def _run_line(line: str, cwd: Path, env: dict[str, str], what: str) -> str:
    res = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", line],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert res.returncode == 0, (
        f"{what}: `{line}` exited {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    )
    return res.stdout + res.stderr


def _installed(module: str) -> bool:
    """``module`` is an installed package (not a namespace folder such as ``tests/benchmarl``)."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return False
    return getattr(mod, "__file__", None) is not None


def _previous(block: db.Block) -> db.Block:
    """The runnable block before ``block`` on its page (what an ``after`` block builds on)."""
    earlier = [b for b in RUNNABLE if b.page == block.page and b.line < block.line]
    assert earlier, f"{block.id}: `after` needs an earlier runnable block on {block.page}"
    return earlier[-1]


def _execute(block: db.Block, work: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Run ``block`` in ``work`` (first the block before it, for an ``after`` block)."""
    if block.has("after"):
        _execute(_previous(block), work, env, monkeypatch)
    code = db.prepared(block)
    if block.kind == "python" and not block.has("isolate"):
        monkeypatch.chdir(work)
        exec(compile(code, block.id, "exec"), {"__name__": "__doc_block__"})
        return
    if block.kind == "python":
        _run_line(f'python - <<"DOC_BLOCK_EOF"\n{code}DOC_BLOCK_EOF', work, env, block.id)
        return
    selfs = block.args("self")
    helps = [db.substitute(block, p) for p in block.args("help")]
    for line in db.shell_lines(code):
        if any(line.startswith(p) for p in selfs):
            print(f"{block.id}: `{line}` is this test suite: not run inside it")
            continue
        prefix = next((p for p in helps if line.startswith(p)), None)
        if prefix is not None:
            text = _run_line(f"{prefix} --help", work, env, block.id)
            missing = [o for o in db.options_of(line) if o not in text]
            assert not missing, f"{block.id}: `{line}` uses options its --help does not list: {missing}"
            continue
        _run_line(line, work, env, block.id)


@pytest.mark.parametrize("block", RUNNABLE, ids=_id)
def test_block_runs(block: db.Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for module in block.args("requires"):
        if not _installed(module):
            pytest.skip(f"{block.id} needs {module} (it runs in .venv-pinned: make test)")
    work = tmp_path / "work"
    work.mkdir()
    _write_page_files(block, work)
    bindir = tmp_path / "bin"
    _shims(bindir)
    _execute(block, work, _env(bindir), monkeypatch)
