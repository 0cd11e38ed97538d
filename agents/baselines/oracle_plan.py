"""``oracle-plan``: ORACLE. A clairvoyant offline plan solved with OR-Tools CP-SAT, replayed.

Given the episode's whole workload (arrivals, types, visibility, data-transfer delays, per-task
work: all drawn at reset) and the true speed models, :func:`solve_plan` chooses for every task a
cluster that sees it, a start slot no earlier than its arrival and an allocation, so that the
per-cluster capacities hold in every slot and the total JCT is minimal. The plan is
non-preemptive (an allocation is held from placement to completion, as every non-elastic
scheduler here does) and each task's allocation comes from a small candidate set
(:func:`candidate_options`: the Pareto front of normalised units vs. slots, at most
``max_options`` per task and cluster), so the optimum is over those candidates.

The model (all times in slots): task ``t`` placed on cluster ``c`` at slot ``s`` with units
``u`` of run time ``D`` holds ``u`` during ``[s, s + delay(t, c) + D)`` and completes in slot
``s + delay + D - 1``, so its JCT is ``s + delay + D - arrival(t)`` (SPEC.md section 3). Each
(task, cluster, allocation) is an optional fixed-size interval sharing the task's start
variable; one per task is present; ``AddCumulative`` per cluster and resource. A serial
earliest-completion list schedule (:func:`greedy_plan`) is the solver's hint and gives the
horizon. The solver runs deterministically (``interleave_search``, a deterministic-time limit, a
fixed seed), so one seed gives one plan, bit for bit, on a given machine and OR-Tools version.

**What the plan relaxes.** The pending-slot limit (``max_pending`` per agent, the rest queued) is
not modelled: a task the plan starts while it is still in an agent's overflow queue is placed as
soon as it reaches a pending slot. The replay (:class:`PlanReplayScheduler`) places each
planned task at its planned slot when it can, else as soon as it fits, so the replayed JCT can
exceed the plan's. :class:`OraclePlanScheduler` therefore replays every candidate (the CP-SAT
plan and the list schedules it may start from, one of them the schedule ``oracle-greedy``
follows) in a copy of the episode and keeps the best replay; planned and replayed figures are
both reported. Progress noise (``progress_noise > 0``) is not known in advance: the plans use
the noiseless durations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents.base import Seeds
from agents.baselines._common import Candidates, HeuristicScheduler, box_grid
from agents.baselines.oracle import OracleDurations
from edgesched_env.sim.view import SimView

__all__ = [
    "OraclePlanScheduler",
    "Plan",
    "PlanInstance",
    "PlanOption",
    "PlanReplayScheduler",
    "candidate_options",
    "check_plan",
    "greedy_plan",
    "parallel_plan",
    "plan_from_episode",
    "simulate",
    "solve_plan",
]


@dataclass(frozen=True)
class PlanOption:
    """One way to run a task: on ``cluster`` with ``units`` ``(R,)``, ``run`` slots of progress
    after ``delay`` slots of data transfer (the units are held for ``delay + run`` slots)."""

    cluster: int
    units: tuple[int, ...]
    run: int
    delay: int

    @property
    def size(self) -> int:
        """Slots the units are held: ``delay + run``."""
        return self.delay + self.run


@dataclass
class PlanInstance:
    """The offline problem: every task's arrival slot and its options; the clusters' capacities.

    Attributes:
        arrival: ``(T,)`` arrival slot of each task.
        options: per task, its :class:`PlanOption` list (never empty; fastest first).
        capacity: ``(N, R)`` units per cluster.
    """

    arrival: NDArray[np.int64]
    options: list[list[PlanOption]]
    capacity: NDArray[np.int64]

    @property
    def num_tasks(self) -> int:
        return int(self.arrival.shape[0])

    @classmethod
    def from_view(cls, view: SimView, max_options: int = 5) -> PlanInstance:
        """ORACLE: the instance of ``view``'s episode (call after ``reset``: the whole workload is
        drawn then), with the true noiseless durations.

        Raises:
            ValueError: a task no cluster can run (its minimum exceeds every capacity that sees it).
        """
        oracle = OracleDurations(view)
        cap = np.asarray(view.capacity, dtype=np.int64)
        scale = np.maximum(oracle.upper, 1).astype(np.float64)
        cache: dict[tuple[Any, ...], list[tuple[tuple[int, ...], int]]] = {}
        options: list[list[PlanOption]] = []
        for task in range(view.num_tasks):
            k = int(view.type_idx[task])
            lo = np.asarray(view.min_request[task], dtype=np.int64)
            work = float(view.oracle_work[task])
            opts: list[PlanOption] = []
            for c in np.flatnonzero(view.visible[task]).tolist():
                hi = np.minimum(cap[c], view.max_level)
                if (lo > hi).any():
                    continue
                factor = float(view.oracle_speed_factor[c])
                key = (k, work, factor, tuple(lo.tolist()), tuple(hi.tolist()), max_options)
                cands = cache.get(key)
                if cands is None:
                    tab = oracle.table(k, work, factor)
                    sub = tab[tuple(slice(int(a), int(b) + 1) for a, b in zip(lo, hi))]
                    cands = candidate_options(box_grid(lo, hi), sub.ravel(), scale, max_options)
                    cache[key] = cands
                delay = int(view.delay_slots[task, c])
                opts += [PlanOption(int(c), units, run, delay) for units, run in cands]
            if not opts:
                raise ValueError(f"oracle-plan: task {task} fits on no cluster that sees it")
            opts.sort(key=lambda o: (o.size, o.cluster))
            options.append(opts)
        return cls(np.asarray(view.arrival_slot, dtype=np.int64).copy(), options, cap.copy())


def candidate_options(
    grid: NDArray[np.int64], slots: NDArray[np.float64], scale: NDArray[np.float64], max_options: int = 5
) -> list[tuple[tuple[int, ...], int]]:
    """The Pareto front of cost (units normalised by ``scale``, summed) vs. slots, thinned.

    Args:
        grid: ``(n, R)`` allocations.
        slots: ``(n,)`` run slots of each (``inf``: never finishes).
        scale: ``(R,)`` units that count as 1 (e.g. the per-task maximum).
        max_options: keep at most this many: the fastest, the cheapest, and between them the
            front points closest to evenly spaced in log(slots).

    Returns:
        ``[(units, slots), ...]``, fastest first, each strictly cheaper than the previous.
    """
    ok = np.isfinite(slots)
    if not ok.any():
        return []
    g, d = grid[ok], slots[ok].astype(np.int64)
    cost = (g / scale).sum(axis=1)
    order = np.lexsort((cost, d))  # by slots, then by cost
    front: list[int] = []
    for i in order.tolist():
        if not front or (d[i] > d[front[-1]] and cost[i] < cost[front[-1]] - 1e-12):
            front.append(i)
    if len(front) > max_options >= 2:
        logs = np.log(d[front].astype(np.float64))
        targets = np.linspace(logs[0], logs[-1], max_options)
        keep = sorted({int(np.argmin(np.abs(logs - x))) for x in targets} | {0, len(front) - 1})
        front = [front[i] for i in keep]
    elif max_options == 1:
        front = front[:1]
    return [(tuple(int(x) for x in g[i]), int(d[i])) for i in front]


@dataclass
class Plan:
    """A plan: per task its cluster, start slot, units and (exclusive) end slot.

    Attributes:
        cluster, start, end: ``(T,)`` int64; ``end = start + delay + run``, one past the slot in
            which the task completes.
        units: ``(T, R)`` int64.
        option: ``(T,)`` index into the instance's options of each task.
        total_jct: the plan's total JCT (slots): ``sum(end - arrival)``.
        bound: a lower bound on the total JCT of any plan over the same candidates (the
            solver's; equal to ``total_jct`` when proven optimal).
        status: ``"optimal"``, ``"feasible"`` (time limit reached), or the list schedule it
            is when no solver ran or it found nothing better: ``"greedy"``
            (:func:`greedy_plan`), ``"parallel"`` (:func:`parallel_plan`) or ``"episode"``
            (:func:`plan_from_episode`).
        info: solver statistics (wall seconds, deterministic time, branches, ...).
    """

    cluster: NDArray[np.int64]
    start: NDArray[np.int64]
    end: NDArray[np.int64]
    units: NDArray[np.int64]
    option: NDArray[np.int64]
    total_jct: int
    bound: float
    status: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """Relative optimality gap ``(total_jct - bound) / total_jct`` (0 when proven optimal)."""
        return 0.0 if self.total_jct <= 0 else max(0.0, (self.total_jct - self.bound) / self.total_jct)

    def jct(self, arrival: NDArray[np.int64]) -> NDArray[np.int64]:
        """``(T,)`` each task's JCT in the plan (slots)."""
        return self.end - arrival


def _plan_from(inst: PlanInstance, choice: list[int], start: list[int]) -> tuple[NDArray[np.int64], ...]:
    t_count = inst.num_tasks
    r = inst.capacity.shape[1]
    cluster = np.zeros(t_count, dtype=np.int64)
    units = np.zeros((t_count, r), dtype=np.int64)
    end = np.zeros(t_count, dtype=np.int64)
    for t in range(t_count):
        o = inst.options[t][choice[t]]
        cluster[t] = o.cluster
        units[t] = o.units
        end[t] = start[t] + o.size
    return cluster, np.asarray(start, dtype=np.int64), end, units, np.asarray(choice, dtype=np.int64)


def greedy_plan(inst: PlanInstance) -> Plan:
    """A serial list schedule: tasks in arrival order (ties: id), each at the option and earliest
    feasible start that completes it soonest (ties: the cheaper option, then the lower cluster).

    Always feasible; the solver's hint and the source of its horizon.
    """
    n, r = inst.capacity.shape
    horizon = int(inst.arrival.max(initial=0)) + sum(min(o.size for o in opts) for opts in inst.options) + 1
    usage = np.zeros(
        (n, horizon + max((o.size for opts in inst.options for o in opts), default=1) + 1, r), np.int64
    )
    order = np.lexsort((np.arange(inst.num_tasks), inst.arrival))
    choice = [0] * inst.num_tasks
    start = [0] * inst.num_tasks
    for t in order.tolist():
        a = int(inst.arrival[t])
        best: tuple[int, int, int] | None = None
        for j, o in enumerate(inst.options[t]):
            u = np.asarray(o.units, dtype=np.int64)
            ok = (usage[o.cluster] + u[None, :] <= inst.capacity[o.cluster][None, :]).all(axis=1)
            bad = np.concatenate([[0], np.cumsum(~ok)])
            s_all = np.arange(a, ok.shape[0] - o.size + 1)
            free = bad[s_all + o.size] - bad[s_all] == 0
            s = int(s_all[np.argmax(free)])  # the horizon guarantees one free window
            key = (s + o.size, j, o.cluster)
            if best is None or key < best:
                best = (s + o.size, j, s)
        assert best is not None
        _, j, s = best
        o = inst.options[t][j]
        usage[o.cluster, s : s + o.size] += np.asarray(o.units, dtype=np.int64)
        choice[t], start[t] = j, s
    cluster, st, end, units, opt = _plan_from(inst, choice, start)
    total = int((end - inst.arrival).sum())
    return Plan(cluster, st, end, units, opt, total, float("-inf"), "greedy", {})


def parallel_plan(inst: PlanInstance) -> Plan:
    """A parallel list schedule: step through the slots; at each, go through the waiting tasks
    shortest first (their fastest option; ties: arrival, then id) and place each that fits now at
    the option that completes soonest (ties: the cheaper option, then the lower cluster).

    Where the pending-slot limit binds (many tasks waiting), this order is far better than
    :func:`greedy_plan`'s arrival order, so it is the better hint there.
    """
    n, r = inst.capacity.shape
    t_count = inst.num_tasks
    sizes = [np.array([o.size for o in opts], dtype=np.int64) for opts in inst.options]
    units = [np.array([o.units for o in opts], dtype=np.int64).reshape(len(opts), r) for opts in inst.options]
    clusters = [np.array([o.cluster for o in opts], dtype=np.int64) for opts in inst.options]
    horizon = int(inst.arrival.max(initial=0)) + sum(int(z.min()) for z in sizes) + 1
    usage = np.zeros((n, horizon + max(int(z.max()) for z in sizes) + 1 if t_count else 1, r), np.int64)
    shortest = np.array([int(z.min()) for z in sizes], dtype=np.int64)
    order = np.lexsort((np.arange(t_count), inst.arrival, shortest)).tolist()
    choice = [0] * t_count
    start = [0] * t_count
    left = set(range(t_count))
    s = 0
    while left:
        for t in order:
            if t not in left or inst.arrival[t] > s:
                continue
            best: tuple[int, int, int] | None = None
            for j in range(sizes[t].shape[0]):
                c, z = int(clusters[t][j]), int(sizes[t][j])
                if (usage[c, s : s + z] + units[t][j] <= inst.capacity[c]).all():
                    key = (z, j, c)
                    if best is None or key < best:
                        best = key
            if best is None:
                continue
            z, j, c = best
            usage[c, s : s + z] += units[t][j]
            choice[t], start[t] = j, s
            left.discard(t)
        s += 1
    cluster, st, end, un, opt = _plan_from(inst, choice, start)
    total = int((end - inst.arrival).sum())
    return Plan(cluster, st, end, un, opt, total, float("-inf"), "parallel", {})


def plan_from_episode(inst: PlanInstance, view: SimView) -> Plan | None:
    """The schedule a finished episode followed, as a plan of ``inst`` (same workload).

    Each task's (cluster, units, slots held) becomes its option; one that is not among the
    task's candidates is added to them (so call this before building other plans: option
    indices of plans made earlier would shift). ``None`` if the episode is not a plan: a task
    never completed, or was resized or preempted (its units at the end are not the ones it held
    throughout, which shows as a span its units cannot explain).
    """
    done = view.completion_slot
    if (done < 0).any() or view.truncated:
        return None
    choice: list[int] = []
    start: list[int] = []
    for t in range(inst.num_tasks):
        c, s = int(view.host[t]), int(view.placed_slot[t])
        u = tuple(int(x) for x in view.alloc[t])
        size = int(done[t]) + 1 - s
        delay = int(view.delay_slots[t, c])
        opts = inst.options[t]
        same = [j for j, o in enumerate(opts) if o.cluster == c and o.units == u]
        if same and opts[same[0]].size != size:
            return None  # resized, preempted or noisy: not a fixed-allocation plan
        if not same:
            if size <= delay:
                return None
            opts.append(PlanOption(c, u, size - delay, delay))
            opts.sort(key=lambda o: (o.size, o.cluster))
        choice.append(-1)
        start.append(s)
    for t in range(inst.num_tasks):  # indices after every insertion of this task
        c = int(view.host[t])
        u = tuple(int(x) for x in view.alloc[t])
        choice[t] = next(j for j, o in enumerate(inst.options[t]) if o.cluster == c and o.units == u)
    cluster, st, end, un, opt = _plan_from(inst, choice, start)
    total = int((end - inst.arrival).sum())
    return Plan(cluster, st, end, un, opt, total, float("-inf"), "episode", {})


def solve_plan(
    inst: PlanInstance,
    time_limit: float = 20.0,
    workers: int = 4,
    seed: int = 0,
    wall_limit: float | None = None,
    hint: Plan | None = None,
) -> Plan:
    """Minimise the total JCT of ``inst`` with CP-SAT, from a hint (default :func:`greedy_plan`).

    Args:
        time_limit: CP-SAT deterministic-time budget (its work units, about seconds of one core):
            the result does not depend on the machine's speed or load.
        workers: CP-SAT subsolvers, interleaved deterministically.
        seed: the solver's random seed.
        wall_limit: optional wall-clock cap (seconds); if it is what stops the search the
            result is no longer reproducible, so ``info["wall_limit_hit"]`` says so.
        hint: a valid plan of ``inst`` to start from; its total JCT also bounds every task's
            wait (a better plan waits less in all).

    Returns:
        The best plan found (never worse than the hint), with the solver's bound.

    Raises:
        ImportError: ``ortools`` is not installed (``pip install 'edgesched[plan]'``).
    """
    try:
        from ortools.sat.python import cp_model
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("oracle-plan needs OR-Tools: pip install 'edgesched[plan]' (or ortools)") from exc
    greedy = greedy_plan(inst) if hint is None else hint
    arrival = inst.arrival
    t_count = inst.num_tasks
    min_size = np.array([min(o.size for o in opts) for opts in inst.options], dtype=np.int64)
    slack_total = greedy.total_jct - int(min_size.sum())  # any better plan waits at most this much in all
    m = cp_model.CpModel()
    n, r = inst.capacity.shape
    intervals: list[list[Any]] = [[] for _ in range(n)]
    demands: list[list[tuple[int, ...]]] = [[] for _ in range(n)]
    starts: list[Any] = []
    presences: list[list[Any]] = []
    ends: list[Any] = []
    for t in range(t_count):
        opts = inst.options[t]
        a = int(arrival[t])
        s = m.new_int_var(a, a + slack_total, f"s{t}")
        starts.append(s)
        pres: list[Any]
        if len(opts) == 1:
            pres = [None]
        else:
            pres = [m.new_bool_var(f"x{t}_{j}") for j in range(len(opts))]
            m.add_exactly_one(pres)
        presences.append(pres)
        for j, o in enumerate(opts):
            if pres[j] is None:
                iv = m.new_fixed_size_interval_var(s, o.size, f"i{t}_{j}")
            else:
                iv = m.new_optional_fixed_size_interval_var(s, o.size, pres[j], f"i{t}_{j}")
            intervals[o.cluster].append(iv)
            demands[o.cluster].append(o.units)
        size = opts[0].size if pres[0] is None else sum(o.size * p for o, p in zip(opts, pres))
        ends.append(s + size)
        m.add_hint(s, int(greedy.start[t]))
        if pres[0] is not None:
            for j, p in enumerate(pres):
                m.add_hint(p, int(j == greedy.option[t]))
    for c in range(n):
        for res in range(r):
            ivs = [iv for iv, d in zip(intervals[c], demands[c]) if d[res] > 0]
            dem = [d[res] for d in demands[c] if d[res] > 0]
            if ivs and sum(dem) > inst.capacity[c, res]:
                m.add_cumulative(ivs, dem, int(inst.capacity[c, res]))
    m.minimize(sum(ends))
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.num_workers = workers
    prm.interleave_search = True
    prm.random_seed = seed
    prm.max_deterministic_time = time_limit
    if wall_limit is not None:
        prm.max_time_in_seconds = wall_limit
    t0 = time.perf_counter()
    status = solver.solve(m)
    wall = time.perf_counter() - t0
    info = {
        "wall_s": wall,
        "deterministic_time": solver.deterministic_time,
        "branches": solver.num_branches,
        "wall_limit_hit": wall_limit is not None and wall >= wall_limit * 0.99,
        "hint_total_jct": greedy.total_jct,
        "hint_status": greedy.status,
        "intervals": sum(len(x) for x in intervals),
        "solver_status": solver.status_name(status),
    }
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return replace(greedy, info=info)
    choice = [
        0 if presences[t][0] is None else next(j for j, p in enumerate(presences[t]) if solver.value(p))
        for t in range(t_count)
    ]
    start = [int(solver.value(s)) for s in starts]
    cluster, st, end, units, opt = _plan_from(inst, choice, start)
    total = int((end - arrival).sum())
    bound = float(solver.best_objective_bound) - float(arrival.sum())
    if status == cp_model.OPTIMAL:
        bound = float(total)
    plan = Plan(
        cluster,
        st,
        end,
        units,
        opt,
        total,
        bound,
        "optimal" if status == cp_model.OPTIMAL else "feasible",
        info,
    )
    if plan.total_jct > greedy.total_jct:  # cannot happen with a valid hint; keep the better one
        return replace(greedy, info=info, bound=bound)
    return plan


def check_plan(inst: PlanInstance, plan: Plan) -> None:
    """Raise ``ValueError`` naming the first violation: an option that is not the task's (wrong
    cluster, which would break visibility, or wrong units or size), a start before the arrival,
    or a cluster over capacity in some slot."""
    t_count = inst.num_tasks
    for t in range(t_count):
        o = inst.options[t][int(plan.option[t])]
        if o.cluster != plan.cluster[t] or tuple(plan.units[t].tolist()) != o.units:
            raise ValueError(f"task {t}: planned cluster/units are not one of its options")
        if plan.end[t] - plan.start[t] != o.size:
            raise ValueError(f"task {t}: planned span {plan.end[t] - plan.start[t]} != option size {o.size}")
        if plan.start[t] < inst.arrival[t]:
            raise ValueError(f"task {t}: starts at slot {plan.start[t]} before its arrival {inst.arrival[t]}")
    horizon = int(plan.end.max(initial=0))
    n, r = inst.capacity.shape
    use = np.zeros((n, horizon + 1, r), dtype=np.int64)
    for t in range(t_count):
        use[plan.cluster[t], plan.start[t] : plan.end[t]] += plan.units[t]
    over = np.argwhere(use > inst.capacity[:, None, :])
    if over.shape[0]:
        c, s, res = (int(x) for x in over[0])
        raise ValueError(f"cluster {c} over capacity in resource {res} at slot {s}")


class PlanReplayScheduler(HeuristicScheduler):
    """Replays a fixed :class:`Plan` (set ``plan`` before the episode's first decision).

    At every round, each agent places the task planned on its cluster with the earliest planned
    start (ties: id) among those whose planned start has come, that are in its pending slots and
    fit now at their planned units. With no disturbance every task is placed exactly at its
    planned slot and the replayed JCTs are the plan's; a task still queued at its planned start
    (plans ignore the pending-slot limit) is placed as soon as it can be.

    Conflicts: none; a plan gives every task to one cluster, so no two agents pick the same task.

    Not :attr:`~agents.base.SchedulerBase.batchable`: a plan is one episode's, set from outside
    (and ``oracle-plan`` solves one per episode offline), so evaluations play it per episode.
    """

    name = "plan-replay"
    uses_oracle = True
    batchable = False

    def __init__(self, plan: Plan | None = None) -> None:
        super().__init__()
        self.plan = plan

    def choose(
        self, agent: int, cand: Candidates, free: NDArray[np.int64]
    ) -> tuple[int, NDArray[np.int64]] | None:
        plan = self.plan
        if plan is None:
            raise RuntimeError(f"{self.name}: no plan to replay")
        t_now = self.sim_view.t
        best: tuple[int, int, int] | None = None
        for j, task in enumerate(cand.tasks.tolist()):
            if plan.cluster[task] != agent or plan.start[task] > t_now:
                continue
            if (plan.units[task] > cand.hi[j]).any():
                continue
            key = (int(plan.start[task]), task, j)
            if best is None or key < best:
                best = key
        if best is None:
            return None
        j = best[2]
        return j, plan.units[int(cand.tasks[j])].copy()


def _same_workload(a: SimView, b: SimView) -> bool:
    return (
        a.num_tasks == b.num_tasks
        and np.array_equal(a.arrival_slot, b.arrival_slot)
        and np.array_equal(a.type_idx, b.type_idx)
        and np.array_equal(a.visible, b.visible)
        and np.array_equal(a.delay_slots, b.delay_slots)
        and np.array_equal(a.oracle_work, b.oracle_work)
    )


def simulate(view: SimView, seed: int, scheduler: Any) -> tuple[float, Any] | None:
    """ORACLE: play the episode of ``view`` again in a fresh env with ``scheduler``.

    The env is built from ``view.config`` and reset with ``seed``; if that does not give the
    same workload (the episode was not seeded with ``seed``), nothing is played.

    Returns:
        ``(mean JCT, the finished env)`` (truncated episodes count as ``inf``), or ``None``.
    """
    from agents.evaluate import run_episode
    from edgesched_env.parallel_env import EdgeSchedParallelEnv

    env = EdgeSchedParallelEnv(view.config)
    env.reset(seed=seed)
    if not _same_workload(view, env.view):
        return None
    metrics = run_episode(scheduler, env, seed)
    mean = float("inf") if env.view.truncated else float(metrics["mean_jct"])
    return mean, env


class OraclePlanScheduler(PlanReplayScheduler):
    """ORACLE (reads the workload of the whole episode and the hidden speed models): replays a
    clairvoyant CP-SAT plan (:func:`solve_plan`), a reference point for the true headroom.

    At the first decision of an episode it builds the :class:`PlanInstance` and three list
    schedules of it: the serial one (:func:`greedy_plan`), the parallel one
    (:func:`parallel_plan`) and, when the episode can be played again (the scheduler was reset
    with the env's seed), the schedule ``oracle-greedy`` follows in it
    (:func:`plan_from_episode`). CP-SAT starts from the best of them. Plans relax the
    pending-slot limit, so where it binds a plan's replay can be worse than the plan: each
    candidate (the CP-SAT plan and the three hints) is then replayed in a fresh copy of the
    episode and the one whose replay is best is kept (ties: the CP-SAT plan). So ``oracle-plan``
    is never worse than ``oracle-greedy`` on noiseless episodes; ``last_plan.info`` records
    each candidate's planned and replayed mean JCT and which was kept (``"source"``).

    With ``progress_noise > 0`` the plans use the noiseless durations, and the replays, which
    see the episode's noise, choose among them: clairvoyance of the noise too.

    Conflicts: none; a plan gives every task to one cluster (see :class:`PlanReplayScheduler`).

    Args:
        time_limit: CP-SAT deterministic-time budget per episode (see :func:`solve_plan`).
        max_options: candidate allocations per task and cluster.
        workers: CP-SAT subsolvers.
        simulate: replay the candidates (and run ``oracle-greedy``) in copies of the episode;
            ``False`` keeps the CP-SAT plan from the serial and parallel hints, unverified.

    Attributes:
        last_plan: the plan of the current episode (``None`` before the first ``act``).
        last_instance: its instance.
    """

    name = "oracle-plan"
    uses_oracle = True

    def __init__(
        self, time_limit: float = 20.0, max_options: int = 5, workers: int = 4, simulate: bool = True
    ) -> None:
        super().__init__()
        self.time_limit = time_limit
        self.max_options = max_options
        self.workers = workers
        self.simulate = simulate
        self.last_plan: Plan | None = None
        self.last_instance: PlanInstance | None = None
        self._episode: object | None = None
        self._seed: int | None = None

    def reset(self, seed: Seeds = None) -> None:
        super().reset(seed)  # sets self._seed
        self._episode = None

    def on_round(self) -> None:
        view = self.sim_view
        if self._episode is view.workload:
            return
        self._episode = view.workload
        self.plan = self.last_plan = None
        inst = PlanInstance.from_view(view, self.max_options)
        self.last_instance = inst
        can_play = self.simulate and self._seed is not None
        hints: dict[str, Plan] = {}
        if can_play:
            from agents.baselines.oracle_greedy import OracleGreedyScheduler

            played = simulate(view, int(self._seed), OracleGreedyScheduler())  # type: ignore[arg-type]
            if played is not None:
                ep = plan_from_episode(inst, played[1].view)
                if ep is not None:
                    hints["oracle-greedy"] = ep
        hints["serial"] = greedy_plan(inst)
        hints["parallel"] = parallel_plan(inst)
        start = min(hints, key=lambda k: hints[k].total_jct)
        seed = 0 if self._seed is None else self._seed % (2**31)
        plan = solve_plan(inst, self.time_limit, self.workers, seed=seed, hint=hints[start])
        cands = {"cp-sat": plan, **hints}
        info = dict(plan.info)
        info["hint"] = start
        info["planned_mean_jct"] = {k: p.total_jct / inst.num_tasks for k, p in cands.items()}
        chosen = "cp-sat"
        if can_play:
            replayed: dict[str, float] = {}
            for k, p in cands.items():
                played = simulate(view, int(self._seed), PlanReplayScheduler(p))  # type: ignore[arg-type]
                if played is None:
                    break
                replayed[k] = played[0]
            if len(replayed) == len(cands):
                chosen = min(replayed, key=lambda k: (replayed[k], k != "cp-sat"))
                info["replayed_mean_jct"] = replayed
        info["source"] = chosen
        best = cands[chosen]
        self.plan = self.last_plan = replace(best, bound=plan.bound, info=info)
