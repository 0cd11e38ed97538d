"""The errors a checkpoint raises when it is missing, damaged or does not fit.

All are subclasses of :class:`CheckpointError` (a :class:`ValueError`); each message names the
file, what is wrong and what was expected (which check raises which: :mod:`.validate`):

- :class:`CheckpointNotFoundError` (also a :class:`FileNotFoundError`): the directory,
  ``checkpoint.json``, a tensor file listed in it or a requested tensor group is missing;
- :class:`CheckpointCorruptedError`: ``checkpoint.json`` is not valid JSON or lacks fields, wrong
  ``format``, unknown ``format_version``, a tensor file whose size ("truncated" when shorter) or
  sha256 differs from the recorded one, or that safetensors cannot parse;
- :class:`CheckpointMismatchError`: the checkpoint is intact but does not fit: ``expect`` values
  differ from ``meta`` (first few differing keys with both values), a state dict does not fit a
  model (:func:`~agents.checkpoint.check_state_dict`), or another package version under
  ``strict_version=True``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class CheckpointError(ValueError):
    """Base class of all checkpoint loading errors. ``path``: the file or directory concerned."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint directory, its ``checkpoint.json``, a listed tensor file or a group is missing."""


class CheckpointCorruptedError(CheckpointError):
    """A checkpoint file is damaged, truncated, modified or not in this format (version)."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint is intact but does not fit (configuration, state-dict shapes, version)."""


def _preview(items: Sequence[Any], limit: int = 10) -> str:
    """``items`` for a message: the first ``limit`` reprs, then how many more there are."""
    shown = ", ".join(repr(x) for x in items[:limit])
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return f"[{shown}{more}]"
