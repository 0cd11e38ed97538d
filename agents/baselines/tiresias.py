"""``tiresias`` (elastic) and ``tiresias-np``: 2-level least-attained-service on gpu time.

After Tiresias (Gu et al., NSDI 2019) as the TapFinger paper's baseline uses it (SPEC.md s.12).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.base import Seeds
from agents.baselines._common import Candidates, HeuristicScheduler, resource_index
from edgesched_env.sim.core import RUNNING

__all__ = ["TiresiasNonPreemptiveScheduler", "TiresiasScheduler"]


class TiresiasScheduler(HeuristicScheduler):
    """ELASTIC (uses ``SimView.resize``): 2-level least-attained-service, re-decided every slot.

    Priority: a task's attained service is the gpu units x slots it has held (observed by the
    scheduler itself); below ``threshold_gpu_slots`` (default: the per-task gpu maximum, i.e. one
    slot at full size) it is in the high queue, else in the low queue; within a queue, oldest
    arrival first. A preempted task that has waited ``promote_after_slots`` slots since it last ran
    is promoted to the high queue (Tiresias's starvation guard). Waiting tasks have attained
    nothing, so they are in the high queue.

    Share: the cluster's capacity divided by the number of high-queue jobs on it (running ones,
    the agent's pending slots and its queue), or by all its jobs when none is in the high queue;
    raised to a task's minimum and capped at the per-task maximum.

    Every slot, at its first round and before placing, each cluster walks its running, preempted
    and pending tasks in priority order with a budget equal to its capacity: a running task keeps
    its current allocation if it fits in the budget, else it is preempted (all-zero resize; its
    progress is kept); a preempted or pending task gets its share, or what is left of the budget
    if that is at least its minimum, else it waits. Resizes are applied (shrinks first); the
    pending tasks granted units are then placed, one per round, in priority order. The same walk
    is repeated at every later round of the slot, so units planned for a task that another
    cluster took go to the next tasks in priority order (pending ones, then preempted ones: a task
    preempted earlier in the same slot gets its old units back and pays nothing). A task whose
    units differ from the previous slot's (resumed, or preempted) pays the switch penalty of
    SPEC.md section 2.

    Conflicts: decentralised; the env's rule decides a task picked by several agents (SPEC.md
    section 6) and the losers decide again in the next round (their plan keeps the lost task's
    units for the remaining candidates).
    """

    name = "tiresias"
    uses_elastic_api = True

    def __init__(self, threshold_gpu_slots: float | None = None, promote_after_slots: int = 8) -> None:
        super().__init__()
        self.threshold_gpu_slots = threshold_gpu_slots
        self.promote_after_slots = promote_after_slots
        self._plan: dict[int, list[tuple[int, NDArray[np.int64]]]] = {}
        self._last_ran = np.zeros(0, dtype=np.int64)

    def reset(self, seed: Seeds = None) -> None:
        super().reset(seed)
        self._plan = {}
        self._last_ran = np.zeros(0, dtype=np.int64)

    # --------------------------------------------------------------------------- priorities
    def _gpu(self) -> int:
        names = self.sim_view.config.resource_names
        return resource_index(names, "gpu", len(names) - 1)

    def _threshold(self) -> float:
        if self.threshold_gpu_slots is not None:
            return float(self.threshold_gpu_slots)
        return float(self.sim_view.max_level[self._gpu()])

    def _levels(self, tasks: NDArray[np.int64]) -> NDArray[np.int64]:
        """``(n,)`` queue of each task: 0 high (little attained gpu service), 1 low."""
        view = self.sim_view
        if self._last_ran.shape[0] != view.num_tasks:
            self._last_ran = np.zeros(view.num_tasks, dtype=np.int64)
        attained = self.tracker.attained[tasks, self._gpu()] if tasks.shape[0] else np.zeros(0)
        low = attained >= self._threshold()
        preempted = (view.status[tasks] == RUNNING) & ~view.alloc[tasks].any(axis=1)
        starved = preempted & (view.t - self._last_ran[tasks] >= self.promote_after_slots)
        return (low & ~starved).astype(np.int64)

    def _share(self, agent: int, running_levels: NDArray[np.int64]) -> NDArray[np.int64]:
        waiting = self.waiting_count(agent)
        high = int((running_levels == 0).sum()) + waiting
        jobs = high if high > 0 else running_levels.shape[0] + waiting
        return self.fair_share(agent, jobs)

    # ------------------------------------------------------------------------------ elastic
    def rebalance(self) -> None:
        view = self.sim_view
        self._levels(np.zeros(0, dtype=np.int64))  # sizes _last_ran for this episode
        running_now = (view.status == RUNNING) & view.alloc.any(axis=1)
        self._last_ran[running_now] = view.t
        max_level = view.max_level
        self._plan = {}
        for agent in range(view.config.num_clusters):
            running = self.jobs_on(agent)
            row = view.pending[agent]
            pend = np.sort(row[row >= 0])
            run_lv = self._levels(running)
            share = self._share(agent, run_lv)
            jobs = np.concatenate([running, pend])
            is_run = np.concatenate([np.ones(running.shape[0], bool), np.zeros(pend.shape[0], bool)])
            level = np.concatenate([run_lv, np.zeros(pend.shape[0], dtype=np.int64)])
            order = np.lexsort((jobs, view.arrival_slot[jobs], level))
            budget = view.capacity[agent].copy()
            targets: dict[int, NDArray[np.int64]] = {}
            plan: list[tuple[int, NDArray[np.int64]]] = []
            for j in order.tolist():
                task = int(jobs[j])
                lo = view.min_request[task]
                cur = view.alloc[task]
                holding = bool(is_run[j]) and bool(cur.any())
                want = cur.copy() if holding else np.clip(share, lo, max_level)
                if (want <= budget).all():
                    grant = want
                elif holding:
                    grant = np.zeros_like(want)
                else:
                    grant = np.minimum(want, budget)
                    if (grant < lo).any():
                        grant = np.zeros_like(want)
                budget -= grant
                if is_run[j]:
                    targets[task] = grant
                elif grant.any():
                    plan.append((task, grant))
            self.apply_resizes(targets)
            self._plan[agent] = plan

    def on_round(self) -> None:
        """Re-plan at the later rounds of a slot too (elastic variant only): units planned for a
        pending task that another cluster took go, in priority order, to the remaining pending
        tasks and then back to preempted tasks (resuming a task preempted earlier in the same
        slot with its old units costs no switch penalty)."""
        if self.uses_elastic_api and self.sim_view.round_in_slot > 0:
            self.rebalance()

    # ---------------------------------------------------------------------------- placement
    def choose(self, agent: int, cand: Candidates, free: NDArray[np.int64]) -> tuple[int, NDArray[np.int64]]:
        hit = self.planned_choice(self._plan.get(agent, []), cand)
        if hit is not None:
            return hit
        share = self._share(agent, self._levels(self.jobs_on(agent)))
        return 0, np.clip(share, cand.lo[0], cand.hi[0])


class TiresiasNonPreemptiveScheduler(TiresiasScheduler):
    """``tiresias-np``: the non-preemptive variant of :class:`TiresiasScheduler`.

    Running tasks are never resized. Waiting tasks have attained no service, so LAS orders them
    oldest first; each agent places its oldest pending task that fits with the Tiresias share
    (the capacity divided by the cluster's high-queue jobs: tasks that have attained less than the
    threshold of gpu service count, long-served ones do not), raised to the minimum and capped at
    what is free and at the per-task maximum. It differs from ``fair-share`` only in that
    long-served running tasks do not shrink the share of new ones.

    Conflicts: decentralised; the env's rule decides a task picked by several agents (SPEC.md
    section 6) and the losers decide again in the next round.
    """

    name = "tiresias-np"
    uses_elastic_api = False
