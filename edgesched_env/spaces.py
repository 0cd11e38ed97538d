"""Action spaces that accept the flat action mask of the MaskablePPO / TorchRL / RLlib convention."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["MaskedMultiDiscrete", "split_flat_mask"]


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
