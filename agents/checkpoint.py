"""Pickle-free checkpoints of learned agents (weights, optimizer state, configuration, train state).

Format
------
A checkpoint is a **directory**::

    run/ckpt/
        checkpoint.json          metadata (always)
        model.safetensors        the model weights (by convention: tensor group "model")
        optimizer.safetensors    optional further tensor groups, one file each
        ...

Each *tensor group* is a flat ``dict[str, torch.Tensor]`` written with
:func:`safetensors.torch.save_file` to ``<group>.safetensors``. ``checkpoint.json`` holds::

    {
      "format": "edgesched-checkpoint",
      "format_version": 1,
      "package_version": "0.2.0",          # edgesched version that wrote it
      "created": "2025-01-01T00:00:00+00:00",
      "tensors": {"model": {"file": "model.safetensors", "bytes": 1234, "sha256": "..."}, ...},
      "meta": {...}                         # the caller's JSON metadata, see json_safe()
    }

``meta`` is free-form JSON: model configuration, the environment configuration, the observation
feature layout, train state (step counters, seeds), ... . :func:`save_checkpoint` passes it
through :func:`json_safe`, so dataclasses (e.g. an ``EnvConfig``), tuples, numpy scalars and
arrays, slices and paths may be given directly; what is stored (and loaded back) is
``json_safe(meta)``. Nested non-tensor state with tensors inside (e.g. ``optimizer.state_dict()``)
is split by :func:`flatten_state` into a tensor group plus a JSON skeleton for ``meta`` and put
back together by :func:`unflatten_state`.

Loading never unpickles anything: metadata is read with :mod:`json`, tensors with
:func:`safetensors.torch.load_file`. Before a tensor file is parsed its size and sha256 are checked
against ``checkpoint.json``.

Saving is atomic: everything is written into a fresh temporary directory next to the target
(``.<name>.tmp-*``), flushed to disk, and renamed into place with :func:`os.replace`. An existing
checkpoint at the target is first renamed to a backup (``.<name>.old-*``), the new one renamed in,
then the backup deleted; if the second rename fails the backup is renamed back. An interrupted
save therefore leaves either the old or the new checkpoint at the target, never a mix (after a
crash in the split second between the two renames the old checkpoint survives as the
``.<name>.old-*`` backup, which the "not found" error then points to). A crashed save may leave a
``.<name>.tmp-*`` directory behind; it is never read and may be deleted.

Package-version policy
----------------------
The format is versioned separately (``format_version``): a checkpoint with a ``format_version``
this code does not know is rejected (:class:`CheckpointCorruptedError`). The edgesched version that
wrote a checkpoint is compared by ``major.minor``: a checkpoint from another ``major.minor`` loads
with a :class:`UserWarning` (model code or feature layouts may have changed; the ``expect`` check
and :func:`check_state_dict` catch the incompatibilities that matter), or is refused with
:class:`CheckpointMismatchError` under ``load_checkpoint(..., strict_version=True)``. Patch-version
differences are silent.

Errors
------
All errors raised when loading are subclasses of :class:`CheckpointError` (a :class:`ValueError`);
each message names the file, what is wrong and what was expected:

- :class:`CheckpointNotFoundError` (also a :class:`FileNotFoundError`): the directory,
  ``checkpoint.json``, a tensor file listed in it or a requested tensor group is missing;
- :class:`CheckpointCorruptedError`: ``checkpoint.json`` is not valid JSON or lacks fields, wrong
  ``format``, unknown ``format_version``, a tensor file whose size ("truncated" when shorter) or
  sha256 differs from the recorded one, or that safetensors cannot parse;
- :class:`CheckpointMismatchError`: the checkpoint is intact but does not fit: ``expect`` values
  differ from ``meta`` (first few differing keys with both values), a state dict does not fit a
  model (:func:`check_state_dict`), or another package version under ``strict_version=True``.

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

import dataclasses
import enum
import hashlib
import importlib.metadata
import json
import math
import os
import re
import shutil
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from agents._optional import require_extra

require_extra("agents", "agents.checkpoint")

import safetensors  # noqa: E402
import safetensors.torch  # noqa: E402
import torch  # noqa: E402

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

FORMAT = "edgesched-checkpoint"
"""Value of the ``format`` field of ``checkpoint.json``."""
FORMAT_VERSION = 1
"""The ``format_version`` this code writes (and the newest it reads)."""
META_FILE = "checkpoint.json"
"""Name of the metadata file inside a checkpoint directory."""

_GROUP_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_MAX_REPORTED = 5
_CHUNK = 1 << 20


# --------------------------------------------------------------------------------------------- errors
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


# ---------------------------------------------------------------------------------------- json_safe
def json_safe(obj: Any, *, _where: str = "") -> Any:
    """Convert ``obj`` into JSON-native values (dict, list, str, int, float, bool, None).

    - dataclass instances -> ``{field name: value}`` over all fields (recursively);
    - mappings -> ``dict``; keys that are ``str``/``int``/``float``/``bool``/``None`` (or numpy
      scalars of those) become strings as :func:`json.dumps` would write them; other keys raise;
    - tuples, lists, sets (sorted), numpy arrays -> ``list``;
    - numpy scalars -> Python scalars; enums -> their value; paths -> ``str`` (POSIX form);
    - ``slice(a, b)`` -> ``[a, b]`` (``[a, b, step]`` when the step is neither ``None`` nor 1).

    The result equals ``json.loads(json.dumps(result))``, so ``json_safe(x)`` computed now compares
    exactly (``==``) with what a checkpoint stored for an equal ``x``. Tensors and other objects
    raise :class:`TypeError` naming where they sit (put tensors into a tensor group instead).
    """
    here = _where or "<root>"
    if isinstance(obj, enum.Enum):
        return json_safe(obj.value, _where=_where)
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, np.generic):
        if isinstance(obj, (np.bool_, np.integer, np.floating)):
            return obj.item()
        if isinstance(obj, np.str_):
            return str(obj)
        raise TypeError(f"json_safe: numpy scalar of dtype {obj.dtype} at {here} has no JSON form")
    if isinstance(obj, PurePath):
        return obj.as_posix()
    if isinstance(obj, slice):
        out = [json_safe(obj.start, _where=f"{_where}.start"), json_safe(obj.stop, _where=f"{_where}.stop")]
        if obj.step is not None and obj.step != 1:
            out.append(json_safe(obj.step, _where=f"{_where}.step"))
        return out
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: json_safe(getattr(obj, f.name), _where=_join(_where, f.name))
            for f in dataclasses.fields(obj)
        }
    if isinstance(obj, Mapping):
        return {_json_key(k, here): json_safe(v, _where=_join(_where, str(k))) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"json_safe: numpy array of dtype {obj.dtype} at {here} has no JSON form")
        return obj.tolist()
    if isinstance(obj, torch.Tensor):
        raise TypeError(
            f"json_safe: torch.Tensor at {here}: tensors do not belong in JSON metadata; put them into "
            "a tensor group (see flatten_state)"
        )
    if isinstance(obj, (set, frozenset)):
        items = [json_safe(v, _where=f"{_where}[]") for v in obj]
        try:
            return sorted(items)
        except TypeError as exc:
            raise TypeError(f"json_safe: set at {here} has elements that cannot be sorted") from exc
    if isinstance(obj, (list, tuple)):
        return [json_safe(v, _where=f"{_where}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(
        f"json_safe: {type(obj).__module__}.{type(obj).__qualname__} at {here} has no JSON form "
        "(supported: JSON scalars, dict, list, tuple, set, dataclass, enum, Path, slice, numpy)"
    )


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _json_key(key: Any, where: str) -> str:
    if isinstance(key, np.generic) and isinstance(key, (np.bool_, np.integer, np.floating, np.str_)):
        key = key.item()
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return str(json.dumps(key))
    raise TypeError(f"json_safe: dict key {key!r} ({type(key).__name__}) at {where} is not a JSON key")


# ------------------------------------------------------------------------------ nested state <-> flat
_TENSOR = "__tensor__"
_TUPLE = "__tuple__"
_ITEMS = "__items__"
_MARKERS = (_TENSOR, _TUPLE, _ITEMS)


def flatten_state(state: Any) -> tuple[dict[str, torch.Tensor], Any]:
    """Split a nested structure holding tensors (e.g. ``optimizer.state_dict()``) in two.

    Returns ``(tensors, skeleton)``: ``tensors`` is a flat ``dict[str, Tensor]`` to store as a
    tensor group; ``skeleton`` is JSON (store it in ``meta``) with each tensor replaced by
    ``{"__tensor__": name}``, tuples by ``{"__tuple__": [...]}`` and dicts whose keys are not all
    strings by ``{"__items__": [[key, value], ...]}``, so :func:`unflatten_state` restores the
    exact structure (int keys, tuples) that e.g. ``Optimizer.load_state_dict`` needs. Leaves other
    than tensors must be ``None``/``bool``/``int``/``float``/``str``.
    """
    tensors: dict[str, torch.Tensor] = {}

    def enc(obj: Any, path: str) -> Any:
        if isinstance(obj, torch.Tensor):
            name = path or "tensor"
            if name in tensors:
                i = 1
                while f"{name}#{i}" in tensors:
                    i += 1
                name = f"{name}#{i}"
            tensors[name] = obj
            return {_TENSOR: name}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, tuple):
            return {_TUPLE: [enc(v, _join(path, str(i))) for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [enc(v, _join(path, str(i))) for i, v in enumerate(obj)]
        if isinstance(obj, Mapping):
            plain = all(isinstance(k, str) for k in obj) and not any(m in obj for m in _MARKERS)
            if plain:
                return {k: enc(v, _join(path, k)) for k, v in obj.items()}
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (bool, int, float, str))):
                    raise TypeError(f"flatten_state: key {k!r} at {path or '<root>'} is not a JSON scalar")
                items.append([k, enc(v, _join(path, str(k)))])
            return {_ITEMS: items}
        raise TypeError(
            f"flatten_state: {type(obj).__qualname__} at {path or '<root>'} is neither a tensor, a JSON "
            "scalar, a list/tuple nor a dict"
        )

    skeleton = enc(state, "")
    return tensors, skeleton


def unflatten_state(tensors: Mapping[str, torch.Tensor], skeleton: Any) -> Any:
    """Inverse of :func:`flatten_state`: rebuild the nested structure from a group and its skeleton.

    Raises :class:`CheckpointMismatchError` if the skeleton names a tensor the group lacks.
    """

    def dec(obj: Any) -> Any:
        if isinstance(obj, list):
            return [dec(v) for v in obj]
        if isinstance(obj, dict):
            if len(obj) == 1 and _TENSOR in obj:
                name = obj[_TENSOR]
                if name not in tensors:
                    raise CheckpointMismatchError(
                        f"unflatten_state: the skeleton refers to tensor {name!r}, which the tensor group "
                        f"lacks (it has {_preview(sorted(tensors))})"
                    )
                return tensors[name]
            if len(obj) == 1 and _TUPLE in obj:
                return tuple(dec(v) for v in obj[_TUPLE])
            if len(obj) == 1 and _ITEMS in obj:
                return {k: dec(v) for k, v in obj[_ITEMS]}
            return {k: dec(v) for k, v in obj.items()}
        return obj

    return dec(skeleton)


# ----------------------------------------------------------------------------------------- version
def package_version() -> str:
    """The installed edgesched version (``agents.__version__`` or ``"unknown"`` if not installed)."""
    try:
        return importlib.metadata.version("edgesched")
    except importlib.metadata.PackageNotFoundError:
        agents_mod = sys.modules.get("agents")
        return str(getattr(agents_mod, "__version__", "unknown"))


def _major_minor(version: str) -> str:
    m = re.match(r"^\s*v?(\d+)\.(\d+)", version)
    return f"{int(m.group(1))}.{int(m.group(2))}" if m else version


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


def _sha256(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


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
        CheckpointNotFoundError, CheckpointCorruptedError, CheckpointMismatchError: see the
        module docstring.

    Warns:
        UserWarning: the checkpoint comes from another ``major.minor`` package version.
    """
    root = Path(path)
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

    doc = _read_doc(meta_file)
    records: dict[str, dict[str, Any]] = doc["tensors"]
    meta: dict[str, Any] = doc["meta"]
    written_by: str = doc["package_version"]

    current = package_version()
    if _major_minor(written_by) != _major_minor(current):
        msg = (
            f"{meta_file}: checkpoint written by edgesched {written_by}, this is edgesched {current} "
            "(major.minor differs: model code or feature layouts may have changed)"
        )
        if strict_version:
            raise CheckpointMismatchError(msg + "; load with strict_version=False to try anyway", meta_file)
        warnings.warn(msg, UserWarning, stacklevel=2)

    if expect is not None:
        _check_expect(meta, expect, meta_file)

    wanted = list(records) if groups is None else list(dict.fromkeys(groups))
    loaded: dict[str, dict[str, torch.Tensor]] = {}
    for name in wanted:
        if name not in records:
            raise CheckpointNotFoundError(
                f"{meta_file}: the checkpoint has no tensor group {name!r}; it has {_preview(list(records))}",
                meta_file,
            )
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
        load_checkpoint(root, groups=())
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


def _load_group(
    root: Path, name: str, rec: Mapping[str, Any], device: str | torch.device
) -> dict[str, torch.Tensor]:
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
    try:
        return safetensors.torch.load_file(str(file), device=str(device))
    except Exception as exc:  # safetensors raises SafetensorError and others on bad headers
        raise CheckpointCorruptedError(
            f"{file} could not be parsed as safetensors ({type(exc).__name__}: {exc}), although its size "
            "and sha256 match: the file was written damaged",
            file,
        ) from exc


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


def _preview(items: Sequence[Any], limit: int = 10) -> str:
    shown = ", ".join(repr(x) for x in items[:limit])
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return f"[{shown}{more}]"


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
