"""Compiled kernels of the dynamics: loops over episodes, agents and tasks of a :class:`SimState`.

Each kernel takes the state's arrays (leading batch axis ``B``) and an ``active`` mask ``(B,)`` of
the episodes it applies to, and mutates the arrays in place. They are ``numba``-compiled when
numba is installed (``cache=True``: compiled once per machine, then loaded from ``__pycache__``);
without numba, or with ``NUMBA_DISABLE_JIT=1``, the same Python code runs as it is (slowly).

Every random draw stays in Python (:mod:`edgesched_env.sim.dynamics`), on each episode's own
``numpy.random.Generator``, so the kernels are deterministic functions of their inputs.
Arithmetic follows the reference order of operations exactly (float64, then cast to float32 for
observations), so a batch of ``B`` episodes is bit-identical to ``B`` single episodes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

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

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba

    def _jit(fn: F) -> F:
        return fn

    HAVE_NUMBA = False

__all__ = ["HAVE_NUMBA", "jit"]

#: the decorator of these kernels (``numba.njit(cache=True, nogil=True)``, or the identity
#: without numba), for compiled loops elsewhere in the package
jit = _jit

RUNNING = 2
WAITING = 1
DONE = 3


# ------------------------------------------------------------------------------ decision round
@_jit
def decode_picks(
    active: Bool,
    pending: I64,
    pick_idx: I64,
    request: I64,
    min_request: I64,
    free: I64,
    max_level: I64,
    clip: bool,
    task: I64,
    placed: Bool,
    noop: Bool,
    empty: Bool,
    infeasible: Bool,
    clipped: Bool,
    alloc: I64,
    num_infeasible: I64,
    num_clipped: I64,
) -> None:
    """Phase 1: turn each agent's pick (pending position, units) into a task and an allocation.

    Writes the outcome arrays ``task, placed, noop, empty, infeasible, clipped (B, N)`` and
    ``alloc (B, N, R)`` for the active episodes and counts infeasible and clipped picks.
    """
    nb, n, p = pending.shape
    r_count = free.shape[2]
    for b in range(nb):
        if not active[b]:
            continue
        for i in range(n):
            s = pick_idx[b, i]
            tid = pending[b, i, s] if s < p else -1
            empty[b, i] = s < p and tid < 0
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
                    upper = min(free[b, i, r], max_level[r])
                    lo = min_request[b, tid, r]
                    req = request[b, i, r]
                    if lo > upper:
                        ok = False
                    if clip:
                        a = min(max(req, lo), upper)
                        if a != req:
                            is_clipped = True
                    else:
                        a = req
                        if req < lo or req > upper:
                            ok = False
                    alloc[b, i, r] = a
                is_clipped = is_clipped and ok
            if not ok:
                for r in range(r_count):
                    alloc[b, i, r] = 0
            task[b, i] = tid if want else -1
            placed[b, i] = ok
            noop[b, i] = not want
            infeasible[b, i] = want and not ok
            clipped[b, i] = is_clipped
            if infeasible[b, i]:
                num_infeasible[b] += 1
            if is_clipped:
                num_clipped[b] += 1


@_jit
def capacity_ratio(free_row: I64, m_row: I64) -> float:
    """``min over r with m_r > 0 of free_r / m_r`` (float64; ``inf`` if every ``m_r`` is 0)."""
    best = np.inf
    for r in range(m_row.shape[0]):
        if m_row[r] > 0:
            v = free_row[r] / m_row[r]
            if v < best:
                best = v
    return best


@_jit
def resolve_conflicts(
    active: Bool,
    task: I64,
    placed: Bool,
    conflict: Bool,
    alloc: I64,
    free: I64,
    min_request: I64,
    capacity_rule: bool,
    num_conflicts: I64,
    tie_b: I64,
    tie_agents: I64,
) -> int:
    """Phase 2: among feasible picks of the same task, keep one winner (SPEC.md section 6).

    Groups whose winner is unique (``capacity`` rule) are settled here, and agents outside a
    group's best lose at once. Groups that need a random draw among their best are written, in
    ascending task order per episode, to ``tie_b`` and ``tie_agents`` (``(G, N)`` candidate agents
    padded with -1); returns ``G``.
    """
    nb, n = task.shape
    num_ties = 0
    order = np.empty(n, dtype=np.int64)
    ratio = np.empty(n, dtype=np.float64)
    for b in range(nb):
        if not active[b]:
            continue
        cnt = 0
        for i in range(n):
            if placed[b, i]:
                order[cnt] = i
                cnt += 1
        if cnt < 2:
            continue
        # candidate agents sorted by task id (stable: agent order within a task)
        for x in range(1, cnt):
            y = x
            while y > 0 and task[b, order[y - 1]] > task[b, order[y]]:
                tmp = order[y - 1]
                order[y - 1] = order[y]
                order[y] = tmp
                y -= 1
        start = 0
        while start < cnt:
            stop = start + 1
            tid = task[b, order[start]]
            while stop < cnt and task[b, order[stop]] == tid:
                stop += 1
            if stop - start > 1:
                best = -np.inf
                for x in range(start, stop):
                    i = order[x]
                    ratio[i] = capacity_ratio(free[b, i], min_request[b, tid]) if capacity_rule else 0.0
                    if ratio[i] > best:
                        best = ratio[i]
                k = 0
                for x in range(start, stop):
                    i = order[x]
                    if ratio[i] == best:
                        tie_agents[num_ties, k] = i
                        k += 1
                    else:  # not among the best: loses whatever happens to the others
                        lose(b, i, placed, conflict, alloc, num_conflicts)
                if k > 1:  # a draw among the best is needed: left to the caller
                    for x in range(k, n):
                        tie_agents[num_ties, x] = -1
                    tie_b[num_ties] = b
                    num_ties += 1
            start = stop
    return num_ties


@_jit
def lose(b: int, i: int, placed: Bool, conflict: Bool, alloc: I64, num_conflicts: I64) -> None:
    """Agent ``i`` of episode ``b`` lost a conflict: nothing placed, counted."""
    placed[b, i] = False
    conflict[b, i] = True
    for r in range(alloc.shape[2]):
        alloc[b, i, r] = 0
    num_conflicts[b] += 1


@_jit
def place(
    active: Bool,
    task: I64,
    placed: Bool,
    alloc: I64,
    t: I64,
    status: I8,
    host: I64,
    task_alloc: I64,
    prev_alloc: I64,
    slots_run: I64,
    placed_slot: I64,
    ready_slot: I64,
    delay_slots: I64,
    free: I64,
    running_count: I64,
    pending: I64,
    run_table: I64,
    run_row: I64,
    run_hidden: I64,
    in_queue: Bool,
    queue_len: I64,
) -> None:
    """Phase 3: start the winners' tasks on their hosts and remove them from every list."""
    nb, n = task.shape
    p = pending.shape[2]
    m = run_table.shape[2]
    r_count = free.shape[2]
    for b in range(nb):
        if not active[b]:
            continue
        for i in range(n):
            if not placed[b, i]:
                continue
            tid = task[b, i]
            status[b, tid] = RUNNING
            host[b, tid] = i
            for r in range(r_count):
                task_alloc[b, tid, r] = alloc[b, i, r]
                prev_alloc[b, tid, r] = alloc[b, i, r]
                free[b, i, r] -= alloc[b, i, r]
            slots_run[b, tid] = 0
            placed_slot[b, tid] = t[b]
            ready_slot[b, tid] = t[b] + delay_slots[b, tid, i]
            running_count[b, i] += 1
            for j in range(n):
                for s in range(p):
                    if pending[b, j, s] == tid:
                        pending[b, j, s] = -1
                if in_queue[b, j, tid]:
                    in_queue[b, j, tid] = False
                    queue_len[b, j] -= 1
            row = -1
            for x in range(m):
                if run_table[b, i, x] < 0:
                    row = x
                    break
            if row >= 0:
                run_table[b, i, row] = tid
                run_row[b, tid] = row
            else:  # only after an elastic scheduler preempted tasks; shown once a row frees up
                run_hidden[b, i] += 1


