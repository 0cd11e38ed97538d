"""Episode metrics (SPEC.md section 10). Times in slots; utilisation in [0, 1]."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from edgesched_env.sim.core import Simulator

__all__ = ["episode_metrics", "jct_array"]


def jct_array(sim: Simulator) -> tuple[np.ndarray, np.ndarray]:
    """JCT in slots of every arrived task and whether it finished.

    JCT = completion slot - arrival slot + 1. An unfinished task (truncation) counts with its JCT
    so far, ``t - arrival + 1`` where ``t`` is the current slot.

    Returns:
        ``(jct (A,) int64, finished (A,) bool)`` over the ``A`` arrived tasks, in arrival order.
    """
    a = sim.num_arrived
    done = sim.completion_slot[:a] >= 0
    end = np.where(done, sim.completion_slot[:a], sim.t)
    return end - sim.arrival_slot[:a] + 1, done


def episode_metrics(sim: Simulator) -> dict[str, Any]:
    """The metrics dict reported in ``infos[agent]["metrics"]`` at the episode end.

    Keys: ``mean_jct``, ``p50_jct``, ``p95_jct``, ``p99_jct`` (slots; numpy's linear percentiles
    over every arrived task, unfinished ones with their JCT so far), ``makespan`` (slots in the
    episode: last completion slot + 1), ``mean_tasks_in_system`` (time average at reward time =
    total JCT / makespan), ``utilization`` (resource name -> mean allocated / capacity over slots
    and clusters), ``utilization_per_cluster`` (resource name -> list over clusters),
    ``tasks_arrived``, ``tasks_completed``, ``tasks_unfinished``, ``total_jct``, ``rounds``,
    ``slots``, ``conflicts``, ``infeasible_actions``, ``clipped_actions``, ``resizes``,
    ``truncated``.
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
    }
