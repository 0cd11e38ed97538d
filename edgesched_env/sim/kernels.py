"""Compiled kernels of the dynamics: loops over episodes, agents and tasks of a :class:`SimState`.

State in, state out: each kernel takes an ``active`` mask ``(B,)`` of the episodes it applies to,
the state as one struct (:class:`~edgesched_env.sim.state.StateArrays`, leading batch axis ``B``),
a small struct of the config's constants (:class:`SimConsts`, :class:`ObsConsts`) and, where it
has them, its own inputs and outputs, and mutates the state's arrays in place. Structs cross into
a kernel packed (plain tuples in field order: numba types those in C, a named tuple costs several
microseconds a call) and are re-wrapped into their named tuples on entry, so that every kernel
reads fields by name. They are ``numba``-compiled when
numba is installed (``cache=True``: compiled once per machine, then loaded from ``__pycache__``);
without numba, or with ``NUMBA_DISABLE_JIT=1``, the same Python code runs as it is (slowly).

Every random draw stays in Python (:mod:`edgesched_env.sim.core`), on each episode's own
``numpy.random.Generator``, so the kernels are deterministic functions of their inputs.
Arithmetic follows the reference order of operations exactly (float64, then cast to float32 for
observations), so a batch of ``B`` episodes is bit-identical to ``B`` single episodes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import numpy as np
from numpy.typing import NDArray

from edgesched_env.sim.state import Packed, PickOutcome, StateArrays

F = TypeVar("F", bound=Callable[..., Any])

# Array types of the kernels' parameters (SimState's dtypes). The annotations are for mypy only:
# ``numba.njit`` without a signature ignores them and specialises on the arguments it is given.
Bool = NDArray[np.bool_]
I8 = NDArray[np.int8]
I64 = NDArray[np.int64]
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

try:  # numba is optional: the kernels are plain Python without it
    if os.environ.get("EDGESCHED_NO_NUMBA"):  # pragma: no cover - exercised only without numba
        raise ImportError("disabled by EDGESCHED_NO_NUMBA")
    import numba

    def _jit(fn: F) -> F:
        return numba.njit(cache=True, nogil=True)(fn)  # type: ignore[return-value]  # a Dispatcher is called like F

    def _jit_inner(fn: F) -> F:
        # inlined into the kernels that call it: a helper that takes the state struct would
        # otherwise receive a copy of the whole struct (dozens of array descriptors) per call.
        # Even inlined, each call that passes a struct updates the reference count of every array
        # in it (about 0.2 us for the state's): a helper called per episode, cluster or task
        # takes the arrays it reads, or the state once with the loop over episodes inside it
        return numba.njit(cache=True, nogil=True, inline="always")(fn)  # type: ignore[return-value]

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba

    def _jit(fn: F) -> F:
        return fn

    _jit_inner = _jit

    HAVE_NUMBA = False

__all__ = [
    "EXACT_BLOCKS",
    "HAVE_NUMBA",
    "OBSERVE_BLOCKS",
    "ExactBlocks",
    "Gathered",
    "ObsBlocks",
    "ObsConsts",
    "SimConsts",
    "capacity_ratio",
    "jit",
]

#: the decorator of these kernels (``numba.njit(cache=True, nogil=True)``, or the identity
#: without numba), for compiled loops elsewhere in the package
jit = _jit

RUNNING = 2
WAITING = 1
DONE = 3


class SimConsts(NamedTuple):
    """The config's constants the dynamics read (built once by the ``Simulator``)."""

    capacity: I64  #: (N, R) units of each cluster
    speed_factor: F64  #: (N,) hardware speed factor of each cluster
    max_level: I64  #: (R,) units of the largest level (per-task maximum)
    clip: bool  #: ``infeasible == "clip"``
    capacity_rule: bool  #: ``conflict_rule == "capacity"``
    rounds_limit: int  #: decision rounds per slot at most


class ObsConsts(NamedTuple):
    """The observation's constants: scales, and the feature offsets of its feature table.

    Offsets are positions in the last axis of a block (``cl_*`` clusters, ``pe_*`` pending,
    ``ru_*`` running; see ``edgesched_env.observation.FEATURES``); the global state's cluster rows
    stop before ``cl_is_self`` and its pool rows before ``pe_delay``.
    """

    cap_rel: F32  #: (N, R) capacity relative to the largest cluster's
    max_level_f: F64  #: (R,) units of the largest level, as float (the unit scale)
    levels: I64  #: (R,) levels per resource
    time_scale: float  #: slots: divisor of every time feature
    picks: int  #: picks per agent and round (``K`` in multi-task mode, else 1)
    num_types: int  #: ``K`` task types
    cl_free: int
    cl_capacity: int
    cl_pending: int
    cl_queue: int
    cl_running: int
    cl_is_self: int
    pe_type: int
    pe_min_request: int
    pe_waiting: int
    pe_num_visible: int
    pe_delay: int
    ru_type: int
    ru_alloc: int
    ru_age: int


