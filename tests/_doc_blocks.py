"""Fenced blocks of README.md and docs/**/*.md, with their ``doc-test`` markers (used by test_docs.py).

A marker is an HTML comment on its own line directly above a fence (several may stack, one
directive each; no blank line between them and the fence)::

    <!-- doc-test: DIRECTIVE ARGS -->

Directives:

- ``text``: the block is not code (a layout, a formula, output); never run.
- ``file NAME``: not code either, but a file the page's later blocks use: written as ``NAME``
  into the working directory of every later block of the same page.
- ``size OLD => NEW``: a size override; the literal ``OLD`` is replaced by ``NEW`` before the block
  runs (``OLD`` must occur, so a stale override fails).
- ``path OLD => NEW``: the same mechanism for a path; in ``NEW``, ``{repo}`` is the repository root.
- ``requires MODULE``: the block needs ``MODULE`` (``pkg.sub`` is provided by the requirement
  ``pkg[sub]``, e.g. ``ray.rllib`` by ``ray[rllib]``). It runs in the environment of the Makefile
  whose extras list that requirement: ``.venv`` (``make setup``) first, else ``.venv-pinned``
  (``EDGESCHED_PINNED=1``, RLlib and BenchMARL), and is skipped, with that reason, in the other.
  A module neither environment installs fails the meta-test, so no block is skipped everywhere.
- ``after``: the block builds on the page's previous runnable block (a model it saved, ...):
  that block runs first, in the same working directory.
- ``isolate``: a python block runs in a subprocess instead of ``exec`` in the test process.
- ``brackets``: ``[...]`` in a shell block are optional arguments; they run with the brackets removed.
- ``self PREFIX``: shell lines starting with ``PREFIX`` run this very test suite (``make test``):
  not run, reported in the block's output and checked against the Makefile.
- ``help PREFIX``: shell lines starting with ``PREFIX`` write into the package or take hours; they
  run as ``PREFIX --help`` and every ``--option`` of the line must appear in that help.

Fences labelled ``python`` are python, ``bash``/``sh``/``shell``/``console`` are shell; any other
fence (unlabelled included) must carry ``text`` or ``file``, otherwise :func:`problems` names it.
In shell blocks, a line ``make TARGET`` is replaced by the Makefile recipe of ``TARGET`` (with
``$(BIN)/`` dropped: the test puts the environment's ``bin`` on ``PATH``; set-up lines such as
``pip install`` dropped), before any ``size``.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself depends on tomli before Python 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ("python", "py")
SHELL = ("bash", "sh", "shell", "console")
DIRECTIVES = ("text", "file", "size", "path", "requires", "isolate", "brackets", "self", "help", "after")
_MARKER = re.compile(r"^<!--\s*doc-test:\s*(?P<body>.*?)\s*-->\s*$")
_FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")


@dataclass
class Block:
    """One fenced block: where it is, its language, its code and its markers."""

    page: str  #: path relative to the repository root
    line: int  #: 1-based line of the opening fence
    lang: str  #: the fence's label ("" when unlabelled)
    code: str
    markers: list[tuple[str, str]] = field(default_factory=list)  #: (directive, argument)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    def has(self, directive: str) -> bool:
        return any(d == directive for d, _ in self.markers)

    def args(self, directive: str) -> list[str]:
        return [a for d, a in self.markers if d == directive]

    @property
    def kind(self) -> str:
        """``python``, ``shell``, ``text`` or ``file`` (``unmarked`` for an unclassified fence)."""
        if self.has("file"):
            return "file"
        if self.has("text"):
            return "text"
        if self.lang in PYTHON:
            return "python"
        if self.lang in SHELL:
            return "shell"
        return "unmarked"


def pages() -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def parse(path: Path) -> list[Block]:
    """The fenced blocks of one page with their markers; a marker not above a fence is an error."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rel = path.relative_to(ROOT).as_posix()
    blocks: list[Block] = []
    pending: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        m = _MARKER.match(lines[i])
        if m:
            directive, _, arg = m["body"].partition(" ")
            if directive not in DIRECTIVES:
                raise ValueError(
                    f"{rel}:{i + 1}: unknown doc-test directive {directive!r}; one of {DIRECTIVES}"
                )
            pending.append((directive, arg.strip()))
            i += 1
            continue
        f = _FENCE.match(lines[i])
        if f:
            end = i + 1
            while end < len(lines) and lines[end].rstrip() != "```":
                end += 1
            if end == len(lines):
                raise ValueError(f"{rel}:{i + 1}: fence never closed")
            blocks.append(Block(rel, i + 1, f["lang"], "\n".join(lines[i + 1 : end]) + "\n", pending))
            pending, i = [], end + 1
            continue
        if pending:
            raise ValueError(f"{rel}:{i + 1}: doc-test marker(s) {pending} not directly above a fence")
        i += 1
    return blocks


