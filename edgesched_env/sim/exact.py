"""The exact (integer) blocks of the EdgeSched-v1 observation, as one compiled kernel.

The float blocks of the observation (``clusters``, ``pending``, ``running``) are normalised for
learning; the v1 observation adds the same facts as exact integers, plus the task ids and the
clock, so that a scheduler written by hand can work from the observation alone (issue 23: a
non-oracle scheduler reads only what a learned agent sees). The layout of each block is
:data:`edgesched_env.observation.EXACT_COLUMNS`; empty rows are ``-1`` throughout.
"""

from __future__ import annotations

from typing import NamedTuple

from edgesched_env.sim.kernels import I64, Bool, jit
from edgesched_env.sim.state import Packed, StateArrays

RUNNING = 2  # TaskStatus.RUNNING

__all__ = ["EXACT_BLOCKS", "ExactBlocks", "observe_exact"]


class ExactBlocks(NamedTuple):
    """The outputs of :func:`observe_exact`, in the order of ``observation.EXACT_KEYS``."""

    clock: I64  #: ``(B, N, 2)``
    cluster_info: I64  #: ``(B, N, N, R + 3)``
    pending_info: I64  #: ``(B, N, P, R + 5)``
    running_info: I64  #: ``(B, N, M, 2R + 3)``


#: the observation keys :func:`observe_exact` writes, in its ``out`` order
EXACT_BLOCKS = ExactBlocks._fields


@jit
def observe_exact(active: Bool, state: Packed, out: Packed) -> None:
    """Write every agent's exact blocks of the episodes with ``active[b]``.

    ``state`` is :meth:`SimState.packed` (read as :class:`StateArrays`), ``out`` the blocks of
    :class:`ExactBlocks` (``B`` episodes, ``N`` clusters, ``P`` pending positions, ``M``
    running rows, ``R`` resources):

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
    st = StateArrays(*state)
    clock, cluster_info, pending_info, running_info = ExactBlocks(*out)
    pending, free, run_table, task_alloc = st.pending, st.free, st.run_table, st.alloc
    nb, n, p = pending.shape
    r_count = free.shape[2]
    m = run_table.shape[2]
    for b in range(nb):
        if not active[b]:
            continue
        for i in range(n):
            clock[b, i, 0] = st.t[b]
            clock[b, i, 1] = st.round_in_slot[b]
            for c in range(n):
                occ = 0
                for s in range(p):
                    if pending[b, c, s] >= 0:
                        occ += 1
                for r in range(r_count):
                    cluster_info[b, i, c, r] = free[b, c, r]
                cluster_info[b, i, c, r_count] = occ
                cluster_info[b, i, c, r_count + 1] = st.queue_len[b, c]
                cluster_info[b, i, c, r_count + 2] = st.running_count[b, c]
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
            shown = run_table[b, i].copy()
            for x in range(m):
                if shown[x] >= 0 and not _holds(task_alloc, b, shown[x]):
                    shown[x] = -1
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


@jit
def _holds(task_alloc: I64, b: int, tid: int) -> bool:
    """Whether task ``tid`` of episode ``b`` holds units (is not preempted)."""
    for r in range(task_alloc.shape[2]):
        if task_alloc[b, tid, r] > 0:
            return True
    return False