class ObsBlocks(NamedTuple):
    """The observation blocks :func:`observe` writes (keys of the observation; shapes there):
    the float and mask blocks, then the v1 exact blocks (:class:`ExactBlocks`)."""

    clusters: F32
    pending: F32
    pending_mask: I8
    running: F32
    running_mask: I8
    alloc_mask: I8
    action_mask: I8
    clock: I64  #: ``(B, N, 2)``
    cluster_info: I64  #: ``(B, N, N, R + 3)``
    pending_info: I64  #: ``(B, N, P, R + 5)``
    running_info: I64  #: ``(B, N, M, 2R + 3)``


class ExactBlocks(NamedTuple):
    """The exact (int64) blocks of the v1 observation (the last four of :class:`ObsBlocks`),
    what :func:`observe_exact` writes; layout in :func:`_exact_rows`."""

    clock: I64  #: ``(B, N, 2)``
    cluster_info: I64  #: ``(B, N, N, R + 3)``
    pending_info: I64  #: ``(B, N, P, R + 5)``
    running_info: I64  #: ``(B, N, M, 2R + 3)``


#: the observation keys :func:`observe` writes, in the order it takes them
OBSERVE_BLOCKS = ObsBlocks._fields
#: the observation keys :func:`observe_exact` writes, in its ``exact`` order
EXACT_BLOCKS = ExactBlocks._fields
if OBSERVE_BLOCKS[-len(EXACT_BLOCKS) :] != EXACT_BLOCKS:  # pragma: no cover
    raise ImportError("ObsBlocks must end with ExactBlocks' fields")


class Gathered(NamedTuple):
    """Buffers of the running, ready tasks gathered at a slot end (``Q <= B * T`` rows used)."""

    flat: I64  #: (B*T,) flat index ``b * T + task``, grouped by task type
    rank: I64  #: (B*T,) rank in ``(b, task)`` order (the order of the reference's draws)
    alloc: I64  #: (B*T, R) units
    prog: F64  #: (B*T,) progress
    work: F64  #: (B*T,) work relative to the type's nominal work
    factor: F64  #: (B*T,) host speed factor
    type_start: I64  #: (K+1,) type ``k`` in rows ``type_start[k]:type_start[k+1]``
    per_episode: I64  #: (B,) gathered tasks per episode


# ------------------------------------------------------------------------------ decision round
@_jit
def decode_picks(
    active: Bool, state: Packed, sim: Packed, pick_idx: I64, request: I64, outcome: Packed
) -> None:
    """Phase 1: turn each agent's pick (pending position ``pick_idx (B, N)``, units ``request
    (B, N, R)``) into a task and an allocation.

    Writes the outcome (:class:`~edgesched_env.sim.state.PickOutcome`, all but ``conflict``) for
    the active episodes and counts infeasible and clipped picks.
    """
    s = StateArrays(*state)
    c = SimConsts(*sim)
    o = PickOutcome(*outcome)
    nb, n, p = s.pending.shape
    r_count = s.free.shape[2]
    for b in range(nb):
        if not active[b]:
            continue
        for i in range(n):
            x = pick_idx[b, i]
            tid = s.pending[b, i, x] if x < p else -1
            o.empty_slot[b, i] = x < p and tid < 0
            want = False
            if tid >= 0:
                for r in range(r_count):
                    if request[b, i, r] != 0:
                        want = True
            ok = False  # the (clipped) allocation fits: placed unless it loses a conflict
            is_clipped = False
            if want:
                ok = True
                for r in range(r_count):
                    upper = min(s.free[b, i, r], c.max_level[r])
                    lo = s.min_request[b, tid, r]
                    req = request[b, i, r]
                    if lo > upper:
                        ok = False
                    if c.clip:
                        a = min(max(req, lo), upper)
                        if a != req:
                            is_clipped = True
                    else:
                        a = req
                        if req < lo or req > upper:
                            ok = False
                    o.alloc[b, i, r] = a
                is_clipped = is_clipped and ok
            if not ok:
                for r in range(r_count):
                    o.alloc[b, i, r] = 0
            o.task[b, i] = tid if want else -1
            o.placed[b, i] = ok
            o.noop[b, i] = not want
            o.infeasible[b, i] = want and not ok
            o.clipped[b, i] = is_clipped
            if o.infeasible[b, i]:
                s.num_infeasible[b] += 1
            if is_clipped:
                s.num_clipped[b] += 1


@_jit
def _ratio(free_row: I64, m_row: I64) -> float:
    """``min over r with m_r > 0 of free_r / m_r`` (float64), 0 if every ``m_r`` is 0."""
    best = np.inf
    for r in range(m_row.shape[0]):
        if m_row[r] > 0:
            v = free_row[r] / m_row[r]
            if v < best:
                best = v
    return best if best < np.inf else 0.0


