"""``tetris``: multi-resource packing combined with shortest remaining time (Grandl et al., 2014)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.baselines._common import Candidates
from agents.baselines._estimating import EstimatingScheduler

__all__ = ["TetrisScheduler"]


class TetrisScheduler(EstimatingScheduler):
    """Each agent scores its pending tasks that fit and places the best one (ties: the oldest).

    A task's demand ``d`` is the allocation :class:`~agents.baselines.srtf.SrtfScheduler` would
    give it (learned efficient allocation within the fair share; the fair share while its type is
    unfitted). Its score is the packing alignment ``sum_r (d_r / C_r) * (free_r / C_r)`` (``C`` the
    cluster's capacity) divided by the best alignment among the candidates, plus
    ``srt_weight * min_est / est``, where ``est`` is its estimated duration at ``d`` (shorter
    tasks score higher, as in Tetris's SRTF term). Durations are learned online, never read from
    the hidden models. Never preempts.

    Conflicts: decentralised; the env's rule decides a task picked by several agents (SPEC.md
    section 6) and the losers decide again in the next round.
    """

    name = "tetris"

    def __init__(self, srt_weight: float = 1.0) -> None:
        super().__init__()
        self.srt_weight = srt_weight

    def choose(
        self, agent: int, cand: Candidates, free: NDArray[np.int64]
    ) -> tuple[int, NDArray[np.int64]] | None:
        cap = self.sim_view.capacity[agent].astype(np.float64)
        units, est = self.proposals(agent, cand)
        ok = np.isfinite(est)
        if not ok.any():
            return None  # nothing fits well now: wait for running tasks to free units
        align = ((units / cap) * (free / cap)).sum(axis=1)
        score = align / max(float(align[ok].max()), 1e-12) + self.srt_weight * float(est[ok].min()) / est
        j = int(np.argmax(np.where(ok, score, -np.inf)))
        return j, units[j]
