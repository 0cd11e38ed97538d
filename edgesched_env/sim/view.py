"""A documented, read-only view of the simulator for schedulers (heuristics and oracles).

Schedulers read the state through this view, never through the simulator itself. Every array is a
non-writeable numpy view of the live state (it changes as the episode runs; copy it to keep it).
Hidden quantities (true progress, speed models) are only reachable through the ``oracle_*``
members: a scheduler that uses them is an oracle and must say so in its name or docstring.

The one mutating entry point is :meth:`resize`, the elastic API for preemptive heuristics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from edgesched_env.config import EnvConfig
    from edgesched_env.sim.core import Simulator
    from edgesched_env.workload.speed import SpeedModel

__all__ = ["SimView"]


def _ro(a: NDArray) -> NDArray:
    v = a.view()
    v.flags.writeable = False
    return v


class SimView:
    """Read-only access to a :class:`~edgesched_env.sim.core.Simulator` (plus ``resize``).

    Shapes: ``N`` clusters, ``P`` pending slots, ``R`` resources, ``T`` tasks of the episode
    (including tasks that have not arrived yet: check ``status``).
    """

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

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

    # clock
    @property
    def t(self) -> int:
        """Current slot index."""
        return self._sim.t

    @property
    def round_in_slot(self) -> int:
        """Decision rounds already played in the current slot (0 at a slot's first round)."""
        return self._sim.round_in_slot

    # clusters
    @property
    def free(self) -> NDArray[np.int64]:
        """``(N, R)`` free units per cluster."""
        return _ro(self._sim.free)

    @property
    def pending(self) -> NDArray[np.int64]:
        """``(N, P)`` task id in each pending slot, ``-1`` if empty."""
        return _ro(self._sim.pending)

    @property
    def queue_len(self) -> NDArray[np.int64]:
        """``(N,)`` tasks in each agent's overflow queue."""
        return _ro(self._sim.queue_len)

    @property
    def running_count(self) -> NDArray[np.int64]:
        """``(N,)`` tasks running (or preempted) on each cluster."""
        return _ro(self._sim.running_count)

    # tasks
    @property
    def num_tasks(self) -> int:
        """``T``."""
        return self._sim.num_tasks

    @property
    def status(self) -> NDArray[np.int8]:
        """``(T,)`` 0 future, 1 waiting, 2 running (or preempted), 3 done."""
        return _ro(self._sim.status)

    @property
    def type_idx(self) -> NDArray[np.int64]:
        """``(T,)`` task type index."""
        return _ro(self._sim.type_idx)

    @property
    def arrival_slot(self) -> NDArray[np.int64]:
        """``(T,)`` arrival slot (future tasks included: a scheduler must not peek at them)."""
        return _ro(self._sim.arrival_slot)

    @property
    def min_request(self) -> NDArray[np.int64]:
        """``(T, R)`` minimum units per task."""
        return _ro(self._sim.min_request)

    @property
    def visible(self) -> NDArray[np.bool_]:
        """``(T, N)`` which clusters see each task."""
        return _ro(self._sim.visible)

    @property
    def delay_slots(self) -> NDArray[np.int64]:
        """``(T, N)`` data-transfer delay (slots) before a task placed on a cluster can progress
        (zeros without a topology; observable: agents see their own column)."""
        return _ro(self._sim.delay_slots)

    @property
    def cluster(self) -> NDArray[np.int64]:
        """``(T,)`` cluster a task was placed on, ``-1`` before placement."""
        return _ro(self._sim.cluster)

    @property
    def alloc(self) -> NDArray[np.int64]:
        """``(T, R)`` current units of running tasks (zeros when preempted)."""
        return _ro(self._sim.alloc)

    @property
    def placed_slot(self) -> NDArray[np.int64]:
        """``(T,)`` slot of placement, ``-1`` before."""
        return _ro(self._sim.placed_slot)

    @property
    def slots_run(self) -> NDArray[np.int64]:
        """``(T,)`` slots a task has spent running (including preempted slots)."""
        return _ro(self._sim.slots_run)

    @property
    def completion_slot(self) -> NDArray[np.int64]:
        """``(T,)`` completion slot, ``-1`` before."""
        return _ro(self._sim.completion_slot)

    def capacity_ratio(self, agents: NDArray[np.int64], task: int) -> NDArray[np.float64]:
        """How many minimum-size copies of ``task`` each of ``agents``' clusters could host now."""
        return self._sim.capacity_ratio(np.asarray(agents, dtype=np.int64), task)

    # oracle knowledge (hidden from agents)
    @property
    def oracle_progress(self) -> NDArray[np.float64]:
        """``(T,)`` ORACLE: true progress of each task in ``[0, 1]``."""
        return _ro(self._sim.progress)

    @property
    def oracle_work(self) -> NDArray[np.float64]:
        """``(T,)`` ORACLE: relative amount of work of each task."""
        return _ro(self._sim.work)

    @property
    def oracle_speed_models(self) -> list[SpeedModel]:
        """ORACLE: the hidden speed model of each task type."""
        return list(self._sim.speed_models)

    @property
    def oracle_speed_factor(self) -> NDArray[np.float64]:
        """``(N,)`` ORACLE: hardware speed factor per cluster."""
        return _ro(self._sim.speed_factor)

    # elastic API
    def resize(self, task: int, units: NDArray[np.int64] | list[int] | tuple[int, ...]) -> None:
        """ELASTIC: change a running task's units (zeros = preempt); see ``Simulator.resize``."""
        self._sim.resize(task, units)
