"""Pickle-free checkpoints of learned agents (weights, optimizer state, configuration, train state).

A checkpoint is a directory: ``checkpoint.json`` (metadata, with the size and sha256 of every
tensor file) plus one ``<group>.safetensors`` file per tensor group. Nothing is ever unpickled.
The package, one concern per module:

- :mod:`.format`: what a checkpoint directory holds, the format constants and version, how
  metadata is made JSON (:func:`json_safe`) and nested state split into tensors and a skeleton
  (:func:`flatten_state` / :func:`unflatten_state`);
- :mod:`.validate`: every check that turns a missing, broken or unfitting checkpoint into a clear
  error (sizes and hashes, the metadata, versions, ``expect``, :func:`check_state_dict`);
- :mod:`.errors`: those errors, all subclasses of :class:`CheckpointError`;
- :mod:`.io`: :func:`save_checkpoint` (atomic) and :func:`load_checkpoint` (safetensors + JSON);
- :mod:`.locate`: the checkpoint a path names (:func:`resolve_checkpoint_dir`: a checkpoint or a
  training run directory). The shipped checkpoints are listed by :mod:`agents.pretrained`.

Example::

    save_checkpoint(
        "runs/a/ckpt",
        {"model": model.state_dict(), "optimizer": opt_tensors},
        {"model_config": cfg, "env_config": env.config, "optimizer": opt_skeleton, "step": 1000},
    )
    ckpt = load_checkpoint("runs/a/ckpt", expect={"env_config": env.config})
    check_state_dict(model.state_dict(), ckpt.tensors["model"], source=ckpt.path)
    model.load_state_dict(ckpt.tensors["model"])
"""

from __future__ import annotations

from agents._optional import require_extra

require_extra("agents", "agents.checkpoint")

from agents.checkpoint.errors import (  # noqa: E402
    CheckpointCorruptedError,
    CheckpointError,
    CheckpointMismatchError,
    CheckpointNotFoundError,
)
from agents.checkpoint.format import (  # noqa: E402
    FORMAT,
    FORMAT_VERSION,
    META_FILE,
    flatten_state,
    json_safe,
    package_version,
    unflatten_state,
)
from agents.checkpoint.io import Checkpoint, load_checkpoint, save_checkpoint  # noqa: E402
from agents.checkpoint.locate import RUN_CHECKPOINTS as RUN_CHECKPOINTS  # noqa: E402
from agents.checkpoint.locate import resolve_checkpoint_dir  # noqa: E402
from agents.checkpoint.validate import check_state_dict  # noqa: E402

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "META_FILE",
    "Checkpoint",
    "CheckpointCorruptedError",
    "CheckpointError",
    "CheckpointMismatchError",
    "CheckpointNotFoundError",
    "check_state_dict",
    "flatten_state",
    "json_safe",
    "load_checkpoint",
    "package_version",
    "resolve_checkpoint_dir",
    "save_checkpoint",
    "unflatten_state",
]