@_jit
def end_round(
    active: Bool, placed: Bool, total_rounds: I64, round_in_slot: I64, rounds_limit: int, slot_over: Bool
) -> None:
    """Round bookkeeping: count the round; a slot is over where nothing was placed or the limit hit."""
    nb, n = placed.shape
    for b in range(nb):
        slot_over[b] = False
        if not active[b]:
            continue
        total_rounds[b] += 1
        round_in_slot[b] += 1
        any_placed = False
        for i in range(n):
            if placed[b, i]:
                any_placed = True
        slot_over[b] = (not any_placed) or round_in_slot[b] >= rounds_limit


# ------------------------------------------------------------------------------------ slot end
@_jit
def begin_slot_end(
    active: Bool,
    running_count: I64,
    pending: I64,
    queue_len: I64,
    num_arrived: I64,
    num_completed: I64,
    free: I64,
    capacity: I64,
    status: I8,
    ready_slot: I64,
    t: I64,
    local: F64,
    glob: F64,
    sum_in_system: I64,
    sum_used: I64,
    type_idx: I64,
    task_alloc: I64,
    progress: F64,
    work: F64,
    host: I64,
    speed_factor: F64,
    g_flat: I64,
    g_rank: I64,
    g_alloc: I64,
    g_prog: F64,
    g_work: F64,
    g_factor: F64,
    type_start: I64,
    per_episode: I64,
) -> int:
    """Slot end, steps 1-2a: rewards, the running sums, and the tasks that progress this slot.

    Writes ``local (B, N)`` and ``glob (B,)`` for the active episodes. The running, ready tasks
    are gathered grouped by task type (type ``k`` in ``type_start[k]:type_start[k+1]``), each
    with its flat index ``b * T + task`` (``g_flat``), its rank in ``(b, task)`` order
    (``g_rank``: the order of the reference's draws), units, progress, work and host speed
    factor; ``per_episode[b]`` counts them per episode. Returns how many there are.
    """
    nb, n, p = pending.shape
    t_cap = status.shape[1]
    r_count = free.shape[2]
    num_types = type_start.shape[0] - 1
    for k in range(num_types + 1):
        type_start[k] = 0
    q = 0
    for b in range(nb):
        per_episode[b] = 0
        if not active[b]:
            continue
        for i in range(n):
            occ = 0
            for s in range(p):
                if pending[b, i, s] >= 0:
                    occ += 1
            local[b, i] = -float(running_count[b, i] + occ + queue_len[b, i])
            for r in range(r_count):
                sum_used[b, i, r] += capacity[i, r] - free[b, i, r]
        in_sys = num_arrived[b] - num_completed[b]
        glob[b] = -float(in_sys)
        sum_in_system[b] += in_sys
        for k in range(num_arrived[b]):
            if status[b, k] == RUNNING and ready_slot[b, k] <= t[b]:
                type_start[type_idx[b, k] + 1] += 1
                per_episode[b] += 1
                q += 1
    for k in range(num_types):
        type_start[k + 1] += type_start[k]
    cursor = type_start[:num_types].copy()
    rank = 0
    for b in range(nb):
        if not active[b] or per_episode[b] == 0:
            continue
        for k in range(num_arrived[b]):
            if status[b, k] == RUNNING and ready_slot[b, k] <= t[b]:
                ty = type_idx[b, k]
                pos = cursor[ty]
                cursor[ty] += 1
                g_flat[pos] = b * t_cap + k
                g_rank[pos] = rank
                rank += 1
                for r in range(r_count):
                    g_alloc[pos, r] = task_alloc[b, k, r]
                g_prog[pos] = progress[b, k]
                g_work[pos] = work[b, k]
                g_factor[pos] = speed_factor[host[b, k]]
    return q