def all_blocks() -> list[Block]:
    return [b for p in pages() for b in parse(p)]


def split_sub(arg: str) -> tuple[str, str]:
    """``OLD => NEW`` of a ``size``/``path`` marker."""
    old, sep, new = arg.partition(" => ")
    if not sep or not old:
        raise ValueError(f"a size/path marker reads 'OLD => NEW', got {arg!r}")
    return old, new


def makefile_prerequisites(target: str) -> list[str]:
    """The prerequisites of one Makefile target, as written (``$(STAMP)`` stays unexpanded)."""
    for line in (ROOT / "Makefile").read_text().splitlines():
        m = re.match(rf"^{re.escape(target)}\s*:(?!=)(?P<prereqs>.*)$", line)
        if m:
            return m["prereqs"].split()
    raise ValueError(f"the Makefile has no target {target!r}")


def makefile_commands(target: str) -> list[str]:
    """The command lines that ``make TARGET`` runs: the recipes of the target and of every
    prerequisite that is a target of the Makefile (depth first, prerequisites first)."""
    out: list[str] = []
    for pre in makefile_prerequisites(target):
        try:
            out += makefile_commands(pre)
        except ValueError:  # a file or a variable's target: no recipe of its own here
            continue
    return out + makefile_recipe(target)


def makefile_recipe(target: str) -> list[str]:
    """The command lines of one Makefile target (tab-indented lines after ``target:``)."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"^{re.escape(target)}\s*:", line):
            recipe = []
            for r in lines[i + 1 :]:
                if not r.startswith("\t"):
                    break
                recipe.append(r.strip().lstrip("@"))
            return recipe
    raise ValueError(f"the Makefile has no target {target!r}")


def prepared(block: Block) -> str:
    """The code that runs: ``make`` lines expanded (shell), then the size/path overrides applied."""
    code = block.code
    if block.kind == "shell":
        out = []
        for line in code.splitlines():
            m = re.match(r"^make (\w+)\b(.*)$", line)
            selfed = any(line.startswith(p) for p in block.args("self"))
            if m and not selfed:
                recipe = [r.replace("$(BIN)/", "") for r in makefile_recipe(m[1])]
                out.extend(r for r in recipe if not r.startswith("test ") and "pip install" not in r)
            else:
                out.append(line)
        code = "\n".join(out) + "\n"
        if block.has("brackets"):
            code = code.replace("[", "").replace("]", "")
    return substitute(block, code, check=True)


def substitute(block: Block, text: str, check: bool = False) -> str:
    """``text`` with the block's size/path overrides applied (``check``: each ``OLD`` must occur)."""
    for d in ("size", "path"):
        for arg in block.args(d):
            old, new = split_sub(arg)
            if check and old not in text:
                raise ValueError(f"{block.id}: {d} override {old!r} does not occur in the block")
            text = text.replace(old, new.replace("{repo}", str(ROOT)))
    return text


def shell_script(block: Block) -> tuple[str, list[tuple[str, str]]]:
    """The bash script a shell block runs, and its ``help`` checks as (help file name, line).

    Each command line (continuations joined) is kept, except: a ``self`` line becomes an
    ``echo`` saying it is not run; a ``help PREFIX`` line becomes ``PREFIX --help`` written to
    ``"$DOC_TEST_HELP/N.txt"`` (the caller checks that every ``--option`` of the line is in it).
    """
    helps = [substitute(block, p) for p in block.args("help")]
    script, checks = [], []
    for line in shell_lines(prepared(block)):
        if any(line.startswith(p) for p in block.args("self")):
            script.append(f"echo {shlex.quote(f'doc-test: `{line}` is this test suite: not run inside it')}")
            continue
        prefix = next((p for p in helps if line.startswith(p)), None)
        if prefix is not None:
            name = f"{len(checks)}.txt"
            script.append(f'{prefix} --help > "$DOC_TEST_HELP/{name}"')
            checks.append((name, line))
            continue
        script.append(line)
    return "\n".join(script) + "\n", checks