@_jit
def capacity_ratio(free_units: I64, min_units: I64) -> F64:
    """``(G,)`` capacity ratio of ``G`` (cluster, task) pairs: ``min over r with m_r > 0 of
    free_r / m_r``, how many minimum-size copies of the task the cluster could host now (not
    rounded; 0 where the task has no minimum). The quantity the ``"capacity"`` conflict rule and
    the paper's Bayes rule compare; the one definition of it.

    Args:
        free_units: ``(G, R)`` free units of each cluster.
        min_units: ``(G, R)`` minimum request of each task.
    """
    out = np.empty(free_units.shape[0], dtype=np.float64)
    for g in range(free_units.shape[0]):
        out[g] = _ratio(free_units[g], min_units[g])
    return out


@_jit
def resolve_conflicts(
    active: Bool, state: Packed, sim: Packed, outcome: Packed, tie_b: I64, tie_agents: I64
) -> int:
    """Phase 2: among feasible picks of the same task, keep one winner (SPEC.md section 6).

    Groups whose winner is unique (``capacity`` rule) are settled here, and agents outside a
    group's best lose at once. Groups that need a random draw among their best are written, in
    ascending task order per episode, to ``tie_b`` and ``tie_agents`` (``(G, N)`` candidate agents
    padded with -1); returns ``G``.
    """
    s = StateArrays(*state)
    c = SimConsts(*sim)
    o = PickOutcome(*outcome)
    nb, n = o.task.shape
    num_ties = 0
    order = np.empty(n, dtype=np.int64)
    ratio = np.empty(n, dtype=np.float64)
    for b in range(nb):
        if not active[b]:
            continue
        cnt = 0
        for i in range(n):
            if o.placed[b, i]:
                order[cnt] = i
                cnt += 1
        if cnt < 2:
            continue
        # candidate agents sorted by task id (stable: agent order within a task)
        for x in range(1, cnt):
            y = x
            while y > 0 and o.task[b, order[y - 1]] > o.task[b, order[y]]:
                tmp = order[y - 1]
                order[y - 1] = order[y]
                order[y] = tmp
                y -= 1
        start = 0
        while start < cnt:
            stop = start + 1
            tid = o.task[b, order[start]]
            while stop < cnt and o.task[b, order[stop]] == tid:
                stop += 1
            if stop - start > 1:
                best = -np.inf
                for x in range(start, stop):
                    i = order[x]
                    ratio[i] = _ratio(s.free[b, i], s.min_request[b, tid]) if c.capacity_rule else 0.0
                    if ratio[i] > best:
                        best = ratio[i]
                k = 0
                for x in range(start, stop):
                    i = order[x]
                    if ratio[i] == best:
                        tie_agents[num_ties, k] = i
                        k += 1
                    else:  # not among the best: loses whatever happens to the others
                        _lose(b, i, s.num_conflicts, o)
                if k > 1:  # a draw among the best is needed: left to the caller
                    for x in range(k, n):
                        tie_agents[num_ties, x] = -1
                    tie_b[num_ties] = b
                    num_ties += 1
            start = stop
    return num_ties


@_jit_inner
def _lose(b: int, i: int, num_conflicts: I64, o: PickOutcome) -> None:
    """Agent ``i`` of episode ``b`` lost a conflict: nothing placed, counted (``num_conflicts``)."""
    o.placed[b, i] = False
    o.conflict[b, i] = True
    for r in range(o.alloc.shape[2]):
        o.alloc[b, i, r] = 0
    num_conflicts[b] += 1


@_jit
def lose(b: int, i: int, state: Packed, outcome: Packed) -> None:
    """Agent ``i`` of episode ``b`` lost a conflict (a drawn tie): nothing placed, counted."""
    _lose(b, i, StateArrays(*state).num_conflicts, PickOutcome(*outcome))


@_jit
def place(active: Bool, state: Packed, outcome: Packed) -> None:
    """Phase 3: start the winners' tasks on their hosts and remove them from every list."""
    s = StateArrays(*state)
    o = PickOutcome(*outcome)
    nb, n = o.task.shape
    p = s.pending.shape[2]
    m = s.run_table.shape[2]
    r_count = s.free.shape[2]
    for b in range(nb):
        if not active[b]:
            continue
        for i in range(n):
            if not o.placed[b, i]:
                continue
            tid = o.task[b, i]
            s.status[b, tid] = RUNNING
            s.host[b, tid] = i
            for r in range(r_count):
                s.alloc[b, tid, r] = o.alloc[b, i, r]
                s.prev_alloc[b, tid, r] = o.alloc[b, i, r]
                s.free[b, i, r] -= o.alloc[b, i, r]
            s.slots_run[b, tid] = 0
            s.placed_slot[b, tid] = s.t[b]
            s.ready_slot[b, tid] = s.t[b] + s.delay_slots[b, tid, i]
            s.running_count[b, i] += 1
            for j in range(n):
                for x in range(p):
                    if s.pending[b, j, x] == tid:
                        s.pending[b, j, x] = -1
                if s.in_queue[b, j, tid]:
                    s.in_queue[b, j, tid] = False
                    s.queue_len[b, j] -= 1
            row = -1
            for x in range(m):
                if s.run_table[b, i, x] < 0:
                    row = x
                    break
            if row >= 0:
                s.run_table[b, i, row] = tid
                s.run_row[b, tid] = row
            else:  # only after an elastic scheduler preempted tasks; shown once a row frees up
                s.run_hidden[b, i] += 1


