"""Episode metrics (SPEC.md section 10). Times in slots; utilisation in [0, 1].

Every function reads one episode through its :class:`~edgesched_env.sim.view.SimView`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from edgesched_env.sim.view import SimView

__all__ = ["episode_metrics", "jct_array", "transfer_metrics"]


def jct_array(view: SimView) -> tuple[np.ndarray, np.ndarray]:
    """JCT in slots of every task that has spent at least one slot in the system, and whether
    it finished.

    JCT = completion slot - arrival slot + 1. An unfinished task (truncation) counts with the
    slots it has spent in the system so far, ``t - arrival`` (slots ``arrival .. t - 1``; the
    current slot ``t`` has not ended), and tasks that arrived in the current slot are left out.
    So the total JCT always equals minus the sum of the global rewards received.

    Returns:
        ``(jct (A,) int64, finished (A,) bool)`` over those ``A`` tasks, in arrival order.
    """
    a = view.num_arrived
    completion = view.completion_slot[:a]
    arrival = view.arrival_slot[:a]
    done = completion >= 0
    jct = np.where(done, completion + 1, view.t) - arrival
    keep = done | (arrival < view.t)
    return jct[keep], done[keep]


def transfer_metrics(view: SimView) -> dict[str, float]:
    """Data-transfer metrics of an episode.

    Keys: ``transfer_slots_total`` (sum over placed tasks of the delay on their host, slots),
    ``transfer_slots_mean`` (per placed task), ``placed_away_from_home`` (fraction of placed tasks
    not on their home cluster; 0 without a topology).
    """
    host = view.host
    placed = np.flatnonzero(host >= 0)
    if placed.shape[0] == 0:
        return {"transfer_slots_total": 0.0, "transfer_slots_mean": 0.0, "placed_away_from_home": 0.0}
    delays = view.delay_slots[placed, host[placed]]
    home = view.workload.home
    away = 0.0 if home is None else float((home[placed] != host[placed]).mean())
    return {
        "transfer_slots_total": float(delays.sum()),
        "transfer_slots_mean": float(delays.mean()),
        "placed_away_from_home": away,
    }


def episode_metrics(view: SimView) -> dict[str, Any]:
    """The metrics dict reported in ``infos[agent]["metrics"]`` at the episode end.

    Keys: ``mean_jct``, ``p50_jct``, ``p95_jct``, ``p99_jct`` (slots; numpy's linear percentiles
    over every arrived task, unfinished ones with their slots in the system so far; see
    :func:`jct_array`), ``makespan`` (slots in the
    episode: last completion slot + 1), ``mean_tasks_in_system`` (time average at reward time =
    total JCT / makespan), ``utilization`` (resource name -> allocated units summed over slots
    and clusters / capacity units summed over slots and clusters: capacity-weighted),
    ``utilization_per_cluster`` (resource name -> list over clusters),
    ``tasks_arrived``, ``tasks_completed``, ``tasks_unfinished``, ``total_jct``, ``rounds``,
    ``slots``, ``conflicts``, ``infeasible_actions``, ``clipped_actions``, ``resizes``,
    ``truncated`` (the episode ended before every task of its workload completed: cut by
    ``max_slots`` or ``max_cycles``), and the data-transfer figures of :func:`transfer_metrics`.
    """
    jct, _done = jct_array(view)
    names = view.config.resource_names
    slots = view.t  # one sample per slot end
    capacity = view.capacity
    if slots:
        used = view.sum_used.astype(np.float64)  # (N, R) unit-slots (exact integers)
        per_cluster = used / slots / capacity  # (N, R)
        overall = used.sum(axis=0) / (slots * capacity.sum(axis=0))  # (R,)
    else:
        per_cluster = np.zeros(capacity.shape)
        overall = np.zeros(capacity.shape[1])
    if jct.shape[0]:
        p50, p95, p99 = (float(v) for v in np.percentile(jct, [50, 95, 99]))
        mean = float(jct.mean())
    else:
        p50 = p95 = p99 = mean = 0.0
    total = int(jct.sum())
    return {
        "mean_jct": mean,
        "p50_jct": p50,
        "p95_jct": p95,
        "p99_jct": p99,
        "makespan": int(view.t),  # after the last slot end, t = last completion slot + 1
        "mean_tasks_in_system": float(view.sum_in_system) / slots if slots else 0.0,
        "utilization": {name: float(overall[r]) for r, name in enumerate(names)},
        "utilization_per_cluster": {
            name: [float(u) for u in per_cluster[:, r]] for r, name in enumerate(names)
        },
        "tasks_arrived": int(view.num_arrived),
        "tasks_completed": int(view.num_completed),
        "tasks_unfinished": int(view.num_arrived - view.num_completed),
        "total_jct": total,
        "rounds": int(view.total_rounds),
        "slots": int(view.t),
        "conflicts": int(view.num_conflicts),
        "infeasible_actions": int(view.num_infeasible),
        "clipped_actions": int(view.num_clipped),
        "resizes": int(view.num_resizes),
        # cut before every task of the workload finished, by max_slots or max_cycles
        "truncated": bool(view.truncated) or int(view.num_completed) < int(view.num_tasks),
        **transfer_metrics(view),
    }
