"""``min``: the request-based scheduler (Kubernetes / YARN-like), SPEC.md section 12."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.baselines._common import Candidates, HeuristicScheduler, RoundBatch

__all__ = ["MinRequestScheduler"]


class MinRequestScheduler(HeuristicScheduler):
    """Each agent places its oldest pending task that fits (FIFO by arrival, skipping tasks that
    do not fit) with exactly its minimum request; no-op when nothing fits.

    Differs from the reference's Min, which picked a random task: FIFO is what a request-based
    cluster manager does, and it makes the baseline deterministic.

    Conflicts: decentralised; each agent picks from its own pending slots and the env's rule
    decides a task picked by several agents (SPEC.md section 6); the losers decide again in the
    next round on the updated state.
    """

    name = "min"

    def choose(self, agent: int, cand: Candidates, free: NDArray[np.int64]) -> tuple[int, NDArray[np.int64]]:
        return 0, cand.lo[0].copy()

    def choose_batch(
        self, rb: RoundBatch, lo: NDArray[np.int64], hi: NDArray[np.int64], place: NDArray[np.bool_]
    ) -> NDArray[np.int64]:
        """Every agent's oldest fitting task at its minimum: ``lo``."""
        return lo