def shell_lines(code: str) -> list[str]:
    """The commands of a shell block: backslash continuations joined, blank lines dropped."""
    joined = code.replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.strip()]


def _requirement(spec: str) -> tuple[str, set[str]]:
    """``"ray[rllib]>=2.40"`` -> ``("ray", {"rllib"})`` (names normalised, see :func:`_norm`)."""
    m = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\[([^\]]*)\])?", spec)
    if m is None:
        raise ValueError(f"pyproject.toml: cannot read the requirement {spec!r}")
    return _norm(m[1]), {_norm(e) for e in (m[2] or "").split(",") if e.strip()}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_of(extras: list[str]) -> dict[str, set[str]]:
    """Every requirement an install of ``edgesched[extras]`` lists: name -> the extras it asks for.

    Self-references (``edgesched[agents,sb3]`` inside ``dev``) are followed; the core
    dependencies are included.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = {_norm(k): v for k, v in project.get("optional-dependencies", {}).items()}
    own = _norm(project["name"])
    out: dict[str, set[str]] = {}
    todo, seen = [_norm(e) for e in extras], set()
    specs = list(project.get("dependencies", []))
    while specs or todo:
        if todo:
            extra = todo.pop()
            if extra in seen:
                continue
            if extra not in optional:
                raise ValueError(f"pyproject.toml has no extra {extra!r}; it has {sorted(optional)}")
            seen.add(extra)
            specs.extend(optional[extra])
            continue
        name, sub = _requirement(specs.pop())
        if name == own:
            todo.extend(sub)
        else:
            out.setdefault(name, set()).update(sub)
    return out


#: the environments ``make test`` runs the suite in: name -> (Makefile target that installs it,
#: the value of EDGESCHED_PINNED in that run)
ENVIRONMENTS = {"main": ("$(STAMP)", None), "pinned": ("$(PINNED_STAMP)", "1")}


def environment_requirements() -> dict[str, dict[str, set[str]]]:
    """For each Makefile environment, what its ``pip install -e ".[EXTRAS]"`` line installs."""
    out = {}
    for env, (target, _) in ENVIRONMENTS.items():
        extras = [m for r in makefile_recipe(target) for m in re.findall(r'-e\s+"?\.\[([\w,-]+)\]', r)]
        if not extras:
            raise ValueError(f'the Makefile\'s {target} recipe has no pip install -e ".[EXTRAS]" line')
        out[env] = requirements_of([e for x in extras for e in x.split(",")])
    return out


def provided(module: str, requirements: dict[str, set[str]]) -> bool:
    """Whether ``module`` comes with ``requirements``: ``pkg`` needs ``pkg``, ``pkg.sub`` ``pkg[sub]``."""
    top, _, sub = module.partition(".")
    if _norm(top) not in requirements:
        return False
    return not sub or _norm(sub.split(".")[0]) in requirements[_norm(top)]


def runs_in(block: Block, envs: dict[str, dict[str, set[str]]]) -> str | None:
    """The environment a block runs in: the first of ``envs`` providing all its ``requires``."""
    need = block.args("requires")
    return next((e for e, reqs in envs.items() if all(provided(m, reqs) for m in need)), None)


def options_of(line: str) -> list[str]:
    """The ``--options`` of one command line (before a ``#`` comment)."""
    return [w.split("=")[0] for w in shlex.split(line, comments=True) if w.startswith("--")]


def problems(blocks: list[Block]) -> list[str]:
    """Every block that is neither runnable nor explicitly classified, and every broken marker."""
    out = []
    for b in blocks:
        if b.kind == "unmarked":
            out.append(
                f"{b.id}: a ```{b.lang} fence without a doc-test marker: label it python/bash or "
                "put <!-- doc-test: text --> (or 'file NAME') on the line above it"
            )
        if b.kind in ("text", "file") and len(b.markers) != 1:
            out.append(f"{b.id}: a text/file block takes no other marker, has {b.markers}")
        for d in ("self", "help"):
            for prefix in b.args(d):
                if b.kind != "shell" or not any(line.startswith(prefix) for line in b.code.splitlines()):
                    out.append(f"{b.id}: '{d} {prefix}' matches no line of a shell block")
        try:
            if b.kind in ("python", "shell"):
                prepared(b)
        except ValueError as e:
            out.append(str(e))
    return out
