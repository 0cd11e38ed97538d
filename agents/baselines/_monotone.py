"""A duration model family that can represent the measured presets: log-additive, monotone.

The Optimus form (:class:`~agents.baselines._common.DurationModel`) is additive in slots and ties
the cpu to the parameter servers and the gpu to the workers. The measured presets (Pollux x
Synergy x Gavel, :mod:`edgesched_env.workload.measured`) are multiplicative instead:

.. code-block:: text

    duration(a) = work * nominal / (G(g) * C(c/g, m/g) * V(host))

with ``G`` increasing and concave in the gpu count and ``C`` increasing and saturating in the cpu
and memory *per gpu*. :class:`MonotoneDurationModel` fits, per task type, the family

.. code-block:: text

    log duration(a) = b + sum_j beta_j * max(0, log k_j - log g)                     (gpu)
                        + sum_r sum_j gamma_rj * max(0, log k_rj - log(a_r / g))     (r != gpu)
                        + o(host)

with ``beta, gamma >= 0``: every term is a convex, non-increasing function of the log of its
resource, so the duration never grows with the gpu count nor with any other resource per gpu,
and gains diminish. ``o(host)`` is a per-cluster offset pooled over all types (GPU generations
differ between clusters), learned from the same samples. It represents the synthetic types too:
``gpu-concave`` is log-linear in ``log g`` to within a few percent, ``insensitive`` is the
constant ``b``. Per-task work multiplies the duration, so in log space it is additive noise that
the fit averages out (a least-squares fit in slots is dominated by the longest tasks).

The fit is non-negative least squares (:func:`scipy.optimize.nnls`) in log space with a small
ridge on the shape terms; observed durations are active slots minus the task's public
data-transfer delay. Nothing is read from the hidden models.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import nnls

from agents.baselines._common import AllocationTable, DurationModel, TaskTracker, two_distinct_rows

try:  # the compiled routine that scipy.optimize.nnls wraps (private: used only if it answers as expected)
    from scipy.optimize._slsqplib import nnls as _compiled_nnls
except ImportError:  # pragma: no cover - another scipy layout
    _compiled_nnls = None

__all__ = ["MonotoneDurationModel", "monotone_features"]


def _nnls(a: NDArray[np.float64], b: NDArray[np.float64], maxiter: int) -> NDArray[np.float64]:
    """``scipy.optimize.nnls(a, b, maxiter=maxiter)[0]``, bit for bit, without its argument
    checks: the fits call it tens of thousands of times per episode on small arrays that are
    float64, C-contiguous and finite by construction, where the checks cost about half as much as
    the solve. Falls back to the public function for good if the compiled routine is missing or
    does not take these arguments (a different scipy)."""
    global _compiled_nnls
    if _compiled_nnls is not None:
        try:
            x, _, info = _compiled_nnls(a, b, maxiter)
        except (TypeError, ValueError):  # pragma: no cover - a scipy whose routine differs
            _compiled_nnls = None
        else:
            if info == 3:
                raise RuntimeError("Maximum number of iterations reached.")
            return np.asarray(x)
    return nnls(a, b, maxiter=maxiter)[0]


_GPU_KNOTS = (2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)


def _knots(lo: float, hi: float) -> NDArray[np.float64]:
    """Powers of two strictly above ``lo`` up to the first one ``>= hi`` (ratio knots)."""
    first = int(np.floor(np.log2(max(lo, 1e-3)))) + 1
    last = int(np.ceil(np.log2(max(hi, 1e-3))))
    return np.asarray(2.0 ** np.arange(first, max(first, last) + 1), dtype=np.float64)


class _Layout:
    """The knots of every term, fixed per config so that every fit uses the same features."""

    def __init__(self, max_level: NDArray[np.int64], gpu_idx: int) -> None:
        self.gpu_idx = gpu_idx
        max_g = float(max(1, int(max_level[gpu_idx])))
        self.gpu_knots = np.array([k for k in _GPU_KNOTS if k < max_g] + [max_g])
        self.other = tuple(r for r in range(max_level.shape[0]) if r != gpu_idx)
        # a resource r per gpu ranges over [1 / max_g, max_r] (units below 1 count as 1/2)
        self.ratio_knots = {r: _knots(0.5 / max_g, float(max(1, int(max_level[r])))) for r in self.other}
        # their logs, computed once (the features are evaluated thousands of times per episode)
        self.log_gpu_knots = np.log(self.gpu_knots)[None, :]
        self.log_ratio_knots = {r: np.log(k)[None, :] for r, k in self.ratio_knots.items()}

    @property
    def width(self) -> int:
        return self.gpu_knots.shape[0] + sum(k.shape[0] for k in self.ratio_knots.values())


def monotone_features(alloc: NDArray[Any], layout: _Layout) -> NDArray[np.float64]:
    """``(n, F)`` hinge features of :class:`MonotoneDurationModel` (every one non-increasing in
    its resource). Units below 1 count as 1 gpu, or half a unit of another resource."""
    a = np.atleast_2d(np.asarray(alloc, dtype=np.float64))
    log_g = np.log(np.maximum(a[:, layout.gpu_idx], 1.0))
    cols = [np.maximum(0.0, layout.log_gpu_knots - log_g[:, None])]
    for r in layout.other:
        log_x = np.log(np.maximum(a[:, r], 0.5)) - log_g
        cols.append(np.maximum(0.0, layout.log_ratio_knots[r] - log_x[:, None]))
    return np.concatenate(cols, axis=1)


#: a fit of :meth:`MonotoneDurationModel._solve`: (offsets, log mean per type, coefficients per type)
_Fit = tuple[NDArray[np.float64], dict[int, float], dict[int, NDArray[np.float64]]]


def _bic(
    coef: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64], free_shape: bool = True
) -> float:
    """Bayesian information criterion of a type's samples under ``coef`` (the intercept re-fitted
    for the shared shape): ``n log(RSS / n) + k log n``, ``k`` the intercept plus, for an own
    shape, its non-zero terms."""
    n = y.shape[0]
    shape_part = x @ coef[2:]
    b = coef[0] - coef[1] if free_shape else float(np.mean(y - shape_part))
    rss = float(np.sum((y - b - shape_part) ** 2))
    k = 1 + (int(np.count_nonzero(coef[2:] > 1e-9)) if free_shape else 0)
    return n * float(np.log(max(rss / n, 1e-12))) + k * float(np.log(n))


class MonotoneDurationModel(DurationModel):
    """Per-type log-additive monotone duration model (see the module docstring), learned online.

    Same interface as :class:`~agents.baselines._common.DurationModel` (``fitted``,
    ``predict``, ``efficient``, ``remaining``); ``predict(..., cluster)`` adds that cluster's
    learned offset. Once ``min_samples`` tasks of any types have completed with at least two
    distinct allocations, a shape shared by all types (with an intercept per type) is fitted, and
    every type is *fitted*: a type with ``min_samples`` completions and two distinct allocations
    of its own gets its own shape, pulled towards the shared one; the others use the shared shape
    with their own intercept (or the mean intercept). Before that the estimate is the type's
    geometric-mean observed duration (else that of all types, else ``prior_slots``).

    Attributes:
        ridge: weight of the L2 penalty on the pooled shape coefficients.
        prior_var: prior variance (log-slots squared) of a type's shape coefficients around the
            shared shape: a type's own fit is pulled towards the shared shape with weight
            ``noise / prior_var``, ``noise`` the residual variance of its own samples.
        offset_prior: the cluster offsets are shrunk towards 0 as if each had this many extra
            samples at 0.
        offsets: ``(N,)`` learned log-duration offset of each cluster (about mean zero over
            samples).
    """

    def __init__(
        self,
        tracker: TaskTracker,
        resource_names: tuple[str, ...],
        num_types: int,
        max_level: NDArray[np.int64],
        num_clusters: int,
        min_samples: int = 4,
        prior_slots: float = 4.0,
        ridge: float = 0.05,
        prior_var: float = 0.2,
        offset_prior: float = 5.0,
    ) -> None:
        super().__init__(tracker, resource_names, num_types, min_samples, prior_slots)
        self.layout = _Layout(np.asarray(max_level), self.gpu_idx)
        self._features = AllocationTable(lambda a: monotone_features(a, self.layout), np.asarray(max_level))
        self.ridge = ridge
        self.prior_var = prior_var
        self.offset_prior = offset_prior
        self._seen_key: tuple[int, int] = (-1, -1)
        self.offsets = np.zeros(num_clusters)
        self._log_mean: list[float | None] = [None] * num_types
        #: the fit of the completed samples alone, with its inputs: they change only when a task
        #: completes, while the refit with the censored samples runs every slot
        self._done_fit: tuple[tuple[NDArray[Any], ...], _Fit] | None = None

    def _refresh(self) -> None:
        tr = self.tracker
        key = (tr.num_samples, tr._last_t)
        if self._seen_key == key:
            return
        self._seen_key = key
        if tr.num_samples == 0:
            return
        types = np.asarray(tr.sample_type)
        hosts = np.asarray(tr.sample_host)
        slots = np.asarray(tr.sample_slots) - np.asarray(tr.sample_delay)
        allocs = np.stack(tr.sample_alloc)
        inputs = (types, hosts, slots, allocs)
        memo = self._done_fit
        if memo is None or not all(np.array_equal(a, b) for a, b in zip(memo[0], inputs)):
            memo = self._done_fit = (inputs, self._solve(*inputs))
        self._apply(memo[1])  # what _fit_all(*inputs) writes: the fit is a function of its inputs
        # censored samples: a running task older than its estimate will take at least its age;
        # without them a model that underrates a resource learns so only when the slow tasks
        # it caused finish, which under load comes too late
        cens = self._censored()
        if cens is not None:
            ct, ch, cs, ca = cens
            self._fit_all(
                np.concatenate([types, ct]),
                np.concatenate([hosts, ch]),
                np.concatenate([slots, cs]),
                np.concatenate([allocs, ca]),
            )

    def _censored(
        self,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]] | None:
        """``(types, hosts, ages, average allocations)`` of the running tasks whose age (active
        slots minus their delay) exceeds their current estimate, or ``None``."""
        tr = self.tracker
        ids = tr.running_ids
        if ids.shape[0] == 0:
            return None
        active = tr.active_slots[ids]
        ids = ids[active > 0]
        if ids.shape[0] == 0:
            return None
        hosts = tr.host[ids]
        age = tr.active_slots[ids] - tr.delay_slots[ids, hosts]
        avg = tr.attained[ids] / tr.active_slots[ids][:, None]
        types = tr.type_idx[ids]
        keep = np.zeros(ids.shape[0], dtype=bool)
        for i in range(ids.shape[0]):
            k = int(types[i])
            if self._coef[k] is not None:
                keep[i] = age[i] > self.predict(int(k), avg[i][None], int(hosts[i]))[0]
        if not keep.any():
            return None
        return types[keep], hosts[keep], age[keep].astype(np.float64), avg[keep]

    def _fit_all(
        self,
        types: NDArray[np.int64],
        hosts: NDArray[np.int64],
        slots: NDArray[np.float64],
        allocs: NDArray[np.float64],
    ) -> None:
        """Fit every type's coefficients and the cluster offsets to these samples."""
        self._apply(self._solve(types, hosts, slots, allocs))

    def _apply(self, fit: _Fit) -> None:
        """Write a :meth:`_solve` result into the model (types it did not fit keep their state)."""
        offsets, log_mean, coef = fit
        self.offsets = offsets.copy()
        for k, m in log_mean.items():
            self._log_mean[k] = m
        for k, c in coef.items():
            self._coef[k] = c.copy()

    def _solve(
        self,
        types: NDArray[np.int64],
        hosts: NDArray[np.int64],
        slots: NDArray[np.float64],
        allocs: NDArray[np.float64],
    ) -> _Fit:
        """The fit of :meth:`_fit_all`, a function of the samples alone: ``(offsets (N,), log
        mean per type seen, coefficients per type fitted)``."""
        n = types.shape[0]
        y = np.log(np.maximum(slots, 1.0))
        x = monotone_features(allocs, self.layout)
        distinct_ok = two_distinct_rows(allocs)
        offsets = np.zeros_like(self.offsets)
        sels = [np.flatnonzero(types == k) for k in range(self.num_types)]
        own_ok = [two_distinct_rows(allocs[sel]) for sel in sels]
        # per type: its features and the design of its own fits (fixed across the iterations)
        xs = [x[sel] for sel in sels]
        designs = [self._design(xk) for xk in xs]
        on_host = [hosts == c for c in range(offsets.shape[0])]
        host_den = [int(on.sum()) + self.offset_prior for on in on_host]
        log_mean: dict[int, float] = {}
        coefs: dict[int, NDArray[np.float64]] = {}
        for _ in range(3):  # backfitting: the shapes, then the pooled cluster offsets
            yo = y - offsets[hosts]
            pooled = None
            if n >= self.min_samples and distinct_ok:
                pooled = self._fit_pooled(x, yo, types)
            pred = np.zeros(n)
            for k in range(self.num_types):
                sel, xk = sels[k], xs[k]
                yk = yo[sel]
                if sel.shape[0]:
                    log_mean[k] = float(yk.mean())
                if pooled is None or sel.shape[0] < self.min_samples or not own_ok[k]:
                    pred[sel] = yk.mean() if sel.shape[0] else 0.0
                    continue
                shape, _ = pooled
                b = float(np.mean(yk - xk @ shape))
                coef = np.concatenate([[max(b, 0.0), max(-b, 0.0)], shape])
                # empirical Bayes: pull towards the shared shape in proportion to the noise
                # of the type's own samples (none for noiseless durations)
                raw = self._fit(xk, yk, prior=shape, weight=1e-3, design=designs[k])
                df = 1 + int(np.count_nonzero(raw[2:] > 1e-9))
                resid = yk - raw[0] + raw[1] - xk @ raw[2:]
                noise = float(np.sum(resid**2)) / max(1, sel.shape[0] - df)
                mine = self._fit(xk, yk, prior=shape, weight=noise / self.prior_var, design=designs[k])
                if _bic(mine, xk, yk) < _bic(coef, xk, yk, free_shape=False):
                    coef = mine
                coefs[k] = coef
                pred[sel] = coef[0] - coef[1] + xk @ coef[2:]
            resid = y - pred
            for c, on in enumerate(on_host):
                # shrunk towards 0 like a prior worth `offset_prior` samples
                offsets[c] = float(resid[on].sum()) / host_den[c]
            offsets -= offsets[hosts].mean()
        return offsets, log_mean, coefs

    def _fit_pooled(
        self, x: NDArray[np.float64], y: NDArray[np.float64], types: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """One shape shared by every type, with an intercept per type: the prior of each type's
        own fit, and its whole model until it has enough samples of its own.

        Returns:
            ``(shape coefficients (F,), intercept per type (K,), NaN for types without samples)``.
        """
        n, f = x.shape
        k_count = self.num_types
        onehot = np.zeros((n, k_count))
        onehot[np.arange(n), types] = 1.0
        design = np.concatenate([onehot, -onehot, x], axis=1)
        pen = np.concatenate([np.zeros((f, 2 * k_count)), np.sqrt(self.ridge) * np.eye(f)], axis=1)
        coef = _nnls(np.concatenate([design, pen]), np.concatenate([y, np.zeros(f)]), 50 * (f + 2 * k_count))
        seen = np.bincount(types, minlength=k_count) > 0
        intercepts = np.where(seen, coef[:k_count] - coef[k_count : 2 * k_count], np.nan)
        return coef[2 * k_count :], intercepts

    @staticmethod
    def _design(x: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(n + F, 2 + F)``: the rows ``[1, -1, x]`` of :meth:`_fit` over the rows
        ``[0, 0, I]`` of its penalty (scaled by the penalty's weight there)."""
        n, f = x.shape
        ones = np.ones((n, 1))
        top = np.concatenate([ones, -ones, x], axis=1)
        pen = np.concatenate([np.zeros((f, 2)), np.eye(f)], axis=1)
        return np.concatenate([top, pen])

    def _fit(
        self,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        prior: NDArray[np.float64],
        weight: float,
        design: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """``[b+, b-, beta..., gamma...]``: NNLS with the intercept split into two signs and an L2
        pull of the shape towards ``prior`` (the pooled shape) of weight ``weight``. ``design``:
        :meth:`_design` of ``x`` (computed here if not given)."""
        n, f = x.shape
        a = (self._design(x) if design is None else design).copy()
        w = np.sqrt(weight)
        a[n:, 2:] *= w  # w * I (exactly: w * 1 and w * 0)
        return _nnls(a, np.concatenate([y, w * prior]), 50 * (f + 2))

    def predict(self, type_idx: int, alloc: NDArray[Any], cluster: int | None = None) -> NDArray[np.float64]:
        """Estimated duration (slots, ``>= 1``, excluding any data-transfer delay) of a type's
        task at each of ``alloc`` ``(n, R)``, on ``cluster`` (``None``: the average cluster)."""
        self._refresh()
        a = np.atleast_2d(np.asarray(alloc))
        off = 0.0 if cluster is None else float(self.offsets[cluster])
        coef = self._coef[type_idx]
        if coef is not None:
            log_est = coef[0] - coef[1] + self._features(a) @ coef[2:]
        else:
            known = [m for m in self._log_mean if m is not None]
            const = self._log_mean[type_idx]
            if const is None:
                const = float(np.mean(known)) if known else float(np.log(self.prior_slots))
            log_est = np.full(a.shape[0], const)
        return np.maximum(np.exp(log_est + off), 1.0)