@_jit
def finish_slot_end(
    active: Bool,
    run_flat: I64,
    run_rank: I64,
    dp: F64,
    use_noise: bool,
    noise: F64,
    progress: F64,
    alloc: I64,
    prev_alloc: I64,
    slots_run: I64,
    status: I8,
    host: I64,
    completion_slot: I64,
    free: I64,
    running_count: I64,
    run_table: I64,
    run_row: I64,
    run_hidden: I64,
    placed_slot: I64,
    t: I64,
    round_in_slot: I64,
    num_completed: I64,
    num_arrived: I64,
    num_tasks: I64,
    arrival_slot: I64,
    visible: Bool,
    pending: I64,
    in_queue: Bool,
    queue_len: I64,
) -> None:
    """Slot end, steps 2b-6: apply progress, complete, ``t += 1``, arrivals, queue refill.

    ``dp`` is the increment of each gathered task (``run_flat``); with ``use_noise`` it is
    multiplied by ``noise[run_rank]`` (the noise factors in ``(b, task)`` order) before it is
    added, as the reference does.
    """
    nb, n, p = pending.shape
    t_cap = status.shape[1]
    r_count = free.shape[2]
    m = run_table.shape[2]
    for q in range(run_flat.shape[0]):
        b = run_flat[q] // t_cap
        k = run_flat[q] % t_cap
        inc = dp[q] * noise[run_rank[q]] if use_noise else dp[q]
        progress[b, k] = progress[b, k] + inc
        for r in range(r_count):
            prev_alloc[b, k, r] = alloc[b, k, r]
        slots_run[b, k] += 1
    for b in range(nb):
        if not active[b]:
            continue
        # completions
        for k in range(num_arrived[b]):
            if status[b, k] == RUNNING and progress[b, k] >= 1.0:
                c = host[b, k]
                status[b, k] = DONE
                completion_slot[b, k] = t[b]
                for r in range(r_count):
                    free[b, c, r] += alloc[b, k, r]
                running_count[b, c] -= 1
                if run_row[b, k] >= 0:
                    run_table[b, c, run_row[b, k]] = -1
                num_completed[b] += 1
        for c in range(n):
            if run_hidden[b, c] > 0:
                _show_hidden(
                    b, c, status, host, run_row, run_table, run_hidden, placed_slot, num_arrived[b], m
                )
        t[b] += 1
        round_in_slot[b] = 0
        _arrive(b, num_tasks, arrival_slot, t, status, num_arrived, visible, pending, in_queue, queue_len)
        # refill: queued tasks (oldest first) move into free pending positions
        for i in range(n):
            if queue_len[b, i] == 0:
                continue
            s = 0
            k = 0
            while True:
                while s < p and pending[b, i, s] >= 0:
                    s += 1
                if s >= p or queue_len[b, i] == 0:
                    break
                while not in_queue[b, i, k]:
                    k += 1
                pending[b, i, s] = k
                in_queue[b, i, k] = False
                queue_len[b, i] -= 1


