"""The simulator: the slot / decision-round dynamics of ``B`` episodes at once (SPEC.md sections 1-8).

Pure numpy (plus the optional compiled kernels of :mod:`edgesched_env.sim.kernels`); no gymnasium,
no scheduler. All state lives in one :class:`~edgesched_env.sim.state.SimState` with a leading batch
axis ``B``; the single env is a batch of one and runs exactly the same code.

Phases of a decision round (:meth:`Simulator.play_round`; the multi-task mode applies phases 1-3
once per pick position, :meth:`Simulator.play_multi`):
  1. decode each agent's pick (pending position, allocation) into a task and a feasible allocation;
  2. resolve conflicts between agents that picked the same task (ties drawn from each episode's own
     generator, in ascending task order);
  3. place the winners;
  4. a slot whose round placed nothing (or hit the round limit) ends (:meth:`end_slot`):
     rewards -> progress -> completions -> ``t += 1`` -> arrivals -> queue refill.
Every random draw of episode ``b`` comes from ``rngs[b]`` in the order of the single-episode
reference, so episode ``b`` of a batch is bit-identical to the same episode simulated alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from edgesched_env.config import MAX_ARRIVAL_SLOTS, EnvConfig
from edgesched_env.sim import kernels as K
from edgesched_env.sim.state import PickOutcome, SimState, TaskStatus
from edgesched_env.workload.arrivals import Workload, generate_workload

#: a trace gap (slots between consecutive arrivals) above which, without ``skip_idle``, the
#: simulator warns that every empty slot of it will be a decision round.
IDLE_GAP_WARN_SLOTS = 10_000

__all__ = ["DONE", "FUTURE", "RUNNING", "WAITING", "PickOutcome", "Simulator", "TaskStatus"]

FUTURE, WAITING, RUNNING, DONE = (int(s) for s in TaskStatus)


def _warn_long_gaps(config: EnvConfig) -> None:
    """Without ``skip_idle`` every slot is a decision round: refuse a trace whose last arrival
    lies beyond :data:`~edgesched_env.config.MAX_ARRIVAL_SLOTS` (as for Poisson arrivals), and
    warn about a gap over :data:`IDLE_GAP_WARN_SLOTS`."""
    wl = config.workload
    if wl.arrival_process != "trace" or wl.trace is None:
        return
    arrivals = wl.trace.arrival_slots(wl.trace.jobs(wl.num_tasks))
    if arrivals.shape[0] and int(arrivals[-1]) > MAX_ARRIVAL_SLOTS:
        raise ValueError(
            f"{config.name}: the trace's last arrival is at slot {int(arrivals[-1])}, more than "
            f"{MAX_ARRIVAL_SLOTS} slots that would each be stepped; set skip_idle=True to jump over "
            "the idle ones (or raise arrival_seconds_per_slot)"
        )
    gap = int(np.diff(arrivals).max(initial=0))
    if gap > IDLE_GAP_WARN_SLOTS:
        warnings.warn(
            f"{config.name}: the trace has a gap of {gap} slots between two arrivals; every empty slot is "
            "a decision round (and counts towards max_slots). Set skip_idle=True to jump over idle slots "
            "(same metrics, far fewer steps)",
            stacklevel=3,
        )


class Simulator:
    """State and dynamics of ``batch_size`` episodes of one config.

    Create once per config, then :meth:`reset` (every episode) or :meth:`reset_episodes` (some).
    :attr:`state` is the simulator's state and must be treated as read-only by everything but the
    dynamics (schedulers read it through :class:`edgesched_env.sim.view.SimView`).

    Args:
        config: the environment configuration.
        batch_size: ``B``, episodes simulated together.
        record_history: keep per-slot samples (tasks in system, units in use) per episode, for
            rendering and traces; the metrics never need them.
    """

    def __init__(self, config: EnvConfig, batch_size: int = 1, record_history: bool = False) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        self.config = config
        self.batch_size = batch_size
        self.num_clusters = n = config.num_clusters
        self.num_resources = r = config.num_resources
        self.max_pending = config.max_pending
        self.max_running = config.max_running
        self.capacity = np.array([c.capacity for c in config.clusters], dtype=np.int64)  # (N, R)
        self.speed_factor = np.array([c.speed_factor for c in config.clusters], dtype=np.float64)
        self.max_level = np.array(config.num_levels, dtype=np.int64) - 1  # (R,)
        types = config.workload.task_types
        self.speed_models = [t.speed for t in types]
        self.switch_penalty = np.array([t.switch_penalty for t in types], dtype=np.float64)
        self.rounds_limit = config.rounds_limit
        self.slots_limit = config.slots_limit
        self._clip = config.infeasible == "clip"
        self._capacity_rule = config.conflict_rule == "capacity"
        self._noise = float(config.progress_noise)
        self._skip_idle = config.skip_idle
        if not self._skip_idle:
            _warn_long_gaps(config)
        self.record_history = record_history
        self.state = SimState.empty(batch_size, 1, n, r, config.max_pending, self.max_running)
        self.rngs: list[np.random.Generator] = [np.random.default_rng(0) for _ in range(batch_size)]
        self.workloads: list[Workload | None] = [None] * batch_size
        self.hist_in_system: list[list[int]] = [[] for _ in range(batch_size)]
        self.hist_used: list[list[NDArray[np.int64]]] = [[] for _ in range(batch_size)]
        self._all = np.ones(batch_size, dtype=bool)
        self._tie_b = np.zeros(batch_size * n, dtype=np.int64)
        self._tie_agents = np.zeros((batch_size * n, n), dtype=np.int64)
        self._gbuf: K.Gathered | None = None  # slot-end gather buffers (see _gather_buffers)
        #: the constants the kernels read, and their packed form (see :mod:`.kernels`)
        self.consts = K.SimConsts(
            self.capacity,
            self.speed_factor,
            self.max_level,
            self._clip,
            self._capacity_rule,
            self.rounds_limit,
        )
        self.packed_consts = tuple(self.consts)
        self._no_noise = np.ones(1)
        self._no_slot_over = np.zeros(batch_size, dtype=bool)  # slot_over of play_multi's picks (unused)

    # ------------------------------------------------------------------------------------ reset
    def reset(self, rngs: np.random.Generator | Sequence[np.random.Generator]) -> None:
        """Start a new episode in every row: draw each workload from its generator."""
        if isinstance(rngs, np.random.Generator):
            rngs = [rngs]
        self.reset_episodes(list(range(self.batch_size)), rngs)

    def reset_episodes(self, rows: Sequence[int], rngs: Sequence[np.random.Generator]) -> None:
        """Start a new episode in each of ``rows``, the workload drawn from the matching generator."""
        if len(rows) != len(rngs):
            raise ValueError(f"reset_episodes: {len(rows)} rows but {len(rngs)} generators")
        wls = [generate_workload(self.config, g) for g in rngs]
        st = self.state
        widest = max((w.num_tasks for w in wls), default=0)
        if widest > st.task_capacity:
            st.grow_tasks(widest)
        st.clear_rows(list(rows))
        for b, g, wl in zip(rows, rngs, wls):
            self.rngs[b] = g
            self.workloads[b] = wl
            tc = wl.num_tasks
            st.num_tasks[b] = tc
            st.arrival_slot[b, :tc] = wl.arrival_slot
            st.type_idx[b, :tc] = wl.type_idx
            st.visible[b, :tc] = wl.visible
            st.num_visible[b, :tc] = wl.visible.sum(axis=1)
            st.min_request[b, :tc] = wl.min_request
            st.work[b, :tc] = wl.work
            st.delay_slots[b, :tc] = wl.delay_slots
            st.free[b] = self.capacity
            self.hist_in_system[b] = []
            self.hist_used[b] = []
        active = np.zeros(self.batch_size, dtype=bool)
        active[list(rows)] = True
        self._arrive_now(active)
        if self._skip_idle:
            self._skip_idle_slots(active)

    def _skip_idle_slots(self, active: NDArray[np.bool_]) -> None:
        """``EnvConfig.skip_idle``: in the active episodes whose system is empty and whose next
        task arrives after ``t``, jump ``t`` to that arrival slot and let it arrive.

        An empty slot changes nothing but ``t`` (no task progresses, the running sums add 0, no
        random number is drawn), so the jump is the same as stepping the slots one by one; the
        jumped slots are counted in ``idle_skipped``.
        """
        st = self.state
        rows = np.flatnonzero(active & (st.num_arrived == st.num_completed) & (st.num_arrived < st.num_tasks))
        nxt = st.arrival_slot[rows, st.num_arrived[rows]]
        later = nxt > st.t[rows]
        if not later.any():
            return
        rows, nxt = rows[later], nxt[later]
        st.idle_skipped[rows] += nxt - st.t[rows]
        st.t[rows] = nxt
        jump = np.zeros(self.batch_size, dtype=bool)
        jump[rows] = True
        self._arrive_now(jump)

    def _arrive_now(self, active: NDArray[np.bool_]) -> None:
        """The tasks of slot ``t`` arrive in the ``active`` episodes, whose queues are empty (at
        reset, or after a jump over idle slots), so no refill is needed."""
        st = self.state
        K.arrive_first(active, st.packed())

    # ------------------------------------------------------------------------------- properties
    @property
    def terminated(self) -> NDArray[np.bool_]:
        """``(B,)`` all tasks have arrived and completed."""
        done: NDArray[np.bool_] = self.state.num_completed == self.state.num_tasks
        return done

    @property
    def busy_slots(self) -> NDArray[np.int64]:
        """``(B,)`` slots played so far, less those jumped over by ``skip_idle`` (what
        ``max_slots`` counts)."""
        return self.state.t - self.state.idle_skipped

    @property
    def truncated(self) -> NDArray[np.bool_]:
        """``(B,)`` the slot limit was reached before the workload finished."""
        return self.end_flags()[1]

    def end_flags(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """``(B,)`` :attr:`terminated` and :attr:`truncated` together (fresh arrays, the
        termination test made once)."""
        terminated = self.terminated
        truncated: NDArray[np.bool_] = self.busy_slots >= self.slots_limit
        if np.count_nonzero(truncated):  # rare: skip the mask when no row is at the limit
            truncated &= ~terminated
        return terminated, truncated

    @property
    def in_system(self) -> NDArray[np.int64]:
        """``(B,)`` tasks that have arrived and not completed."""
        return self.state.num_arrived - self.state.num_completed

    # ------------------------------------------------------------------------- decision rounds
    def _pick(
        self,
        pick_idx: NDArray[np.int64],
        request: NDArray[np.int64],
        active: NDArray[np.bool_],
        slot_over: NDArray[np.bool_] | None = None,
    ) -> PickOutcome:
        """Phases 1-3 for one pick per agent: decode, resolve conflicts, place; with
        ``slot_over`` ``(B,)`` also the round's bookkeeping (:func:`~.kernels.end_round`).

        One kernel call unless a conflict needs a random tie-break: those are drawn here, on each
        episode's generator in ascending task order, before anything is placed."""
        st = self.state
        out = PickOutcome.empty(self.batch_size, self.num_clusters, self.num_resources)
        packed, consts, picks = st.packed(), self.packed_consts, tuple(out)
        count_round = slot_over is not None
        over = slot_over if slot_over is not None else self._no_slot_over
        ties = K.play_picks(
            active, packed, consts, pick_idx, request, picks, self._tie_b, self._tie_agents, count_round, over
        )
        if ties:
            for g in range(ties):  # draws on each episode's generator, ascending task order
                b = int(self._tie_b[g])
                cand = self._tie_agents[g][self._tie_agents[g] >= 0]
                winner = cand[self.rngs[b].integers(cand.shape[0])]
                for i in cand[cand != winner].tolist():
                    K.lose(b, i, packed, picks)
            K.place(active, packed, picks)
            if count_round:
                K.end_round(active, packed, consts, out.placed, over)
        return out

    def play_round(
        self, pick_idx: NDArray[np.int64], request: NDArray[np.int64], active: NDArray[np.bool_] | None = None
    ) -> tuple[PickOutcome, NDArray[np.bool_]]:
        """One single-task decision round for all agents of the active episodes.

        Args:
            pick_idx: ``(B, N)`` pending position per agent (``max_pending`` = no-op).
            request: ``(B, N, R)`` requested units per agent.
            active: ``(B,)`` episodes that play (default: all).

        Returns:
            The outcome per agent, and ``(B,)`` whether the round ended the slot (False where
            inactive).
        """
        act = self._all if active is None else active
        slot_over = np.empty(self.batch_size, dtype=bool)
        out = self._pick(pick_idx, request, act, slot_over)
        return out, slot_over

    def play_multi(
        self, pick_idx: NDArray[np.int64], request: NDArray[np.int64], active: NDArray[np.bool_] | None = None
    ) -> list[PickOutcome]:
        """Multi-task mode: apply each agent's ordered picks position by position (one slot).

        Args:
            pick_idx: ``(B, N, K)`` pending position of each pick.
            request: ``(B, N, K, R)`` requested units of each pick.
            active: ``(B,)`` episodes that play (default: all).

        Returns:
            One outcome per pick position. The caller ends the slot afterwards.
        """
        act = self._all if active is None else active
        outs = [
            self._pick(np.ascontiguousarray(pick_idx[:, :, k]), np.ascontiguousarray(request[:, :, k]), act)
            for k in range(pick_idx.shape[2])
        ]
        self.state.total_rounds += act
        self.state.round_in_slot += act
        return outs

    # -------------------------------------------------------------------------------- slot end
    def end_slot(
        self, active: NDArray[np.bool_] | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """End the current slot of the active episodes (SPEC.md section 2, steps 1-6).

        Returns:
            ``local (B, N)`` and ``global (B,)`` rewards, computed before progress and completions
            (zeros where inactive).
        """
        act = self._all if active is None else active
        st = self.state
        b_count, n = self.batch_size, self.num_clusters
        local = np.zeros((b_count, n), dtype=np.float64)
        glob = np.zeros(b_count, dtype=np.float64)
        g = self._gather_buffers()
        packed = st.packed()
        q = K.begin_slot_end(act, packed, self.packed_consts, local, glob, tuple(g))
        if self.record_history:
            for b in np.flatnonzero(act).tolist():
                self.hist_in_system[b].append(int(st.num_arrived[b] - st.num_completed[b]))
                self.hist_used[b].append(self.capacity - st.free[b])
        dp = self._increments(q, g)
        use_noise = self._noise > 0 and q > 0
        noise = self._noise_factors(q, g.per_episode) if use_noise else self._no_noise
        K.finish_slot_end(act, packed, g.flat[:q], g.rank[:q], dp, use_noise, noise)
        if self._skip_idle:
            self._skip_idle_slots(act)
        return local, glob

    def _gather_buffers(self) -> K.Gathered:
        """Buffers of the slot end's gathered running tasks (sized to ``B * T``, reused)."""
        size = self.batch_size * self.state.task_capacity
        g = self._gbuf
        if g is None or g.flat.shape[0] != size:
            g = self._gbuf = K.Gathered(
                flat=np.zeros(size, np.int64),
                rank=np.zeros(size, np.int64),
                alloc=np.zeros((size, self.num_resources), np.int64),
                prog=np.zeros(size),
                work=np.ones(size),
                factor=np.ones(size),
                type_start=np.zeros(len(self.speed_models) + 1, np.int64),
                per_episode=np.zeros(self.batch_size, np.int64),
            )
        return g

    def _increments(self, q: int, g: K.Gathered) -> NDArray[np.float64]:
        """Progress increments of the ``q`` gathered running, ready tasks (grouped by type)."""
        dp = np.zeros(q, dtype=np.float64)
        if q == 0:
            return dp
        starts = g.type_start.tolist()
        for k, model in enumerate(self.speed_models):
            lo, hi = starts[k], starts[k + 1]
            if hi > lo:
                dp[lo:hi] = model.increment(g.alloc[lo:hi], g.prog[lo:hi], g.work[lo:hi], g.factor[lo:hi])
        st = self.state
        # only the elastic API can put a task below its minimum or change it
        if np.count_nonzero(st.num_resizes):
            r = self.num_resources
            flat = g.flat[:q]
            alloc = g.alloc[:q]
            resized = st.num_resizes[flat // st.task_capacity] > 0
            below = resized & (alloc < st.min_request.reshape(-1, r)[flat]).any(axis=1)
            dp[below] = 0.0
            prev = st.prev_alloc.reshape(-1, r)[flat]
            switched = resized & (st.slots_run.reshape(-1)[flat] > 0) & (alloc != prev).any(axis=1)
            if switched.any():
                types = st.type_idx.reshape(-1)[flat]
                dp[switched] *= self.switch_penalty[types[switched]]
        return dp

    def _noise_factors(self, q: int, per_episode: NDArray[np.int64]) -> NDArray[np.float64]:
        """Noise factors in ``(b, task)`` order: each episode draws from its own generator."""
        x = self._noise
        parts = [
            self.rngs[b].uniform(1.0 - x, 1.0 + x, size=int(per_episode[b]))
            for b in np.flatnonzero(per_episode).tolist()
        ]
        return np.concatenate(parts)

    # ------------------------------------------------------------------------------ elastic API
    def resize(self, b: int, task: int, units: NDArray[np.int64] | list[int] | tuple[int, ...]) -> None:
        """Change a running task's allocation on its host (all zeros = preempt), in episode ``b``.

        For preemptive (elastic) heuristics; the RL interface never calls it. The new allocation
        must be all zeros or at least the task's minimum and at most the per-task maximum, and
        must fit in the host's free units plus what the task holds. A slot whose allocation
        differs from the previous slot's has its progress multiplied by the type's
        ``switch_penalty``.

        Raises:
            ValueError: the task is not running or the allocation is not allowed.
        """
        st = self.state
        raw = np.asarray(units)
        if raw.dtype.kind not in "iuf" or (
            raw.dtype.kind == "f" and not (np.isfinite(raw).all() and (raw == np.round(raw)).all())
        ):
            raise ValueError(f"resize: units must be integers, got {raw.tolist()!r}")
        new = raw.astype(np.int64).reshape(-1)
        if not 0 <= task < int(st.num_tasks[b]) or st.status[b, task] != RUNNING:
            raise ValueError(f"resize: task {task} is not running")
        if new.shape != (self.num_resources,):
            raise ValueError(f"resize: expected {self.num_resources} units, got shape {new.shape}")
        if new.any():
            if (new < st.min_request[b, task]).any() or (new > self.max_level).any():
                raise ValueError(
                    f"resize: units {new.tolist()} outside [{st.min_request[b, task].tolist()}, "
                    f"{self.max_level.tolist()}] for task {task}"
                )
        elif (new < 0).any():
            raise ValueError(f"resize: negative units {new.tolist()}")
        c = int(st.host[b, task])
        avail = st.free[b, c] + st.alloc[b, task]
        if (new > avail).any():
            raise ValueError(
                f"resize: units {new.tolist()} exceed what cluster {c} can give ({avail.tolist()})"
            )
        st.free[b, c] = avail - new
        st.alloc[b, task] = new
        st.num_resizes[b] += 1

    def metrics(self, b: int = 0) -> dict[str, object]:
        """Episode metrics of episode ``b`` (SPEC.md section 10); see :func:`episode_metrics`."""
        from edgesched_env.sim.metrics import episode_metrics
        from edgesched_env.sim.view import SimView

        return episode_metrics(SimView(self, b))

    def capacity_ratio(self, b: int, agents: NDArray[np.int64], task: int) -> NDArray[np.float64]:
        """:func:`~edgesched_env.sim.kernels.capacity_ratio` of ``task`` on each of ``agents``'
        clusters (episode ``b``): how many minimum-size copies of it each could host now."""
        free = np.ascontiguousarray(self.state.free[b][agents])
        mins = np.ascontiguousarray(np.broadcast_to(self.state.min_request[b, task], free.shape))
        ratios: NDArray[np.float64] = K.capacity_ratio(free, mins)
        return ratios
