"""``oracle-greedy``: an ORACLE reference that knows the hidden speed models."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.baselines._common import Candidates, HeuristicScheduler
from agents.baselines.oracle import OracleDurations

__all__ = ["OracleGreedyScheduler"]


class OracleGreedyScheduler(HeuristicScheduler):
    """ORACLE (a reference point, not a peer): reads ``SimView.oracle_*``.

    For each pending task that fits, the true duration of every allocation between its minimum
    and what is free (capped at the per-task maximum) is computed from the hidden speed model;
    the task's allocation is the one that minimises its own completion time, the cheapest among
    equally fast ones (fewest units relative to the cluster's capacity). Each agent places the task
    that would finish soonest this way (ties: oldest first). Never preempts.

    Conflicts: decentralised; the env's rule decides a task picked by several agents (SPEC.md
    section 6) and the losers decide again in the next round.
    """

    name = "oracle-greedy"
    uses_oracle = True

    def __init__(self) -> None:
        super().__init__()
        self._oracle: OracleDurations | None = None

    def choose(self, agent: int, cand: Candidates, free: NDArray[np.int64]) -> tuple[int, NDArray[np.int64]]:
        view = self.sim_view
        oracle = self._oracle
        if oracle is None or oracle.view is not view:  # tables depend on the bound env only
            oracle = self._oracle = OracleDurations(view)
        best_j, best_slots, best_units = 0, np.inf, cand.lo[0]
        for j in range(cand.tasks.shape[0]):
            slots, units = oracle.best_in_box(
                int(cand.tasks[j]), agent, cand.lo[j], cand.hi[j], view.capacity[agent]
            )
            if slots < best_slots:
                best_j, best_slots, best_units = j, slots, units
        return best_j, best_units.copy()