@_jit
def _show_hidden(
    b: int,
    c: int,
    status: I8,
    host: I64,
    run_row: I64,
    run_table: I64,
    run_hidden: I64,
    placed_slot: I64,
    num_arrived: int,
    m: int,
) -> None:
    """Give free running-table rows of cluster ``c`` to its running tasks without a row (oldest
    placement first, then lowest id). Only after an elastic scheduler preempted tasks."""
    while run_hidden[b, c] > 0:
        row = -1
        for x in range(m):
            if run_table[b, c, x] < 0:
                row = x
                break
        if row < 0:
            return
        best = -1
        for k in range(num_arrived):
            if status[b, k] == RUNNING and host[b, k] == c and run_row[b, k] < 0:
                if best < 0 or placed_slot[b, k] < placed_slot[b, best]:
                    best = k
        if best < 0:
            return
        run_table[b, c, row] = best
        run_row[b, best] = row
        run_hidden[b, c] -= 1


# ------------------------------------------------------------------------------------ arrivals
@_jit
def _arrive(
    b: int,
    num_tasks: I64,
    arrival_slot: I64,
    t: I64,
    status: I8,
    num_arrived: I64,
    visible: Bool,
    pending: I64,
    in_queue: Bool,
    queue_len: I64,
) -> None:
    """Episode ``b``'s tasks with ``arrival_slot <= t`` arrive: each visible agent gives them its
    first free pending positions (in id order), the rest join the tail of its queue."""
    n, p = pending.shape[1], pending.shape[2]
    start = num_arrived[b]
    stop = start
    while stop < num_tasks[b] and arrival_slot[b, stop] <= t[b]:
        stop += 1
    for k in range(start, stop):
        status[b, k] = WAITING
    num_arrived[b] = stop
    for i in range(n):
        s = 0
        for k in range(start, stop):
            if not visible[b, k, i]:
                continue
            while s < p and pending[b, i, s] >= 0:
                s += 1
            if s < p:
                pending[b, i, s] = k
            else:
                in_queue[b, i, k] = True
                queue_len[b, i] += 1


@_jit
def arrive_first(
    active: Bool,
    num_tasks: I64,
    arrival_slot: I64,
    t: I64,
    status: I8,
    num_arrived: I64,
    visible: Bool,
    pending: I64,
    in_queue: Bool,
    queue_len: I64,
) -> None:
    """At reset: the tasks of slot ``t`` arrive (the queues are empty, so no refill is needed)."""
    for b in range(pending.shape[0]):
        if active[b]:
            _arrive(b, num_tasks, arrival_slot, t, status, num_arrived, visible, pending, in_queue, queue_len)


