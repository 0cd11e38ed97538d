"""The Optimus speed-function fit and the online duration model."""

from __future__ import annotations

import numpy as np
import pytest

from agents.baselines._common import DurationModel, TaskTracker, box_grid, fit_speed_function


def _grid(n: int = 12) -> np.ndarray:
    return box_grid(np.array([1, 1]), np.array([n, n]))


@pytest.mark.parametrize(
    "coef",
    [
        [8.0, 0.5, 0.3, 0.05, 0.1],
        [20.0, 1.0, 0.0, 0.0, 0.02],
        [0.0, 4.0, 0.0, 0.0, 0.0],
        [3.0, 0.0, 2.0, 0.0, 0.0],
    ],
)
def test_fit_recovers_known_function(coef: list[float]) -> None:
    a, b, c, d, e = coef
    alloc = _grid()
    p, w = alloc[:, 0].astype(float), alloc[:, 1].astype(float)
    duration = a / w + b + c * w / p + d * w + e * p
    fitted = fit_speed_function(alloc, duration)
    np.testing.assert_allclose(fitted, coef, atol=1e-8)


def test_fit_from_few_clean_samples_and_other_resource_order() -> None:
    coef = np.array([6.0, 0.8, 0.4, 0.02, 0.05])
    rng = np.random.default_rng(0)
    alloc = np.stack([rng.integers(1, 17, 8), rng.integers(1, 17, 8), rng.integers(1, 17, 8)], axis=1)
    # resources (gpu, mem, cpu): gpu_idx=0, cpu_idx=2
    p, w = alloc[:, 2].astype(float), alloc[:, 0].astype(float)
    duration = coef[0] / w + coef[1] + coef[2] * w / p + coef[3] * w + coef[4] * p
    fitted = fit_speed_function(alloc, duration, cpu_idx=2, gpu_idx=0)
    np.testing.assert_allclose(fitted, coef, rtol=1e-6, atol=1e-8)


def test_fit_is_non_negative_on_noisy_data() -> None:
    rng = np.random.default_rng(1)
    alloc = _grid(8)
    w = alloc[:, 1].astype(float)
    duration = 10.0 / w + 1.0 + rng.normal(0.0, 0.3, w.shape[0])
    fitted = fit_speed_function(alloc, duration)
    assert (fitted >= 0).all()
    assert abs(fitted[0] - 10.0) < 1.5


def _tracker_with(samples: list[tuple[int, list[float], float]]) -> TaskTracker:
    tr = TaskTracker()
    tr._start(0, 2, 0)
    for k, a, d in samples:
        tr.sample_type.append(k)
        tr.sample_alloc.append(np.array(a))
        tr.sample_slots.append(d)
    return tr


def test_duration_model_fallbacks_and_fit() -> None:
    tr = _tracker_with([])
    model = DurationModel(tr, ("cpu", "gpu"), num_types=2, min_samples=4, prior_slots=4.0)
    assert model.predict(0, np.array([[2, 1]])).tolist() == [4.0]  # the prior
    tr.sample_type.append(0)
    tr.sample_alloc.append(np.array([2.0, 4.0]))
    tr.sample_slots.append(6.0)
    assert model.predict(0, np.array([[2, 8]])).tolist() == [6.0]  # the type's mean
    assert model.predict(1, np.array([[2, 8]])).tolist() == [6.0]  # the mean of all types
    assert not model.fitted(0)
    # gpu-concave-like samples: slots = 16 / g + 1
    for g in (1, 2, 4, 8):
        tr.sample_type.append(1)
        tr.sample_alloc.append(np.array([2.0, float(g)]))
        tr.sample_slots.append(16.0 / g + 1.0)
    assert model.fitted(1)
    np.testing.assert_allclose(model.predict(1, np.array([[2, 16]])), [2.0])
    units, est = model.efficient(1, np.array([2, 1]), np.array([16, 16]), np.array([16, 16]), tol=0.05)
    assert units[0] == 2  # cpu does not help: the minimum
    assert est <= 2.0 * 1.05 + 1e-9 and units[1] >= 14


def test_duration_model_ignores_one_allocation_only() -> None:
    tr = _tracker_with([(0, [2.0, 1.0], 21.0)] * 6)
    model = DurationModel(tr, ("cpu", "gpu"), num_types=1)
    assert not model.fitted(0)  # one distinct allocation says nothing about the others
    assert model.predict(0, np.array([[2, 16]])).tolist() == [21.0]


def test_fit_with_a_per_gpu_memory_term() -> None:
    # resources (cpu, gpu, mem): duration = 12/w + 1 + 0.5 w/p + 3 w/m
    alloc = np.stack(np.meshgrid(np.arange(1, 9), np.arange(1, 5), np.arange(1, 9), indexing="ij"), -1)
    alloc = alloc.reshape(-1, 3)
    p, w, m = (alloc[:, r].astype(float) for r in range(3))
    duration = 12.0 / w + 1.0 + 0.5 * w / p + 3.0 * w / m
    fitted = fit_speed_function(alloc, duration, cpu_idx=0, gpu_idx=1, extra_idx=(2,))
    np.testing.assert_allclose(fitted, [12.0, 1.0, 0.5, 0.0, 0.0, 3.0], atol=1e-8)
    tr = _tracker_with([(0, a.astype(float).tolist(), d) for a, d in zip(alloc, duration)])
    model = DurationModel(tr, ("cpu", "gpu", "mem"), num_types=1)
    np.testing.assert_allclose(model.coefficients(0), fitted, atol=1e-8)


def test_bic_criterion_prefers_the_true_support() -> None:
    alloc = _grid(8)
    p, w = alloc[:, 0].astype(float), alloc[:, 1].astype(float)
    duration = 10.0 / w + 2.0
    fitted = fit_speed_function(alloc, duration, criterion="bic")
    np.testing.assert_allclose(fitted, [10.0, 2.0, 0.0, 0.0, 0.0], atol=1e-8)
    rng = np.random.default_rng(3)
    noisy = duration + rng.normal(0.0, 0.2, duration.shape[0])
    support = np.flatnonzero(fit_speed_function(alloc, noisy, criterion="bic") > 1e-9)
    assert set(support.tolist()) <= {0, 1} and 0 in support  # no spurious terms from noise
    assert p.shape == w.shape
    with pytest.raises(ValueError, match="criterion"):
        fit_speed_function(alloc, duration, criterion="aic")
