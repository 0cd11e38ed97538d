"""``fair-share``: the non-preemptive Tiresias-style share of the cluster."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.baselines._common import Candidates, HeuristicScheduler, RoundBatch

__all__ = ["FairShareScheduler"]


class FairShareScheduler(HeuristicScheduler):
    """Each agent places its oldest pending task that fits (FIFO by arrival) with the share
    ``capacity // max(1, waiting + running)`` of its cluster per resource, raised to the task's
    minimum and capped at what is free and at the per-task maximum. ``waiting`` counts the agent's
    occupied pending slots and its overflow queue (the task being placed included), ``running`` the
    tasks on the cluster. Never preempts.

    Conflicts: decentralised; the env's rule decides a task picked by several agents (SPEC.md
    section 6) and the losers decide again in the next round.
    """

    name = "fair-share"

    def choose(self, agent: int, cand: Candidates, free: NDArray[np.int64]) -> tuple[int, NDArray[np.int64]]:
        view = self.sim_view
        jobs = self.waiting_count(agent) + int(view.running_count[agent])
        share = self.fair_share(agent, jobs)
        return 0, np.clip(share, cand.lo[0], cand.hi[0])

    def choose_batch(
        self, rb: RoundBatch, lo: NDArray[np.int64], hi: NDArray[np.int64], place: NDArray[np.bool_]
    ) -> NDArray[np.int64]:
        """:meth:`choose` for every episode and agent: ``capacity // max(1, waiting + running)``
        clipped to ``lo..hi``."""
        jobs = np.maximum(1, rb.waiting + rb.running_count)  # (B, N)
        return np.clip(rb.capacity // jobs[..., None], lo, hi)