# -------------------------------------------------------------------------------- observations
@_jit
def observe(
    active: Bool,
    free: I64,
    capacity: I64,
    cap_rel: F32,
    pending: I64,
    queue_len: I64,
    running_count: I64,
    run_table: I64,
    t: I64,
    type_idx: I64,
    min_request: I64,
    max_level_f: F64,
    arrival_slot: I64,
    num_visible: I64,
    delay_slots: I64,
    task_alloc: I64,
    placed_slot: I64,
    max_level_i: I64,
    levels: I64,
    time_scale: float,
    picks: int,
    clusters: F32,
    pend_feat: F32,
    pending_mask: I8,
    running: F32,
    running_mask: I8,
    alloc_mask: I8,
    action_mask: I8,
) -> None:
    """Every agent's observation (see :mod:`edgesched_env.observation` for the layout)."""
    nb, n, p = pending.shape
    r_count = free.shape[2]
    k_count = pend_feat.shape[3] - r_count - 3
    m = run_table.shape[2]
    l_max = alloc_mask.shape[4]
    width = action_mask.shape[2] // picks
    upper = np.empty(r_count, dtype=np.int64)
    base = np.empty((n, 2 * r_count + 3), dtype=np.float32)
    for b in range(nb):
        if not active[b]:
            continue
        tb = t[b]
        for c in range(n):
            _cluster_row(b, c, free, capacity, cap_rel, pending, queue_len, running_count, m, base[c], 0)
        for i in range(n):
            for c in range(n):
                for f in range(2 * r_count + 3):
                    clusters[b, i, c, f] = base[c, f]
                clusters[b, i, c, 2 * r_count + 3] = 1.0 if c == i else 0.0
            for r in range(r_count):
                upper[r] = min(free[b, i, r], max_level_i[r])
            any_fit = False
            for x in range(width):
                action_mask[b, i, x] = 0
            for s in range(p):
                tid = pending[b, i, s]
                for f in range(pend_feat.shape[3]):
                    pend_feat[b, i, s, f] = 0.0
                for r in range(r_count):
                    for lv in range(l_max):
                        alloc_mask[b, i, s, r, lv] = 0
                if tid < 0:
                    pending_mask[b, i, s] = 0
                    continue
                pending_mask[b, i, s] = 1
                action_mask[b, i, s] = 1
                pend_feat[b, i, s, type_idx[b, tid]] = 1.0
                for r in range(r_count):
                    pend_feat[b, i, s, k_count + r] = min_request[b, tid, r] / max_level_f[r]
                pend_feat[b, i, s, k_count + r_count] = (tb - arrival_slot[b, tid]) / time_scale
                pend_feat[b, i, s, k_count + r_count + 1] = num_visible[b, tid] / n
                pend_feat[b, i, s, k_count + r_count + 2] = delay_slots[b, tid, i] / time_scale
                fits = True
                for r in range(r_count):
                    lo = max(min_request[b, tid, r], 0)
                    if lo > upper[r] or lo >= l_max:
                        fits = False
                if fits:
                    any_fit = True
                    for r in range(r_count):
                        lo = max(min_request[b, tid, r], 0)
                        for lv in range(lo, upper[r] + 1):
                            alloc_mask[b, i, s, r, lv] = 1
            action_mask[b, i, p] = 1
            off = p + 1
            for r in range(r_count):
                for lv in range(levels[r]):
                    v = 0
                    if any_fit:
                        for s in range(p):
                            if alloc_mask[b, i, s, r, lv]:
                                v = 1
                                break
                    elif lv == 0:
                        v = 1
                    action_mask[b, i, off + lv] = v
                off += levels[r]
            for k in range(1, picks):
                for x in range(width):
                    action_mask[b, i, k * width + x] = action_mask[b, i, x]
            _running_block(
                b,
                i,
                run_table,
                type_idx,
                task_alloc,
                max_level_f,
                placed_slot,
                tb,
                time_scale,
                k_count,
                running[b, i],
                running_mask[b, i],
            )


