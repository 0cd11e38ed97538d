"""Every dotted reference to the packages in docstrings and docs resolves (no stale module names)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: ``:mod:`x.y```, ``:func:`~x.y```, ... and plain ````x.y```` / ```x.y``` spans naming our packages
REFERENCE = re.compile(r"`{1,2}~?((?:edgesched_env|agents)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(\))?`")
SOURCES = sorted(
    [
        *ROOT.glob("edgesched_env/**/*.py"),
        *ROOT.glob("agents/**/*.py"),
        *ROOT.glob("docs/*.md"),
        ROOT / "README.md",
    ]
)


def _has_source(module: str) -> bool:
    return (ROOT / f"{module.replace('.', '/')}.py").exists()


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        module = ".".join(parts[:i])
        try:
            obj = importlib.import_module(module)
        except ImportError:  # an integration whose optional library is missing still has its file
            if i == len(parts) and _has_source(module):
                return True
            continue
        for name in parts[i:]:
            if not hasattr(obj, name):
                # a dataclass field or an instance attribute set in __init__ is documented too
                annotations = getattr(obj, "__annotations__", {})
                fields = getattr(obj, "__dataclass_fields__", {})
                return name in annotations or name in fields
            obj = getattr(obj, name)
        return True
    return False


def references() -> list[tuple[str, str]]:
    found = []
    for path in SOURCES:
        for ref in REFERENCE.findall(path.read_text(encoding="utf-8")):
            found.append((str(path.relative_to(ROOT)), ref))
    return sorted(set(found))


def test_there_are_references_to_check() -> None:
    assert len(references()) > 50


@pytest.mark.parametrize("where, ref", references())
def test_reference_resolves(where: str, ref: str) -> None:
    pytest.importorskip("torch")  # agents.hgat needs it
    assert _resolves(ref), f"{where}: {ref} names nothing that exists"
