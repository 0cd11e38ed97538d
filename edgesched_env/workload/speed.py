"""Speed (resource-sensitivity) models: how an allocation turns into training progress.

A task's progress ``p`` runs from 0 to 1 and completes at ``p >= 1`` (no tolerance). Every slot the
simulator asks the task type's speed model for the progress increment ``dp`` of all running tasks
of that type at once (vectorised: the step path never loops over tasks in Python).

The minimum-request rule (any resource below the task's minimum gives ``dp = 0``) is applied by the
simulator for every model, so models only describe the speed above the minimum.

The agent never sees a model's parameters or a task's progress: resource sensitivity is hidden and
must be learned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = ["SpeedModel", "SyntheticSpeed"]


@runtime_checkable
class SpeedModel(Protocol):
    """Progress increment per slot for a batch of running tasks of one type.

    Args of :meth:`increment` (``n`` tasks, ``R`` resources):
        alloc: ``(n, R)`` int64, units of each resource currently allocated.
        progress: ``(n,)`` float64, progress so far in ``[0, 1)``.
        work: ``(n,)`` float64, the task's amount of work relative to its type's nominal work
            (1.0 for the synthetic types; drawn per task by realistic workloads).
        speed_factor: ``(n,)`` float64, relative speed of the hosting cluster's hardware
            (1.0 unless a preset gives clusters different GPU generations).

    Returns:
        ``(n,)`` float64, progress increment for this slot, ``>= 0``.

    :meth:`resource_indices` tells which columns of ``alloc`` the model reads, so that
    :class:`~edgesched_env.config.EnvConfig` can reject a model whose indices name no resource of
    the config when the config is built (instead of an ``IndexError`` at the first slot end). A
    user model without it still works (:class:`~edgesched_env.config.TaskType` needs only
    :meth:`increment`); its indices are then not checked.
    """

    def increment(
        self,
        alloc: NDArray[np.int64],
        progress: NDArray[np.float64],
        work: NDArray[np.float64],
        speed_factor: NDArray[np.float64],
    ) -> NDArray[np.float64]: ...

    def resource_indices(self) -> dict[str, int]:
        """The resource indices the model reads from ``alloc``'s columns.

        Returns:
            The model's field holding each index, as written after ``speed.`` in error messages
            (e.g. ``"gpu_idx"``, ``"resource_idx[1]"``) -> the index into the config's
            ``resource_names``. Resources the model does not read (e.g. an unset optional one)
            are left out; an insensitive model returns ``{}``.
        """
        ...


@dataclass(frozen=True)
class SyntheticSpeed:
    """The synthetic model of the TapFinger experiments (SPEC.md section 4).

    ``dp = max(0, W(a) * sqrt(1.2 - p) + B)`` with ``W(a) = tanh(a[resource_idx] / scale)`` when
    ``resource_idx`` is set, else ``W = 0``. ``work`` and ``speed_factor`` divide and multiply the
    increment (both 1.0 in the tapfinger presets, so the formula is exactly the paper's there).

    Attributes:
        bias: ``B``, progress per slot independent of the allocation.
        resource_idx: index of the resource whose units drive ``W`` (``None``: insensitive).
        scale: units at which ``tanh`` reaches ``tanh(1)`` (16 in the paper).
    """

    bias: float = 0.0
    resource_idx: int | None = None
    scale: float = 16.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.bias):
            raise ValueError(f"SyntheticSpeed.bias must be finite, got {self.bias!r}")
        if self.scale <= 0 or not np.isfinite(self.scale):
            raise ValueError(f"SyntheticSpeed.scale must be a positive number, got {self.scale!r}")
        if self.resource_idx is not None and self.resource_idx < 0:
            raise ValueError(f"SyntheticSpeed.resource_idx must be >= 0 or None, got {self.resource_idx!r}")
        if self.resource_idx is None and self.bias <= 0:
            raise ValueError(
                "SyntheticSpeed with no sensitive resource needs bias > 0 or tasks never finish, "
                f"got bias={self.bias!r}"
            )

    def increment(
        self,
        alloc: NDArray[np.int64],
        progress: NDArray[np.float64],
        work: NDArray[np.float64],
        speed_factor: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        if self.resource_idx is None:
            dp = np.full(progress.shape, self.bias, dtype=np.float64)
        else:
            weight = np.tanh(alloc[:, self.resource_idx] / self.scale)
            dp = weight * np.sqrt(1.2 - progress) + self.bias
        np.maximum(dp, 0.0, out=dp)
        return dp * speed_factor / work

    def resource_indices(self) -> dict[str, int]:
        """``{"resource_idx": resource_idx}``, or ``{}`` for an insensitive model."""
        return {} if self.resource_idx is None else {"resource_idx": self.resource_idx}
