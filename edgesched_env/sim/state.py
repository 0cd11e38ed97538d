"""``SimState``: every array of the simulation, with a leading batch axis ``B`` of episodes.

One dataclass holds the whole mutable state of ``B`` episodes of one config. The dynamics
(:mod:`edgesched_env.sim.core`, :mod:`edgesched_env.sim.kernels`) are functions over it; the
read-only view of schedulers (:class:`edgesched_env.sim.view.SimView`) is derived from its
fields; a snapshot is :meth:`SimState.copy`; a batch is :meth:`SimState.stack`.

Axes: ``B`` episodes, ``T`` tasks (padded to the largest episode of the batch: the tasks
``num_tasks[b] .. T-1`` of episode ``b`` never arrive), ``N`` clusters, ``P`` pending positions
(SPEC.md's "pending slots"), ``M`` rows of the running table, ``R`` resources.
Times are in slots, resources in integer units. Each field's ``metadata["axes"]`` names its axes.

Words: a *slot* is always a unit of time. A task waits in a *pending position* of an agent (or in
its overflow *queue*), runs on its *host* cluster and is shown in a row of that cluster's
*running table*.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["FILL_VALUES", "NEVER", "PickOutcome", "SimState", "StateArrays", "TaskStatus", "state_fields"]

#: the packed form of a struct of arrays for the compiled kernels: a plain tuple in field order
#: (numba types a plain tuple in C from its fingerprint; a named tuple through Python's ``typeof``,
#: several microseconds a call), re-wrapped into its named tuple inside the kernel
Packed = tuple[Any, ...]

#: Arrival slot of padding tasks (they never arrive).
NEVER = np.iinfo(np.int64).max // 4

#: Value of each field in a fresh (blank) episode row; every other field starts at 0.
FILL_VALUES: dict[str, Any] = {
    "arrival_slot": NEVER,
    "host": -1,
    "placed_slot": -1,
    "ready_slot": -1,
    "completion_slot": -1,
    "run_row": -1,
    "pending": -1,
    "run_table": -1,
    "work": 1.0,
}


class TaskStatus(IntEnum):
    """Life cycle of a task (stored as ``int8`` in :attr:`SimState.status`)."""

    FUTURE = 0  #: not arrived yet (or a padding task)
    WAITING = 1  #: arrived, in pending positions and/or queues, not placed
    RUNNING = 2  #: placed on its host (possibly preempted by an elastic scheduler)
    DONE = 3  #: completed


def _f(axes: str, doc: str) -> Any:
    return field(metadata={"axes": axes, "doc": doc})


@dataclass
class SimState:
    """The mutable state of ``B`` episodes (see the module docstring for the axes)."""

    # --- the workload, drawn at reset (never changes during an episode) -----------------------
    num_tasks: NDArray[np.int64] = _f("B", "int64: tasks of each episode (<= T)")
    arrival_slot: NDArray[np.int64] = _f("BT", "int64 slots: arrival (non-decreasing; NEVER for padding)")
    type_idx: NDArray[np.int64] = _f("BT", "int64: index into the config's task types")
    visible: NDArray[np.bool_] = _f("BTN", "bool: which clusters see each task")
    num_visible: NDArray[np.int64] = _f("BT", "int64: clusters that see each task")
    min_request: NDArray[np.int64] = _f("BTR", "int64 units: minimum request")
    work: NDArray[np.float64] = _f("BT", "float64: work relative to the type's nominal work")
    delay_slots: NDArray[np.int64] = _f("BTN", "int64 slots: transfer delay before first progress")
    # --- tasks -----------------------------------------------------------------------------------
    status: NDArray[np.int8] = _f("BT", "int8: TaskStatus")
    host: NDArray[np.int64] = _f("BT", "int64: host cluster, -1 before placement")
    alloc: NDArray[np.int64] = _f("BTR", "int64 units: current allocation (0 when preempted)")
    prev_alloc: NDArray[np.int64] = _f("BTR", "int64 units: allocation in the previous slot")
    progress: NDArray[np.float64] = _f("BT", "float64 in [0, 1+): training progress (hidden)")
    slots_run: NDArray[np.int64] = _f("BT", "int64 slots: slots progressed (or preempted) since placement")
    placed_slot: NDArray[np.int64] = _f("BT", "int64 slot: placement, -1 before")
    ready_slot: NDArray[np.int64] = _f("BT", "int64 slot: first slot that can progress, -1 before")
    completion_slot: NDArray[np.int64] = _f("BT", "int64 slot: completion, -1 before")
    run_row: NDArray[np.int64] = _f("BT", "int64: row in the host's running table, -1 none")
    # --- clusters ---------------------------------------------------------------------------------
    free: NDArray[np.int64] = _f("BNR", "int64 units: free units per cluster")
    pending: NDArray[np.int64] = _f("BNP", "int64: task id in each pending position, -1 empty")
    in_queue: NDArray[np.bool_] = _f("BNT", "bool: task is in the agent's overflow queue (FIFO = id order)")
    queue_len: NDArray[np.int64] = _f("BN", "int64: tasks in each agent's overflow queue")
    running_count: NDArray[np.int64] = _f("BN", "int64: tasks running (or preempted) per cluster")
    run_table: NDArray[np.int64] = _f("BNM", "int64: task id in each row of the running table, -1 free")
    run_hidden: NDArray[np.int64] = _f("BN", "int64: running tasks without a row (after preemption)")
    # --- clock and counters -----------------------------------------------------------------------
    t: NDArray[np.int64] = _f("B", "int64 slot: current slot index")
    round_in_slot: NDArray[np.int64] = _f("B", "int64: decision rounds already played in this slot")
    total_rounds: NDArray[np.int64] = _f("B", "int64: decision rounds in the episode")
    idle_skipped: NDArray[np.int64] = _f("B", "int64 slots: empty slots jumped over (EnvConfig.skip_idle)")
    num_arrived: NDArray[np.int64] = _f("B", "int64: tasks arrived (tasks 0..num_arrived-1)")
    num_completed: NDArray[np.int64] = _f("B", "int64: tasks completed")
    num_conflicts: NDArray[np.int64] = _f("B", "int64: lost conflicts")
    num_infeasible: NDArray[np.int64] = _f("B", "int64: infeasible picks (turned into no-ops)")
    num_clipped: NDArray[np.int64] = _f("B", "int64: picks whose allocation was clipped")
    num_resizes: NDArray[np.int64] = _f("B", "int64: elastic resizes")
    # --- running sums over slot ends (sampled after placements, before completions) ------------
    sum_in_system: NDArray[np.int64] = _f("B", "int64 task-slots: tasks in the system, summed over slots")
    sum_used: NDArray[np.int64] = _f("BNR", "int64 unit-slots: allocated units, summed over slots")

    # ---------------------------------------------------------------------------- construction
    @classmethod
    def empty(
        cls,
        batch: int,
        num_tasks: int,
        num_clusters: int,
        num_resources: int,
        max_pending: int,
        max_running: int,
    ) -> SimState:
        """A state of ``batch`` episodes with room for ``num_tasks`` tasks each, all padding."""
        sizes = {
            "B": batch,
            "T": num_tasks,
            "N": num_clusters,
            "R": num_resources,
            "P": max_pending,
            "M": max_running,
        }
        fill = FILL_VALUES
        arrays: dict[str, NDArray[Any]] = {}
        for f in dataclasses.fields(cls):
            shape = tuple(sizes[a] for a in f.metadata["axes"])
            arrays[f.name] = np.full(shape, fill.get(f.name, 0), dtype=_DTYPES[f.name])
        return cls(**arrays)

    def __setattr__(self, name: str, value: Any) -> None:
        # a field set anew (at construction, or reallocated by grow_tasks) drops the packed tuple
        object.__setattr__(self, name, value)
        object.__setattr__(self, "_packed", None)

    def packed(self) -> Packed:
        """The arrays in :class:`StateArrays` order, as a plain tuple (what the kernels take).

        Built once and kept until a field is set anew (the kernels mutate the arrays in place, so
        the same tuple stays valid; the tuple crosses into a kernel without a copy)."""
        packed: Packed | None = self.__dict__.get("_packed")
        if packed is None:
            packed = _pack_state(self)
            object.__setattr__(self, "_packed", packed)
        return packed

    def clear_rows(self, rows: list[int]) -> None:
        """Blank the episodes ``rows`` in place (every field back to its fresh value)."""
        for f in dataclasses.fields(self):
            getattr(self, f.name)[rows] = FILL_VALUES.get(f.name, 0)

    @property
    def batch_size(self) -> int:
        """``B``."""
        return int(self.t.shape[0])

    @property
    def task_capacity(self) -> int:
        """``T`` (padded task axis)."""
        return int(self.status.shape[1])

    def copy(self) -> SimState:
        """A deep copy (a snapshot)."""
        return SimState(**{f.name: getattr(self, f.name).copy() for f in dataclasses.fields(self)})

    def episode(self, b: int) -> SimState:
        """A copy of episode ``b`` as a batch of one."""
        return SimState(**{f.name: getattr(self, f.name)[b : b + 1].copy() for f in dataclasses.fields(self)})

    def grow_tasks(self, num_tasks: int) -> None:
        """Widen the task axis to ``num_tasks`` (in place), padding new tasks as never arriving."""
        extra = num_tasks - self.task_capacity
        if extra <= 0:
            return
        pad = SimState.empty(
            self.batch_size,
            extra,
            self.free.shape[1],
            self.free.shape[2],
            self.pending.shape[2],
            self.run_table.shape[2],
        )
        for f in dataclasses.fields(self):
            axes: str = f.metadata["axes"]
            if "T" in axes:
                ax = axes.index("T")
                setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(pad, f.name)], axis=ax))

    @staticmethod
    def stack(states: list[SimState]) -> SimState:
        """Concatenate states along the batch axis (task axes padded to the widest)."""
        width = max(s.task_capacity for s in states)
        parts = []
        for s in states:
            s = s.copy()
            s.grow_tasks(width)
            parts.append(s)
        return SimState(
            **{
                f.name: np.concatenate([getattr(s, f.name) for s in parts])
                for f in dataclasses.fields(SimState)
            }
        )

    def nbytes(self) -> int:
        """Bytes held by the state's arrays."""
        return sum(int(getattr(self, f.name).nbytes) for f in dataclasses.fields(self))