@_jit
def end_round(active: Bool, state: Packed, sim: Packed, placed: Bool, slot_over: Bool) -> None:
    """Round bookkeeping: count the round; a slot is over where nothing was placed or the limit hit."""
    s = StateArrays(*state)
    c = SimConsts(*sim)
    nb, n = placed.shape
    for b in range(nb):
        slot_over[b] = False
        if not active[b]:
            continue
        s.total_rounds[b] += 1
        s.round_in_slot[b] += 1
        any_placed = False
        for i in range(n):
            if placed[b, i]:
                any_placed = True
        slot_over[b] = (not any_placed) or s.round_in_slot[b] >= c.rounds_limit


@_jit
def play_picks(
    active: Bool,
    state: Packed,
    sim: Packed,
    pick_idx: I64,
    request: I64,
    outcome: Packed,
    tie_b: I64,
    tie_agents: I64,
    count_round: bool,
    slot_over: Bool,
) -> int:
    """Phases 1-3 of one pick per agent in one call: :func:`decode_picks`, then
    :func:`resolve_conflicts`; when no tie needs a random draw (returns 0: the common case),
    :func:`place` and, with ``count_round``, :func:`end_round` (into ``slot_over``) too.

    Returns the number of ties written to ``tie_b`` and ``tie_agents``; when it is not 0 nothing
    is placed yet: the caller draws each tie on its episode's generator (:func:`lose` for the
    losers), then calls :func:`place` and :func:`end_round` itself.
    """
    decode_picks(active, state, sim, pick_idx, request, outcome)
    ties = resolve_conflicts(active, state, sim, outcome, tie_b, tie_agents)
    if ties == 0:
        place(active, state, outcome)
        if count_round:
            end_round(active, state, sim, PickOutcome(*outcome).placed, slot_over)
    return ties


# ------------------------------------------------------------------------------------ slot end
@_jit
def begin_slot_end(active: Bool, state: Packed, sim: Packed, local: F64, glob: F64, gathered: Packed) -> int:
    """Slot end, steps 1-2a: rewards, the running sums, and the tasks that progress this slot.

    Writes ``local (B, N)`` and ``glob (B,)`` for the active episodes. The running, ready tasks
    are gathered into :class:`Gathered` grouped by task type, each with its flat index, its rank
    in ``(b, task)`` order, units, progress, work and host speed factor. Returns how many there
    are.
    """
    s = StateArrays(*state)
    c = SimConsts(*sim)
    g = Gathered(*gathered)
    nb, n, p = s.pending.shape
    t_cap = s.status.shape[1]
    r_count = s.free.shape[2]
    num_types = g.type_start.shape[0] - 1
    for k in range(num_types + 1):
        g.type_start[k] = 0
    q = 0
    for b in range(nb):
        g.per_episode[b] = 0
        if not active[b]:
            continue
        for i in range(n):
            occ = 0
            for x in range(p):
                if s.pending[b, i, x] >= 0:
                    occ += 1
            local[b, i] = -float(s.running_count[b, i] + occ + s.queue_len[b, i])
            for r in range(r_count):
                s.sum_used[b, i, r] += c.capacity[i, r] - s.free[b, i, r]
        in_sys = s.num_arrived[b] - s.num_completed[b]
        glob[b] = -float(in_sys)
        s.sum_in_system[b] += in_sys
        for k in range(s.num_arrived[b]):
            if s.status[b, k] == RUNNING and s.ready_slot[b, k] <= s.t[b]:
                g.type_start[s.type_idx[b, k] + 1] += 1
                g.per_episode[b] += 1
                q += 1
    for k in range(num_types):
        g.type_start[k + 1] += g.type_start[k]
    cursor = g.type_start[:num_types].copy()
    rank = 0
    for b in range(nb):
        if not active[b] or g.per_episode[b] == 0:
            continue
        for k in range(s.num_arrived[b]):
            if s.status[b, k] == RUNNING and s.ready_slot[b, k] <= s.t[b]:
                ty = s.type_idx[b, k]
                pos = cursor[ty]
                cursor[ty] += 1
                g.flat[pos] = b * t_cap + k
                g.rank[pos] = rank
                rank += 1
                for r in range(r_count):
                    g.alloc[pos, r] = s.alloc[b, k, r]
                g.prog[pos] = s.progress[b, k]
                g.work[pos] = s.work[b, k]
                g.factor[pos] = c.speed_factor[s.host[b, k]]
    return q


