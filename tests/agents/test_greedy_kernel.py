"""The compiled marginal-gain loop of Optimus against the numpy loop it replaced.

``_numpy_greedy`` is that loop as it stood in ``OptimusScheduler.allocate`` (0.3.6): the kernel
(:func:`agents.baselines._greedy.grant_units`, compiled and as plain Python) must grant exactly
the same units on random instances, including ties, jobs at their upper bound, exhausted
resources, NaN and infinite estimates.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from agents.baselines._common import box_grid
from agents.baselines._greedy import grant_units


def _numpy_greedy(
    units: NDArray[np.int64],
    left: NDArray[np.int64],
    upper: NDArray[np.int64],
    grow: list[int],
    tables: dict[int, NDArray[np.float64]],
    relative: bool,
) -> None:
    j_count, r = units.shape
    gains = np.full((j_count, r), -np.inf)
    reach = {}
    for j in grow:
        lo_j = units[j].copy()
        dims = np.maximum(upper[j], lo_j) - lo_j + 1
        strides = np.ones(r, dtype=np.int64)
        strides[:-1] = np.cumprod(dims[::-1])[::-1][1:]
        reach[j] = (lo_j, strides, tables[j])

    def refresh(j: int) -> None:
        lo_j, strides, rem = reach[j]
        at = int((units[j] - lo_j) @ strides)
        room = units[j] < upper[j]
        now = rem[at]
        gain = now - rem[np.where(room, at + strides, at)]
        if relative:
            gain = gain / max(now, 1e-9)
        gains[j] = np.where(room, gain, -np.inf)

    for j in grow:
        refresh(j)
    while True:
        masked = np.where(left[None, :] >= 1, gains, -np.inf)
        flat = int(np.argmax(masked))
        j, res = divmod(flat, r)
        if not masked[j, res] > 1e-9:
            break
        units[j, res] += 1
        left[res] -= 1
        refresh(j)


def _instance(rng: np.random.Generator, special: bool) -> tuple[object, ...]:
    j_count, r = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    units = rng.integers(0, 3, size=(j_count, r)).astype(np.int64)
    upper = units + rng.integers(0, 4, size=(j_count, r))
    left = rng.integers(0, 8, size=r).astype(np.int64)
    grow = sorted(rng.choice(j_count, size=int(rng.integers(1, j_count + 1)), replace=False).tolist())
    tables = {}
    for j in grow:
        grid = box_grid(units[j], upper[j])
        if rng.random() < 0.3:  # ties: few distinct values
            rem = rng.integers(1, 4, size=grid.shape[0]).astype(np.float64)
        else:  # decreasing in every resource, with noise
            rem = 50.0 / (1.0 + grid.sum(axis=1)) + rng.normal(0, 0.5, size=grid.shape[0])
        if special and rng.random() < 0.3:
            rem[rng.integers(0, rem.shape[0])] = rng.choice([np.nan, np.inf, 0.0, -1.0])
        tables[j] = rem
    return units, left, upper, grow, tables, bool(rng.random() < 0.5)


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("compiled", [True, False])
def test_grant_units_equals_the_numpy_loop(special: bool, compiled: bool) -> None:
    fn = grant_units if compiled else getattr(grant_units, "py_func", grant_units)
    rng = np.random.default_rng(7 + special)
    grew = 0
    for _ in range(400):
        units, left, upper, grow, tables, relative = _instance(rng, special)
        ref_units, ref_left = units.copy(), left.copy()
        with np.errstate(invalid="ignore"):
            _numpy_greedy(ref_units, ref_left, upper, grow, tables, relative)
        lo = np.zeros_like(units)
        strides = np.zeros_like(units)
        offsets = np.zeros(units.shape[0], dtype=np.int64)
        size = 0
        for j in grow:
            dims = np.maximum(upper[j], units[j]) - units[j] + 1
            lo[j] = units[j]
            strides[j, -1] = 1
            strides[j, :-1] = np.cumprod(dims[::-1])[::-1][1:]
            offsets[j] = size
            size += tables[j].shape[0]
        got_units, got_left = units.copy(), left.copy()
        fn(got_units, got_left, upper, np.asarray(grow, dtype=np.int64), lo, strides, offsets,
           np.concatenate([tables[j] for j in grow]), relative)  # fmt: skip
        np.testing.assert_array_equal(got_units, ref_units)
        np.testing.assert_array_equal(got_left, ref_left)
        grew += int((ref_units != units).any())
    assert grew > 100  # the instances exercise the loop, not only its exit