_DTYPES: dict[str, Any] = {
    "visible": np.bool_,
    "in_queue": np.bool_,
    "status": np.int8,
    "work": np.float64,
    "progress": np.float64,
}
for _field in dataclasses.fields(SimState):
    _DTYPES.setdefault(_field.name, np.int64)


class StateArrays(NamedTuple):
    """The arrays of a :class:`SimState` as one typed struct for the compiled kernels.

    The same fields in the same order (checked at import); the axes, units and meaning of each
    are documented on :class:`SimState`. Kernels receive :meth:`SimState.packed` and re-wrap it.
    """

    num_tasks: NDArray[np.int64]
    arrival_slot: NDArray[np.int64]
    type_idx: NDArray[np.int64]
    visible: NDArray[np.bool_]
    num_visible: NDArray[np.int64]
    min_request: NDArray[np.int64]
    work: NDArray[np.float64]
    delay_slots: NDArray[np.int64]
    status: NDArray[np.int8]
    host: NDArray[np.int64]
    alloc: NDArray[np.int64]
    prev_alloc: NDArray[np.int64]
    progress: NDArray[np.float64]
    slots_run: NDArray[np.int64]
    placed_slot: NDArray[np.int64]
    ready_slot: NDArray[np.int64]
    completion_slot: NDArray[np.int64]
    run_row: NDArray[np.int64]
    free: NDArray[np.int64]
    pending: NDArray[np.int64]
    in_queue: NDArray[np.bool_]
    queue_len: NDArray[np.int64]
    running_count: NDArray[np.int64]
    run_table: NDArray[np.int64]
    run_hidden: NDArray[np.int64]
    t: NDArray[np.int64]
    round_in_slot: NDArray[np.int64]
    total_rounds: NDArray[np.int64]
    idle_skipped: NDArray[np.int64]
    num_arrived: NDArray[np.int64]
    num_completed: NDArray[np.int64]
    num_conflicts: NDArray[np.int64]
    num_infeasible: NDArray[np.int64]
    num_clipped: NDArray[np.int64]
    num_resizes: NDArray[np.int64]
    sum_in_system: NDArray[np.int64]
    sum_used: NDArray[np.int64]


