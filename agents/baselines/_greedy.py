"""The marginal-gain loop of :meth:`agents.baselines.optimus.OptimusScheduler.allocate`, compiled.

The loop grants one unit at a time (the unit of any resource that most reduces a job's estimated
remaining time), so it runs a few dozen short iterations per call and thousands of calls per
episode: as numpy code each iteration paid for a handful of tiny array operations. Here it is
one compiled function (numba, through :func:`edgesched_env.sim.kernels._jit`, the env's own
switch: plain Python without numba or with ``EDGESCHED_NO_NUMBA=1``), doing the same floating
point operations in the same order, so its grants are bit-identical to the numpy loop's
(``tests/agents/test_greedy_kernel.py`` checks the two against each other).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edgesched_env.sim.kernels import _jit

__all__ = ["grant_units"]


@_jit
def _refresh(
    j: int,
    units: NDArray[np.int64],
    upper: NDArray[np.int64],
    lo: NDArray[np.int64],
    strides: NDArray[np.int64],
    offsets: NDArray[np.int64],
    rem: NDArray[np.float64],
    relative: bool,
    gains: NDArray[np.float64],
) -> None:
    """Row ``j`` of ``gains``: per resource, the (relative) reduction of job ``j``'s estimated
    remaining time from one more unit, ``-inf`` where the job is at its upper bound."""
    r_count = units.shape[1]
    at = 0
    for r in range(r_count):
        at += (units[j, r] - lo[j, r]) * strides[j, r]
    base = offsets[j]
    now = rem[base + at]
    # Python's max(now, 1e-9): ``now`` unless 1e-9 is larger
    den = 1e-9 if 1e-9 > now else now
    for r in range(r_count):
        if units[j, r] < upper[j, r]:
            gain = now - rem[base + at + strides[j, r]]
            if relative:
                gain = gain / den
            gains[j, r] = gain
        else:
            gains[j, r] = -np.inf


@_jit
def grant_units(
    units: NDArray[np.int64],
    left: NDArray[np.int64],
    upper: NDArray[np.int64],
    grow: NDArray[np.int64],
    lo: NDArray[np.int64],
    strides: NDArray[np.int64],
    offsets: NDArray[np.int64],
    rem: NDArray[np.float64],
    relative: bool,
) -> None:
    """Grant units one at a time to the jobs ``grow``, in place, until no unit helps.

    Args:
        units: ``(J, R)`` units of every job (the admitted base allocations); grown in place.
        left: ``(R,)`` units of the budget not yet granted; decreased in place.
        upper: ``(J, R)`` most units each job may get.
        grow: ``(G,)`` indices of the jobs that may grow (admitted, of a fitted type).
        lo: ``(J, R)`` the corner of each grown job's table of estimates (its base units).
        strides: ``(J, R)`` strides of that table (C order over the box ``lo .. upper``).
        offsets: ``(J,)`` where each grown job's table starts in ``rem``.
        rem: every grown job's estimated remaining time (slots) over its box, concatenated.
        relative: divide each gain by the job's remaining time before the unit.

    At each step the largest gain over (job, resource) with a unit left wins (the first in C
    order on ties, as ``np.argmax``); the loop stops when it is not above ``1e-9`` (or is NaN).
    """
    j_count, r_count = units.shape
    gains = np.full((j_count, r_count), -np.inf)
    for g in range(grow.shape[0]):
        _refresh(grow[g], units, upper, lo, strides, offsets, rem, relative, gains)
    while True:
        best = -np.inf
        bj = 0
        br = 0
        stop = False
        for j in range(j_count):
            for r in range(r_count):
                v = gains[j, r] if left[r] >= 1 else -np.inf
                if np.isnan(v):  # np.argmax stops at the first NaN
                    best, bj, br, stop = v, j, r, True
                    break
                if v > best:
                    best, bj, br = v, j, r
            if stop:
                break
        if not best > 1e-9:
            return
        units[bj, br] += 1
        left[br] -= 1
        _refresh(bj, units, upper, lo, strides, offsets, rem, relative, gains)
