"""The checkpoint format: what a checkpoint directory holds and how its metadata is encoded.

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
feature layout, train state (step counters, seeds), ... . :func:`~agents.checkpoint.save_checkpoint`
passes it through :func:`json_safe`, so dataclasses (e.g. an ``EnvConfig``), tuples, numpy scalars
and arrays, slices and paths may be given directly; what is stored (and loaded back) is
``json_safe(meta)``. Nested non-tensor state with tensors inside (e.g. ``optimizer.state_dict()``)
is split by :func:`flatten_state` into a tensor group plus a JSON skeleton for ``meta`` and put
back together by :func:`unflatten_state`.

The format is versioned separately (``format_version``) from the package (``package_version``);
:mod:`.validate` says which versions load.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import importlib.metadata
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import torch

from agents.checkpoint.errors import CheckpointMismatchError, _preview

FORMAT = "edgesched-checkpoint"
"""Value of the ``format`` field of ``checkpoint.json``."""
FORMAT_VERSION = 1
"""The ``format_version`` this code writes (and the newest it reads)."""
META_FILE = "checkpoint.json"
"""Name of the metadata file inside a checkpoint directory."""

_GROUP_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # a tensor group name
_CHUNK = 1 << 20  # bytes hashed at a time


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
    """The installed edgesched version (``"unknown"`` if the distribution is not installed)."""
    try:
        return importlib.metadata.version("edgesched")
    except importlib.metadata.PackageNotFoundError:
        agents_mod = sys.modules.get("agents")
        return str(getattr(agents_mod, "__version__", "unknown"))


def _major_minor(version: str) -> str:
    m = re.match(r"^\s*v?(\d+)\.(\d+)", version)
    return f"{int(m.group(1))}.{int(m.group(2))}" if m else version


# ------------------------------------------------------------------------------------------ sha256
def _sha256(file: Path) -> str:
    """The sha256 (lowercase hex) that ``checkpoint.json`` records for ``file``."""
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
