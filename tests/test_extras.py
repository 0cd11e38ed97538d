"""Every extra installs everything its modules import, and the docs name the extra the code does.

The checker reads ``pyproject.toml`` and, for each optional part of the package
(:data:`agents._optional.MODULE_EXTRAS`), parses its source with :mod:`ast`:

- the *roots* are the module's files (every file of a package, e.g. all of ``agents/hgat/``);
- every import in a root counts, at module level or inside a function (a function of the module
  is a feature of it); imports of the package's own modules are followed into those modules'
  module-level imports (what importing them executes), transitively, parent packages included;
- ``require("mod", "extra", ...)`` / ``require_extra("extra", ...)`` calls count as imports of
  ``mod`` / every module of :data:`~agents._optional.EXTRA_MODULES` ``[extra]``;
- an import inside ``try: ... except ImportError`` (or ``Exception``) is an optional one (the code
  goes on without it); an ``if TYPE_CHECKING:`` import is not a run-time one.

Rules, for a module whose extra is ``E``: a plain import is a base dependency or in ``E``; a
``require`` call names an extra that has it (and, when it runs on import, ``E`` has it too); an
optional import is in some extra. Import names map to distributions through
``importlib.metadata.packages_distributions()`` and :data:`DISTRIBUTIONS` (names compared per
PEP 503).
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomllib

from agents import _optional

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
OWN = frozenset({"agents", "edgesched_env"})

#: import name -> distribution, for the libraries that are not installed everywhere (the pinned
#: environment's ray/benchmarl, ortools on a base install) and those whose names differ.
DISTRIBUTIONS: dict[str, str] = {
    "torch": "torch",
    "torch_geometric": "torch-geometric",
    "safetensors": "safetensors",
    "stable_baselines3": "stable-baselines3",
    "sb3_contrib": "sb3-contrib",
    "tensordict": "tensordict",
    "torchrl": "torchrl",
    "benchmarl": "benchmarl",
    "ray": "ray",
    "matplotlib": "matplotlib",
    "ortools": "ortools",
    "tensorboard": "tensorboard",
    "yaml": "pyyaml",
}


def normalise(name: str) -> str:
    """PEP 503 name: ``Torch_Geometric`` -> ``torch-geometric``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _installed() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distribution_of(top: str) -> str:
    """The (normalised) distribution that installs the top-level import ``top``."""
    if top in DISTRIBUTIONS:
        return normalise(DISTRIBUTIONS[top])
    found = _installed().get(top, [])
    if len(found) != 1:
        raise AssertionError(
            f"import {top!r}: no single distribution installs it here ({found}); "
            f"add it to DISTRIBUTIONS in {Path(__file__).name}"
        )
    return normalise(found[0])


_REQ_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def extra_requirements(project: dict[str, Any]) -> dict[str, set[str]]:
    """Each extra of ``[project.optional-dependencies]`` -> the normalised distributions it
    installs (``edgesched[a,b]`` self-references expanded, ``ray[rllib]`` -> ``ray``)."""
    raw: dict[str, list[str]] = project["optional-dependencies"]
    own = normalise(project["name"])

    def expand(extra: str, seen: frozenset[str]) -> set[str]:
        out: set[str] = set()
        for req in raw[extra]:
            m = _REQ_NAME.match(req)
            assert m is not None, f"pyproject.toml: unreadable requirement {req!r} in [{extra}]"
            name, extras = normalise(m.group(1)), m.group(2)
            if name == own:
                for sub in (e.strip() for e in (extras or "").split(",")):
                    if sub and sub not in seen:
                        out |= expand(sub, seen | {sub})
            else:
                out.add(name)
        return out

    return {extra: expand(extra, frozenset({extra})) for extra in raw}


def base_requirements(project: dict[str, Any]) -> set[str]:
    """The normalised distributions of ``[project].dependencies``."""
    out = set()
    for req in project["dependencies"]:
        m = _REQ_NAME.match(req)
        assert m is not None, f"pyproject.toml: unreadable dependency {req!r}"
        out.add(normalise(m.group(1)))
    return out


# ---------------------------------------------------------------------------------------------
# the imports of a module


