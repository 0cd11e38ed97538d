"""``drf``: dominant resource fairness (Ghodsi et al., NSDI 2011) among the tasks of a cluster."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.baselines._common import Candidates, HeuristicScheduler, RoundBatch

__all__ = ["DrfScheduler"]


class DrfScheduler(HeuristicScheduler):
    """Every task of a cluster is a DRF user whose demand vector is its minimum request ``m``.

    Progressive filling equalises dominant shares: with capacity ``C``, each task ``j`` would get
    ``x_j = s / dom_j`` copies of ``m_j`` (``dom_j = max_r m_jr / C_r``), where the common dominant
    share ``s = min_r C_r / sum_j (m_jr / dom_j)`` fills the first saturated resource. The sum runs
    over the tasks running on the cluster and every task waiting for the agent (pending slots and
    queue, counted with the demand of the task being placed). Each agent places its oldest
    pending task that fits (all waiting tasks have a dominant share of 0, so DRF's "lowest share
    first" is FIFO) with ``floor(x_j * m_j)``, raised to the minimum and capped at what is free and
    at the per-task maximum. Running tasks are never resized (non-preemptive).

    Conflicts: decentralised; the env's rule decides a task picked by several agents (SPEC.md
    section 6) and the losers decide again in the next round.
    """

    name = "drf"

    def choose(self, agent: int, cand: Candidates, free: NDArray[np.int64]) -> tuple[int, NDArray[np.int64]]:
        view = self.sim_view
        cap = view.capacity[agent].astype(np.float64)
        m = cand.lo[0].astype(np.float64)
        running = self.jobs_on(agent)
        demands = [view.min_request[running].astype(np.float64)]
        demands.append(np.repeat(m[None], self.waiting_count(agent), axis=0))
        d = np.concatenate(demands, axis=0)  # (J, R) demand vectors
        dom = (d / cap).max(axis=1)
        per_share = (d / dom[:, None]).sum(axis=0)  # units of each resource per unit of s
        pos = per_share > 0
        s = float((cap[pos] / per_share[pos]).min())
        x = s / float((m / cap).max())
        units = np.floor(x * m + 1e-9).astype(np.int64)
        return 0, np.clip(units, cand.lo[0], cand.hi[0])

    def choose_batch(
        self, rb: RoundBatch, lo: NDArray[np.int64], hi: NDArray[np.int64], place: NDArray[np.bool_]
    ) -> NDArray[np.int64]:
        """:meth:`choose` for every episode and agent at once, bit for bit: the demand vectors are
        summed in the same order (running tasks by id, then the waiting copies of ``m``; the
        padding rows add exact zeros)."""
        cap = rb.capacity.astype(np.float64)[None, :, None, :]  # (1, N, 1, R)
        m = np.where(place[..., None], lo, 1).astype(np.float64)  # (B, N, R); 1s where unused
        running = rb.running_task >= 0
        order = np.argsort(np.where(running, rb.running_task, np.iinfo(np.int64).max), axis=-1, kind="stable")
        run_min = np.take_along_axis(rb.running_min, order[..., None], axis=2).astype(np.float64)
        run_min *= np.take_along_axis(running, order, axis=2)[..., None]  # (B, N, M, R) by id
        waiting = rb.waiting  # (B, N)
        copies = np.arange(int(waiting.max()) if waiting.size else 0) < waiting[..., None]  # (B, N, W)
        d = np.concatenate([run_min, m[:, :, None, :] * copies[..., None]], axis=2)  # (B, N, J, R)
        dom = (d / cap).max(axis=-1, keepdims=True)
        scaled = np.divide(d, dom, out=np.zeros_like(d), where=dom > 0)
        per_share = scaled.sum(axis=2)  # (B, N, R) units of each resource per unit of s
        pos = per_share > 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            s = np.where(pos, cap[:, :, 0] / np.where(pos, per_share, 1.0), np.inf).min(axis=-1)
            x = s / (m / cap[:, :, 0]).max(axis=-1)
            raw = np.floor(x[..., None] * m + 1e-9)
        units = np.where(place[..., None] & np.isfinite(raw), raw, 0.0).astype(np.int64)
        return np.clip(units, lo, hi)
