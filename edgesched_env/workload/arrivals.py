"""Instance generation: the whole episode's workload, drawn at reset from the env RNG.

The workload (arrival slots, types, visibility, per-task requests and work) is drawn once, at
``reset(seed)``, before any decision. It therefore depends on the seed only, never on the policy:
two schedulers run on the same seed face exactly the same tasks. Later draws of the same RNG
(conflict ties, progress noise) happen during the episode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from edgesched_env.config import EnvConfig

__all__ = ["Workload", "generate_workload", "poisson_arrival_slots"]


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
    """

    arrival_slot: NDArray[np.int64]
    type_idx: NDArray[np.int64]
    visible: NDArray[np.bool_]
    min_request: NDArray[np.int64]
    work: NDArray[np.float64]
    delay_slots: NDArray[np.int64]

    @property
    def num_tasks(self) -> int:
        """``T``."""
        return int(self.arrival_slot.shape[0])


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
    all_counts = np.concatenate(counts)
    slots = np.repeat(np.arange(all_counts.shape[0], dtype=np.int64), all_counts)
    return slots[:num_tasks]


def _random_subsets(num_tasks: int, num_clusters: int, rng: np.random.Generator) -> NDArray[np.bool_]:
    """Visibility ``"random-subset"``: ``k ~ U{1..N}``, then a uniform random ``k``-subset."""
    k = rng.integers(1, num_clusters + 1, size=num_tasks)
    keys = rng.random((num_tasks, num_clusters))
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    return ranks < k[:, None]


def generate_workload(config: EnvConfig, rng: np.random.Generator) -> Workload:
    """Draw the episode's workload from ``rng`` (or replay ``fixed_tasks`` without drawing)."""
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
    else:
        t_count = spec.num_tasks
        arrival = poisson_arrival_slots(spec.arrival_rate, t_count, rng)
        type_idx = rng.choice(len(spec.task_types), size=t_count, p=np.asarray(spec.type_probs))
        type_idx = type_idx.astype(np.int64)
        if spec.visibility == "all":
            visible = np.ones((t_count, n), dtype=bool)
        else:
            visible = _random_subsets(t_count, n, rng)
        work = np.ones(t_count, dtype=np.float64)
    return Workload(
        arrival_slot=arrival,
        type_idx=type_idx,
        visible=visible,
        min_request=min_by_type[type_idx],
        work=work,
        delay_slots=np.zeros((arrival.shape[0], n), dtype=np.int64),
    )
