"""Every check that turns a missing, broken or unfitting checkpoint into a clear error.

Loading never unpickles anything: metadata is read with :mod:`json`, tensors with
:func:`safetensors.torch.load_file`. Before a tensor file is parsed its size and sha256 are checked
against ``checkpoint.json`` (:func:`_check_group_file`). Each failure raises one of the errors of
:mod:`.errors`, whose message names the file, what is wrong and what was expected.

Package-version policy
----------------------
The format is versioned separately (``format_version``): a checkpoint with a ``format_version``
this code does not know is rejected (:class:`CheckpointCorruptedError`). The edgesched version that
wrote a checkpoint is compared by ``major.minor``: a checkpoint from another ``major.minor`` loads
with a :class:`UserWarning` (model code or feature layouts may have changed; the ``expect`` check
and :func:`check_state_dict` catch the incompatibilities that matter), or is refused with
:class:`CheckpointMismatchError` under ``load_checkpoint(..., strict_version=True)``. Patch-version
differences are silent.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from agents.checkpoint.errors import (
    CheckpointCorruptedError,
    CheckpointMismatchError,
    CheckpointNotFoundError,
    _preview,
)
from agents.checkpoint.format import (
    FORMAT,
    FORMAT_VERSION,
    META_FILE,
    _join,
    _major_minor,
    _sha256,
    json_safe,
    package_version,
)

_MAX_REPORTED = 5


# ------------------------------------------------------------------------------------- the directory
def _check_dir(root: Path) -> Path:
    """``root``'s ``checkpoint.json``, or :class:`CheckpointNotFoundError` saying what ``root`` is."""
    meta_file = root / META_FILE
    if not root.is_dir():
        if root.is_file():
            raise CheckpointNotFoundError(
                f"checkpoint {root} is a file; a checkpoint is a directory holding {META_FILE} and "
                "<group>.safetensors files (pass the directory)",
                root,
            )
        raise CheckpointNotFoundError(f"checkpoint directory {root} does not exist{_backup_hint(root)}", root)
    if not meta_file.is_file():
        raise CheckpointNotFoundError(
            f"{meta_file} is missing: {root} is not a checkpoint directory (expected {META_FILE} and "
            "<group>.safetensors files written by save_checkpoint)",
            meta_file,
        )
    return meta_file


def _backup_hint(root: Path) -> str:
    try:
        backups = sorted(p for p in root.parent.glob(f".{root.name}.old-*") if (p / META_FILE).is_file())
    except OSError:
        backups = []
    if backups:
        return (
            f" (but {backups[-1]} holds the checkpoint an interrupted save moved aside: rename it to "
            f"{root.name})"
        )
    return ""


def _read_doc(meta_file: Path) -> dict[str, Any]:
    def bad(what: str) -> CheckpointCorruptedError:
        return CheckpointCorruptedError(f"{meta_file}: {what}", meta_file)

    try:
        text = meta_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise bad(
            f"is not UTF-8 text ({exc}); expected the JSON metadata written by save_checkpoint"
        ) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad(
            f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); expected the JSON "
            "metadata written by save_checkpoint"
        ) from exc
    if not isinstance(doc, dict):
        raise bad(f"holds a JSON {type(doc).__name__}, expected an object with a 'format' field")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise bad(f"has format {fmt!r}, expected {FORMAT!r} (not an edgesched checkpoint)")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise bad(f"has format_version {version!r}, expected a positive integer (this code reads 1)")
    if version > FORMAT_VERSION:
        raise bad(
            f"has format_version {version}, but this edgesched ({package_version()}) reads only "
            f"format_version <= {FORMAT_VERSION}: the checkpoint comes from a newer edgesched; upgrade"
        )
    for key, kind in (("package_version", str), ("created", str), ("tensors", dict), ("meta", dict)):
        if not isinstance(doc.get(key), kind):
            found = "missing" if key not in doc else f"a {type(doc[key]).__name__}"
            raise bad(f"field {key!r} is {found}, expected a JSON {'string' if kind is str else 'object'}")
    for name, rec in doc["tensors"].items():
        where = f"tensors[{name!r}]"
        if not isinstance(rec, dict):
            raise bad(f"{where} is a {type(rec).__name__}, expected an object with file, bytes, sha256")
        file, size, sha = rec.get("file"), rec.get("bytes"), rec.get("sha256")
        if not isinstance(file, str) or not file or Path(file).name != file or file in (".", ".."):
            raise bad(f"{where}.file is {file!r}, expected a file name inside the checkpoint directory")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise bad(f"{where}.bytes is {size!r}, expected a byte count")
        if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise bad(f"{where}.sha256 is {sha!r}, expected 64 lowercase hex digits")
    return doc


# ---------------------------------------------------------------------------------------- versions
def _check_version(written_by: str, meta_file: Path, strict_version: bool) -> None:
    """Warn about (or, ``strict_version``, refuse) a checkpoint of another ``major.minor``.

    The warning points at the caller of :func:`~agents.checkpoint.load_checkpoint`.
    """
    current = package_version()
    if _major_minor(written_by) != _major_minor(current):
        msg = (
            f"{meta_file}: checkpoint written by edgesched {written_by}, this is edgesched {current} "
            "(major.minor differs: model code or feature layouts may have changed)"
        )
        if strict_version:
            raise CheckpointMismatchError(msg + "; load with strict_version=False to try anyway", meta_file)
        warnings.warn(msg, UserWarning, stacklevel=3)


