"""Pretrained HGAT agents shipped with the package, one per preset, loaded by name.

Each ``agents/pretrained/<preset>/`` holds a checkpoint (``checkpoint.json`` +
``model.safetensors``, see :mod:`agents.checkpoint`; nothing is unpickled) and ``card.json``:
how it was trained (command, seed, rounds, wall time). ``scripts/train_pretrained.py``
regenerates them and their model cards (``docs/models/<preset>.md``).

>>> from agents.pretrained import available          # doctest: +SKIP
>>> available()                                     # doctest: +SKIP
['edge-ml-small', 'tapfinger-hetero6', 'tapfinger-sjf', 'tapfinger-synthetic', 'tapfinger-synthetic6']

In the bench the bare names ``hgat``, ``hgat-greedy`` and ``hgat-sample`` take the bound env's
preset's checkpoint (``edgesched bench --preset tapfinger-hetero6 --schedulers all,hgat``); in
code, ``HGATScheduler.pretrained("tapfinger-hetero6")``.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

__all__ = ["PretrainedNotFoundError", "available", "card", "checkpoint_path"]


class PretrainedNotFoundError(KeyError):
    """No checkpoint is shipped for the requested preset (the message lists those that are)."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def _root() -> Path:
    root = files(__name__)
    if not isinstance(root, Path):  # pragma: no cover - only for zipped installs
        raise RuntimeError("agents.pretrained must be installed as files, not inside an archive")
    return root


def available() -> list[str]:
    """The presets with a shipped checkpoint, sorted."""
    return sorted(p.name for p in _root().iterdir() if (p / "checkpoint.json").is_file())


def checkpoint_path(preset: str) -> Path:
    """The directory of ``preset``'s shipped checkpoint.

    Raises:
        PretrainedNotFoundError: none is shipped for ``preset``.
    """
    path = _root() / preset
    if not isinstance(preset, str) or "/" in preset or not (path / "checkpoint.json").is_file():
        raise PretrainedNotFoundError(
            f"no pretrained HGAT agent for preset {preset!r}; shipped: {', '.join(available()) or 'none'}"
        )
    return path


def card(preset: str) -> dict[str, Any]:
    """How ``preset``'s checkpoint was trained (``card.json``: command, seed, rounds, wall time)."""
    return dict(json.loads((checkpoint_path(preset) / "card.json").read_text()))