@_jit
def finish_slot_end(
    active: Bool, state: Packed, run_flat: I64, run_rank: I64, dp: F64, use_noise: bool, noise: F64
) -> None:
    """Slot end, steps 2b-6: apply progress, complete, ``t += 1``, arrivals, queue refill.

    ``dp`` is the increment of each gathered task (``run_flat``); with ``use_noise`` it is
    multiplied by ``noise[run_rank]`` (the noise factors in ``(b, task)`` order) before it is
    added, as the reference does.
    """
    s = StateArrays(*state)
    nb, n, p = s.pending.shape
    t_cap = s.status.shape[1]
    r_count = s.free.shape[2]
    for q in range(run_flat.shape[0]):
        b = run_flat[q] // t_cap
        k = run_flat[q] % t_cap
        inc = dp[q] * noise[run_rank[q]] if use_noise else dp[q]
        s.progress[b, k] = s.progress[b, k] + inc
        for r in range(r_count):
            s.prev_alloc[b, k, r] = s.alloc[b, k, r]
        s.slots_run[b, k] += 1
    for b in range(nb):
        if not active[b]:
            continue
        # completions
        for k in range(s.num_arrived[b]):
            if s.status[b, k] == RUNNING and s.progress[b, k] >= 1.0:
                c = s.host[b, k]
                s.status[b, k] = DONE
                s.completion_slot[b, k] = s.t[b]
                for r in range(r_count):
                    s.free[b, c, r] += s.alloc[b, k, r]
                s.running_count[b, c] -= 1
                if s.run_row[b, k] >= 0:
                    s.run_table[b, c, s.run_row[b, k]] = -1
                s.num_completed[b] += 1
        for c in range(n):
            if s.run_hidden[b, c] > 0:
                _show_hidden(b, c, s)
        s.t[b] += 1
        s.round_in_slot[b] = 0
    _arrive(active, s)  # every active episode's (episodes are independent: the same as one by one)
    for b in range(nb):
        if not active[b]:
            continue
        # refill: queued tasks (oldest first) move into free pending positions
        for i in range(n):
            if s.queue_len[b, i] == 0:
                continue
            x = 0
            k = 0
            while True:
                while x < p and s.pending[b, i, x] >= 0:
                    x += 1
                if x >= p or s.queue_len[b, i] == 0:
                    break
                while not s.in_queue[b, i, k]:
                    k += 1
                s.pending[b, i, x] = k
                s.in_queue[b, i, k] = False
                s.queue_len[b, i] -= 1


@_jit_inner
def _show_hidden(b: int, c: int, s: StateArrays) -> None:
    """Give free running-table rows of cluster ``c`` to its running tasks without a row (oldest
    placement first, then lowest id). Only after an elastic scheduler preempted tasks."""
    m = s.run_table.shape[2]
    while s.run_hidden[b, c] > 0:
        row = -1
        for x in range(m):
            if s.run_table[b, c, x] < 0:
                row = x
                break
        if row < 0:
            return
        best = -1
        for k in range(s.num_arrived[b]):
            if s.status[b, k] == RUNNING and s.host[b, k] == c and s.run_row[b, k] < 0:
                if best < 0 or s.placed_slot[b, k] < s.placed_slot[b, best]:
                    best = k
        if best < 0:
            return
        s.run_table[b, c, row] = best
        s.run_row[b, best] = row
        s.run_hidden[b, c] -= 1


# ------------------------------------------------------------------------------------ arrivals
@_jit_inner
def _arrive(active: Bool, s: StateArrays) -> None:
    """In each episode ``b`` with ``active[b]``, the tasks with ``arrival_slot <= t`` arrive:
    each visible agent gives them its first free pending positions (in id order), the rest join
    the tail of its queue."""
    nb, n, p = s.pending.shape
    for b in range(nb):
        if not active[b]:
            continue
        start = s.num_arrived[b]
        stop = start
        while stop < s.num_tasks[b] and s.arrival_slot[b, stop] <= s.t[b]:
            stop += 1
        for k in range(start, stop):
            s.status[b, k] = WAITING
        s.num_arrived[b] = stop
        for i in range(n):
            x = 0
            for k in range(start, stop):
                if not s.visible[b, k, i]:
                    continue
                while x < p and s.pending[b, i, x] >= 0:
                    x += 1
                if x < p:
                    s.pending[b, i, x] = k
                else:
                    s.in_queue[b, i, k] = True
                    s.queue_len[b, i] += 1


@_jit
def arrive_first(active: Bool, state: Packed) -> None:
    """At reset: the tasks of slot ``t`` arrive (the queues are empty, so no refill is needed)."""
    _arrive(active, StateArrays(*state))


