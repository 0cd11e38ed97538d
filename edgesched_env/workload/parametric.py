"""Optimus-style parametric speed model (the function family the ``optimus`` baseline fits).

Seconds per training step with ``p`` cpu units (parameter servers / data loaders) and ``w`` gpu
units (workers), for coefficients ``a..e >= 0``:

.. code-block:: text

    step_time(p, w) = a / w + b + c * w / p + d * w + e * p          (seconds)
    speed(p, w)     = 1 / step_time(p, w)                             (steps per second)
    dp              = speed * speed_factor * slot_seconds / (nominal_steps * work)

``a / w``: the computation, split over workers; ``b``: fixed overhead; ``c * w / p``: gradient
traffic per worker through ``p`` servers; ``d * w`` and ``e * p``: communication overheads that
grow with the number of workers and servers. ``w = 0`` or ``p = 0`` gives ``dp = 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["OptimusSpeed"]


@dataclass(frozen=True)
class OptimusSpeed:
    """``speed = 1 / (a/w + b + c*w/p + d*w + e*p)`` steps per second.

    Attributes:
        a, b, c, d, e: coefficients (seconds; all ``>= 0``, ``a + b > 0``).
        nominal_steps: steps of a task with ``work = 1``.
        slot_seconds: seconds per slot.
        cpu_idx: resource index of ``p``; gpu_idx: resource index of ``w``.
    """

    a: float
    b: float
    c: float
    d: float
    e: float
    nominal_steps: float = 1000.0
    slot_seconds: float = 60.0
    cpu_idx: int = 0
    gpu_idx: int = 1

    def __post_init__(self) -> None:
        for name in ("a", "b", "c", "d", "e"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"OptimusSpeed.{name} must be a finite number >= 0, got {v!r}")
        if self.a + self.b <= 0:
            raise ValueError("OptimusSpeed needs a + b > 0 (a step cannot take no time)")
        if not self.nominal_steps > 0 or not self.slot_seconds > 0:
            raise ValueError("OptimusSpeed.nominal_steps and slot_seconds must be > 0")

    def step_time(
        self, p: NDArray[np.floating] | NDArray[np.integer], w: NDArray[np.floating] | NDArray[np.integer]
    ) -> NDArray[np.float64]:
        """Seconds per step (``inf`` where ``p`` or ``w`` is 0)."""
        p = np.asarray(p, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self.a / w + self.b + self.c * w / p + self.d * w + self.e * p
        return np.where((p > 0) & (w > 0), t, np.inf)

    def increment(
        self,
        alloc: NDArray[np.int64],
        progress: NDArray[np.float64],
        work: NDArray[np.float64],
        speed_factor: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """``dp = slot_seconds * speed_factor / (step_time * nominal_steps * work)``."""
        t = self.step_time(alloc[:, self.cpu_idx], alloc[:, self.gpu_idx])
        return self.slot_seconds * speed_factor / (t * self.nominal_steps * work)

    def resource_indices(self) -> dict[str, int]:
        """``{"cpu_idx": cpu_idx, "gpu_idx": gpu_idx}`` (the resources of ``p`` and ``w``)."""
        return {"cpu_idx": self.cpu_idx, "gpu_idx": self.gpu_idx}
