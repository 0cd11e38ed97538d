"""``AllocationTable``: a lookup in the precomputed box equals evaluating the function."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.baselines._common import AllocationTable


def _fn(a: NDArray[np.float64]) -> NDArray[np.float64]:
    a = np.asarray(a, dtype=np.float64)
    return np.exp(0.3 * a[:, 0]) * 3.0 + a[:, 1] ** 3 - 0.25 * a[:, 2] * a[:, 0]


def test_lookups_equal_the_function_inside_and_outside_the_box() -> None:
    table = AllocationTable(_fn, np.array([3, 5, 2]))
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = rng.integers(-1, 7, size=(int(rng.integers(1, 6)), 3))
        np.testing.assert_array_equal(table(a), _fn(a))  # rows outside the box: the function
    inside = rng.integers(0, [4, 6, 3], size=(50, 3))
    np.testing.assert_array_equal(table(inside), _fn(inside))
    assert table._table is not None and table._table.shape == (4 * 6 * 3,)
    frac = rng.random((5, 3)) * 3
    np.testing.assert_array_equal(table(frac), _fn(frac))  # fractional allocations: the function
    np.testing.assert_array_equal(table(np.array([2, 3, 1])), _fn(np.array([[2, 3, 1]])))


def test_the_unchecked_nnls_equals_scipys() -> None:
    """``_monotone._nnls`` (the compiled routine without the argument checks) returns what
    :func:`scipy.optimize.nnls` returns, bit for bit, on random problems of the fits' shapes."""
    from scipy.optimize import nnls

    from agents.baselines._monotone import _nnls

    rng = np.random.default_rng(1)
    for _ in range(200):
        m, n = int(rng.integers(2, 40)), int(rng.integers(1, 15))
        a = rng.normal(size=(m, n))
        b = rng.normal(size=m) * 3
        np.testing.assert_array_equal(_nnls(a, b, 50 * n), nnls(a, b, maxiter=50 * n)[0])
