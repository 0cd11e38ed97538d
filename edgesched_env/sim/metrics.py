"""Episode metrics (SPEC.md section 10). Times in slots; utilisation in [0, 1]."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from edgesched_env.workload.topology import transfer_metrics

if TYPE_CHECKING:
    from edgesched_env.sim.core import Simulator

__all__ = ["episode_metrics", "jct_array"]


def jct_array(sim: Simulator) -> tuple[np.ndarray, np.ndarray]:
    """JCT in slots of every task that has spent at least one slot in the system, and whether
    it finished.

    JCT = completion slot - arrival slot + 1. An unfinished task (truncation) counts with the
    slots it has spent in the system so far, ``t - arrival`` (slots ``arrival .. t - 1``; the
    current slot ``t`` has not ended), and tasks that arrived in the current slot are left out.
    So the total JCT always equals minus the sum of the global rewards received.

    Returns:
        ``(jct (A,) int64, finished (A,) bool)`` over those ``A`` tasks, in arrival order.
    """
    a = sim.num_arrived
    done = sim.completion_slot[:a] >= 0
    jct = np.where(done, sim.completion_slot[:a] + 1, sim.t) - sim.arrival_slot[:a]
    keep = done | (sim.arrival_slot[:a] < sim.t)
    return jct[keep], done[keep]


def episode_metrics(sim: Simulator) -> dict[str, Any]:
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
    ``truncated``, and the data-transfer figures ``transfer_slots_total``, ``transfer_slots_mean``
    (slots between placement and first progress, over placed tasks) and ``placed_away_from_home``
    (fraction of placed tasks not on their home cluster; 0 without a topology).
    """
    jct, _done = jct_array(sim)
    names = sim.config.resource_names
    slots = len(sim.hist_in_system)
    if slots:
        used = np.stack(sim.hist_used).astype(np.float64)  # (S, N, R)
        per_cluster = used.mean(axis=0) / sim.capacity  # (N, R)
        overall = used.sum(axis=(0, 1)) / (slots * sim.capacity.sum(axis=0))  # (R,)
    else:
        per_cluster = np.zeros(sim.capacity.shape)
        overall = np.zeros(sim.capacity.shape[1])
    if jct.shape[0]:
        p50, p95, p99 = (float(v) for v in np.percentile(jct, [50, 95, 99]))
        mean = float(jct.mean())
    else:
        p50 = p95 = p99 = mean = 0.0
    makespan = int(sim.t)  # after the last slot end, t = last completion slot + 1
    total = int(jct.sum())
    return {
        "mean_jct": mean,
        "p50_jct": p50,
        "p95_jct": p95,
        "p99_jct": p99,
        "makespan": makespan,
        "mean_tasks_in_system": float(sum(sim.hist_in_system)) / slots if slots else 0.0,
        "utilization": {name: float(overall[r]) for r, name in enumerate(names)},
        "utilization_per_cluster": {
            name: [float(u) for u in per_cluster[:, r]] for r, name in enumerate(names)
        },
        "tasks_arrived": int(sim.num_arrived),
        "tasks_completed": int(sim.num_completed),
        "tasks_unfinished": int(sim.num_arrived - sim.num_completed),
        "total_jct": total,
        "rounds": int(sim.total_rounds),
        "slots": int(sim.t),
        "conflicts": int(sim.num_conflicts),
        "infeasible_actions": int(sim.num_infeasible),
        "clipped_actions": int(sim.num_clipped),
        "resizes": int(sim.num_resizes),
        "truncated": bool(sim.truncated),
        **transfer_metrics(sim),
    }
