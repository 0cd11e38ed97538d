"""What a non-oracle scheduler knows of an episode: the EdgeSched-v1 observation, remembered.

:class:`ObservedView` is rebuilt from every round's observations (all agents' ``clock``,
``cluster_info``, ``pending_info`` and ``running_info``, :mod:`edgesched_env.observation`) and the
step infos (which pending task each agent placed), plus the env's public config. It offers the
members of :class:`~edgesched_env.sim.view.SimView` that the heuristic baselines read, with the
same names, shapes and units, so that a heuristic sees exactly what a learned agent sees and
nothing else. What the observation does not show stays unknown:

* a task is known from the first observation that shows it in some agent's pending slots (its
  type, minimum request, arrival slot, visibility count and the transfer delay to each cluster
  that showed it); a task still in an overflow queue is unknown (``status`` ``FUTURE``, only
  the queue lengths are observed);
* a running task is known from its host's ``running_info`` (allocation, placement slot), which
  shows every task that holds units: one that holds units and is no longer shown has completed,
  and its completion slot is the last slot in which it was seen in the system (the observation
  never shows progress); a preempted task (zero units) that is not shown is still running,
  since a task without units cannot progress;
* a task placed and completed between two observations (multi-task mode: one step per slot) is
  known from the infos' ``task`` / ``placed`` and the units the scheduler itself asked for.

The elastic API (:meth:`resize`) goes to the env's :class:`~edgesched_env.sim.view.SimView` (for
schedulers that declare ``uses_elastic_api``), and the change is mirrored here at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgesched_env.config import EnvConfig
from edgesched_env.observation import EXACT_KEYS, exact_columns
from edgesched_env.sim.state import TaskStatus
from edgesched_env.sim.view import SimView

__all__ = ["ObservedView"]

_FUTURE, _WAITING, _RUNNING, _DONE = (int(s) for s in TaskStatus)


class ObservedView:
    """An episode as the observation shows it (see the module docstring).

    Shapes: ``N`` clusters, ``P`` pending slots, ``R`` resources, ``T`` tasks of the episode
    (the config's ``num_tasks``). Array members are updated in place by :meth:`update`; copy one
    to keep it. Members not listed here are not observable and do not exist.

    Attributes:
        config: the env's public config.
        capacity: ``(N, R)`` int64 units per cluster.
        max_level: ``(R,)`` int64 most units of each resource one task may hold.
        num_tasks: ``T``.
        t: current slot; ``round_in_slot``: decision rounds already played in it.
        free: ``(N, R)`` free units; ``pending``: ``(N, P)`` task ids (-1 empty);
            ``queue_len``, ``running_count``: ``(N,)``.
        status: ``(T,)`` int8 :class:`~edgesched_env.sim.state.TaskStatus` as far as observed.
        type_idx, arrival_slot, num_visible, host, placed_slot, completion_slot: ``(T,)`` int64
            (``-1`` / 0 where unknown).
        min_request, alloc: ``(T, R)`` int64 units (``alloc`` of a completed task: the last
            allocation observed).
        delay_slots: ``(T, N)`` int64 data-transfer delay (slots) to each cluster that showed
            the task in a pending slot (0 elsewhere).
    """

    def __init__(self, config: EnvConfig, elastic: SimView | None = None) -> None:
        self.config = config
        self._elastic = elastic
        n, r = config.num_clusters, config.num_resources
        self.capacity = np.array([c.capacity for c in config.clusters], dtype=np.int64)
        self.max_level = np.array(config.num_levels, dtype=np.int64) - 1
        self.num_tasks = int(config.workload.num_tasks)
        self._cols = exact_columns(config)
        self._r = r
        self._n = n
        self._started = False
        self.t = 0
        self.round_in_slot = 0
        self.free = np.zeros((n, r), dtype=np.int64)
        self.pending = np.full((n, config.max_pending), -1, dtype=np.int64)
        self.queue_len = np.zeros(n, dtype=np.int64)
        self.running_count = np.zeros(n, dtype=np.int64)
        self._blank()

    def _blank(self) -> None:
        t_count, n, r = self.num_tasks, self._n, self._r
        self.status = np.zeros(t_count, dtype=np.int8)
        self.type_idx = np.zeros(t_count, dtype=np.int64)
        self.arrival_slot = np.zeros(t_count, dtype=np.int64)
        self.num_visible = np.zeros(t_count, dtype=np.int64)
        self.host = np.full(t_count, -1, dtype=np.int64)
        self.placed_slot = np.full(t_count, -1, dtype=np.int64)
        self.completion_slot = np.full(t_count, -1, dtype=np.int64)
        self.min_request = np.zeros((t_count, r), dtype=np.int64)
        self.alloc = np.zeros((t_count, r), dtype=np.int64)
        self.delay_slots = np.zeros((t_count, n), dtype=np.int64)
        self._last_seen = np.full(t_count, -1, dtype=np.int64)  # last slot seen in the system

    def reset(self) -> None:
        """Forget the episode (the next :meth:`update` starts a new one)."""
        self._started = False
        self._blank()

    # ------------------------------------------------------------------------------- update
    def update(
        self,
        observations: Mapping[str, Mapping[str, NDArray[Any]]],
        infos: Mapping[str, Mapping[str, Any]] | None = None,
        last_actions: Mapping[str, NDArray[np.int64]] | None = None,
    ) -> None:
        """Take in one round: every agent's v1 observation (``{cluster_i: obs}``, all agents),
        the infos of the step that led to it and the actions the scheduler sent in that step.

        Raises:
            KeyError: the observation lacks the v1 exact keys (an EdgeSched-v0 observation).
        """
        agents = list(observations)
        first = observations[agents[0]]
        missing = [k for k in EXACT_KEYS if k not in first]
        if missing:
            raise KeyError(
                f"the observation has no {missing}: observation-only schedulers need the "
                "EdgeSched-v1 observation (version=1, the default)"
            )
        t, rnd = (int(x) for x in first["clock"])
        if self._started and t < self.t:  # a new episode (autoreset without reset())
            self._blank()
        prev_t = self.t if self._started else t
        self._started = True
        self.t, self.round_in_slot = t, rnd
        cc, pc, rc = self._cols["cluster_info"], self._cols["pending_info"], self._cols["running_info"]
        cinfo = first["cluster_info"]
        self.free[:] = cinfo[:, cc["free"]]
        self.queue_len[:] = cinfo[:, cc["queue"]]
        self.running_count[:] = cinfo[:, cc["running"]]
        idx = [int(a.rsplit("_", 1)[1]) for a in agents]
        pinfo = np.stack([observations[a]["pending_info"] for a in agents])  # (n, P, R+5)
        rinfo = np.stack([observations[a]["running_info"] for a in agents])  # (n, M, 2R+3)
        self.pending[idx] = pinfo[:, :, pc["task"]]

        # tasks in pending slots
        where = np.nonzero(pinfo[:, :, pc["task"]] >= 0)
        if where[0].shape[0]:
            rows = pinfo[where]
            ids = rows[:, pc["task"]]
            self.type_idx[ids] = rows[:, pc["type"]]
            self.arrival_slot[ids] = rows[:, pc["arrival_slot"]]
            self.delay_slots[ids, np.asarray(idx)[where[0]]] = rows[:, pc["delay_slots"]]
            self.num_visible[ids] = rows[:, pc["num_visible"]]
            self.min_request[ids] = rows[:, pc["min_request"]]
            fresh = ids[self.status[ids] == _FUTURE]
            self.status[fresh] = _WAITING
            self._last_seen[ids] = t

        # placements the infos report that the running tables may not show (placed and done
        # between two observations)
        if infos is not None and last_actions is not None:
            self._placements(infos, last_actions, prev_t)

        # running tables
        where = np.nonzero(rinfo[:, :, rc["task"]] >= 0)
        shown = np.zeros(self.num_tasks, dtype=bool)
        if where[0].shape[0]:
            rows = rinfo[where]
            ids = rows[:, rc["task"]]
            shown[ids] = True
            self.status[ids] = _RUNNING
            self.host[ids] = np.asarray(idx)[where[0]]
            self.type_idx[ids] = rows[:, rc["type"]]
            self.placed_slot[ids] = rows[:, rc["placed_slot"]]
            self.alloc[ids] = rows[:, rc["alloc"]]
            self.min_request[ids] = rows[:, rc["min_request"]]
            self._last_seen[ids] = t
        gone = (self.status == _RUNNING) & ~shown & self.alloc.any(axis=1)
        if gone.any():  # every task holding units is shown: one that is not has completed
            self.status[gone] = _DONE
            self.completion_slot[gone] = self._last_seen[gone]

    def _placements(
        self,
        infos: Mapping[str, Mapping[str, Any]],
        last_actions: Mapping[str, NDArray[np.int64]],
        prev_t: int,
    ) -> None:
        width = 1 + self._r
        for agent, info in infos.items():
            act = last_actions.get(agent)
            if act is None or "placed" not in info:
                continue
            tasks = np.atleast_1d(np.asarray(info["task"], dtype=np.int64))
            placed = np.atleast_1d(np.asarray(info["placed"], dtype=bool))
            host = int(agent.rsplit("_", 1)[1])
            for k in np.flatnonzero(placed).tolist():
                task = int(tasks[k])
                if task < 0 or self.status[task] in (_RUNNING, _DONE):
                    continue
                # placed in the last step; if no running table shows it below, it is done
                self.status[task] = _RUNNING
                self.host[task] = host
                self.placed_slot[task] = prev_t
                self.alloc[task] = np.asarray(act, dtype=np.int64)[k * width + 1 : (k + 1) * width]
                self._last_seen[task] = prev_t

    # ------------------------------------------------------------------------------ elastic
    def resize(self, task: int, units: NDArray[np.int64]) -> None:
        """ELASTIC: resize running ``task`` to ``units`` through the env's view, mirrored here.

        Raises:
            RuntimeError: the scheduler was not given the elastic API (``uses_elastic_api``).
        """
        if self._elastic is None:
            raise RuntimeError("resize() needs the elastic API: set uses_elastic_api = True")
        units = np.asarray(units, dtype=np.int64)
        self._elastic.resize(task, units)
        h = int(self.host[task])
        self.free[h] += self.alloc[task] - units
        self.alloc[task] = units