@_jit
def _cluster_row(
    b: int,
    c: int,
    free: I64,
    capacity: I64,
    cap_rel: F32,
    pending: I64,
    queue_len: I64,
    running_count: I64,
    m: int,
    out: F32,
    o: int,
) -> None:
    """Cluster ``c``'s features without the is-self flag into ``out[o : o + 2R + 3]``: free /
    capacity (R), capacity relative to the largest (R), pending / P, queue / P, running / M."""
    r_count = free.shape[2]
    p = pending.shape[2]
    occ = 0
    for s in range(p):
        if pending[b, c, s] >= 0:
            occ += 1
    for r in range(r_count):
        out[o + r] = free[b, c, r] / capacity[c, r]
        out[o + r_count + r] = cap_rel[c, r]
    out[o + 2 * r_count] = occ / p
    out[o + 2 * r_count + 1] = queue_len[b, c] / p
    out[o + 2 * r_count + 2] = running_count[b, c] / m


@_jit
def _running_block(
    b: int,
    i: int,
    run_table: I64,
    type_idx: I64,
    task_alloc: I64,
    max_level_f: F64,
    placed_slot: I64,
    tb: int,
    time_scale: float,
    k_count: int,
    out: F32,
    out_mask: I8,
) -> None:
    """Running-task features of cluster ``i`` in running-table order."""
    r_count = task_alloc.shape[2]
    for x in range(run_table.shape[2]):
        tid = run_table[b, i, x]
        for f in range(out.shape[1]):
            out[x, f] = 0.0
        if tid < 0:
            out_mask[x] = 0
            continue
        out_mask[x] = 1
        out[x, type_idx[b, tid]] = 1.0
        for r in range(r_count):
            out[x, k_count + r] = task_alloc[b, tid, r] / max_level_f[r]
        out[x, k_count + r_count] = (tb - placed_slot[b, tid]) / time_scale


@_jit
def global_state(
    active: Bool,
    free: I64,
    capacity: I64,
    cap_rel: F32,
    pending: I64,
    queue_len: I64,
    running_count: I64,
    run_table: I64,
    t: I64,
    type_idx: I64,
    min_request: I64,
    max_level_f: F64,
    arrival_slot: I64,
    num_visible: I64,
    visible: Bool,
    task_alloc: I64,
    placed_slot: I64,
    time_scale: float,
    num_types: int,
    out: F32,
) -> None:
    """The flat global state ``(B, S)`` (layout in :mod:`edgesched_env.observation`)."""
    nb, n, p = pending.shape
    r_count = free.shape[2]
    m = run_table.shape[2]
    f_task = num_types + r_count + 2
    f_run = num_types + r_count + 1
    pool = n * p
    ids = np.empty(pool, dtype=np.int64)
    running = np.zeros((m, f_run), dtype=np.float32)
    running_mask = np.zeros(m, dtype=np.int8)
    for b in range(nb):
        if not active[b]:
            continue
        tb = t[b]
        row = out[b]
        row[:] = 0.0
        o = 0
        for c in range(n):
            _cluster_row(b, c, free, capacity, cap_rel, pending, queue_len, running_count, m, row, o)
            o += 2 * r_count + 3
        cnt = 0
        for c in range(n):
            for s in range(p):
                if pending[b, c, s] >= 0:
                    ids[cnt] = pending[b, c, s]
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
            q = o_pool + x * f_task
            row[q + type_idx[b, tid]] = 1.0
            for r in range(r_count):
                row[q + num_types + r] = min_request[b, tid, r] / max_level_f[r]
            row[q + num_types + r_count] = (tb - arrival_slot[b, tid]) / time_scale
            row[q + num_types + r_count + 1] = num_visible[b, tid] / n
            for c in range(n):
                row[o_vis + x * n + c] = 1.0 if visible[b, tid, c] else 0.0
                hit = 0.0
                for s in range(p):
                    if pending[b, c, s] == tid:
                        hit = 1.0
                row[o_slot + x * n + c] = hit
            row[o_mask + x] = 1.0
        for c in range(n):
            _running_block(
                b,
                c,
                run_table,
                type_idx,
                task_alloc,
                max_level_f,
                placed_slot,
                tb,
                time_scale,
                num_types,
                running,
                running_mask,
            )
            for x in range(m):
                for f in range(f_run):
                    row[o_run + (c * m + x) * f_run + f] = running[x, f]
