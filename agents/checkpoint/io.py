"""Saving and loading checkpoints: safetensors for the tensors, JSON for the rest, never pickle.

:func:`save_checkpoint` writes the directory that :mod:`.format` describes; :func:`load_checkpoint`
reads it back, running the checks of :mod:`.validate` before any tensor is parsed.

Saving is atomic: everything is written into a fresh temporary directory next to the target
(``.<name>.tmp-*``), flushed to disk, and renamed into place with :func:`os.replace`. An existing
checkpoint at the target is first renamed to a backup (``.<name>.old-*``), the new one renamed in,
then the backup deleted; if the second rename fails the backup is renamed back. An interrupted
save therefore leaves either the old or the new checkpoint at the target, never a mix (after a
crash in the split second between the two renames the old checkpoint survives as the
``.<name>.old-*`` backup, which the "not found" error then points to). A crashed save may leave a
``.<name>.tmp-*`` directory behind; it is never read and may be deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

from agents.checkpoint.errors import CheckpointCorruptedError
from agents.checkpoint.format import (
    _GROUP_RE,
    FORMAT,
    FORMAT_VERSION,
    META_FILE,
    _sha256,
    json_safe,
    package_version,
)
from agents.checkpoint.validate import (
    _check_dir,
    _check_expect,
    _check_group_file,
    _check_group_listed,
    _check_version,
    _read_doc,
)


# -------------------------------------------------------------------------------------------- save
def save_checkpoint(
    path: str | os.PathLike[str],
    tensors: Mapping[str, Mapping[str, torch.Tensor]],
    meta: Mapping[str, Any],
    created: str | None = None,
) -> Path:
    """Write a checkpoint directory at ``path`` atomically and return its path.

    Args:
        path: the checkpoint directory. Missing parents are created. An existing checkpoint
            (or empty directory) there is replaced atomically; any other existing path raises
            :class:`FileExistsError` (nothing is deleted).
        tensors: named tensor groups, e.g. ``{"model": model.state_dict(), "optimizer": flat}``;
            each becomes ``<name>.safetensors``. Names: letters, digits, ``_ . -``, not starting
            with ``.`` or ``-``. Tensors are detached, moved to the CPU and made contiguous;
            tensors sharing storage (tied weights) are stored as separate copies.
        meta: JSON metadata, stored as ``json_safe(meta)``.
        created: the ``created`` timestamp to record (default: now, ISO 8601 UTC); pass a fixed
            value for byte-identical checkpoints.

    Raises:
        TypeError / ValueError: bad group names, non-tensor values, non-JSON metadata.
        OSError: from the file system; the previous checkpoint at ``path`` is then intact.
    """
    target = Path(path)
    groups = _prepare_groups(tensors)
    if not isinstance(meta, Mapping):
        raise TypeError(f"save_checkpoint: meta must be a dict, got {type(meta).__name__}")
    meta_json = json_safe(dict(meta), _where="meta")
    if created is None:
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    elif not isinstance(created, str):
        raise TypeError(f"save_checkpoint: created must be a str (ISO time), got {type(created).__name__}")

    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise FileExistsError(f"save_checkpoint: {target} exists and is not a checkpoint directory")
        if not (target / META_FILE).is_file() and any(target.iterdir()):
            raise FileExistsError(
                f"save_checkpoint: {target} is a non-empty directory without {META_FILE}; refusing to "
                "replace it (choose a new path, or delete it)"
            )
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)

    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
    try:
        records: dict[str, dict[str, Any]] = {}
        for name, group in groups.items():
            file = tmp / f"{name}.safetensors"
            safetensors.torch.save_file(group, str(file), metadata={"format": "pt"})
            _fsync_file(file)
            records[name] = {"file": file.name, "bytes": file.stat().st_size, "sha256": _sha256(file)}
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "package_version": package_version(),
            "created": created,
            "tensors": records,
            "meta": meta_json,
        }
        meta_file = tmp / META_FILE
        with open(meta_file, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp)
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(parent)
    return target


def _prepare_groups(tensors: Mapping[str, Mapping[str, torch.Tensor]]) -> dict[str, dict[str, torch.Tensor]]:
    if not isinstance(tensors, Mapping):
        raise TypeError(
            f"save_checkpoint: tensors must be a dict of named tensor groups, e.g. {{'model': sd}}, "
            f"got {type(tensors).__name__}"
        )
    out: dict[str, dict[str, torch.Tensor]] = {}
    for name, group in tensors.items():
        if not isinstance(name, str) or not _GROUP_RE.match(name):
            raise ValueError(
                f"save_checkpoint: tensor group name {name!r} is not allowed (use letters, digits, "
                "'_', '.', '-', not starting with '.' or '-')"
            )
        if not isinstance(group, Mapping):
            raise TypeError(
                f"save_checkpoint: tensor group {name!r} must be a dict[str, Tensor], got "
                f"{type(group).__name__} (nested state: see flatten_state)"
            )
        seen: set[tuple[int, int]] = set()
        prepared: dict[str, torch.Tensor] = {}
        for key, t in group.items():
            if not isinstance(key, str):
                raise TypeError(f"save_checkpoint: key {key!r} of tensor group {name!r} is not a str")
            if not isinstance(t, torch.Tensor):
                raise TypeError(
                    f"save_checkpoint: {name}[{key!r}] is a {type(t).__name__}, not a torch.Tensor "
                    "(put non-tensor values into meta; nested state: see flatten_state)"
                )
            t = t.detach()
            if t.layout != torch.strided:
                raise TypeError(f"save_checkpoint: {name}[{key!r}] has layout {t.layout}; only dense tensors")
            t = t.to("cpu").contiguous()
            storage = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
            # safetensors refuses tensors sharing memory (tied weights, views): store copies
            shares = storage in seen or t.storage_offset() != 0 or t.nbytes != storage[1]
            if t.numel() and shares:
                t = t.clone()
            seen.add((t.untyped_storage().data_ptr(), t.untyped_storage().nbytes()))
            prepared[key] = t
        out[name] = prepared
    return out


def _swap_into_place(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.replace(tmp, target)
        return
    backup = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:12]}")
    os.replace(target, backup)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def _fsync_file(file: Path) -> None:
    fd = os.open(file, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -------------------------------------------------------------------------------------------- load
@dataclass
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        tensors: the loaded tensor groups (``{"model": {...}, ...}``), on the requested device.
        meta: the stored (``json_safe``) metadata.
        package_version: the edgesched version that wrote the checkpoint.
        path: the checkpoint directory.
        created: the recorded creation time.
        format_version: the format version of the checkpoint.
        groups: every tensor group the checkpoint holds (also those not loaded).
    """

    tensors: dict[str, dict[str, torch.Tensor]]
    meta: dict[str, Any]
    package_version: str
    path: Path
    created: str = ""
    format_version: int = FORMAT_VERSION
    groups: tuple[str, ...] = field(default=())


