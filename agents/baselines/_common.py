"""Shared machinery of the heuristic baselines.

* :class:`HeuristicScheduler` turns a per-agent decision ``choose(agent, candidates, free)`` into
  valid actions for both single-task mode (one pick per round) and multi-task mode (``K`` ordered
  picks per slot, planned against the agent's own shrinking free capacity), and calls the elastic
  hook :meth:`HeuristicScheduler.rebalance` at the first round of every slot for schedulers that
  declare ``uses_elastic_api``.
* :class:`TaskTracker` records, from what any scheduler may observe through the view (never the
  ``oracle_*`` members), the allocation every task held in every slot: attained service (units x
  slots), active slots and, for completed tasks, (allocation, duration) samples.
* :class:`DurationModel` learns, per task type, the Optimus speed function of SPEC.md section 12
  from those samples: ``duration(p, w) = a/w + b + c*w/p + d*w + e*p`` slots (``p`` cpu units,
  ``w`` gpu units; the speed is its inverse), by exact non-negative least squares.

Every array of units has the resource axis last (``R`` resources, in the config's order); times are
in slots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from agents.base import Actions, Observations, SchedulerBase, Seeds, implements_batch
from agents.baselines._observed import ObservedView
from edgesched_env.observation import exact_columns
from edgesched_env.sim.core import DONE, RUNNING
from edgesched_env.sim.view import SimView

#: What a heuristic reads: the observation-built :class:`ObservedView`, or, for an oracle only
#: (``uses_oracle``), the env's :class:`~edgesched_env.sim.view.SimView`.
EpisodeView = ObservedView | SimView

__all__ = [
    "AllocationTable",
    "Candidates",
    "DurationModel",
    "EpisodeView",
    "HeuristicScheduler",
    "RoundBatch",
    "TaskTracker",
    "box_grid",
    "fit_speed_function",
    "resource_index",
    "speed_features",
    "two_distinct_rows",
]


def resource_index(names: tuple[str, ...], name: str, default: int) -> int:
    """Index of resource ``name`` in ``names``, else ``default`` (e.g. the gpu of the Optimus fit)."""
    return names.index(name) if name in names else default


_BOX_GRIDS: dict[tuple[tuple[int, ...], tuple[int, ...]], NDArray[np.int64]] = {}
_BOX_GRIDS_MAX = 4096


def box_grid(lo: NDArray[np.int64], hi: NDArray[np.int64]) -> NDArray[np.int64]:
    """Every integer allocation in the box ``lo <= a <= hi``: ``(n, R)`` int64, lexicographic order.

    Returns an empty ``(0, R)`` array when the box is empty. The result is read-only and shared
    (the schedulers ask for the same few boxes thousands of times per episode): copy it to change it.
    """
    key = (tuple(np.asarray(lo).tolist()), tuple(np.asarray(hi).tolist()))
    grid = _BOX_GRIDS.get(key)
    if grid is None:
        if any(b < a for a, b in zip(*key)):
            grid = np.zeros((0, len(key[0])), dtype=np.int64)
        else:
            axes = [np.arange(a, b + 1, dtype=np.int64) for a, b in zip(*key)]
            mesh = np.meshgrid(*axes, indexing="ij")
            grid = np.stack([m.ravel() for m in mesh], axis=1)
        grid.flags.writeable = False
        if len(_BOX_GRIDS) >= _BOX_GRIDS_MAX:
            _BOX_GRIDS.clear()
        _BOX_GRIDS[key] = grid
    return grid


class AllocationTable:
    """A row-wise function of allocations, tabulated once over the integer box ``0..max_level``.

    ``fn`` maps ``(n, R)`` allocations to ``(n, F)`` features, each row a function of that row
    alone (elementwise arithmetic). Calls whose rows are all integer and inside the box read the
    table (computed by ``fn`` on the whole box at the first such call); any other call (fractional
    time-averaged allocations, rows outside the box, a box of more than ``max_rows`` points)
    evaluates ``fn`` directly. The duration models ask for the same few allocations thousands of
    times per episode; this replaces each evaluation by an index.
    """

    def __init__(
        self,
        fn: Callable[[NDArray[Any]], NDArray[np.float64]],
        max_level: NDArray[np.int64],
        max_rows: int = 100_000,
    ) -> None:
        self.fn = fn
        self.max_level = np.asarray(max_level, dtype=np.int64)
        self.dims = tuple(int(m) + 1 for m in self.max_level)
        self.enabled = bool((self.max_level >= 0).all()) and int(np.prod(self.dims)) <= max_rows
        # C-order strides of the box (np.ravel_multi_index's), for the index as one dot product
        self._strides = np.cumprod((*self.dims[1:], 1)[::-1], dtype=np.int64)[::-1].copy()
        self._table: NDArray[np.float64] | None = None

    def __call__(self, alloc: NDArray[Any]) -> NDArray[np.float64]:
        a = np.atleast_2d(np.asarray(alloc))
        if not self.enabled or a.dtype.kind not in "iu" or a.shape[1] != len(self.dims) or not a.shape[0]:
            return self.fn(a)
        if a.min() < 0 or (a > self.max_level).any():  # a row outside the box
            return self.fn(a)
        idx = a.astype(np.int64, copy=False) @ self._strides
        if self._table is None:
            self._table = self.fn(box_grid(np.zeros_like(self.max_level), self.max_level))
        return self._table[idx]


class Candidates(NamedTuple):
    """The pending tasks one agent could place now (they fit at their minimum).

    Attributes:
        slots: ``(c,)`` pending-slot indices.
        tasks: ``(c,)`` global task ids, in FIFO (arrival) order.
        lo: ``(c, R)`` minimum units of each task.
        hi: ``(c, R)`` most units each task may get now: ``min(free, per-task max)``.
    """

    slots: NDArray[np.int64]
    tasks: NDArray[np.int64]
    lo: NDArray[np.int64]
    hi: NDArray[np.int64]


class RoundBatch(NamedTuple):
    """One decision round of ``B`` vector-env episodes as the batched heuristics read it: the v1
    exact keys of the default-layout observation (:mod:`edgesched_env.observation`), plus the
    public config. Agent ``i`` is cluster ``i``. Shapes: ``N`` agents, ``P`` pending slots, ``M``
    running-table rows, ``R`` resources; units are integers, ``-1`` marks an empty row.

    Attributes:
        pending_task: ``(B, N, P)`` task id in each agent's pending slots.
        pending_min: ``(B, N, P, R)`` minimum request of those tasks.
        free: ``(B, N, R)`` free units of each cluster.
        queue_len: ``(B, N)`` overflow-queue length of each agent.
        running_count: ``(B, N)`` tasks running (or preempted) on each cluster.
        running_task: ``(B, N, M)`` ids of the tasks running on each cluster (its running table:
            for a scheduler that never resizes, exactly the tasks running there).
        running_min: ``(B, N, M, R)`` minimum request of those tasks.
        capacity: ``(N, R)`` units of each cluster.
        max_level: ``(R,)`` most units of each resource one task may hold.
    """

    pending_task: NDArray[np.int64]
    pending_min: NDArray[np.int64]
    free: NDArray[np.int64]
    queue_len: NDArray[np.int64]
    running_count: NDArray[np.int64]
    running_task: NDArray[np.int64]
    running_min: NDArray[np.int64]
    capacity: NDArray[np.int64]
    max_level: NDArray[np.int64]

    @property
    def waiting(self) -> NDArray[np.int64]:
        """``(B, N)`` tasks waiting for each agent: occupied pending slots plus the queue
        (:meth:`HeuristicScheduler.waiting_count`)."""
        return (self.pending_task >= 0).sum(axis=-1) + self.queue_len


#: What the batched planner reproduces of the per-episode one: a subclass that overrides one of
#: these below the class that implements ``choose_batch`` is planned per episode.
_PER_EPISODE_HOOKS = (
    "act_agents",
    "act_batch",
    "candidates",
    "choose",
    "on_round",
    "fair_share",
    "jobs_on",
    "waiting_count",
)


class HeuristicScheduler(SchedulerBase):
    """Base of the baselines: per-agent choices, multi-task mode, and the elastic hook.

    Subclasses implement :meth:`choose` and, if they set ``uses_elastic_api``, may override
    :meth:`rebalance`. Every pick they return is exactly feasible (``min <= units <= min(free,
    max)``), so the env never clips or rejects one; an agent only loses a pick to a conflict
    (another agent placed the same task in the same round), after which it simply decides again in
    the next round on the updated state.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tracker = TaskTracker()
        self.observed: ObservedView | None = None
        self._last_actions: Actions | None = None

    def bind(self, env: Any) -> None:
        """Bind as :meth:`SchedulerBase.bind`; a non-oracle scheduler then reads the episode only
        through an :class:`ObservedView` of the observations (given the env's view only for the
        elastic ``resize``, if it declares ``uses_elastic_api``)."""
        self.observed = None  # before bind: a vector env's per-episode clones copy the scheduler
        super().bind(env)
        assert self.config is not None
        self._columns = exact_columns(self.config)  # the batched planner's reading of the exact keys
        self._capacity = np.array([c.capacity for c in self.config.clusters], dtype=np.int64)
        self._max_level = np.array(self.config.num_levels, dtype=np.int64) - 1
        if not self.uses_oracle and self.view is not None:
            assert self.config is not None
            self.observed = ObservedView(self.config, self.view if self.uses_elastic_api else None)

    def reset(self, seed: Seeds = None) -> None:
        """Re-seed the RNG and forget everything learned in the previous episode."""
        super().reset(seed)
        self.tracker = TaskTracker()
        self._last_actions = None
        if self.observed is not None:
            self.observed.reset()

    # ---------------------------------------------------------------------------------- hooks
    def choose(
        self, agent: int, cand: Candidates, free: NDArray[np.int64]
    ) -> tuple[int, NDArray[np.int64]] | None:
        """Pick one of ``cand`` for ``agent`` given its ``free`` units ``(R,)``, or ``None`` to wait.

        Returns:
            ``(index into cand, units (R,))`` with ``cand.lo[i] <= units <= cand.hi[i]``.
        """
        raise NotImplementedError

    def choose_batch(
        self, rb: RoundBatch, lo: NDArray[np.int64], hi: NDArray[np.int64], place: NDArray[np.bool_]
    ) -> NDArray[np.int64]:
        """The batched :meth:`choose` of a heuristic that places the oldest fitting task: the
        units ``(B, N, R)`` it gives that task in every episode and agent at once.

        Args:
            rb: the round's observation (:class:`RoundBatch`).
            lo: ``(B, N, R)`` the chosen task's minimum request (:attr:`Candidates.lo`).
            hi: ``(B, N, R)`` the most it may get now (:attr:`Candidates.hi`).
            place: ``(B, N)`` where an agent has a task to place; elsewhere ``lo``, ``hi`` and the
                result are meaningless (and must not raise).

        A subclass implements it only if its :meth:`choose` always takes the oldest candidate
        (index 0, never ``None``) and depends on nothing but the round's observation; it must
        equal :meth:`choose` bit for bit. Then :meth:`act_batch` plans all of a vector env's
        episodes at once (:meth:`supports_act_batch`).
        """
        raise NotImplementedError

    def supports_act_batch(self) -> bool:
        """Whether the batched planner stands for this scheduler: it implements
        :meth:`choose_batch`, neither resizes nor reads hidden state, and no subclass below the
        implementing class overrides a per-episode hook."""
        if self.uses_elastic_api or self.uses_oracle:
            return False
        return implements_batch(type(self), "choose_batch", _PER_EPISODE_HOOKS, base=HeuristicScheduler)

    def round_batch(self, observations: Mapping[str, NDArray[Any]]) -> RoundBatch:
        """The :class:`RoundBatch` of a default-layout observation batch ``(B, N, ...)``."""
        assert self.config is not None, "bind(env) first"
        cols = self._columns
        pc, cc, rc = cols["pending_info"], cols["cluster_info"], cols["running_info"]
        pinfo, rinfo = observations["pending_info"], observations["running_info"]
        cinfo = observations["cluster_info"][:, 0]  # (B, N, R+3): every agent sees every cluster
        return RoundBatch(
            pending_task=pinfo[..., pc["task"]],
            pending_min=pinfo[..., pc["min_request"]],
            free=cinfo[..., cc["free"]],
            queue_len=cinfo[..., cc["queue"]],
            running_count=cinfo[..., cc["running"]],
            running_task=rinfo[..., rc["task"]],
            running_min=rinfo[..., rc["min_request"]],
            capacity=self._capacity,
            max_level=self._max_level,
        )

    def act_batch(
        self, observations: dict[str, NDArray], infos: Mapping[str, Any], rows: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """:meth:`act_agents` for ``B`` vector-env episodes at once (``(B, N, K * (1 + R))``).

        Every agent of every episode plans its ``K`` picks as :meth:`act_agents` does: at each
        pick the oldest pending task that fits what is still free (and was not picked before),
        given the units of :meth:`choose_batch`; an agent without one no-ops its remaining picks.
        """
        rb = self.round_batch(observations)
        b, n, p = rb.pending_task.shape
        width = 1 + rb.free.shape[-1]
        out = np.tile(self.noop(), (b, n, 1))
        free = rb.free.copy()
        open_ = rb.pending_task >= 0  # (B, N, P) occupied and not yet picked
        fifo_key = np.where(open_, rb.pending_task, np.iinfo(np.int64).max)
        for k in range(self.num_picks):
            hi = np.minimum(free, rb.max_level)  # (B, N, R)
            fits = open_ & (rb.pending_min <= hi[:, :, None, :]).all(axis=-1)
            slot = np.where(fits, fifo_key, np.iinfo(np.int64).max).argmin(axis=-1)  # (B, N) the oldest
            place = np.asarray(fits.any(axis=-1), dtype=bool)
            lo = np.take_along_axis(rb.pending_min, slot[:, :, None, None], axis=2)[:, :, 0]
            units = np.asarray(self.choose_batch(rb, lo, hi, place), dtype=np.int64)
            bad = place[..., None] & ((units < lo) | (units > hi))
            if bad.any():
                j, a, _ = (int(x[0]) for x in np.nonzero(bad))
                raise AssertionError(
                    f"{self.name}: infeasible pick {units[j, a].tolist()} for task "
                    f"{int(rb.pending_task[j, a, slot[j, a]])} (episode row {int(rows[j])}, allowed "
                    f"{lo[j, a].tolist()}..{hi[j, a].tolist()})"
                )
            units = np.where(place[..., None], units, 0)
            out[..., k * width] = np.where(place, slot, p)
            out[..., k * width + 1 : (k + 1) * width] = units
            free = free - units
            task = np.take_along_axis(rb.pending_task, slot[..., None], axis=2)  # (B, N, 1)
            open_ = open_ & ~(place[..., None] & (rb.pending_task == task))
        return out

    def rebalance(self) -> None:
        """ELASTIC hook: re-allocate running tasks through ``SimView.resize``.

        Called at the first decision round of every slot, before any placement, and only for
        schedulers with ``uses_elastic_api = True``.
        """

    def on_round(self) -> None:
        """Called at every decision round before the agents choose (after tracking)."""

    # ------------------------------------------------------------------------------ plumbing
    @property
    def sim_view(self) -> Any:
        """What the scheduler reads of the episode (raises if ``bind`` was not called): the
        :class:`ObservedView` built from the observations, or, for an oracle
        (``uses_oracle``), the env's read-only :class:`SimView`. Both have the members the
        heuristics use, with the same names, shapes and units."""
        seen: EpisodeView | None = self.view if self.uses_oracle else self.observed
        if seen is None:
            raise RuntimeError(f"scheduler {self.name!r}: call bind(env) before act()")
        return seen

    def candidates(self, agent: int, free: NDArray[np.int64], exclude: set[int] | None = None) -> Candidates:
        """The pending tasks of ``agent`` that fit in ``free`` now, in FIFO order."""
        view = self.sim_view
        row = view.pending[agent]
        slots = np.flatnonzero(row >= 0)
        tasks = row[slots]
        if exclude:
            keep = ~np.isin(tasks, list(exclude))
            slots, tasks = slots[keep], tasks[keep]
        lo = view.min_request[tasks]
        upper = np.minimum(free, view.max_level)
        fits = (lo <= upper).all(axis=1)
        order = np.argsort(tasks[fits], kind="stable")
        slots, tasks, lo = slots[fits][order], tasks[fits][order], lo[fits][order]
        hi = np.broadcast_to(upper, lo.shape).copy()
        return Candidates(slots, tasks, lo, hi)

    def act_agents(self, observations: Observations, infos: dict[str, dict[str, Any]]) -> Actions:
        """One action per live agent: ``K`` picks from :meth:`choose` (``K = 1`` in single mode)."""
        view = self.sim_view
        if self.observed is not None:
            self.observed.update(observations, infos, self._last_actions)
        self.tracker.update(view)
        if self.uses_elastic_api and view.round_in_slot == 0:
            self.rebalance()
        self.on_round()
        r = view.config.num_resources
        width = 1 + r
        actions: Actions = {}
        for agent in observations:
            i = int(agent.rsplit("_", 1)[1])
            act = self.noop()
            free = view.free[i].copy()
            taken: set[int] = set()
            for k in range(self.num_picks):
                cand = self.candidates(i, free, taken)
                if cand.tasks.shape[0] == 0:
                    break
                pick = self.choose(i, cand, free)
                if pick is None:
                    break
                j, units = pick
                units = np.asarray(units, dtype=np.int64)
                if (units < cand.lo[j]).any() or (units > cand.hi[j]).any():
                    raise AssertionError(
                        f"{self.name}: infeasible pick {units.tolist()} for task {int(cand.tasks[j])} "
                        f"(allowed {cand.lo[j].tolist()}..{cand.hi[j].tolist()})"
                    )
                act[k * width] = cand.slots[j]
                act[k * width + 1 : (k + 1) * width] = units
                free = free - units
                taken.add(int(cand.tasks[j]))
            actions[agent] = act
        self._last_actions = actions
        return actions

    # ------------------------------------------------------------------------------- helpers
    def jobs_on(self, agent: int) -> NDArray[np.int64]:
        """Ids of the tasks running (or preempted) on ``agent``'s cluster, ascending."""
        view = self.sim_view
        return np.flatnonzero((view.status == RUNNING) & (view.host == agent))

    def waiting_count(self, agent: int) -> int:
        """Tasks waiting for ``agent``: its occupied pending slots plus its overflow queue."""
        view = self.sim_view
        return int((view.pending[agent] >= 0).sum() + view.queue_len[agent])

    @staticmethod
    def planned_choice(
        plan: list[tuple[int, NDArray[np.int64]]], cand: Candidates
    ) -> tuple[int, NDArray[np.int64]] | None:
        """The first ``(task, units)`` of an elastic plan whose task is still a candidate and whose
        units (capped at what is free now) still meet its minimum, as ``(candidate index, units)``;
        ``None`` when no planned placement is possible any more."""
        where = {int(t): j for j, t in enumerate(cand.tasks.tolist())}
        for task, grant in plan:
            j = where.get(task)
            if j is not None:
                units = np.minimum(grant, cand.hi[j])
                if (units >= cand.lo[j]).all():
                    return j, units
        return None

    def fair_share(self, agent: int, num_jobs: int) -> NDArray[np.int64]:
        """``(R,)`` the cluster's capacity divided by ``max(1, num_jobs)`` (floor), in units."""
        return self.sim_view.capacity[agent] // max(1, num_jobs)

    def apply_resizes(self, targets: dict[int, NDArray[np.int64]]) -> None:
        """Resize running tasks to ``targets`` (task id -> units); unchanged tasks are not touched.

        The targets must fit the cluster together. Every shrink is applied first; a task that
        loses some resource and gains another is first cut to the componentwise minimum of its old
        and new units (still at least its minimum), so every intermediate state fits too.
        """
        view = self.sim_view
        changes = [
            (t, np.asarray(u, dtype=np.int64)) for t, u in targets.items() if (view.alloc[t] != u).any()
        ]
        for t, u in changes:
            cur = view.alloc[t]
            if (u <= cur).all():
                view.resize(t, u)
            elif (u < cur).any() and u.any() and cur.any():
                view.resize(t, np.minimum(u, cur))
        for t, u in changes:
            if (view.alloc[t] != u).any():
                view.resize(t, u)
        for t, _ in changes:
            self.tracker.resized[t] = True


class TaskTracker:
    """What a non-oracle scheduler can learn by watching the episode through the view.

    Updated at every decision round. At the first round of a slot it credits each task with the
    allocation it held at the end of the previous slot (after that slot's placements and resizes),
    then turns newly completed tasks into samples.

    Attributes:
        attained: ``(T, R)`` float64, units x slots held so far (attained service).
        active_slots: ``(T,)`` int64, slots in which the task held a non-zero allocation.
        resized: ``(T,)`` bool, the scheduler changed the task's allocation at least once.
        sample_type: type index of each completed task, in completion order.
        sample_alloc: ``(R,)`` time-averaged allocation of each completed task.
        sample_slots: duration (active slots) of each completed task.
        sample_host: cluster each completed task ran on.
        sample_delay: its data-transfer delay (slots, public: ``SimView.delay_slots``), which
            ``sample_slots`` includes (the task holds its units while its input arrives).
        running_ids: tasks running (or preempted) at the last update; ``type_idx``, ``host``
            and ``delay_slots`` are the view's public arrays at that update (read-only).
    """

    def __init__(self) -> None:
        self.attained = np.zeros((0, 0), dtype=np.float64)
        self.active_slots = np.zeros(0, dtype=np.int64)
        self.resized = np.zeros(0, dtype=bool)
        self._snap = np.zeros((0, 0), dtype=np.int64)
        self._seen_done = np.zeros(0, dtype=bool)
        self._last_t = -1
        self.sample_type: list[int] = []
        self.sample_alloc: list[NDArray[np.float64]] = []
        self.sample_slots: list[float] = []
        self.sample_host: list[int] = []
        self.sample_delay: list[float] = []
        self.running_ids = np.zeros(0, dtype=np.int64)
        self.type_idx = np.zeros(0, dtype=np.int64)
        self.host = np.zeros(0, dtype=np.int64)
        self.delay_slots = np.zeros((0, 0), dtype=np.int64)

    def _start(self, t_count: int, r: int, t: int) -> None:
        self.attained = np.zeros((t_count, r), dtype=np.float64)
        self.active_slots = np.zeros(t_count, dtype=np.int64)
        self.resized = np.zeros(t_count, dtype=bool)
        self._snap = np.zeros((t_count, r), dtype=np.int64)
        self._seen_done = np.zeros(t_count, dtype=bool)
        self._last_t = t
        self.sample_type, self.sample_alloc, self.sample_slots = [], [], []
        self.sample_host, self.sample_delay = [], []

    @property
    def num_samples(self) -> int:
        """Completed tasks recorded so far."""
        return len(self.sample_type)

    def update(self, view: EpisodeView) -> None:
        """Account for the slot(s) elapsed since the last call and record new completions."""
        t_count, r = view.num_tasks, view.config.num_resources
        if self.attained.shape != (t_count, r) or view.t < self._last_t:
            self._start(t_count, r, view.t)  # a new episode
        status = view.status
        dt = view.t - self._last_t
        if dt > 0:
            self.attained += self._snap * dt
            self.active_slots += self._snap.any(axis=1) * dt
            self._last_t = view.t
            new_done = np.flatnonzero((status == DONE) & ~self._seen_done)
            if new_done.shape[0]:
                self._seen_done[new_done] = True
                alloc_now = view.alloc
                host, delay = view.host, view.delay_slots
                for task in new_done.tolist():
                    active = int(self.active_slots[task])
                    if active > 0:
                        avg = self.attained[task] / active
                        slots = float(active)
                    else:  # placed and finished between two observations (multi-task mode)
                        avg = alloc_now[task].astype(np.float64)
                        slots = float(view.completion_slot[task] - view.placed_slot[task] + 1)
                    self.sample_type.append(int(view.type_idx[task]))
                    self.sample_alloc.append(avg)
                    self.sample_slots.append(slots)
                    h = int(host[task])
                    self.sample_host.append(h)
                    self.sample_delay.append(float(delay[task, h]) if h >= 0 else 0.0)
        running = status == RUNNING
        self._snap = np.where(running[:, None], view.alloc, 0)
        self.running_ids = np.flatnonzero(running)
        self.type_idx = view.type_idx
        self.host = view.host
        self.delay_slots = view.delay_slots

    def samples_of(self, type_idx: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(allocs (n, R), durations (n,))`` of the completed tasks of one type."""
        sel = [i for i, k in enumerate(self.sample_type) if k == type_idx]
        r = self.attained.shape[1] if self.attained.ndim == 2 else 0
        if not sel:
            return np.zeros((0, r)), np.zeros(0)
        return (
            np.stack([self.sample_alloc[i] for i in sel]),
            np.array([self.sample_slots[i] for i in sel], dtype=np.float64),
        )


def two_distinct_rows(alloc: NDArray[np.float64]) -> bool:
    """Whether ``alloc`` ``(n, R)`` holds two rows that differ after rounding to 6 decimals (what
    ``np.unique(np.round(alloc, 6), axis=0).shape[0] >= 2`` says, without sorting the rows)."""
    rounded = np.round(alloc, 6)
    return bool(rounded.shape[0] >= 2 and (rounded != rounded[:1]).any())


# ------------------------------------------------------------------------------ speed function
def speed_features(
    alloc: NDArray[Any], cpu_idx: int, gpu_idx: int, extra_idx: tuple[int, ...] = ()
) -> NDArray[np.float64]:
    """``(n, 5 + E)`` features ``[1/w, 1, w/p, w, p, w/x_1, ..., w/x_E]`` of the Optimus function.

    ``p`` cpu units, ``w`` gpu units; ``x_e`` the units of each extra resource (e.g. memory), whose
    per-gpu share enters like the cpu's ``w/p`` (too little of it per gpu slows a task down). Units
    below 1 are treated as 1 so that the features stay finite.
    """
    a = np.asarray(alloc, dtype=np.float64)
    p = np.maximum(a[:, cpu_idx], 1.0)
    w = np.maximum(a[:, gpu_idx], 1.0)
    cols = [1.0 / w, np.ones_like(w), w / p, w, p]
    cols += [w / np.maximum(a[:, e], 1.0) for e in extra_idx]
    return np.stack(cols, axis=1)


def fit_speed_function(
    alloc: NDArray[Any],
    duration: NDArray[Any],
    cpu_idx: int = 0,
    gpu_idx: int = 1,
    extra_idx: tuple[int, ...] = (),
    criterion: str = "lsq",
) -> NDArray[np.float64]:
    """Fit ``duration = a/w + b + c*w/p + d*w + e*p`` with ``a..e >= 0`` (Optimus, SPEC.md s.12).

    With ``extra_idx``, one more term ``f_e * w / x_e`` per extra resource (see
    :func:`speed_features`). Exact non-negative least squares: the optimum is the best of the
    least-squares fits on each support whose coefficients are all non-negative, so every support
    is tried (``2^k - 1`` small solves for ``k`` coefficients: 31 for the paper's function).

    Args:
        alloc: ``(n, R)`` units (time-averaged allocations may be fractional).
        duration: ``(n,)`` slots each sample took (the speed is ``1 / duration``).
        cpu_idx, gpu_idx: which resources are ``p`` and ``w``.
        extra_idx: further resources with a per-gpu term.
        criterion: ``"lsq"``: the non-negative least-squares fit; ``"bic"``: among the
            non-negative fits on every support, the one with the lowest Bayesian information
            criterion ``n log(RSS / n) + |support| log n`` (fewer terms unless more explain the
            samples clearly better: robust when durations are noisy or the explored allocations
            make terms collinear, e.g. ``b`` and ``w/p`` when cpu and gpu grow together).

    Returns:
        ``(5 + E,)`` coefficients ``[a, b, c, d, e, f_1, ...]``.
    """
    x = speed_features(alloc, cpu_idx, gpu_idx, extra_idx)
    y = np.asarray(duration, dtype=np.float64)
    if criterion not in ("lsq", "bic"):
        raise ValueError(f"criterion must be 'lsq' or 'bic', got {criterion!r}")
    k = x.shape[1]
    n = max(1, y.shape[0])
    total = float(np.sum(y**2))
    floor = 1e-20 * max(total, 1e-300)  # exact fits compare by their number of terms

    def score(err: float, size: int) -> float:
        if criterion == "lsq":
            return err
        return n * float(np.log(max(err, floor) / n)) + size * float(np.log(n))

    best = np.zeros(k)
    best_score = score(total, 0)
    for size in range(1, k + 1):
        for support in combinations(range(k), size):
            cols = list(support)
            coef, *_ = np.linalg.lstsq(x[:, cols], y, rcond=None)
            if (coef < -1e-12).any():
                continue
            s = score(float(np.sum((x[:, cols] @ coef - y) ** 2)), size)
            if s < best_score - 1e-9 * max(1.0, abs(best_score)):
                best_score = s
                best = np.zeros(k)
                best[cols] = np.maximum(coef, 0.0)
    return best


class DurationModel:
    """Per-type estimates of a task's duration (slots) as a function of its allocation, learned
    online from a :class:`TaskTracker`'s samples (never from the hidden speed models).

    A type is *fitted* once it has ``min_samples`` completed tasks with at least two distinct
    allocations: its estimate is then the Optimus function fitted by :func:`fit_speed_function`
    (with a per-gpu term for each resource other than cpu and gpu, e.g. memory).
    Before that the estimate is the type's mean observed duration (constant in the allocation),
    else the mean over all types, else ``prior_slots``; schedulers explore (use a fair share) for
    unfitted types so that the samples cover several allocations.
    """

    def __init__(
        self,
        tracker: TaskTracker,
        resource_names: tuple[str, ...],
        num_types: int,
        min_samples: int = 4,
        prior_slots: float = 4.0,
        criterion: str = "lsq",
        max_level: NDArray[np.int64] | None = None,
    ) -> None:
        self.tracker = tracker
        self.num_types = num_types
        self.cpu_idx = resource_index(resource_names, "cpu", 0)
        self.gpu_idx = resource_index(resource_names, "gpu", len(resource_names) - 1)
        self.extra_idx = tuple(r for r in range(len(resource_names)) if r not in (self.cpu_idx, self.gpu_idx))
        self.min_samples = min_samples
        self.prior_slots = prior_slots
        self.criterion = criterion
        self._coef: list[NDArray[np.float64] | None] = [None] * num_types
        self._mean: list[float | None] = [None] * num_types
        self._seen = -1
        #: the samples each type was last fitted to: a type whose samples did not change since is
        #: not refitted (its fit is a function of them alone)
        self._fitted_to: list[tuple[NDArray[np.float64], NDArray[np.float64]] | None] = [None] * num_types
        #: the features of integer allocations, tabulated over ``0..max_level`` when it is given
        self._features: Callable[[NDArray[Any]], NDArray[np.float64]] = self._speed_features
        if max_level is not None:
            self._features = AllocationTable(self._speed_features, max_level)

    def _speed_features(self, alloc: NDArray[Any]) -> NDArray[np.float64]:
        return speed_features(alloc, self.cpu_idx, self.gpu_idx, self.extra_idx)

    def _refresh(self) -> None:
        if self._seen == self.tracker.num_samples:
            return
        self._seen = self.tracker.num_samples
        for k in range(self.num_types):
            alloc, dur = self.tracker.samples_of(k)
            if dur.shape[0] == 0:
                continue
            last = self._fitted_to[k]
            if last is not None and np.array_equal(last[0], alloc) and np.array_equal(last[1], dur):
                continue
            self._fitted_to[k] = (alloc, dur)
            self._mean[k] = float(dur.mean())
            if dur.shape[0] >= self.min_samples and two_distinct_rows(alloc):
                self._coef[k] = fit_speed_function(
                    alloc, dur, self.cpu_idx, self.gpu_idx, self.extra_idx, self.criterion
                )

    def fitted(self, type_idx: int) -> bool:
        """Whether type ``type_idx`` has a fitted speed function."""
        self._refresh()
        return self._coef[type_idx] is not None

    def coefficients(self, type_idx: int) -> NDArray[np.float64] | None:
        """The fitted ``[a, b, c, d, e, f_1, ...]`` of a type (see :func:`fit_speed_function`),
        or ``None``."""
        self._refresh()
        return self._coef[type_idx]

    def predict(self, type_idx: int, alloc: NDArray[Any], cluster: int | None = None) -> NDArray[np.float64]:
        """Estimated duration (slots, ``>= 1``) of a type's task at each of ``alloc`` ``(n, R)``.

        ``cluster`` (the host) is ignored by the Optimus form, which has no per-cluster term."""
        self._refresh()
        a = np.atleast_2d(np.asarray(alloc))
        coef = self._coef[type_idx]
        if coef is not None:
            est = self._features(a) @ coef
        else:
            known = [m for m in self._mean if m is not None]
            const = self._mean[type_idx]
            if const is None:
                const = float(np.mean(known)) if known else self.prior_slots
            est = np.full(a.shape[0], const)
        return np.maximum(est, 1.0)

    def efficient(
        self,
        type_idx: int,
        lo: NDArray[np.int64],
        hi: NDArray[np.int64],
        scale: NDArray[np.int64],
        tol: float = 0.05,
        cluster: int | None = None,
    ) -> tuple[NDArray[np.int64], float]:
        """The cheapest allocation in the box ``lo..hi`` whose estimated duration is within
        ``tol`` of the box's best: ``(units (R,), estimated slots)``.

        Cost = units normalised by ``scale`` (the cluster's capacity), summed over resources.
        """
        grid = box_grid(lo, hi)
        est = self.predict(type_idx, grid, cluster)
        ok = est <= est.min() * (1.0 + tol) + 1e-9
        cost = np.where(ok, (grid / scale).sum(axis=1), np.inf)
        j = int(np.argmin(cost))
        return grid[j], float(est[j])

    def remaining(
        self, task: int, type_idx: int, alloc: NDArray[Any], cluster: int | None = None
    ) -> NDArray[np.float64]:
        """Estimated remaining slots of a task at each of ``alloc`` ``(n, R)``.

        The fraction done is estimated as active slots / estimated duration at the task's
        time-averaged allocation (capped at 95%, since the estimate may be short).
        """
        return self.remaining_factor(task, type_idx, cluster) * self.predict(type_idx, alloc, cluster)

    def remaining_factor(self, task: int, type_idx: int, cluster: int | None = None) -> float:
        """``1 - `` the estimated fraction done of a task (see :meth:`remaining`, which is this
        times the estimated duration): the same for every allocation, so a caller that tries
        many allocations of one task computes it once."""
        tr = self.tracker
        active = int(tr.active_slots[task]) if task < tr.active_slots.shape[0] else 0
        frac = 0.0
        if active > 0:
            avg = tr.attained[task] / active
            frac = min(0.95, active / float(self.predict(type_idx, avg[None], cluster)[0]))
        return 1.0 - frac