# -------------------------------------------------------------------------------- observations
@_jit
def observe(active: Bool, state: Packed, sim: Packed, obs: Packed, out: Packed) -> None:
    """Every agent's observation into ``out`` (the blocks :data:`OBSERVE_BLOCKS`, in that order;
    layout in :mod:`edgesched_env.observation`), the exact blocks included (one call per step)."""
    s = StateArrays(*state)
    c = SimConsts(*sim)
    oc = ObsConsts(*obs)
    blocks = ObsBlocks(*out)
    clusters, pend_feat, pending_mask, running = blocks[0], blocks[1], blocks[2], blocks[3]
    running_mask, alloc_mask, action_mask = blocks[4], blocks[5], blocks[6]
    exact = ExactBlocks(blocks.clock, blocks.cluster_info, blocks.pending_info, blocks.running_info)
    nb, n, p = s.pending.shape
    r_count = s.free.shape[2]
    m = s.run_table.shape[2]
    l_max = alloc_mask.shape[4]
    width = action_mask.shape[2] // oc.picks
    f_base = oc.cl_is_self
    upper = np.empty(r_count, dtype=np.int64)
    lo_any = np.empty(r_count, dtype=np.int64)  # per resource: the lowest feasible level of any slot
    base = np.empty((n, f_base), dtype=np.float32)
    for b in range(nb):
        if not active[b]:
            continue
        tb = s.t[b]
        for j in range(n):
            _cluster_row(b, j, s.free, s.pending, s.queue_len, s.running_count, m, c.capacity, oc, base[j], 0)
        for i in range(n):
            for j in range(n):
                for f in range(f_base):
                    clusters[b, i, j, f] = base[j, f]
                clusters[b, i, j, oc.cl_is_self] = 1.0 if j == i else 0.0
            for r in range(r_count):
                upper[r] = min(s.free[b, i, r], c.max_level[r])
            any_fit = False
            for r in range(r_count):
                lo_any[r] = l_max
            for x in range(width):
                action_mask[b, i, x] = 0
            for x in range(p):
                tid = s.pending[b, i, x]
                for f in range(pend_feat.shape[3]):
                    pend_feat[b, i, x, f] = 0.0
                for r in range(r_count):
                    for lv in range(l_max):
                        alloc_mask[b, i, x, r, lv] = 0
                if tid < 0:
                    pending_mask[b, i, x] = 0
                    continue
                pending_mask[b, i, x] = 1
                action_mask[b, i, x] = 1
                _task_row(
                    b,
                    tid,
                    s.type_idx,
                    s.min_request,
                    s.arrival_slot,
                    s.num_visible,
                    n,
                    oc,
                    tb,
                    pend_feat[b, i, x],
                    0,
                )
                pend_feat[b, i, x, oc.pe_delay] = s.delay_slots[b, tid, i] / oc.time_scale
                fits = True
                for r in range(r_count):
                    lo = max(s.min_request[b, tid, r], 0)
                    if lo > upper[r] or lo >= l_max:
                        fits = False
                if fits:
                    any_fit = True
                    for r in range(r_count):
                        lo = max(s.min_request[b, tid, r], 0)
                        for lv in range(lo, upper[r] + 1):
                            alloc_mask[b, i, x, r, lv] = 1
                        lo_any[r] = min(lo_any[r], lo)
            action_mask[b, i, p] = 1
            off = p + 1
            for r in range(r_count):
                for lv in range(oc.levels[r]):
                    v = 0
                    if any_fit:  # feasible for some slot: the union of [lo, upper[r]] is one range
                        if lo_any[r] <= lv <= upper[r]:
                            v = 1
                    elif lv == 0:
                        v = 1
                    action_mask[b, i, off + lv] = v
                off += oc.levels[r]
            for k in range(1, oc.picks):
                for x in range(width):
                    action_mask[b, i, k * width + x] = action_mask[b, i, x]
            _running_block(
                b,
                i,
                s.run_table,
                s.type_idx,
                s.alloc,
                s.placed_slot,
                oc,
                tb,
                running[b, i],
                running_mask[b, i],
            )
    _exact_rows(active, s, exact)


@_jit
def observe_exact(active: Bool, state: Packed, exact: Packed) -> None:
    """Only the exact blocks (:class:`ExactBlocks`) of the episodes with ``active[b]`` (what
    :func:`observe` writes after the float blocks)."""
    _exact_rows(active, StateArrays(*state), ExactBlocks(*exact))