# ------------------------------------------------------------------------------------ tensor files
def _check_group_listed(records: Mapping[str, Any], name: str, meta_file: Path) -> None:
    """:class:`CheckpointNotFoundError` unless the checkpoint holds the tensor group ``name``."""
    if name not in records:
        raise CheckpointNotFoundError(
            f"{meta_file}: the checkpoint has no tensor group {name!r}; it has {_preview(list(records))}",
            meta_file,
        )


def _check_group_file(root: Path, name: str, rec: Mapping[str, Any]) -> Path:
    """The file of tensor group ``name``, once it exists and has the recorded size and sha256."""
    file = root / rec["file"]
    if not file.is_file():
        raise CheckpointNotFoundError(
            f"{file} is missing: {root / META_FILE} lists it for tensor group {name!r} "
            f"({rec['bytes']} bytes); the checkpoint is incomplete",
            file,
        )
    size = file.stat().st_size
    if size < rec["bytes"]:
        raise CheckpointCorruptedError(
            f"{file} is truncated: it has {size} bytes, {META_FILE} records {rec['bytes']}", file
        )
    if size > rec["bytes"]:
        raise CheckpointCorruptedError(
            f"{file} has {size} bytes, {META_FILE} records {rec['bytes']}: data was appended or the "
            "file replaced",
            file,
        )
    sha = _sha256(file)
    if sha != rec["sha256"]:
        raise CheckpointCorruptedError(
            f"{file} is corrupted: its sha256 is {sha}, {META_FILE} records {rec['sha256']} (same size: "
            "the file was modified or damaged)",
            file,
        )
    return file


# ---------------------------------------------------------------------------------------- checks
_MISSING = object()


def _check_expect(meta: Mapping[str, Any], expect: Mapping[str, Any], meta_file: Path) -> None:
    diffs: list[str] = []
    for key, want in expect.items():
        have = _lookup(meta, str(key))
        _diff(have, json_safe(want, _where=str(key)), str(key), diffs)
    if diffs:
        shown = "; ".join(diffs[:_MAX_REPORTED])
        more = f"; and {len(diffs) - _MAX_REPORTED} more" if len(diffs) > _MAX_REPORTED else ""
        raise CheckpointMismatchError(
            f"{meta_file}: the checkpoint does not match the expected configuration: {shown}{more}",
            meta_file,
        )


def _lookup(meta: Mapping[str, Any], key: str) -> Any:
    if key in meta:
        return meta[key]
    node: Any = meta
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _diff(have: Any, want: Any, where: str, out: list[str]) -> None:
    if isinstance(have, dict) and isinstance(want, dict):
        for k in want:
            _diff(have.get(k, _MISSING), want[k], _join(where, k), out)
        for k in have:
            if k not in want:
                _diff(have[k], _MISSING, _join(where, k), out)
        return
    if isinstance(have, list) and isinstance(want, list) and len(have) == len(want):
        for i, (h, w) in enumerate(zip(have, want)):
            _diff(h, w, f"{where}[{i}]", out)
        return
    if not _same(have, want):
        out.append(f"{where}: checkpoint has {_show(have)}, expected {_show(want)}")


def _same(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False  # containers of different kind or length (same ones are recursed into)
    return bool(a == b)


def _show(value: Any, limit: int = 80) -> str:
    if value is _MISSING:
        return "no such key"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_state_dict(
    expected: Mapping[str, Sequence[int] | torch.Size | torch.Tensor],
    loaded: Mapping[str, torch.Tensor],
    *,
    source: str | os.PathLike[str] | None = None,
) -> None:
    """Check that a loaded state dict fits a model before ``model.load_state_dict``.

    Args:
        expected: the model's keys with their shapes (tuples), or its ``state_dict()`` itself.
        loaded: the state dict from the checkpoint (e.g. ``ckpt.tensors["model"]``).
        source: the checkpoint (directory or file) named in the message.

    Raises:
        CheckpointMismatchError: listing the missing keys (in the model, not in the checkpoint),
        the unexpected keys (in the checkpoint, not in the model) and the shape mismatches
        (name, checkpoint shape, model shape).
    """
    want = {
        k: tuple(v.shape) if isinstance(v, torch.Tensor) else tuple(int(d) for d in v)
        for k, v in expected.items()
    }
    missing = [k for k in want if k not in loaded]
    unexpected = [k for k in loaded if k not in want]
    shapes = [
        f"{k}: checkpoint {tuple(loaded[k].shape)}, model {want[k]}"
        for k in want
        if k in loaded and tuple(loaded[k].shape) != want[k]
    ]
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f"missing keys (in the model, not in the checkpoint): {_preview(missing)}")
    if unexpected:
        parts.append(f"unexpected keys (in the checkpoint, not in the model): {_preview(unexpected)}")
    if shapes:
        more = f", ... ({len(shapes) - 10} more)" if len(shapes) > 10 else ""
        parts.append("shape mismatches: " + "; ".join(shapes[:10]) + more)
    where = f"state dict from {source}" if source is not None else "state dict"
    raise CheckpointMismatchError(
        f"{where} does not fit the model ({len(want)} tensors expected, {len(loaded)} loaded): "
        + "; ".join(parts),
        source,
    )
