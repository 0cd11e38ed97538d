"""``lower-bound``: not a scheduler but a figure, computed with ORACLE knowledge.

Every task runs alone, from its arrival slot, on the best cluster that sees it, at its best
allocation (within its minimum, the per-task maximum and that cluster's capacity), with no waiting
and no contention: its JCT is the data-transfer delay (zero in the tapfinger presets) plus its
noiseless duration. No scheduler can have a lower JCT for any task, so the mean, percentiles and
the makespan derived from these JCTs bound every scheduler's from below (on the same seed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents.baselines.oracle import OracleDurations

__all__ = ["lower_bound_jct", "lower_bound_metrics"]


def lower_bound_jct(env: Any) -> NDArray[np.float64]:
    """``(T,)`` alone-at-best JCT (slots) of every task of ``env``'s current episode.

    Call after ``env.reset(seed)``: the whole workload is drawn at reset.
    """
    view = env.view
    oracle = OracleDurations(view)
    cap = view.capacity
    delay = view.delay_slots
    jct = np.full(view.num_tasks, np.inf)
    best_cache: dict[tuple[int, float, float, tuple[int, ...]], float] = {}
    for task in range(view.num_tasks):
        k = int(view.type_idx[task])
        lo = view.min_request[task]
        work = float(view.oracle_work[task])
        for c in np.flatnonzero(view.visible[task]).tolist():
            hi = np.minimum(cap[c], view.max_level)
            if (lo > hi).any():
                continue
            key = (k, work, float(view.oracle_speed_factor[c]), tuple(hi.tolist()))
            best = best_cache.get(key)
            if best is None:
                tab = oracle.table(k, work, float(view.oracle_speed_factor[c]))
                best = float(tab[tuple(slice(0, int(h) + 1) for h in hi)].min())
                best_cache[key] = best
            d = float(delay[task, c]) if delay is not None else 0.0
            jct[task] = min(jct[task], best + d)
    return jct


def lower_bound_metrics(env: Any) -> dict[str, Any]:
    """The figure as a partial metrics dict: JCT statistics, makespan and tasks in system.

    Keys: ``mean_jct``, ``p50_jct``, ``p95_jct``, ``p99_jct``, ``makespan`` (last alone-completion
    slot + 1), ``total_jct``, ``mean_tasks_in_system`` (total JCT / that makespan),
    ``tasks_arrived``, ``tasks_completed``.
    """
    view = env.view
    jct = lower_bound_jct(env)
    arrival = view.arrival_slot.astype(np.float64)
    makespan = int(np.max(arrival + jct)) if jct.shape[0] else 0
    p50, p95, p99 = (float(v) for v in np.percentile(jct, [50, 95, 99]))
    total = float(jct.sum())
    return {
        "mean_jct": float(jct.mean()),
        "p50_jct": p50,
        "p95_jct": p95,
        "p99_jct": p99,
        "makespan": makespan,
        "mean_tasks_in_system": total / makespan if makespan else 0.0,
        "total_jct": round(total) if np.isfinite(total) else total,
        "tasks_arrived": int(view.num_tasks),
        "tasks_completed": int(view.num_tasks),
    }