@_jit_inner
def _exact_rows(active: Bool, st: StateArrays, ex: ExactBlocks) -> None:
    """Every agent's exact blocks of each episode ``b`` with ``active[b]`` (``N`` clusters, ``P``
    pending positions, ``M`` running rows, ``R`` resources; empty rows are ``-1`` throughout):

    * ``clock``: slot index, decision rounds already played in the slot.
    * ``cluster_info``: per cluster, free units (R), occupied pending positions, overflow-queue
      length, running (or preempted) tasks.
    * ``pending_info``: per pending position, task id, type index, arrival slot, data-transfer
      delay to this cluster (slots), clusters that see the task, minimum request (R units).
    * ``running_info``: per running task, task id, type index, placement slot, allocation (R
      units, 0 when preempted), minimum request (R units). Row ``x`` is the running table's row
      ``x`` when that task holds units; every task holding units is shown; free rows then show
      the preempted tasks while rows remain (so without preemption the rows are the ``running``
      block's).
    """
    clock, cluster_info, pending_info, running_info = ex
    pending, free, run_table, task_alloc = st.pending, st.free, st.run_table, st.alloc
    n, p = pending.shape[1], pending.shape[2]
    r_count = free.shape[2]
    m = run_table.shape[2]
    shown = np.empty(m, dtype=np.int64)
    for b in range(pending.shape[0]):
        if not active[b]:
            continue
        # every agent sees the same cluster rows: agent 0's are computed, the others copy them
        for c in range(n):
            occ = 0
            for s in range(p):
                if pending[b, c, s] >= 0:
                    occ += 1
            for r in range(r_count):
                cluster_info[b, 0, c, r] = free[b, c, r]
            cluster_info[b, 0, c, r_count] = occ
            cluster_info[b, 0, c, r_count + 1] = st.queue_len[b, c]
            cluster_info[b, 0, c, r_count + 2] = st.running_count[b, c]
        for i in range(n):
            clock[b, i, 0] = st.t[b]
            clock[b, i, 1] = st.round_in_slot[b]
            if i > 0:
                for c in range(n):
                    for f in range(r_count + 3):
                        cluster_info[b, i, c, f] = cluster_info[b, 0, c, f]
            for s in range(p):
                tid = pending[b, i, s]
                row = pending_info[b, i, s]
                if tid < 0:
                    for f in range(r_count + 5):
                        row[f] = -1
                    continue
                row[0] = tid
                row[1] = st.type_idx[b, tid]
                row[2] = st.arrival_slot[b, tid]
                row[3] = st.delay_slots[b, tid, i]
                row[4] = st.num_visible[b, tid]
                for r in range(r_count):
                    row[5 + r] = st.min_request[b, tid, r]
            # every task holding units is shown (at most M of them: EnvConfig.max_running), in
            # its running-table row; the rows left are filled with the tasks holding units that
            # have no row (after a preemption), then the preempted tasks (no units) with a row
            for x in range(m):
                tid = run_table[b, i, x]
                shown[x] = tid if tid >= 0 and _holds(task_alloc, b, tid) else -1
            x = 0
            if st.run_hidden[b, i] > 0:
                for k in range(st.num_arrived[b]):
                    if st.status[b, k] == RUNNING and st.host[b, k] == i and st.run_row[b, k] < 0:
                        if _holds(task_alloc, b, k):
                            while x < m and shown[x] >= 0:
                                x += 1
                            if x < m:
                                shown[x] = k
            for y in range(m):
                tid = run_table[b, i, y]
                if tid >= 0 and not _holds(task_alloc, b, tid):
                    while x < m and shown[x] >= 0:
                        x += 1
                    if x < m:
                        shown[x] = tid
            for x in range(m):
                tid = shown[x]
                row = running_info[b, i, x]
                if tid < 0:
                    for f in range(2 * r_count + 3):
                        row[f] = -1
                    continue
                row[0] = tid
                row[1] = st.type_idx[b, tid]
                row[2] = st.placed_slot[b, tid]
                for r in range(r_count):
                    row[3 + r] = task_alloc[b, tid, r]
                    row[3 + r_count + r] = st.min_request[b, tid, r]


@_jit_inner
def _holds(task_alloc: I64, b: int, tid: int) -> bool:
    """Whether task ``tid`` of episode ``b`` holds units (is not preempted)."""
    for r in range(task_alloc.shape[2]):
        if task_alloc[b, tid, r] > 0:
            return True
    return False


# The three row helpers below take the state's arrays they read, not the state struct (they are
# called per cluster or task: see _jit_inner).
@_jit_inner
def _cluster_row(
    b: int,
    j: int,
    free: I64,
    pending: I64,
    queue_len: I64,
    running_count: I64,
    m: int,
    capacity: I64,
    oc: ObsConsts,
    out: F32,
    o: int,
) -> None:
    """Cluster ``j``'s features before the is-self flag into ``out[o : o + cl_is_self]``: free /
    capacity (R), capacity relative to the largest (R), pending / P, queue / P, running / M
    (``m``); the arrays are the state's fields of these names, ``capacity`` the config's."""
    r_count = free.shape[2]
    p = pending.shape[2]
    occ = 0
    for x in range(p):
        if pending[b, j, x] >= 0:
            occ += 1
    for r in range(r_count):
        out[o + oc.cl_free + r] = free[b, j, r] / capacity[j, r]
        out[o + oc.cl_capacity + r] = oc.cap_rel[j, r]
    out[o + oc.cl_pending] = occ / p
    out[o + oc.cl_queue] = queue_len[b, j] / p
    out[o + oc.cl_running] = running_count[b, j] / m


