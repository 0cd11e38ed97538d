"""Instance generation: the whole episode's workload, drawn at reset from the env RNG.

The workload (arrival slots, types, visibility, per-task requests and work) is drawn once, at
``reset(seed)``, before any decision. It therefore depends on the seed only, never on the policy:
two schedulers run on the same seed face exactly the same tasks. Later draws of the same RNG
(conflict ties, progress noise) happen during the episode.

Order of the draws (each only when its feature is on, so configs without the realism features,
such as the tapfinger presets, draw exactly what they always drew):

1. arrivals (Poisson or diurnal counts; none for trace replay);
2. types (``rng.choice`` over ``type_probs``; none when a trace names each job's model type);
3. visibility (``"random-subset"``);
4. home clusters (with a topology: uniform over the task's visible clusters, or over all clusters
   for visibility ``"topology"``; none when the trace gives each job's cluster);
5. work (``work_sigma > 0``: log-normal factor per task);
6. minimum requests (types with ``min_request_max``: uniform integers per resource);
7. input data sizes (types with ``input_mb``: log-uniform).

Then, without drawing: topology visibility (clusters within the radius of home), transfer delays
(``Topology.delay_slots``), and a repair that makes every task visible to at least one cluster
whose capacity fits its minimum request (the nearest such cluster, by path latency with a topology,
else the lowest index, is added), so every episode can end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edgesched_env.workload.traces import TraceJobs

if TYPE_CHECKING:
    from edgesched_env.config import EnvConfig

__all__ = ["Workload", "diurnal_arrival_slots", "generate_workload", "poisson_arrival_slots"]


@dataclass(frozen=True)
class Workload:
    """The tasks of one episode, ``T`` of them, in arrival order (ties by index).

    Attributes:
        arrival_slot: ``(T,)`` int64, slot of arrival (non-decreasing).
        type_idx: ``(T,)`` int64, index into the config's task types.
        visible: ``(T, N)`` bool, which clusters see each task (each row non-empty).
        min_request: ``(T, R)`` int64, minimum units per resource.
        work: ``(T,)`` float64, relative amount of work (1.0 = the type's nominal work).
        delay_slots: ``(T, N)`` int64, slots between placement on a cluster and the task's first
            progress there (data transfer; zeros unless a topology says otherwise).
        home: ``(T,)`` int64, the task's home cluster (``None`` without a topology).
        input_mb: ``(T,)`` float64, input data size in MB (``None`` without data sizes).
    """

    arrival_slot: NDArray[np.int64]
    type_idx: NDArray[np.int64]
    visible: NDArray[np.bool_]
    min_request: NDArray[np.int64]
    work: NDArray[np.float64]
    delay_slots: NDArray[np.int64]
    home: NDArray[np.int64] | None = None
    input_mb: NDArray[np.float64] | None = None

    @property
    def num_tasks(self) -> int:
        """``T``."""
        return int(self.arrival_slot.shape[0])


def _slots_of(counts: NDArray[np.int64], num_tasks: int) -> NDArray[np.int64]:
    """Arrival slot of each of the first ``num_tasks`` tasks, given arrivals per slot ``counts``.

    The slot of task ``k`` is the first slot whose cumulative count exceeds ``k`` (what repeating
    each slot index by its count and cutting at ``num_tasks`` gives, without building an array
    of every arrival: ``arrival_rate=1e9`` draws ~1e10 of them in the first chunk).
    """
    cum = np.cumsum(counts)
    return np.searchsorted(cum, np.arange(num_tasks, dtype=np.int64), side="right").astype(np.int64)


def poisson_arrival_slots(rate: float, num_tasks: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Arrival slot of each of ``num_tasks`` tasks under Poisson(``rate``) arrivals per slot.

    Counts are drawn slot by slot (in chunks, for speed) until ``num_tasks`` tasks have arrived;
    the last slot's batch is cut so the total is exact. Slot 0 has the first batch.
    """
    chunk = max(16, math.ceil(2 * num_tasks / rate))
    counts: list[NDArray[np.int64]] = []
    total = 0
    while total < num_tasks:
        c = rng.poisson(rate, size=chunk).astype(np.int64)
        counts.append(c)
        total += int(c.sum())
    return _slots_of(np.concatenate(counts), num_tasks)


def diurnal_arrival_slots(
    rate: float, amplitude: float, period_slots: float, num_tasks: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Arrival slots under a time-varying Poisson rate ``rate * (1 + amplitude * sin(2 pi t / period))``.

    Counts are drawn slot by slot (in chunks) until ``num_tasks`` tasks have arrived; the last
    batch is cut so the total is exact.
    """
    chunk = max(16, math.ceil(2 * num_tasks / rate))
    counts: list[NDArray[np.int64]] = []
    total = 0
    start = 0
    while total < num_tasks:
        t = np.arange(start, start + chunk, dtype=np.float64)
        lam = rate * (1.0 + amplitude * np.sin(2.0 * np.pi * t / period_slots))
        c = rng.poisson(np.maximum(lam, 0.0)).astype(np.int64)
        counts.append(c)
        total += int(c.sum())
        start += chunk
    return _slots_of(np.concatenate(counts), num_tasks)


def _random_subsets(num_tasks: int, num_clusters: int, rng: np.random.Generator) -> NDArray[np.bool_]:
    """Visibility ``"random-subset"``: ``k ~ U{1..N}``, then a uniform random ``k``-subset."""
    k = rng.integers(1, num_clusters + 1, size=num_tasks)
    keys = rng.random((num_tasks, num_clusters))
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    return ranks < k[:, None]


def generate_workload(config: EnvConfig, rng: np.random.Generator) -> Workload:
    """Draw the episode's workload from ``rng`` (or replay ``fixed_tasks`` without drawing).

    The order of the draws is in the module docstring.
    """
    spec = config.workload
    n = config.num_clusters
    min_by_type = np.array([t.min_request for t in spec.task_types], dtype=np.int64)
    if spec.fixed_tasks is not None:
        tasks = spec.fixed_tasks
        arrival = np.array([t.arrival_slot for t in tasks], dtype=np.int64)
        type_idx = np.array([t.type_idx for t in tasks], dtype=np.int64)
        visible = np.zeros((len(tasks), n), dtype=bool)
        for i, t in enumerate(tasks):
            visible[i, list(t.visible_to)] = True
        work = np.array([t.work for t in tasks], dtype=np.float64)
        return Workload(
            arrival_slot=arrival,
            type_idx=type_idx,
            visible=visible,
            min_request=min_by_type[type_idx],
            work=work,
            delay_slots=np.zeros((arrival.shape[0], n), dtype=np.int64),
        )
    t_count = spec.num_tasks
    trace_jobs: TraceJobs | None = None
    # 1. arrivals
    if spec.arrival_process == "trace":
        assert spec.trace is not None  # checked by WorkloadSpec
        trace_jobs = spec.trace.jobs(t_count)
        arrival = spec.trace.arrival_slots(trace_jobs)
    elif spec.arrival_process == "diurnal":
        arrival = diurnal_arrival_slots(
            spec.arrival_rate, spec.diurnal_amplitude, spec.diurnal_period_slots, t_count, rng
        )
    else:
        arrival = poisson_arrival_slots(spec.arrival_rate, t_count, rng)
    # 2. types
    if trace_jobs is not None and trace_jobs.application is not None:
        names = [t.name for t in spec.task_types]
        type_idx = np.array([names.index(a) for a in trace_jobs.application], dtype=np.int64)
    else:
        type_idx = rng.choice(len(spec.task_types), size=t_count, p=np.asarray(spec.type_probs))
        type_idx = type_idx.astype(np.int64)
    # 3. visibility
    if spec.visibility == "all":
        visible = np.ones((t_count, n), dtype=bool)
    elif spec.visibility == "random-subset":
        visible = _random_subsets(t_count, n, rng)
    else:
        visible = np.ones((t_count, n), dtype=bool)  # replaced below, once homes are known
    # 4. homes
    topo = config.topology
    home: NDArray[np.int64] | None = None
    if topo is not None:
        if trace_jobs is not None and (trace_jobs.cluster >= 0).all():
            home = (trace_jobs.cluster % n).astype(np.int64)
        else:
            # Uniform over the visible clusters: the k-th visible one, k ~ U{0..count-1}.
            u = rng.random(t_count)
            count = visible.sum(axis=1)
            k = np.minimum((u * count).astype(np.int64), count - 1)
            home = np.argmax(np.cumsum(visible, axis=1) > k[:, None], axis=1).astype(np.int64)
        if spec.visibility == "topology":
            visible = topo.within(home, spec.visibility_hops, spec.visibility_latency_ms)
    # 5. work
    work = np.ones(t_count, dtype=np.float64)
    if trace_jobs is not None and np.isfinite(trace_jobs.duration_s).all():
        assert spec.trace is not None
        work = _work_from_durations(config, type_idx, spec.trace.duration_slots(trace_jobs), trace_jobs)
    if spec.work_sigma > 0:
        z = rng.standard_normal(t_count)
        work = work * np.clip(np.exp(spec.work_sigma * z), 0.125, 8.0)
    # 6. minimum requests
    min_request = min_by_type[type_idx]
    if any(t.min_request_max is not None for t in spec.task_types):
        max_by_type = np.array(
            [t.min_request if t.min_request_max is None else t.min_request_max for t in spec.task_types],
            dtype=np.int64,
        )
        min_request = rng.integers(min_request, max_by_type[type_idx] + 1).astype(np.int64)
    # 7. input data
    input_mb: NDArray[np.float64] | None = None
    if any(t.input_mb[1] > 0 for t in spec.task_types):
        bounds = np.array([t.input_mb for t in spec.task_types], dtype=np.float64)[type_idx]
        lo = np.log(np.maximum(bounds[:, 0], 1e-300))
        hi = np.log(np.maximum(bounds[:, 1], 1e-300))
        input_mb = np.where(bounds[:, 1] > 0, np.exp(lo + (hi - lo) * rng.random(t_count)), 0.0)
    # Deterministic: delays and the fit repair.
    if topo is not None and home is not None:
        sizes = input_mb if input_mb is not None else np.zeros(t_count)
        delay = topo.delay_slots(home, sizes)
    else:
        delay = np.zeros((t_count, n), dtype=np.int64)
    visible = _repair_fit(config, visible, min_request, home)
    return Workload(
        arrival_slot=arrival,
        type_idx=type_idx,
        visible=visible,
        min_request=min_request,
        work=work,
        delay_slots=delay,
        home=home,
        input_mb=input_mb,
    )


def _work_from_durations(
    config: EnvConfig, type_idx: NDArray[np.int64], duration_slots: NDArray[np.float64], jobs: TraceJobs
) -> NDArray[np.float64]:
    """Per-task work so that each task runs about its trace duration at the trace's gpu count.

    Speed models with ``work_for_duration(duration_slots, gpus)`` (measured and profile models)
    use it, with the trace's gpu count clipped to ``[1, per-task maximum]``; for the others the work
    is the duration relative to the median duration.
    """
    names = config.resource_names
    gpus = jobs.num_gpus.astype(np.float64)
    if "gpu" in names:
        gpus = np.clip(gpus, 1, config.num_levels[names.index("gpu")] - 1)
    work = duration_slots / float(np.median(duration_slots))
    for k, t in enumerate(config.workload.task_types):
        sel = type_idx == k
        fn = getattr(t.speed, "work_for_duration", None)
        if sel.any() and fn is not None:
            work[sel] = fn(duration_slots[sel], gpus[sel])
    return np.maximum(work, 1e-9)


def _repair_fit(
    config: EnvConfig,
    visible: NDArray[np.bool_],
    min_request: NDArray[np.int64],
    home: NDArray[np.int64] | None,
) -> NDArray[np.bool_]:
    """Make each task visible to a cluster that can hold its minimum (see the module docstring)."""
    cap = np.array([c.capacity for c in config.clusters], dtype=np.int64)  # (N, R)
    fits: NDArray[np.bool_] = np.asarray((min_request[:, None, :] <= cap[None, :, :]).all(axis=2))  # (T, N)
    bad = np.flatnonzero(~(fits & visible).any(axis=1))
    if bad.shape[0] == 0:
        return visible
    visible = visible.copy()
    topo = config.topology
    for i in bad:
        cand = np.flatnonzero(fits[i])
        if topo is not None and home is not None:
            lat = topo.latency_ms[home[i], cand]
            cand = cand[np.lexsort((cand, lat))]
        visible[i, cand[0]] = True
    return visible
