"""ORACLE tools: durations from the hidden speed models (for references, never for peers).

Everything here reads ``SimView.oracle_*`` members; it backs the ``oracle-greedy`` reference
scheduler and the ``lower-bound`` figure. Durations ignore ``progress_noise`` (they are the
noiseless expectation) and the switch penalty (a task placed once is never resized).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.baselines._common import box_grid
from edgesched_env.sim.kernels import jit
from edgesched_env.sim.view import SimView

__all__ = ["OracleDurations", "slots_to_finish"]


def slots_to_finish(
    model: object,
    alloc: NDArray[np.int64],
    min_request: NDArray[np.int64],
    work: float = 1.0,
    speed_factor: float = 1.0,
    max_slots: int = 100_000,
) -> NDArray[np.float64]:
    """Slots a fresh task needs at each fixed allocation, running alone from progress 0.

    Args:
        model: the hidden speed model (``SpeedModel.increment``).
        alloc: ``(n, R)`` allocations.
        min_request: ``(R,)`` the task's minimum (below it the task makes no progress).
        work, speed_factor: the task's relative work and its cluster's hardware speed.
        max_slots: give up (``inf``) after this many slots.

    Returns:
        ``(n,)`` float64 slots (``inf`` where the task never finishes).
    """
    n = alloc.shape[0]
    progress = np.zeros(n)
    slots = np.full(n, np.inf)
    live = np.flatnonzero((alloc >= min_request).all(axis=1))
    w = np.full(n, float(work))
    f = np.full(n, float(speed_factor))
    inc = model.increment  # type: ignore[attr-defined]
    # Fast path: an increment that does not depend on progress (probed at three points) is
    # added without calling the model again; the additions are the simulator's, bit for bit.
    if live.shape[0]:
        probes = [inc(alloc[live], np.full(live.shape[0], p), w[live], f[live]) for p in (0.0, 0.37, 0.81)]
        if all(np.array_equal(probes[0], q) for q in probes[1:]):
            slots[live] = _constant_steps(np.maximum(probes[0], 0.0), max_slots)
            return slots
    for step in range(1, max_slots + 1):
        if live.shape[0] == 0:
            break
        dp = np.maximum(inc(alloc[live], progress[live], w[live], f[live]), 0.0)
        progress[live] += dp
        done = progress[live] >= 1.0
        slots[live[done]] = step
        live = live[~done & (dp > 0)]
    return slots


@jit
def _constant_steps(dp, max_slots):  # type: ignore[no-untyped-def]
    """``(n,)`` float64 slots until ``0 + dp + dp + ...`` (float64, in the simulator's order of
    additions) reaches 1, for each constant increment of ``dp`` ``(n,)``; ``inf`` for
    ``dp <= 0`` or beyond ``max_slots``."""
    out = np.full(dp.shape[0], np.inf)
    for i in range(dp.shape[0]):
        d = dp[i]
        if d <= 0.0:
            continue
        p = 0.0
        for step in range(1, max_slots + 1):
            p += d
            if p >= 1.0:
                out[i] = step
                break
    return out


class OracleDurations:
    """ORACLE: cached tables of each task's alone-and-fresh duration over every allocation.

    One table per (type, work, speed factor), over the grid ``0..u_r`` of every resource, where
    ``u_r = min(max_r, largest capacity of r)`` bounds any allocation (``inf`` below the type's
    minimum), shaped ``(u_1 + 1, ..., u_R + 1)``.
    """

    def __init__(self, view: SimView) -> None:
        self.view = view
        self.models = view.oracle_speed_models
        self.upper = np.minimum(view.max_level, view.capacity.max(axis=0))
        self._tables: dict[tuple[int, float, float], NDArray[np.float64]] = {}
        self._grid = box_grid(np.zeros_like(self.upper), self.upper)

    def table(self, type_idx: int, work: float, speed_factor: float) -> NDArray[np.float64]:
        """Duration (slots) of a fresh task of this kind at each allocation of the grid."""
        key = (int(type_idx), float(work), float(speed_factor))
        tab = self._tables.get(key)
        if tab is None:
            lo = self.view.config.workload.task_types[type_idx].min_request
            slots = slots_to_finish(
                self.models[type_idx], self._grid, np.asarray(lo, dtype=np.int64), work, speed_factor
            )
            tab = slots.reshape(tuple(int(m) + 1 for m in self.upper))
            self._tables[key] = tab
        return tab

    def best_in_box(
        self, task: int, cluster: int, lo: NDArray[np.int64], hi: NDArray[np.int64], scale: NDArray[np.int64]
    ) -> tuple[float, NDArray[np.int64]]:
        """``(slots, units)``: the fastest allocation of ``task`` on ``cluster`` in ``lo..hi``,
        the cheapest one (units normalised by ``scale``) among equally fast ones."""
        view = self.view
        tab = self.table(
            int(view.type_idx[task]), float(view.oracle_work[task]), float(view.oracle_speed_factor[cluster])
        )
        sub = tab[tuple(slice(int(a), int(b) + 1) for a, b in zip(lo, hi))]
        best = float(sub.min())
        grid = box_grid(lo, hi)
        cost = np.where(sub.ravel() <= best, (grid / scale).sum(axis=1), np.inf)
        return best, grid[int(np.argmin(cost))]
