"""Padded per-agent observations, the global state, and the action / allocation masks.

All agents' observations are built at once, as batched arrays with a leading agent axis, and each
agent's dict holds views of its row (fresh arrays every call: safe to store in a rollout buffer).
Shapes use ``N`` clusters, ``P = max_pending``, ``R`` resources, ``K`` task types,
``M = max_running`` (an exact bound: see ``EnvConfig.max_running``), ``L = max(num_levels)``.

Per-agent observation (``Dict``; every agent has the same space):

============== ======= ================ ==========================================================
key            dtype   shape            content (units)
============== ======= ================ ==========================================================
clusters       float32 (N, 2R+4)        per cluster: free_r / cap_r (R), cap_r / max over clusters
                                        of cap_r (R), pending / P, queue length / P, running / M,
                                        is-self flag
pending        float32 (P, K+R+3)       per pending slot: type one-hot (K), min request_r /
                                        max_r (R), waiting time / time_scale (slots), clusters
                                        that see it / N, data-transfer delay to this cluster /
                                        time_scale (slots); zeros where empty
pending_mask   int8    (P,)             1 where the slot holds a task
running        float32 (M, K+R+1)       per task running here: type one-hot (K), units_r /
                                        max_r (R), slots since placement / time_scale
running_mask   int8    (M,)             1 where a running task is shown
alloc_mask     int8    (P, R, L)        1 where ``m_r <= level <= min(free_r, max_r)`` and the
                                        task fits (exact feasible levels per pending task)
action_mask    int8    (sum(nvec),)     flat concatenation of the per-component masks (below)
============== ======= ================ ==========================================================

Action mask (single-task mode, ``nvec = [P + 1, L_1, ..., L_R]``): the slot part marks every
occupied pending slot plus the no-op (always 1), as SPEC.md section 5 says (picking a task that
does not fit now is a no-op, reported in ``infos``); each resource part marks the levels feasible
for at least one occupied slot, or only level 0 when no task fits. Which slots can be placed now
is ``alloc_mask[:, 0, :].any(-1)``. In multi-task mode the mask is repeated for each of the ``K``
picks.

Global state (``state()``, for a centralised critic): a flat float32 vector, the concatenation of
``clusters`` (N, 2R+3; without is-self), the global pending pool (``N * P`` rows: the tasks in any
agent's pending slots, by task id, each with the pending features (K+R+2, without transfer
delay), its visibility row (N) and its pending-slot row (N)), the pool mask (N * P), and every
cluster's ``running`` block (N, M, K+R+1). ``state_dict()`` gives the same pieces by name.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from edgesched_env.config import EnvConfig
from edgesched_env.sim.core import Simulator
from edgesched_env.spaces import MaskedMultiDiscrete

__all__ = ["ObservationBuilder"]

_F32 = np.float32


class ObservationBuilder:
    """Builds observations, masks and the global state from a :class:`Simulator`."""

    def __init__(self, config: EnvConfig) -> None:
        self.config = config
        self.n = config.num_clusters
        self.p = config.max_pending
        self.r = config.num_resources
        self.k = config.num_types
        self.m = config.max_running
        self.levels = np.array(config.num_levels, dtype=np.int64)
        self.l_max = int(self.levels.max())
        self.ts = float(config.time_scale_slots)
        cap = np.array([c.capacity for c in config.clusters], dtype=np.float64)
        self.cap_rel = (cap / cap.max(axis=0)).astype(_F32)  # (N, R)
        self.max_level = (self.levels - 1).astype(np.float64)
        self.eye_k = np.eye(self.k, dtype=_F32)
        self.level_range = np.arange(self.l_max, dtype=np.int64)
        self.picks = config.max_picks if config.mode == "multi" else 1
        self.slot_nvec = np.concatenate([[self.p + 1], self.levels]).astype(np.int64)
        self.nvec = np.tile(self.slot_nvec, self.picks)
        self.agent_idx = np.arange(self.n)
        # Where each resource's part of the flat mask starts, within one pick.
        self.res_offsets = (self.p + 1) + np.concatenate([[0], np.cumsum(self.levels)[:-1]])
        self.f_cluster = 2 * self.r + 4
        self.f_pending = self.k + self.r + 3
        self.f_running = self.k + self.r + 1
        self._max_level_int = self.levels - 1
        self._uniform_levels = bool((self.levels == self.l_max).all())
        self._eye_n = np.eye(self.n, dtype=_F32)
        self._static_for: object = None
        self._static_cache = np.zeros((1, self.k + self.r + 2), dtype=_F32)

    # ------------------------------------------------------------------------------- spaces
    @cached_property
    def action_space(self) -> MaskedMultiDiscrete:
        """``MultiDiscrete([P + 1, L_1, ..., L_R])`` (repeated ``K`` times in multi-task mode)."""
        return MaskedMultiDiscrete(self.nvec)

    @cached_property
    def observation_space(self) -> spaces.Dict:
        """The per-agent observation space (identical for every agent)."""
        inf = np.inf
        cl_high = np.ones((self.n, self.f_cluster), dtype=_F32)
        cl_high[:, 2 * self.r + 1] = inf  # queue length / P is unbounded
        cl_high[:, 2 * self.r + 2] = inf  # running / M can exceed 1 only with elastic preemption
        pe_high = np.ones((self.p, self.f_pending), dtype=_F32)
        pe_high[:, self.k + self.r] = inf
        pe_high[:, self.k + self.r + 2] = inf
        ru_high = np.ones((self.m, self.f_running), dtype=_F32)
        ru_high[:, -1] = inf
        return spaces.Dict(
            {
                "clusters": spaces.Box(0.0, cl_high, dtype=_F32),
                "pending": spaces.Box(0.0, pe_high, dtype=_F32),
                "pending_mask": spaces.Box(0, 1, (self.p,), dtype=np.int8),
                "running": spaces.Box(0.0, ru_high, dtype=_F32),
                "running_mask": spaces.Box(0, 1, (self.m,), dtype=np.int8),
                "alloc_mask": spaces.Box(0, 1, (self.p, self.r, self.l_max), dtype=np.int8),
                "action_mask": spaces.Box(0, 1, (int(self.nvec.sum()),), dtype=np.int8),
            }
        )

    @cached_property
    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the named pieces of the global state."""
        pool = self.n * self.p
        return {
            "clusters": (self.n, self.f_cluster - 1),
            "pool": (pool, self.k + self.r + 2),
            "pool_visible": (pool, self.n),
            "pool_in_slot": (pool, self.n),
            "pool_mask": (pool,),
            "running": (self.n, self.m, self.f_running),
        }

    @cached_property
    def state_space(self) -> spaces.Box:
        """Flat float32 global state; unbounded above (times and queue lengths)."""
        size = sum(int(np.prod(s)) for s in self.state_shapes.values())
        return spaces.Box(0.0, np.inf, (size,), dtype=_F32)

    # ------------------------------------------------------------------------ batched pieces
    def _static(self, sim: Simulator) -> NDArray[np.float32]:
        """``(T + 1, K+R+2)`` per-task features that never change in an episode (cached per reset):
        type one-hot, min request / max, 0 (waiting time, filled per call), clusters that see it
        / N. Row ``T`` is all zeros, for padding (index -1)."""
        if self._static_for is not sim.workload:
            t_count = sim.num_tasks
            out = np.zeros((t_count + 1, self.k + self.r + 2), dtype=_F32)
            out[:t_count, : self.k] = self.eye_k[sim.type_idx]
            out[:t_count, self.k : self.k + self.r] = sim.min_request / self.max_level
            out[:t_count, self.k + self.r + 1] = sim.num_visible / self.n
            self._static_cache = out
            # arrival slot per task, padded with a value that gives waiting time 0 for row T
            self._arrival_pad = np.append(sim.arrival_slot, 0).astype(np.float64)
            self._delay_pad = np.vstack([sim.delay_slots, np.zeros((1, self.n), np.int64)]) / self.ts
            ge_min = self.level_range >= sim.min_request[:, :, None]  # (T, R, L)
            self._ge_min_pad = np.concatenate([ge_min, np.zeros((1, self.r, self.l_max), bool)])
            self._static_for = sim.workload
        return self._static_cache

    def _cluster_block(self, sim: Simulator) -> NDArray[np.float32]:
        """``(N, 2R+3)`` cluster features without the is-self flag."""
        out = np.empty((self.n, 2 * self.r + 3), dtype=_F32)
        out[:, : self.r] = sim.free / sim.capacity
        out[:, self.r : 2 * self.r] = self.cap_rel
        out[:, 2 * self.r] = (sim.pending >= 0).sum(axis=1) / self.p
        out[:, 2 * self.r + 1] = sim.queue_len / self.p
        out[:, 2 * self.r + 2] = sim.running_count / self.m
        return out

    def _task_features(self, sim: Simulator, tid: NDArray[np.int64]) -> NDArray[np.float32]:
        """``(..., K+R+2)`` features of tasks ``tid`` (-1 = padding, all zeros)."""
        static = self._static(sim)
        out = static[tid]
        wait = (sim.t - self._arrival_pad[tid]) / self.ts
        wait[tid < 0] = 0.0
        out[..., self.k + self.r] = wait
        return out

    def _running_block(self, sim: Simulator) -> tuple[NDArray[np.float32], NDArray[np.int8]]:
        """``(N, M, K+R+1)`` running-task features and ``(N, M)`` mask, in the cluster's stable
        running-table order (a task keeps its row while it runs)."""
        self._static(sim)
        tid = sim.run_slots
        valid = tid >= 0
        feats = np.zeros((self.n, self.m, self.f_running), dtype=_F32)
        if valid.any():
            ids = tid[valid]
            row = np.empty((ids.shape[0], self.f_running), dtype=_F32)
            row[:, : self.k] = self._static_cache[ids, : self.k]
            row[:, self.k : self.k + self.r] = sim.alloc[ids] / self.max_level
            row[:, -1] = (sim.t - sim.placed_slot[ids]) / self.ts
            feats[valid] = row
        return feats, valid.astype(np.int8)

    def masks(self, sim: Simulator) -> tuple[NDArray[np.int8], NDArray[np.int8]]:
        """``alloc_mask (N, P, R, L)`` and flat ``action_mask (N, sum(nvec))`` for every agent."""
        self._static(sim)
        tid = sim.pending
        upper = np.minimum(sim.free, self._max_level_int)  # (N, R)
        alloc = self._ge_min_pad[tid]  # (N, P, R, L): level >= min request (empty slots: none)
        alloc &= (self.level_range <= upper[..., None])[:, None]  # ... and <= min(free, max)
        fits = alloc.any(axis=3).all(axis=2)  # (N, P): the task fits (False for empty slots)
        alloc &= fits[:, :, None, None]
        any_level = alloc.any(axis=1)  # (N, R, L): feasible for at least one slot
        none = ~fits.any(axis=1)
        if none.any():
            any_level[none, :, 0] = True  # nothing fits: only level 0
        action = np.empty((self.n, int(self.slot_nvec.sum())), dtype=np.int8)
        action[:, : self.p] = tid >= 0  # SPEC 5: every occupied slot (a task that does not fit is a no-op)
        action[:, self.p] = 1
        if self._uniform_levels:
            action[:, self.p + 1 :] = any_level.reshape(self.n, -1)
        else:
            for r in range(self.r):
                off, size = int(self.res_offsets[r]), int(self.levels[r])
                action[:, off : off + size] = any_level[:, r, :size]
        if self.picks > 1:
            action = np.tile(action, (1, self.picks))
        return alloc.view(np.int8), action

    # ------------------------------------------------------------------------- observations
    def batch(self, sim: Simulator) -> dict[str, NDArray]:
        """Every agent's observation as arrays with a leading agent axis ``N``."""
        base = self._cluster_block(sim)
        clusters = np.empty((self.n, self.n, self.f_cluster), dtype=_F32)
        clusters[:, :, :-1] = base
        clusters[:, :, -1] = self._eye_n
        tid = sim.pending
        pending = np.empty((self.n, self.p, self.f_pending), dtype=_F32)
        pending[..., :-1] = self._task_features(sim, tid)
        pending[..., -1] = self._delay_pad[tid, self.agent_idx[:, None]]
        running, running_mask = self._running_block(sim)
        alloc_mask, action_mask = self.masks(sim)
        return {
            "clusters": clusters,
            "pending": pending,
            "pending_mask": (tid >= 0).view(np.int8),
            "running": running,
            "running_mask": running_mask,
            "alloc_mask": alloc_mask,
            "action_mask": action_mask,
        }

    def per_agent(self, sim: Simulator, agents: list[str]) -> dict[str, dict[str, NDArray]]:
        """``{agent: {key: array}}`` for ``agents`` (named ``cluster_i``, in index order)."""
        b = self.batch(sim)
        items = tuple(b.items())
        return {a: {key: arr[i] for key, arr in items} for i, a in enumerate(agents)}

    # --------------------------------------------------------------------------------- state
    def state_dict(self, sim: Simulator) -> dict[str, NDArray]:
        """The global state's named pieces (shapes in :attr:`state_shapes`)."""
        pool_size = self.n * self.p
        ids = np.unique(sim.pending[sim.pending >= 0])
        cnt = ids.shape[0]
        pool = np.zeros(self.state_shapes["pool"], dtype=_F32)
        vis = np.zeros((pool_size, self.n), dtype=_F32)
        in_slot = np.zeros((pool_size, self.n), dtype=_F32)
        mask = np.zeros(pool_size, dtype=_F32)
        if cnt:
            pool[:cnt] = self._task_features(sim, ids)
            vis[:cnt] = sim.visible[ids]
            in_slot[:cnt] = (sim.pending[:, :, None] == ids[None, None, :]).any(axis=1).T
            mask[:cnt] = 1.0
        running, _ = self._running_block(sim)
        return {
            "clusters": self._cluster_block(sim),
            "pool": pool,
            "pool_visible": vis,
            "pool_in_slot": in_slot,
            "pool_mask": mask,
            "running": running,
        }

    def state(self, sim: Simulator) -> NDArray[np.float32]:
        """The flat global state vector (see module docstring)."""
        return np.concatenate([v.ravel() for v in self.state_dict(sim).values()]).astype(_F32)
