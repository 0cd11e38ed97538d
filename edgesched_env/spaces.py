"""Action spaces that accept the flat action mask of the MaskablePPO / TorchRL / RLlib convention."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

__all__ = ["MaskedDiscrete", "MaskedMultiDiscrete", "action_array", "integer_actions", "split_flat_mask"]


def action_array(value: Any, subject: str) -> NDArray[Any]:
    """``np.asarray(value)``, or a ``ValueError`` naming ``subject`` for what numpy cannot make an
    array of (ragged nesting and the like)."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{subject} is not an array of integers: {exc}") from None


def integer_actions(
    a: NDArray[Any], nvec: NDArray[np.int64], subject: str, where: Callable[[tuple[int, ...]], str]
) -> NDArray[np.int64]:
    """Check that ``a`` (last axis: the ``nvec`` components) holds integers in ``[0, nvec)``.

    Returns it as int64. Raises ``ValueError``: ``"{subject} must be integers, got dtype ..."``
    for a non-numeric dtype, else ``"{where(index)} = value is not an integer"`` or ``"... is out
    of range [0, n - 1]"`` for the first bad element, where ``where`` names its position (agent,
    component).
    """
    if a.dtype.kind == "f":
        nonint = ~np.isfinite(a) | (a != np.round(a))
        if nonint.any():
            idx = tuple(int(v) for v in np.argwhere(nonint)[0])
            raise ValueError(f"{where(idx)} = {a[idx].item()!r} is not an integer")
    elif a.dtype.kind not in "iub":
        raise ValueError(f"{subject} must be integers, got dtype {a.dtype}")
    bad = (a < 0) | (a >= nvec)  # in the given dtype: the int64 cast would wrap huge values
    if bad.any():
        idx = tuple(int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"{where(idx)} = {a[idx].item()} is out of range [0, {int(nvec[idx[-1]]) - 1}]")
    return a.astype(np.int64, copy=False)


def split_flat_mask(nvec: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, ...]:
    """Split a flat 0/1 mask of length ``sum(nvec)`` into one int8 mask per component."""
    flat = np.asarray(mask)
    total = int(np.sum(nvec))
    if flat.ndim != 1 or flat.shape[0] != total:
        raise ValueError(f"flat action mask must have shape ({total},), got {flat.shape}")
    cuts = np.cumsum(nvec)[:-1]
    return tuple(part.astype(np.int8) for part in np.split(flat, cuts))


class MaskedMultiDiscrete(spaces.MultiDiscrete):
    """A 1-D :class:`~gymnasium.spaces.MultiDiscrete` whose ``sample(mask=...)`` also takes a flat mask.

    Gymnasium expects a tuple of per-component masks; PettingZoo's ``parallel_api_test`` passes the
    observation's flat ``action_mask`` (the concatenation of the per-component masks, as
    sb3-contrib's MaskablePPO, TorchRL and RLlib use). Both are accepted here.
    """

    def sample(self, mask: Any = None, probability: Any = None) -> np.ndarray:
        if isinstance(mask, np.ndarray) and mask.ndim == 1 and self.nvec.ndim == 1:
            mask = split_flat_mask(self.nvec, mask)
        return super().sample(mask=mask, probability=probability)

    def __repr__(self) -> str:
        return f"MaskedMultiDiscrete({self.nvec.tolist()})"


class MaskedDiscrete(spaces.Discrete):
    """A :class:`~gymnasium.spaces.Discrete` whose ``sample(mask=...)`` takes any 0/1 numeric mask.

    Gymnasium wants an int8 mask; the ``obs_layout="rllib"`` observations carry a float32 one
    (RLlib's masking module takes its log). Both are accepted here.
    """

    def sample(self, mask: Any = None, probability: Any = None) -> np.int64:
        if isinstance(mask, np.ndarray) and mask.dtype != np.int8:
            mask = (mask != 0).astype(np.int8)
        return super().sample(mask=mask, probability=probability)

    def __repr__(self) -> str:
        return f"MaskedDiscrete({int(self.n)})"