@dataclass(frozen=True)
class Use:
    """One import of a module (``top``: its top-level name)."""

    path: Path
    line: int
    name: str  # the full dotted name imported ("torch.nn", "agents.hgat.io")
    extra: str | None  # the extra a require()/require_extra() call names; None: a plain import
    optional: bool  # inside try/except ImportError: the code goes on without it
    toplevel: bool  # runs when the module is imported (not inside a function)

    @property
    def top(self) -> str:
        return self.name.split(".")[0]


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(t, ast.Name) and t.id in names for t in types)


def _string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments (``_EXTRA = "sb3"``)."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            if isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        out[target.id] = node.value.value
    return out


def _package_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1])  # agents/hgat/io.py and agents/hgat/__init__.py: agents.hgat


class _Collector(ast.NodeVisitor):
    def __init__(self, path: Path, tree: ast.Module) -> None:
        self.path = path
        self.consts = _string_constants(tree)
        self.uses: list[Use] = []
        self._optional = 0
        self._depth = 0  # function nesting

    def _add(self, node: ast.AST, name: str, extra: str | None = None) -> None:
        line = getattr(node, "lineno", 0)
        self.uses.append(Use(self.path, line, name, extra, self._optional > 0, self._depth == 0))

    def _text(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return self.consts.get(node.id)
        return None

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Try(self, node: ast.Try) -> None:
        guarded = any(_catches_import_error(h) for h in node.handlers)
        self._optional += guarded
        for stmt in node.body:
            self.visit(stmt)
        self._optional -= guarded
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            for stmt in node.orelse:
                self.visit(stmt)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:  # relative: from the file's package
            pkg = _package_of(self.path).split(".")
            pkg = pkg[: len(pkg) - node.level + 1]
            base = ".".join([*pkg, node.module] if node.module else pkg)
        else:
            base = node.module or ""
        if base == "__future__":
            return
        self._add(node, base)
        if base.split(".")[0] in OWN:  # `from agents.hgat import graph`: maybe a submodule
            for alias in node.names:
                self._add(node, f"{base}.{alias.name}")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        args = [self._text(a) for a in node.args]
        if name == "require" and len(args) >= 2 and args[0] and args[1]:
            self._add(node, args[0], extra=args[1])
        elif name == "require_extra" and args and args[0] in _optional.EXTRA_MODULES:
            for module in _optional.EXTRA_MODULES[args[0]]:
                self._add(node, module, extra=args[0])
        self.generic_visit(node)


@functools.cache
def uses_of(path: Path) -> list[Use]:
    """Every import, ``require`` and ``require_extra`` of one source file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    collector = _Collector(path, tree)
    collector.visit(tree)
    return collector.uses


def module_path(name: str) -> Path | None:
    """The file of the package's own module ``name`` (``None``: not a module, e.g. a class)."""
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def root_files(module: str) -> list[Path]:
    """The files of ``module``: one ``.py``, or every file of a package."""
    path = module_path(module)
    assert path is not None, f"MODULE_EXTRAS names {module!r}, which is no module of the package"
    return sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]


def _with_parents(name: str) -> Iterator[Path]:
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        path = module_path(".".join(parts[:i]))
        if path is not None:
            yield path


def closure(module: str) -> list[Use]:
    """The third-party uses of ``module``'s files and of the own modules they import (only the
    module-level imports of the latter: what importing them runs). Optional own imports are not
    followed; a use found in a followed module counts as one at module level."""
    roots = root_files(module)
    out: list[Use] = []
    seen: set[Path] = set()
    todo: list[tuple[Path, bool]] = [(p, True) for p in roots]
    while todo:
        path, is_root = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for use in uses_of(path):
            if not is_root and not use.toplevel:
                continue  # a function of a module imported along: not run by this feature
            if use.top in OWN:
                if not use.optional and use.extra is None:
                    todo += [(p, p in roots) for p in _with_parents(use.name)]
                continue
            if use.top in sys.stdlib_module_names:
                continue
            out.append(use if is_root else Use(use.path, use.line, use.name, use.extra, use.optional, True))
    return out


def extra_for(module: str, module_extras: dict[str, str]) -> str:
    return module_extras[module]