def load_checkpoint(
    path: str | os.PathLike[str],
    expect: Mapping[str, Any] | None = None,
    *,
    groups: Iterable[str] | None = None,
    strict_version: bool = False,
    device: str | torch.device = "cpu",
) -> Checkpoint:
    """Load and verify the checkpoint directory at ``path`` (no pickle anywhere).

    Args:
        path: the checkpoint directory (as given to :func:`save_checkpoint`).
        expect: values ``meta`` must hold, checked before any tensor is read: keys are top-level
            meta keys or dotted paths (``"env_config.max_pending"``); values are compared after
            :func:`json_safe`, dicts completely (a key on only one side is a difference too).
        groups: tensor groups to load (default: all); ``()`` reads the metadata only.
        strict_version: refuse (instead of warn about) a checkpoint written by another
            ``major.minor`` edgesched version.
        device: where to put the tensors (passed to :func:`safetensors.torch.load_file`).

    Raises:
        CheckpointNotFoundError, CheckpointCorruptedError, CheckpointMismatchError: see
        :mod:`agents.checkpoint.errors`.

    Warns:
        UserWarning: the checkpoint comes from another ``major.minor`` package version.
    """
    root = Path(path)
    meta_file = _check_dir(root)
    doc = _read_doc(meta_file)
    records: dict[str, dict[str, Any]] = doc["tensors"]
    meta: dict[str, Any] = doc["meta"]
    written_by: str = doc["package_version"]
    _check_version(written_by, meta_file, strict_version)

    if expect is not None:
        _check_expect(meta, expect, meta_file)

    wanted = list(records) if groups is None else list(dict.fromkeys(groups))
    loaded: dict[str, dict[str, torch.Tensor]] = {}
    for name in wanted:
        _check_group_listed(records, name, meta_file)
        loaded[name] = _load_group(root, name, records[name], device)
    return Checkpoint(
        tensors=loaded,
        meta=meta,
        package_version=written_by,
        path=root,
        created=doc["created"],
        format_version=doc["format_version"],
        groups=tuple(records),
    )


def _load_group(
    root: Path, name: str, rec: Mapping[str, Any], device: str | torch.device
) -> dict[str, torch.Tensor]:
    file = _check_group_file(root, name, rec)
    try:
        return safetensors.torch.load_file(str(file), device=str(device))
    except Exception as exc:  # safetensors raises SafetensorError and others on bad headers
        raise CheckpointCorruptedError(
            f"{file} could not be parsed as safetensors ({type(exc).__name__}: {exc}), although its size "
            "and sha256 match: the file was written damaged",
            file,
        ) from exc
