"""Closest valid names for an unknown one: the hint every "unknown NAME" error carries.

>>> did_you_mean("edge-ml-smal", ["edge-ml-small", "tapfinger-synthetic"])
"; did you mean 'edge-ml-small'?"
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean", "unknown_name_error"]


def did_you_mean(name: object, valid: Iterable[object]) -> str:
    """``"; did you mean 'a', 'b'?"`` naming up to three close valid names, or ``""``."""
    choices = [str(v) for v in valid]
    close = difflib.get_close_matches(str(name), choices, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def unknown_name_error(kind: str, names: object, valid: Iterable[object]) -> ValueError:
    """``ValueError("unknown KIND 'x'; did you mean 'y'? (KIND choices: ...)")``.

    ``names``: one name, or a list of them (each gets its own closest names).
    """
    choices = sorted(str(v) for v in valid)
    many = isinstance(names, (list, tuple, set, frozenset))
    items = sorted(str(n) for n in names) if many else [str(names)]  # type: ignore[attr-defined]
    hints = "".join(
        did_you_mean(n, choices).replace("; did you mean", f"; for {n!r}: did you mean")
        if many
        else did_you_mean(n, choices)
        for n in items
    )
    shown = items if many else repr(items[0])
    return ValueError(f"unknown {kind} {shown}{hints} (valid: {', '.join(choices)})")