if StateArrays._fields != tuple(f.name for f in dataclasses.fields(SimState)):  # pragma: no cover
    raise ImportError("StateArrays must list SimState's fields in SimState's order")
_pack_state = operator.attrgetter(*StateArrays._fields)  # one C call: about 1 us for 37 fields


class PickOutcome(NamedTuple):
    """What happened to each agent's pick in one decision round (arrays of shape ``(B, N)``).

    Attributes:
        task: task id the pick referred to (-1: no-op or empty pending position).
        placed: True where the agent placed its task.
        noop: True where the pick was a no-op (no-op index, empty position or all-zero units).
        empty_slot: True where the agent picked a pending position that holds no task.
        infeasible: True where the task could not be placed with the (clipped) allocation.
        clipped: True where the placement's allocation differs from the requested one.
        conflict: True where the agent lost a conflict with another agent.
        alloc: ``(B, N, R)`` units placed (zeros where nothing was placed).
    """

    task: NDArray[np.int64]
    placed: NDArray[np.bool_]
    noop: NDArray[np.bool_]
    empty_slot: NDArray[np.bool_]
    infeasible: NDArray[np.bool_]
    clipped: NDArray[np.bool_]
    conflict: NDArray[np.bool_]
    alloc: NDArray[np.int64]

    @classmethod
    def empty(cls, batch: int, n: int, r: int) -> PickOutcome:
        """All-False outcome arrays (task -1); the six flags are rows of one zeroed block."""
        flags = np.zeros((6, batch, n), dtype=bool)  # indexed, not unpacked: faster for 6 rows
        return cls(
            np.full((batch, n), -1, np.int64),
            flags[0],
            flags[1],
            flags[2],
            flags[3],
            flags[4],
            flags[5],
            np.zeros((batch, n, r), np.int64),
        )


def state_fields() -> list[tuple[str, str, str]]:
    """``(name, axes, doc)`` of every field of :class:`SimState`."""
    return [(f.name, f.metadata["axes"], f.metadata["doc"]) for f in dataclasses.fields(SimState)]
