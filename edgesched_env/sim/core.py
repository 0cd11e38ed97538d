"""The simulator core: state arrays and the slot / decision-round dynamics (SPEC.md sections 1-8).

Pure numpy; no gymnasium, no scheduler. All state lives in arrays indexed by task (``T``), cluster
(``N``), pending slot (``P``) and resource (``R``); the decision-round path is vectorised over agents
and builds no Python object per task.

Phases of a single-task decision round (:meth:`Simulator.play_round`):
  1. decode each agent's pick (pending slot, allocation) into a task and a feasible allocation;
  2. resolve conflicts between agents that picked the same task;
  3. place the winners;
  4. if nothing was placed (or the round limit is reached), end the slot (:meth:`end_slot`):
     rewards -> progress -> completions -> ``t += 1`` -> arrivals -> queue refill.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edgesched_env.config import EnvConfig
from edgesched_env.sim.metrics import episode_metrics
from edgesched_env.workload.arrivals import Workload, generate_workload

__all__ = ["DONE", "FUTURE", "RUNNING", "WAITING", "PickOutcome", "Simulator"]

# Task status codes.
FUTURE, WAITING, RUNNING, DONE = 0, 1, 2, 3


@dataclass
class PickOutcome:
    """What happened to each agent's pick in one decision round (arrays of shape ``(N,)``).

    Attributes:
        task: task id the pick referred to (-1: no-op or empty slot).
        placed: True where the agent placed its task.
        noop: True where the pick was a no-op (no-op slot, empty slot or all-zero allocation).
        empty_slot: True where the agent picked a pending slot that holds no task.
        infeasible: True where the task could not be placed with the (clipped) allocation.
        clipped: True where the placement's allocation differs from the requested one.
        conflict: True where the agent lost a conflict with another agent.
        alloc: ``(N, R)`` units placed (zeros where nothing was placed).
    """

    task: NDArray[np.int64]
    placed: NDArray[np.bool_]
    noop: NDArray[np.bool_]
    empty_slot: NDArray[np.bool_]
    infeasible: NDArray[np.bool_]
    clipped: NDArray[np.bool_]
    conflict: NDArray[np.bool_]
    alloc: NDArray[np.int64]


class Simulator:
    """State and dynamics of one episode. Create once per config, then :meth:`reset` per episode.

    Public arrays are the simulator's state and must be treated as read-only by everything but
    this class (schedulers get them through :class:`edgesched_env.sim.view.SimView`).
    """

    def __init__(self, config: EnvConfig) -> None:
        self.config = config
        self.num_clusters = n = config.num_clusters
        self.num_resources = config.num_resources
        self.max_pending = config.max_pending
        self.capacity = np.array([c.capacity for c in config.clusters], dtype=np.int64)  # (N, R)
        self.speed_factor = np.array([c.speed_factor for c in config.clusters], dtype=np.float64)
        self.max_level = np.array(config.num_levels, dtype=np.int64) - 1  # (R,)
        types = config.workload.task_types
        self.speed_models = [t.speed for t in types]
        self.switch_penalty = np.array([t.switch_penalty for t in types], dtype=np.float64)
        self.rounds_limit = config.rounds_limit
        self.max_running = config.max_running
        self.slots_limit = config.slots_limit
        self._agent_idx = np.arange(n, dtype=np.int64)
        self.rng: np.random.Generator = np.random.default_rng(0)
        self.reset(np.random.default_rng(0))

    # ------------------------------------------------------------------------------------ reset
    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode: draw the workload from ``rng`` and let the first batch arrive."""
        self.rng = rng
        wl: Workload = generate_workload(self.config, rng)
        self.workload = wl
        t_count, n, r = wl.num_tasks, self.num_clusters, self.num_resources
        self.num_tasks = t_count
        self.arrival_slot = wl.arrival_slot
        self.type_idx = wl.type_idx
        self.visible = wl.visible
        self.num_visible = wl.visible.sum(axis=1).astype(np.int64)
        self.min_request = wl.min_request
        self.work = wl.work
        self.delay_slots = wl.delay_slots
        self.status = np.zeros(t_count, dtype=np.int8)
        self.cluster = np.full(t_count, -1, dtype=np.int64)
        self.alloc = np.zeros((t_count, r), dtype=np.int64)
        self.prev_alloc = np.zeros((t_count, r), dtype=np.int64)
        self.progress = np.zeros(t_count, dtype=np.float64)
        self.slots_run = np.zeros(t_count, dtype=np.int64)
        self.placed_slot = np.full(t_count, -1, dtype=np.int64)
        self.ready_slot = np.full(t_count, -1, dtype=np.int64)
        self.completion_slot = np.full(t_count, -1, dtype=np.int64)
        self.free = self.capacity.copy()
        self.pending = np.full((n, self.max_pending), -1, dtype=np.int64)
        self.in_queue = np.zeros((n, t_count), dtype=bool)
        self.queue_len = np.zeros(n, dtype=np.int64)
        self.running_count = np.zeros(n, dtype=np.int64)
        # Running tasks per cluster in a fixed-size table (task id, -1 free): a task keeps its row
        # while it runs, so observations list running tasks in a stable order.
        self.run_slots = np.full((n, self.max_running), -1, dtype=np.int64)
        self.run_hidden = np.zeros(n, dtype=np.int64)  # running tasks without a row, per cluster
        self.run_row = np.full(t_count, -1, dtype=np.int64)  # each task's row in run_slots, -1 none
        self.t = 0
        self.round_in_slot = 0
        self.total_rounds = 0
        self.num_arrived = 0
        self.num_completed = 0
        self.num_conflicts = 0
        self.num_infeasible = 0
        self.num_clipped = 0
        self.num_resizes = 0
        # Per-slot history, sampled at reward time (after placements, before completions).
        self.hist_in_system: list[int] = []
        self.hist_used: list[NDArray[np.int64]] = []
        self._arrive()
        self._refill()

    # ------------------------------------------------------------------------------- properties
    @property
    def terminated(self) -> bool:
        """All tasks have arrived and completed."""
        return self.num_completed == self.num_tasks

    @property
    def truncated(self) -> bool:
        """The slot limit was reached before the workload finished."""
        return self.t >= self.slots_limit and not self.terminated

    @property
    def pending_count(self) -> NDArray[np.int64]:
        """``(N,)`` occupied pending slots per agent."""
        return (self.pending >= 0).sum(axis=1)

    @property
    def in_system(self) -> int:
        """Tasks that have arrived and not completed."""
        return self.num_arrived - self.num_completed

    # ------------------------------------------------------------------------- decision rounds
    def decode_picks(
        self, slot_idx: NDArray[np.int64], request: NDArray[np.int64], agents: NDArray[np.int64]
    ) -> PickOutcome:
        """Phase 1: turn picks ``(pending slot, units)`` of ``agents`` into tasks and allocations.

        Args:
            slot_idx: ``(n,)`` pending-slot index per agent, ``max_pending`` = no-op.
            request: ``(n, R)`` requested units.
            agents: ``(n,)`` agent indices (``arange(N)`` in single-task mode).
        """
        p = self.max_pending
        n = agents.shape[0]
        task = self.pending[agents, np.minimum(slot_idx, p - 1)]
        task[slot_idx >= p] = -1
        empty = (slot_idx < p) & (task < 0)
        want = (task >= 0) & request.any(axis=1)
        if not want.any():  # fast path: every agent passes (the round that ends most slots)
            return PickOutcome(
                task=np.full(n, -1, dtype=np.int64),
                placed=np.zeros(n, dtype=bool),
                noop=np.ones(n, dtype=bool),
                empty_slot=empty,
                infeasible=np.zeros(n, dtype=bool),
                clipped=np.zeros(n, dtype=bool),
                conflict=np.zeros(n, dtype=bool),
                alloc=np.zeros((n, self.num_resources), dtype=np.int64),
            )
        m = self.min_request[task]  # rows of -1 tasks are never used (masked by want)
        upper = np.minimum(self.free[agents], self.max_level)
        fits = (m <= upper).all(axis=1)
        if self.config.infeasible == "clip":
            alloc = np.minimum(np.maximum(request, m), upper)
            ok = want & fits
            clipped = ok & (alloc != request).any(axis=1)
        else:
            alloc = request.copy()
            ok = want & fits & (request >= m).all(axis=1) & (request <= upper).all(axis=1)
            clipped = np.zeros(n, dtype=bool)
        alloc[~ok] = 0
        task[~want] = -1
        return PickOutcome(
            task=task,
            placed=ok,
            noop=~want,
            empty_slot=empty,
            infeasible=want & ~ok,
            clipped=clipped,
            conflict=np.zeros(n, dtype=bool),
            alloc=alloc,
        )

    def capacity_ratio(self, agents: NDArray[np.int64], task: int) -> NDArray[np.float64]:
        """``min_{r: m_r > 0} free_r / m_r`` on each of ``agents``' clusters for ``task``.

        How many minimum-size copies of the task the cluster could host now (not rounded); the
        quantity the ``"capacity"`` conflict rule and the paper's Bayes rule compare.
        """
        m = self.min_request[task]
        pos = m > 0
        return (self.free[agents][:, pos] / m[pos]).min(axis=1)

    def resolve_conflicts(self, out: PickOutcome, agents: NDArray[np.int64]) -> None:
        """Phase 2: among feasible picks of the same task, keep one winner (SPEC.md section 6)."""
        cand = np.flatnonzero(out.placed)
        if cand.shape[0] < 2:
            return
        tasks = out.task[cand]
        listed = tasks.tolist()
        if len(set(listed)) == len(listed):  # no two agents picked the same task
            return
        uniq, counts = np.unique(tasks, return_counts=True)
        for task in uniq[counts > 1]:
            who = cand[tasks == task]
            if self.config.conflict_rule == "capacity":
                ratio = self.capacity_ratio(agents[who], int(task))
                best = who[ratio == ratio.max()]
            else:
                best = who
            winner = best[0] if best.shape[0] == 1 else best[self.rng.integers(best.shape[0])]
            losers = who[who != winner]
            out.placed[losers] = False
            out.conflict[losers] = True
            out.alloc[losers] = 0
            self.num_conflicts += int(losers.shape[0])

    def place(self, out: PickOutcome, agents: NDArray[np.int64]) -> None:
        """Phase 3: start the winners' tasks on their clusters and remove them from every list."""
        won = np.flatnonzero(out.placed)
        if won.shape[0] == 0:
            return
        tasks = out.task[won]
        where = agents[won]  # distinct: an agent places at most one task per round / pick position
        alloc = out.alloc[won]
        self.status[tasks] = RUNNING
        self.cluster[tasks] = where
        self.alloc[tasks] = alloc
        self.prev_alloc[tasks] = alloc
        self.slots_run[tasks] = 0
        self.placed_slot[tasks] = self.t
        self.ready_slot[tasks] = self.t + self.delay_slots[tasks, where]
        self.free[where] -= alloc
        self.running_count[where] += 1
        pend = self.pending
        for task, c in zip(tasks.tolist(), where.tolist()):
            pend[pend == task] = -1
            free_pos = np.flatnonzero(self.run_slots[c] < 0)
            if free_pos.shape[0]:  # always, unless an elastic scheduler preempted tasks
                self.run_slots[c, free_pos[0]] = task
                self.run_row[task] = free_pos[0]
            else:  # shown once a row frees up (see _complete)
                self.run_hidden[c] += 1
        queued = self.in_queue[:, tasks]
        if queued.any():
            self.queue_len -= queued.sum(axis=1)
            self.in_queue[:, tasks] = False

    def play_round(self, slot_idx: NDArray[np.int64], request: NDArray[np.int64]) -> tuple[PickOutcome, bool]:
        """One single-task decision round for all agents.

        Args:
            slot_idx: ``(N,)`` pending slot per agent (``max_pending`` = no-op).
            request: ``(N, R)`` requested units per agent.

        Returns:
            The outcome per agent, and whether the round ended the slot.
        """
        agents = self._agent_idx
        out = self.decode_picks(slot_idx, request, agents)
        self._count(out)
        self.resolve_conflicts(out, agents)
        self.place(out, agents)
        self.total_rounds += 1
        self.round_in_slot += 1
        slot_over = not out.placed.any() or self.round_in_slot >= self.rounds_limit
        return out, slot_over

    def play_multi(self, slot_idx: NDArray[np.int64], request: NDArray[np.int64]) -> list[PickOutcome]:
        """Multi-task mode: apply each agent's ordered picks position by position (one slot).

        Args:
            slot_idx: ``(N, K)`` pending slot of each pick.
            request: ``(N, K, R)`` requested units of each pick.

        Returns:
            One outcome per pick position. The caller ends the slot afterwards.
        """
        agents = self._agent_idx
        outs = []
        for k in range(slot_idx.shape[1]):
            out = self.decode_picks(slot_idx[:, k], request[:, k], agents)
            self._count(out)
            self.resolve_conflicts(out, agents)
            self.place(out, agents)
            outs.append(out)
        self.total_rounds += 1
        self.round_in_slot += 1
        return outs

    def _count(self, out: PickOutcome) -> None:
        self.num_infeasible += int(out.infeasible.sum())
        self.num_clipped += int(out.clipped.sum())

    # -------------------------------------------------------------------------------- slot end
    def slot_rewards(self) -> tuple[NDArray[np.float64], float]:
        """Step 1 of the slot end: local reward per agent and the global reward."""
        local = -(self.running_count + self.pending_count + self.queue_len).astype(np.float64)
        return local, -float(self.in_system)

    def end_slot(self) -> tuple[NDArray[np.float64], float]:
        """End the current slot (SPEC.md section 2, steps 1-6).

        Returns:
            ``(local_rewards (N,), global_reward)``, computed before progress and completions.
        """
        local, glob = self.slot_rewards()
        self.hist_in_system.append(self.in_system)
        self.hist_used.append(self.capacity - self.free)
        self._progress()
        self._complete()
        self.t += 1
        self.round_in_slot = 0
        self._arrive()
        self._refill()
        return local, glob

    def _progress(self) -> None:
        run = np.flatnonzero((self.status == RUNNING) & (self.ready_slot <= self.t))
        if run.shape[0] == 0:
            return
        alloc = self.alloc[run]
        prog = self.progress[run]
        types = self.type_idx[run]
        dp = np.zeros(run.shape[0], dtype=np.float64)
        work = self.work[run]
        factor = self.speed_factor[self.cluster[run]]
        for k, model in enumerate(self.speed_models):
            sel = types == k
            if sel.any():
                dp[sel] = model.increment(alloc[sel], prog[sel], work[sel], factor[sel])
        if self.num_resizes:  # only the elastic API can put a task below its minimum or change it
            dp[(alloc < self.min_request[run]).any(axis=1)] = 0.0
            switched = (self.slots_run[run] > 0) & (alloc != self.prev_alloc[run]).any(axis=1)
            if switched.any():
                dp[switched] *= self.switch_penalty[types[switched]]
        if self.config.progress_noise > 0:
            x = self.config.progress_noise
            dp *= self.rng.uniform(1.0 - x, 1.0 + x, size=dp.shape[0])
        self.progress[run] = prog + dp
        self.prev_alloc[run] = alloc
        self.slots_run[run] += 1

    def _complete(self) -> None:
        done = np.flatnonzero((self.status == RUNNING) & (self.progress >= 1.0))
        if done.shape[0] == 0:
            return
        where = self.cluster[done]
        self.status[done] = DONE
        self.completion_slot[done] = self.t
        np.add.at(self.free, where, self.alloc[done])
        np.subtract.at(self.running_count, where, 1)
        shown = done[self.run_row[done] >= 0]
        self.run_slots[self.cluster[shown], self.run_row[shown]] = -1
        for c in np.flatnonzero(self.run_hidden):
            self._show_hidden(int(c))
        self.num_completed += int(done.shape[0])

    def _show_hidden(self, c: int) -> None:
        """Give free running-table rows of cluster ``c`` to running tasks without a row (oldest
        placement first). Only happens after an elastic scheduler preempted tasks."""
        rows = self.run_slots[c]
        free_rows = np.flatnonzero(rows < 0)
        if free_rows.shape[0] == 0:
            return
        mine = np.flatnonzero((self.status == RUNNING) & (self.cluster == c))
        hidden = mine[self.run_row[mine] < 0]
        hidden = hidden[np.argsort(self.placed_slot[hidden], kind="stable")][: free_rows.shape[0]]
        rows[free_rows[: hidden.shape[0]]] = hidden
        self.run_row[hidden] = free_rows[: hidden.shape[0]]
        self.run_hidden[c] -= hidden.shape[0]

    def _arrive(self) -> None:
        """Tasks with ``arrival_slot == t`` arrive: first free pending slot, else the queue."""
        start = self.num_arrived
        stop = int(np.searchsorted(self.arrival_slot, self.t, side="right"))
        if stop <= start:
            return
        self.status[start:stop] = WAITING
        self.num_arrived = stop
        new_vis = self.visible[start:stop]
        for i in np.flatnonzero(new_vis.any(axis=0)):
            ids = start + np.flatnonzero(new_vis[:, i])
            free_slots = np.flatnonzero(self.pending[i] < 0)
            k = min(free_slots.shape[0], ids.shape[0])
            self.pending[i, free_slots[:k]] = ids[:k]
            rest = ids[k:]
            if rest.shape[0]:
                self.in_queue[i, rest] = True
                self.queue_len[i] += rest.shape[0]

    def _refill(self) -> None:
        """Queued tasks (oldest first) move into free pending slots."""
        for i in np.flatnonzero((self.queue_len > 0) & (self.pending < 0).any(axis=1)):
            free_slots = np.flatnonzero(self.pending[i] < 0)
            ids = np.flatnonzero(self.in_queue[i])[: free_slots.shape[0]]
            self.pending[i, free_slots[: ids.shape[0]]] = ids
            self.in_queue[i, ids] = False
            self.queue_len[i] -= ids.shape[0]

    # ------------------------------------------------------------------------------ elastic API
    def resize(self, task: int, units: NDArray[np.int64] | list[int] | tuple[int, ...]) -> None:
        """Change a running task's allocation on its cluster (all zeros = preempt).

        For preemptive (elastic) heuristics; the RL interface never calls it. The new allocation
        must be all zeros or at least the task's minimum and at most the per-task maximum, and
        must fit in the cluster's free units plus what the task holds. A slot whose allocation
        differs from the previous slot's has its progress multiplied by the type's
        ``switch_penalty``.

        Raises:
            ValueError: the task is not running or the allocation is not allowed.
        """
        raw = np.asarray(units)
        if raw.dtype.kind not in "iuf" or (
            raw.dtype.kind == "f" and not (np.isfinite(raw).all() and (raw == np.round(raw)).all())
        ):
            raise ValueError(f"resize: units must be integers, got {raw.tolist()!r}")
        new = raw.astype(np.int64).reshape(-1)
        if not 0 <= task < self.num_tasks or self.status[task] != RUNNING:
            raise ValueError(f"resize: task {task} is not running")
        if new.shape != (self.num_resources,):
            raise ValueError(f"resize: expected {self.num_resources} units, got shape {new.shape}")
        if new.any():
            if (new < self.min_request[task]).any() or (new > self.max_level).any():
                raise ValueError(
                    f"resize: units {new.tolist()} outside [{self.min_request[task].tolist()}, "
                    f"{self.max_level.tolist()}] for task {task}"
                )
        elif (new < 0).any():
            raise ValueError(f"resize: negative units {new.tolist()}")
        c = int(self.cluster[task])
        avail = self.free[c] + self.alloc[task]
        if (new > avail).any():
            raise ValueError(
                f"resize: units {new.tolist()} exceed what cluster {c} can give ({avail.tolist()})"
            )
        self.free[c] = avail - new
        self.alloc[task] = new
        self.num_resizes += 1

    # --------------------------------------------------------------------------------- metrics
    def metrics(self) -> dict[str, object]:
        """Episode metrics (SPEC.md section 10); see :func:`episode_metrics`."""
        return episode_metrics(self)
