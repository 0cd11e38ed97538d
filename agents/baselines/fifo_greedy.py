"""``fifo-greedy``: the oldest task gets everything free, up to the per-task maximum."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.baselines._common import Candidates, HeuristicScheduler, RoundBatch

__all__ = ["FifoGreedyScheduler"]


class FifoGreedyScheduler(HeuristicScheduler):
    """Each agent places its oldest pending task that fits (FIFO by arrival) with every free unit
    of each resource, capped at the per-task maximum; no-op when nothing fits.

    Conflicts: decentralised; the env's rule decides a task picked by several agents (SPEC.md
    section 6) and the losers decide again in the next round.
    """

    name = "fifo-greedy"

    def choose(self, agent: int, cand: Candidates, free: NDArray[np.int64]) -> tuple[int, NDArray[np.int64]]:
        return 0, cand.hi[0].copy()

    def choose_batch(
        self, rb: RoundBatch, lo: NDArray[np.int64], hi: NDArray[np.int64], place: NDArray[np.bool_]
    ) -> NDArray[np.int64]:
        """Every agent's oldest fitting task gets all it may: ``hi``."""
        return hi
