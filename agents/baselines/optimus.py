"""``optimus`` (elastic) and ``optimus-np``: marginal-gain allocation on a fitted speed function.

After Optimus (Peng et al., EuroSys 2018) as the TapFinger paper's baseline uses it (SPEC.md
s.12): the speed function ``f(p, w) = 1 / (a/w + b + c*w/p + d*w + e*p)`` (``p`` cpu units, ``w``
gpu units) is fitted per task type, online, from the durations of the tasks that have completed
in the episode (:class:`~agents.baselines._common.DurationModel`), never from the hidden models.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.base import Seeds
from agents.baselines._common import Candidates, box_grid
from agents.baselines._estimating import EstimatingScheduler
from agents.baselines._greedy import grant_units
from edgesched_env.sim.core import RUNNING

__all__ = [
    "OptimusNonPreemptivePaperScheduler",
    "OptimusNonPreemptiveScheduler",
    "OptimusPaperScheduler",
    "OptimusScheduler",
]


class OptimusScheduler(EstimatingScheduler):
    """ELASTIC (uses ``SimView.resize``): Optimus's marginal-gain allocation, re-done every slot.

    Allocation of a set of jobs within a budget (:meth:`allocate`): the jobs are admitted in order
    of estimated remaining time at their base allocation (shortest first, ties oldest) while their
    base allocations fit; the base is the minimum for a type whose speed function is fitted, else
    the fair share (exploration, so that samples cover several allocations), or the current
    allocation for a running task of an unfitted type. Then, one unit at a time, the unit of any
    resource that most reduces an admitted job's estimated remaining time (``(1 - estimated
    fraction done) * duration(a)``) is granted, until no unit reduces it.

    A waiting task of a fitted type is admitted at its congestion-aware allocation
    (:meth:`~agents.baselines._estimating.EstimatingScheduler.cost_aware`, as in ``optimus-np``);
    a running one starts from the least the model has evidence for and grows from there.

    Every slot, at its first round and before placing, each cluster allocates its capacity among
    its running, preempted and pending tasks; a running task's new allocation is applied unless
    the estimated gain is below the switch cost ``(1 - switch_penalty)`` slots of the type. How
    (:attr:`resize_rule`): ``"grow"`` (default) only *grows* running tasks, into units that are
    free, oldest first; they are never shrunk or preempted, so a task placed at its
    congestion-aware allocation keeps at least that. ``"any"`` (the rule before 0.3.5) also
    shrinks them and preempts those not admitted (all-zero resize), shrinks first; on the measured
    presets the churn cost it 1.4-1.6x the best heuristic's mean JCT (``"grow"``: see
    docs/results.md). The pending tasks granted units are then placed one per round in priority
    order; units left over (a planned task taken by another cluster) go to the remaining pending
    tasks by the same allocation over the free units (as in ``optimus-np``).

    Conflicts: decentralised; the env's rule decides a task picked by several agents (SPEC.md
    section 6) and the losers decide again in the next round.
    """

    name = "optimus"
    uses_elastic_api = True
    relative_gain = True
    #: ``"grow"``: running tasks only grow into free units; ``"any"``: also shrunk and preempted
    resize_rule = "grow"

    def __init__(self) -> None:
        super().__init__()
        self._plan: dict[int, list[tuple[int, NDArray[np.int64]]]] = {}

    def reset(self, seed: Seeds = None) -> None:
        super().reset(seed)
        self._plan = {}

    # ---------------------------------------------------------------------------- allocation
    def allocate(
        self,
        agent: int,
        jobs: NDArray[np.int64],
        budget: NDArray[np.int64],
        num_jobs: int,
        cap: NDArray[np.int64] | None = None,
    ) -> tuple[list[int], NDArray[np.int64]]:
        """Optimus allocation of ``jobs`` (task ids, ascending) within ``budget`` ``(R,)``.

        Args:
            agent: the cluster.
            jobs: ``(J,)`` task ids (running, preempted or pending), oldest first.
            budget: units available to them.
            num_jobs: jobs sharing the cluster, for the exploration share.
            cap: ``(J, R)`` most units each job may get (default: the per-task maximum).

        Returns:
            ``(admitted job indices in priority order, units (J, R))`` (zeros where not admitted).
        """
        view = self.sim_view
        model = self.model
        max_level = view.max_level
        r = max_level.shape[0]
        share = self.fair_share(agent, num_jobs)
        j_count = jobs.shape[0]
        base = np.zeros((j_count, r), dtype=np.int64)
        fitted = np.zeros(j_count, dtype=bool)
        rem0 = np.zeros(j_count)
        wait = np.zeros(j_count, dtype=bool)  # no explored allocation fits now (see cost_aware)
        types = view.type_idx[jobs]
        big = self.explore_big(jobs) if self.exploration == "alternate" else np.zeros(j_count, dtype=bool)
        for j, task in enumerate(jobs.tolist()):
            k = int(types[j])
            lo = view.min_request[task]
            fitted[j] = model.fitted(k)
            cur = view.alloc[task] if view.status[task] == RUNNING else np.zeros_like(lo)
            cost_base = not self.uses_elastic_api or self.resize_rule == "grow"
            if fitted[j] and self.allocation_rule == "cost" and cost_base and not cur.any():
                # a waiting task is admitted at its congestion-aware allocation, not its minimum
                # (it cannot grow once placed unless the scheduler is elastic, nor shrink under "grow")
                hi = np.minimum(budget, max_level) if cap is None else np.minimum(cap[j], budget)
                base[j], est = self.cost_aware(agent, task, lo, np.maximum(hi, lo))
                wait[j] = not np.isfinite(est)
            elif fitted[j]:
                # the least the model has evidence for (its minimum for the paper form)
                upper = max_level if cap is None else np.minimum(cap[j], max_level)
                base[j] = self.explored_min(k, lo, upper, view.capacity[agent])
            elif cur.any():
                base[j] = cur
            elif big[j]:  # exploration = "alternate": this task explores with the whole budget
                base[j] = np.clip(np.minimum(budget, max_level), lo, max_level)
            else:
                base[j] = np.clip(share, lo, max_level)
            if cap is not None:
                base[j] = np.clip(base[j], lo, cap[j])
            rem0[j] = float(model.remaining(task, k, base[j][None], agent)[0])
        order = np.argsort(rem0, kind="stable").tolist()
        units = np.zeros_like(base)
        left = budget.astype(np.int64).copy()
        admitted: list[int] = []
        for j in order:
            if not wait[j] and (base[j] <= left).all():
                units[j] = base[j]
                left -= base[j]
                admitted.append(j)
        grow = [j for j in admitted if fitted[j]]
        if not grow:
            return admitted, units
        upper = np.broadcast_to(max_level, units.shape) if cap is None else np.minimum(cap, max_level)
        cap_f = view.capacity[agent].astype(np.float64)
        press = 0.0  # the tasks left waiting, as in EstimatingScheduler.pressure
        if self.allocation_rule == "cost":
            left_out = np.setdiff1d(self.waiting_tasks(agent), jobs[admitted])
            press = self.waiting_weight(agent, left_out)

        # Each grown job's estimated remaining time (with the congestion term) over every
        # allocation it can reach (its admitted units up to its upper bound), computed at once
        # and laid end to end: the greedy (grant_units) only reads it. The model does not change
        # within this call.
        upper = np.ascontiguousarray(upper, dtype=np.int64)
        lo = np.zeros_like(units)
        strides = np.zeros_like(units)
        offsets = np.zeros(j_count, dtype=np.int64)
        tables = []
        size = 0
        for j in grow:
            task, k = int(jobs[j]), int(types[j])
            lo[j] = units[j]
            dims = np.maximum(upper[j], lo[j]) - lo[j] + 1
            grid = box_grid(lo[j], lo[j] + dims - 1)
            rem = model.remaining_factor(task, k, agent) * model.predict(k, grid, agent)
            tables.append(rem * (1.0 + press * (grid / cap_f).max(axis=1)))  # = remaining x congestion
            strides[j, -1] = 1  # box_grid's (C) order
            strides[j, :-1] = np.cumprod(dims[::-1])[::-1][1:]
            offsets[j] = size
            size += grid.shape[0]
        grant_units(
            units,
            left,
            upper,
            np.asarray(grow, dtype=np.int64),
            lo,
            strides,
            offsets,
            np.concatenate(tables),
            bool(self.relative_gain),
        )
        return admitted, units

    # ------------------------------------------------------------------------------- elastic
    def rebalance(self) -> None:
        view = self.sim_view
        model = self.model
        types_cfg = view.config.workload.task_types
        self._plan = {}
        for agent in range(view.config.num_clusters):
            running = self.jobs_on(agent)
            row = view.pending[agent]
            pend = np.sort(row[row >= 0])
            jobs = np.concatenate([running, pend])
            if jobs.shape[0] == 0:
                self._plan[agent] = []
                continue
            cap = view.capacity[agent]
            num_jobs = jobs.shape[0] + int(view.queue_len[agent])
            admitted, target = self.allocate(agent, jobs, cap, num_jobs)
            n_run = running.shape[0]
            final = target.copy()
            for j in range(n_run):
                task = int(jobs[j])
                cur = view.alloc[task]
                k = int(view.type_idx[task])
                if not cur.any() or not target[j].any() or (cur == target[j]).all():
                    continue
                if not model.fitted(k):
                    final[j] = cur
                    continue
                rem = model.remaining(task, k, np.stack([cur, target[j]]), agent)
                if rem[0] - rem[1] < 1.0 - types_cfg[k].switch_penalty:
                    final[j] = cur
            if self.resize_rule == "grow":
                self._grow(agent, [(int(jobs[j]), final[j]) for j in range(n_run)])
            else:
                if (final.sum(axis=0) > cap).any():
                    final = target
                self.apply_resizes({int(jobs[j]): final[j] for j in range(n_run)})
            self._plan[agent] = [(int(jobs[j]), final[j]) for j in admitted if j >= n_run]

    def _grow(self, agent: int, targets: list[tuple[int, NDArray[np.int64]]]) -> None:
        """``resize_rule = "grow"``: in the order given (running tasks, oldest first), raise each
        running task to its target where that only adds units and they are free now (a target
        below the current units in any resource, or all-zero, is skipped: nothing is shrunk)."""
        view = self.sim_view
        free = view.free[agent].copy()
        for task, units in targets:
            cur = view.alloc[task]
            extra = units - cur
            if not cur.any() or not extra.any() or (extra < 0).any() or (extra > free).any():
                continue
            view.resize(task, units)
            free -= extra

    # ----------------------------------------------------------------------------- placement
    def choose(
        self, agent: int, cand: Candidates, free: NDArray[np.int64]
    ) -> tuple[int, NDArray[np.int64]] | None:
        hit = self.planned_choice(self._plan.get(agent, []), cand)
        if hit is not None:
            return hit
        return self.allocate_waiting(agent, cand, free)

    def allocate_waiting(
        self, agent: int, cand: Candidates, free: NDArray[np.int64]
    ) -> tuple[int, NDArray[np.int64]] | None:
        """The Optimus allocation over the waiting candidates within ``free``: the
        highest-priority admitted task and its units."""
        view = self.sim_view
        num_jobs = self.waiting_count(agent) + int(view.running_count[agent])
        admitted, units = self.allocate(agent, cand.tasks, free.copy(), num_jobs, cand.hi)
        if not admitted:
            return None  # every candidate waits for units to free up (see cost_aware)
        j = admitted[0]
        return j, np.minimum(units[j], cand.hi[j])


class OptimusNonPreemptiveScheduler(OptimusScheduler):
    """``optimus-np``: the non-preemptive variant of :class:`OptimusScheduler`.

    Running tasks are never resized. At every round each agent runs the Optimus allocation
    (:meth:`OptimusScheduler.allocate`) over its pending tasks that fit, within its free units, and
    places the highest-priority admitted task (shortest estimated remaining time) with the units
    the allocation gave it.

    Conflicts: decentralised; the env's rule decides a task picked by several agents (SPEC.md
    section 6) and the losers decide again in the next round.
    """

    name = "optimus-np"
    uses_elastic_api = False

    def choose(
        self, agent: int, cand: Candidates, free: NDArray[np.int64]
    ) -> tuple[int, NDArray[np.int64]] | None:
        return self.allocate_waiting(agent, cand, free)


class _PaperForm:
    """The choices of 0.3.0's Optimus, kept for the paper table: the paper's duration model, the
    fair-share allocation and exploration, and the plain marginal gain."""

    duration_family = "optimus"
    allocation_rule = "share"
    relative_gain = False
    exploration = "share"
    resize_rule = "any"


class OptimusPaperScheduler(_PaperForm, OptimusScheduler):
    """``optimus-paper``: :class:`OptimusScheduler` with the paper's duration model, as the
    TapFinger paper's Optimus baseline (SPEC.md section 12): ELASTIC, the Optimus function
    ``a/w + b + c*w/p + d*w + e*p`` (plus ``f*w/x`` per extra resource) fitted by non-negative
    least squares in slots (:class:`~agents.baselines._common.DurationModel`), and the plain
    marginal gain in estimated remaining time (no congestion term). Used for the paper table.

    Conflicts: as :class:`OptimusScheduler`.
    """

    name = "optimus-paper"


class OptimusNonPreemptivePaperScheduler(_PaperForm, OptimusNonPreemptiveScheduler):
    """``optimus-np-paper``: :class:`OptimusNonPreemptiveScheduler` with the paper's duration
    model and gain (see :class:`OptimusPaperScheduler`).

    Conflicts: as :class:`OptimusNonPreemptiveScheduler`.
    """

    name = "optimus-np-paper"
