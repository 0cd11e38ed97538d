"""``srtf``: shortest estimated remaining time first, with durations learned online."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.baselines._common import Candidates
from agents.baselines._estimating import EstimatingScheduler

__all__ = ["SrtfScheduler"]


class SrtfScheduler(EstimatingScheduler):
    """Each agent places the pending task with the shortest estimated remaining time (ties: the
    oldest). A waiting task's remaining time is its whole estimated duration at the allocation it
    would get: the cheapest allocation within 5% of the fastest estimate inside its fair share
    (``capacity // (waiting + running)``) once its type's speed function is fitted, else the fair
    share itself (exploration). Durations are learned online from completed tasks (type,
    allocation, slots) with the Optimus fit of SPEC.md section 12, never from the hidden models.
    Running tasks are never preempted, so ordering the waiting tasks is all SRTF can do here.

    Conflicts: decentralised; the env's rule decides a task picked by several agents (SPEC.md
    section 6) and the losers decide again in the next round.
    """

    name = "srtf"

    def choose(
        self, agent: int, cand: Candidates, free: NDArray[np.int64]
    ) -> tuple[int, NDArray[np.int64]] | None:
        units, est = self.proposals(agent, cand)
        j = int(np.argmin(est))
        if not np.isfinite(est[j]):
            return None  # nothing fits well now: wait for running tasks to free units
        return j, units[j]
