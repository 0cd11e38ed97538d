"""Where a checkpoint is found: a checkpoint directory itself, or a training run's ``best/``/``last/``.

The shipped (pretrained) checkpoints, one per preset, are found by name through
:mod:`agents.pretrained` (``checkpoint_path(preset)``), which needs no torch to list them.
"""

from __future__ import annotations

import os
from pathlib import Path

from agents.checkpoint.errors import CheckpointNotFoundError, _preview
from agents.checkpoint.format import META_FILE
from agents.checkpoint.validate import _check_dir

RUN_CHECKPOINTS = ("best", "last")
"""The checkpoint directories that ``edgesched train --out RUN`` writes in ``RUN``, preferred first."""


def resolve_checkpoint_dir(path: str | os.PathLike[str]) -> tuple[Path, Path | None]:
    """The checkpoint directory that ``path`` names: itself, or ``path/best`` for a training run.

    ``path`` may be a checkpoint directory (it holds ``checkpoint.json``) or the run directory
    that ``edgesched train --out RUN`` wrote (it holds ``best/`` and ``last/``; ``best/`` is
    taken, or ``last/`` when a run has no ``best/`` yet).

    Returns:
        ``(checkpoint_dir, run_dir)``; ``run_dir`` is the training run directory the checkpoint
        belongs to (``path`` itself, or the parent of a ``best``/``last`` checkpoint next to a
        ``train_config.json``), else ``None``.

    Raises:
        CheckpointNotFoundError: ``path`` does not exist, is a file, or is a directory that is
            neither (the message lists what each would hold).
    """
    root = Path(path)
    if (root / META_FILE).is_file():
        parent = root.parent
        is_run = root.name in RUN_CHECKPOINTS and (parent / "train_config.json").is_file()
        return root, (parent if is_run else None)
    if not root.is_dir():
        # the loader's messages: "is a file" / "does not exist" (with a moved-aside backup hint)
        _check_dir(root)
        raise CheckpointNotFoundError(f"checkpoint directory {root} does not exist", root)  # not reached
    for name in RUN_CHECKPOINTS:
        if (root / name / META_FILE).is_file():
            return root / name, root
    try:
        found = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    except OSError:
        found = []
    raise CheckpointNotFoundError(
        f"{root} is neither a checkpoint directory (expected {root / META_FILE}) nor a training run "
        f"directory written by `edgesched train --out {root}` (expected {root / 'best' / META_FILE} "
        f"or {root / 'last' / META_FILE}); it holds {_preview(found) if found else 'nothing'}",
        root,
    )