@_jit_inner
def _task_row(
    b: int,
    tid: int,
    type_idx: I64,
    min_request: I64,
    arrival_slot: I64,
    num_visible: I64,
    n: int,
    oc: ObsConsts,
    tb: int,
    out: F32,
    o: int,
) -> None:
    """Task ``tid``'s pending features before the delay into ``out[o : o + pe_delay]``: type
    one-hot (K), min request / max units (R), waiting time / time_scale, clusters that see it / N
    (``n``); the arrays are the state's fields of these names."""
    r_count = min_request.shape[2]
    out[o + oc.pe_type + type_idx[b, tid]] = 1.0
    for r in range(r_count):
        out[o + oc.pe_min_request + r] = min_request[b, tid, r] / oc.max_level_f[r]
    out[o + oc.pe_waiting] = (tb - arrival_slot[b, tid]) / oc.time_scale
    out[o + oc.pe_num_visible] = num_visible[b, tid] / n


@_jit_inner
def _running_block(
    b: int,
    i: int,
    run_table: I64,
    type_idx: I64,
    task_alloc: I64,
    placed_slot: I64,
    oc: ObsConsts,
    tb: int,
    out: F32,
    out_mask: I8,
) -> None:
    """Running-task features of cluster ``i`` in running-table order (the arrays are the state's
    fields of these names, ``task_alloc`` its ``alloc``)."""
    r_count = task_alloc.shape[2]
    for x in range(run_table.shape[2]):
        tid = run_table[b, i, x]
        for f in range(out.shape[1]):
            out[x, f] = 0.0
        if tid < 0:
            out_mask[x] = 0
            continue
        out_mask[x] = 1
        out[x, oc.ru_type + type_idx[b, tid]] = 1.0
        for r in range(r_count):
            out[x, oc.ru_alloc + r] = task_alloc[b, tid, r] / oc.max_level_f[r]
        out[x, oc.ru_age] = (tb - placed_slot[b, tid]) / oc.time_scale


@_jit
def global_state(active: Bool, state: Packed, sim: Packed, obs: Packed, out: F32) -> None:
    """The flat global state ``(B, S)`` (layout in :mod:`edgesched_env.observation`)."""
    s = StateArrays(*state)
    c = SimConsts(*sim)
    oc = ObsConsts(*obs)
    nb, n, p = s.pending.shape
    m = s.run_table.shape[2]
    f_cluster = oc.cl_is_self
    f_task = oc.pe_delay
    f_run = oc.ru_age + 1
    pool = n * p
    ids = np.empty(pool, dtype=np.int64)
    running = np.zeros((m, f_run), dtype=np.float32)
    running_mask = np.zeros(m, dtype=np.int8)
    for b in range(nb):
        if not active[b]:
            continue
        tb = s.t[b]
        row = out[b]
        row[:] = 0.0
        o = 0
        for j in range(n):
            _cluster_row(b, j, s.free, s.pending, s.queue_len, s.running_count, m, c.capacity, oc, row, o)
            o += f_cluster
        cnt = 0
        for j in range(n):
            for x in range(p):
                if s.pending[b, j, x] >= 0:
                    ids[cnt] = s.pending[b, j, x]
                    cnt += 1
        srt = np.sort(ids[:cnt])
        u = 0
        for x in range(cnt):
            if x == 0 or srt[x] != srt[x - 1]:
                ids[u] = srt[x]
                u += 1
        o_pool = o
        o_vis = o_pool + pool * f_task
        o_slot = o_vis + pool * n
        o_mask = o_slot + pool * n
        o_run = o_mask + pool
        for x in range(u):
            tid = ids[x]
            _task_row(
                b,
                tid,
                s.type_idx,
                s.min_request,
                s.arrival_slot,
                s.num_visible,
                n,
                oc,
                tb,
                row,
                o_pool + x * f_task,
            )
            for j in range(n):
                row[o_vis + x * n + j] = 1.0 if s.visible[b, tid, j] else 0.0
                hit = 0.0
                for y in range(p):
                    if s.pending[b, j, y] == tid:
                        hit = 1.0
                row[o_slot + x * n + j] = hit
            row[o_mask + x] = 1.0
        for j in range(n):
            _running_block(
                b, j, s.run_table, s.type_idx, s.alloc, s.placed_slot, oc, tb, running, running_mask
            )
            for x in range(m):
                for f in range(f_run):
                    row[o_run + (j * m + x) * f_run + f] = running[x, f]