def check_extras(
    project: dict[str, Any], module_extras: dict[str, str] = _optional.MODULE_EXTRAS
) -> list[str]:
    """The problems found: one line per third-party import an extra lacks (empty: all good)."""
    extras = extra_requirements(project)
    base = base_requirements(project)
    problems: list[str] = []
    for module, extra in module_extras.items():
        if extra not in extras:
            problems.append(f"{module}: MODULE_EXTRAS names [{extra}], which pyproject.toml lacks")
            continue
        for use in closure(module):
            dist = distribution_of(use.top)
            where = f"{use.path.relative_to(ROOT)}:{use.line}"
            if use.optional:
                if dist not in base and not any(dist in reqs for reqs in extras.values()):
                    problems.append(f"{module} [{extra}]: {dist} (optional, {where}) is in no extra")
                continue
            need = {extra} if use.extra is None else {use.extra} | ({extra} if use.toplevel else set())
            for name in sorted(need):
                if name not in extras:
                    problems.append(f"{module}: {where} names [{name}], which pyproject.toml lacks")
                elif dist not in base and dist not in extras[name]:
                    problems.append(f"{module} [{name}]: {dist} is missing (imported at {where})")
    return sorted(set(problems))


def read_pyproject() -> dict[str, Any]:
    with PYPROJECT.open("rb") as fh:
        return tomllib.load(fh)["project"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# pyproject.toml and _optional.py


def test_every_extra_installs_everything_its_modules_import():
    assert check_extras(read_pyproject()) == []


def test_the_checker_finds_a_package_missing_from_an_extra():
    project = read_pyproject()
    sb3 = project["optional-dependencies"]["sb3"]
    mutated = [r for r in sb3 if normalise(_REQ_NAME.match(r).group(1)) != "safetensors"]  # type: ignore[union-attr]
    assert len(mutated) == len(sb3) - 1, "the test expects safetensors in [sb3]"
    project["optional-dependencies"]["sb3"] = mutated
    problems = check_extras(project)
    assert problems, "removing safetensors from [sb3] went unnoticed"
    assert {p.split(":")[0] for p in problems} == {"agents.integrations.sb3 [sb3]"}, problems
    assert all("safetensors is missing" in p for p in problems), problems


def test_the_checker_follows_imports_inside_functions():
    # sb3.save imports agents.checkpoint inside the function: its safetensors counts for [sb3]
    uses = closure("agents.integrations.sb3")
    hits = [u for u in uses if u.top == "safetensors" and u.extra is None]
    assert any(u.path.parent.name == "checkpoint" for u in hits), hits
    # the whole hgat package, not its __init__ alone
    files = {u.path.name for u in closure("agents.hgat")}
    assert {"graph.py", "model.py", "policy.py", "scheduler.py"} <= files


def test_module_extras_cover_every_optional_module():
    integrations = {p.stem for p in (ROOT / "agents" / "integrations").glob("*.py")} - {"__init__"}
    expected = {f"agents.integrations.{m}" for m in integrations}
    expected |= {"agents.hgat", "agents.checkpoint", "agents.mappo", "agents.plots"}
    expected |= {"agents.baselines.oracle_plan"}
    assert set(_optional.MODULE_EXTRAS) == expected


def test_extra_modules_agree_with_pyproject():
    extras = extra_requirements(read_pyproject())
    assert set(_optional.EXTRAS) == set(extras), "EXTRAS and pyproject.toml list different extras"
    assert set(_optional.EXTRA_MODULES) == set(extras) - {"dev"}
    for extra, modules in _optional.EXTRA_MODULES.items():
        assert {distribution_of(m.split(".")[0]) for m in modules} == extras[extra], extra
    # each module's extra is the smallest one with it (what an error names)
    for module, extra in _optional.MODULE_EXTRAS.items():
        assert extra in _optional.EXTRA_MODULES, module


def test_dev_is_every_extra_but_those_its_text_leaves_out():
    extras = extra_requirements(read_pyproject())
    text = _optional.EXTRAS["dev"]
    left_out = {e for e in _optional.EXTRAS if e != "dev" and re.search(rf"\b{e}\b", text)}
    inside = {e for e in _optional.EXTRAS if e not in left_out | {"dev"}}
    for extra in inside:
        assert extras[extra] <= extras["dev"], f"[dev] lacks part of [{extra}]"


# ---------------------------------------------------------------------------------------------
# the docs name the same extras

_EXTRA_REF = re.compile(r"edgesched\[([a-z0-9_,-]+)\]")


def _module_refs(text: str) -> set[str]:
    """The MODULE_EXTRAS modules ``text`` names (``agents.integrations.sb3`` or a path)."""
    found = set()
    for module in _optional.MODULE_EXTRAS:
        path = module.replace(".", "/")
        if re.search(rf"{re.escape(module)}\b|{re.escape(path)}(\.py|/)", text):
            found.add(module)
    return found


def doc_claims(text: str) -> list[tuple[str, str, str]]:
    """``(module, extra, paragraph start)`` for each paragraph that names one module and one
    extra (``edgesched[X]``); a paragraph naming no module takes its section heading's."""
    claims = []
    heading_modules: set[str] = set()
    for para in re.split(r"\n\s*\n", text):
        if para.lstrip().startswith("#"):
            heading_modules = _module_refs(para.splitlines()[0])
            para = "\n".join(para.splitlines()[1:])
        refs = {e for group in _EXTRA_REF.findall(para) for e in group.split(",")}
        modules = _module_refs(para) or heading_modules
        if len(refs) == 1 and len(modules) == 1:
            claims.append((next(iter(modules)), next(iter(refs)), para.strip()[:60]))
    return claims


def test_doc_claims_reads_paragraphs_and_headings():
    text = "### sb3 (`agents.integrations.sb3`)\n\nNeeds `pip install 'edgesched[sb3]'`.\n"
    assert doc_claims(text) == [("agents.integrations.sb3", "sb3", "Needs `pip install 'edgesched[sb3]'`.")]
    assert doc_claims("`agents/baselines/oracle_plan.py` needs 'edgesched[viz]'") == [
        ("agents.baselines.oracle_plan", "viz", "`agents/baselines/oracle_plan.py` needs 'edgesched[viz]'")
    ]


def test_the_docs_name_each_modules_extra():
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named: set[str] = set()
    for path in docs:
        for module, extra, where in doc_claims(path.read_text()):
            assert extra == _optional.MODULE_EXTRAS[module], (
                f"{path.name} ({where!r}...) names [{extra}] for {module}; "
                f"the code's is [{_optional.MODULE_EXTRAS[module]}]"
            )
            named.add(module)
    integrations = {m for m in _optional.MODULE_EXTRAS if m.startswith("agents.integrations.")}
    missing = integrations - {m for m, _e, _w in doc_claims((ROOT / "docs" / "integrations.md").read_text())}
    assert not missing, f"docs/integrations.md names no extra for {sorted(missing)}"


def readme_extras_table() -> dict[str, str]:
    """The README's table of extras: first cell (`base`, `[agents]`, ...) -> second cell."""
    text = (ROOT / "README.md").read_text()
    start = text.index("<!-- extras:begin -->")
    end = text.index("<!-- extras:end -->")
    rows = {}
    for line in text[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0] and not set(cells[0]) <= set("-: ") and cells[0] != "extra":
            rows[cells[0].strip("`").strip("[]")] = cells[1]
    return rows


def test_the_readme_extras_table_is_the_code_s():
    rows = readme_extras_table()
    assert set(rows) == {"base", *_optional.EXTRAS}, sorted(rows)
    for extra, text in _optional.EXTRAS.items():
        assert rows[extra] == text, f"README's [{extra}] row differs from agents._optional.EXTRAS"


def test_the_readme_install_section_carries_the_torch_pin_and_its_own_env_note():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Install") : text.index("## Quickstart")]
    assert "pip install -e ." in section
    assert 'pip install "torch==2.13.0" -e ".[agents]"' in section
    assert "rllib" in section and "benchmarl" in section and "own" in section


@pytest.mark.parametrize("name", ["agent", "sb", "vis"])
def test_an_unknown_extra_lists_the_closest(name):
    with pytest.raises(ValueError, match="did you mean") as info:
        _optional.install_hint(name)
    assert "unknown extra" in str(info.value)
