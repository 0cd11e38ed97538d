"""A documented, read-only view of one episode of the simulator, for schedulers and oracles.

Schedulers read the state through this view, never through the simulator itself. The view's array
members are derived from the fields of :class:`~edgesched_env.sim.state.SimState` (same names,
same docs, without the batch axis; task axes cut to the episode's ``num_tasks``): each is a
non-writeable numpy view of the live state (it changes as the episode runs; copy it to keep it).
Hidden quantities (true progress, work, speed models) are only reachable through the ``oracle_*``
members: a scheduler that uses them is an oracle and must say so in its name or docstring.

The one mutating entry point is :meth:`SimView.resize`, the elastic API for preemptive heuristics.

Get the view of any edgesched env (wrapped or not) with :func:`edgesched_env.sim_view`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from edgesched_env.sim.state import state_fields

if TYPE_CHECKING:
    from edgesched_env.config import EnvConfig
    from edgesched_env.sim.core import Simulator
    from edgesched_env.sim.state import SimState
    from edgesched_env.workload.arrivals import Workload
    from edgesched_env.workload.speed import SpeedModel

__all__ = ["SimView", "sim_view"]

#: State fields a scheduler must not read (hidden): reached through ``oracle_*`` members instead.
_HIDDEN = {"progress", "work"}


def _ro(a: NDArray[Any]) -> NDArray[Any]:
    v = a.view()
    v.flags.writeable = False
    return v


def _make_property(name: str, axes: str, doc: str) -> property:
    task_axes = tuple(i for i, a in enumerate(axes[1:]) if a == "T")

    def get(self: SimView) -> Any:
        st = self._sim.state
        base = getattr(st, name)
        if base.ndim == 1:
            return int(base[self._b])
        # the read-only view of the live array is made once per (array, episode size): the
        # schedulers read these members hundreds of thousands of times per bench
        tc = int(st.num_tasks[self._b]) if task_axes else -1
        hit = self._views.get(name)
        if hit is not None and hit[0] is base and hit[1] == tc:
            return hit[2]
        arr = base[self._b]
        if task_axes:
            arr = arr[tuple(slice(0, tc) if i in task_axes else slice(None) for i in range(arr.ndim))]
        view = _ro(arr)
        self._views[name] = (base, tc, view)
        return view

    shape = ", ".join(axes[1:]) or "scalar"
    return property(get, doc=f"``({shape})`` {doc}")


class SimView:
    """Read-only access to episode ``b`` of a :class:`~edgesched_env.sim.core.Simulator` (plus ``resize``).

    Shapes: ``N`` clusters, ``P`` pending positions, ``R`` resources, ``M`` running-table rows,
    ``T`` tasks of the episode (including tasks that have not arrived yet: check ``status``, a
    :class:`~edgesched_env.sim.state.TaskStatus`). Every field of ``SimState`` except the hidden
    ``progress`` and ``work`` is a member (``free``, ``pending``, ``status``, ``host``, ``alloc``,
    ``arrival_slot``, ``completion_slot``, ``queue_len``, ``run_table``, ``t``, ...).
    """

    # Members generated from SimState's fields (below the class), declared for type checkers:
    num_tasks: int
    arrival_slot: NDArray[np.int64]
    type_idx: NDArray[np.int64]
    visible: NDArray[np.bool_]
    num_visible: NDArray[np.int64]
    min_request: NDArray[np.int64]
    delay_slots: NDArray[np.int64]
    status: NDArray[np.int8]
    host: NDArray[np.int64]
    alloc: NDArray[np.int64]
    prev_alloc: NDArray[np.int64]
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
    t: int
    round_in_slot: int
    total_rounds: int
    num_arrived: int
    num_completed: int
    num_conflicts: int
    num_infeasible: int
    num_clipped: int
    num_resizes: int
    sum_in_system: int
    sum_used: NDArray[np.int64]

    def __init__(self, sim: Simulator, b: int = 0) -> None:
        self._sim = sim
        self._b = b
        self._views: dict[str, tuple[NDArray[Any], int, NDArray[Any]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # a pickled or deep-copied view would be a copy of the data: cache nothing across them
        return {**self.__dict__, "_views": {}}

    # static
    @property
    def config(self) -> EnvConfig:
        """The environment configuration."""
        return self._sim.config

    @property
    def capacity(self) -> NDArray[np.int64]:
        """``(N, R)`` units per cluster."""
        return _ro(self._sim.capacity)

    @property
    def max_level(self) -> NDArray[np.int64]:
        """``(R,)`` per-task maximum units."""
        return _ro(self._sim.max_level)

    @property
    def workload(self) -> Workload:
        """The episode's workload as drawn at reset (arrivals, types, visibility, home clusters)."""
        wl = self._sim.workloads[self._b]
        if wl is None:
            raise RuntimeError("the episode has not been reset yet")
        return wl

    # derived
    @property
    def in_system(self) -> int:
        """Tasks that have arrived and not completed."""
        st = self._sim.state
        return int(st.num_arrived[self._b] - st.num_completed[self._b])

    @property
    def pending_count(self) -> NDArray[np.int64]:
        """``(N,)`` occupied pending positions per agent."""
        counts: NDArray[np.int64] = (self._sim.state.pending[self._b] >= 0).sum(axis=1)
        return counts

    @property
    def terminated(self) -> bool:
        """All tasks have arrived and completed."""
        return bool(self._sim.terminated[self._b])

    @property
    def truncated(self) -> bool:
        """The slot limit was reached before the workload finished."""
        return bool(self._sim.truncated[self._b])

    @property
    def hist_in_system(self) -> list[int]:
        """Tasks in the system at each slot end so far (empty unless the simulator records history)."""
        return list(self._sim.hist_in_system[self._b])

    @property
    def hist_used(self) -> list[NDArray[np.int64]]:
        """``(N, R)`` units in use at each slot end so far (empty unless history is recorded)."""
        return list(self._sim.hist_used[self._b])

    def capacity_ratio(self, agents: NDArray[np.int64], task: int) -> NDArray[np.float64]:
        """How many minimum-size copies of ``task`` each of ``agents``' clusters could host now."""
        return self._sim.capacity_ratio(self._b, np.asarray(agents, dtype=np.int64), task)

    # oracle knowledge (hidden from agents)
    @property
    def oracle_progress(self) -> NDArray[np.float64]:
        """``(T,)`` ORACLE: true progress of each task in ``[0, 1]``."""
        return _ro(self._sim.state.progress[self._b, : self.num_tasks])

    @property
    def oracle_work(self) -> NDArray[np.float64]:
        """``(T,)`` ORACLE: relative amount of work of each task."""
        return _ro(self._sim.state.work[self._b, : self.num_tasks])

    @property
    def oracle_speed_models(self) -> list[SpeedModel]:
        """ORACLE: the hidden speed model of each task type."""
        return list(self._sim.speed_models)

    @property
    def oracle_speed_factor(self) -> NDArray[np.float64]:
        """``(N,)`` ORACLE: hardware speed factor per cluster."""
        return _ro(self._sim.speed_factor)

    def snapshot(self) -> SimState:
        """A copy of the episode's whole state (a batch of one; hidden fields included)."""
        return self._sim.state.episode(self._b)

    # elastic API
    def resize(self, task: int, units: NDArray[np.int64] | list[int] | tuple[int, ...]) -> None:
        """ELASTIC: change a running task's units (zeros = preempt); see ``Simulator.resize``."""
        self._sim.resize(self._b, task, units)


for _name, _axes, _doc in state_fields():
    if _name not in _HIDDEN:
        setattr(SimView, _name, _make_property(_name, _axes, _doc))


def sim_view(env: Any) -> SimView:
    """The :class:`SimView` of a parallel env, an AEC or Gymnasium wrapper of one, or a view."""
    seen = 0
    while seen < 16:
        if isinstance(env, SimView):
            return env
        view = getattr(env, "view", None)
        if isinstance(view, SimView):
            return view
        view = getattr(env, "sim_view", None)
        if isinstance(view, SimView):
            return view
        inner = getattr(env, "unwrapped", None)
        if inner is None or inner is env:
            inner = getattr(env, "env", None)
        if inner is None or inner is env:
            break
        env = inner
        seen += 1
    raise TypeError(f"cannot find an edgesched SimView in {type(env).__name__}")
