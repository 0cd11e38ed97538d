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
clock          int64   (2,)             v1: slot index, decision rounds already played in the slot
cluster_info   int64   (N, R+3)         v1: per cluster: free units (R), occupied pending
                                        positions, overflow-queue length, running (or preempted)
                                        tasks
pending_info   int64   (P, R+5)         v1: per pending slot: task id, type index, arrival slot,
                                        data-transfer delay to this cluster (slots), clusters that
                                        see it, minimum request (R units); -1 where empty
running_info   int64   (M, 2R+3)        v1: per running task: task id, type index, placement slot,
                                        allocation (R units, 0 when preempted), minimum request (R
                                        units); -1 where empty. Every task holding units is shown,
                                        in its ``running`` row; preempted ones fill the rows left
============== ======= ================ ==========================================================

The four ``int64`` keys are new in EdgeSched-v1 (:data:`EXACT_COLUMNS` names their columns): the
float blocks' facts as exact integers, plus task ids and the clock, so that a hand-written
scheduler can work from the observation alone, seeing exactly what a learned agent sees. An
EdgeSched-v1 env (``version=0``) leaves them out. They are not part of the flat layouts.

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
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from edgesched_env.config import EnvConfig
from edgesched_env.sim import kernels as K
from edgesched_env.sim.core import Simulator
from edgesched_env.sim.exact import observe_exact
from edgesched_env.spaces import MaskedMultiDiscrete

__all__ = ["EXACT_COLUMNS", "EXACT_KEYS", "ObservationBuilder", "exact_columns", "feature_layout"]

#: The v1 observation's exact (int64) keys, in the order they follow the v0 keys.
EXACT_KEYS = ("clock", "cluster_info", "pending_info", "running_info")

#: Column names of the exact blocks (``{r}`` stands for each resource name, in config order).
EXACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "clock": ("slot", "round"),
    "cluster_info": ("free_{r}", "pending", "queue", "running"),
    "pending_info": ("task", "type", "arrival_slot", "delay_slots", "num_visible", "min_request_{r}"),
    "running_info": ("task", "type", "placed_slot", "alloc_{r}", "min_request_{r}"),
}


def exact_columns(config: EnvConfig) -> dict[str, dict[str, int | slice]]:
    """Where each column of the exact blocks sits: key -> column name -> index (a slice over the
    resources for the ``{r}`` columns, e.g. ``pending_info["min_request"] == slice(5, 5 + R)``)."""
    r = config.num_resources
    out: dict[str, dict[str, int | slice]] = {}
    for key, names in EXACT_COLUMNS.items():
        cols: dict[str, int | slice] = {}
        o = 0
        for name in names:
            if name.endswith("_{r}"):
                cols[name[: -len("_{r}")]] = slice(o, o + r)
                o += r
            else:
                cols[name] = o
                o += 1
        out[key] = cols
    return out


#: The leading arguments shared by the ``observe`` and ``global_state`` kernels: ``active``,
#: ``free``, ``capacity``, ``cap_rel``, ``pending``, ``queue_len``, ``running_count``,
#: ``run_table``, ``t``, ``type_idx``, ``min_request``, ``max_level_f``, ``arrival_slot``,
#: ``num_visible``.
_SharedArgs = tuple[
    K.Bool, K.I64, K.I64, K.F32, K.I64, K.I64, K.I64, K.I64, K.I64, K.I64, K.I64, K.F64, K.I64, K.I64
]

_F32 = np.float32
#: the upper bound of the exact blocks' unbounded columns (slot indices, delays)
_BIG = 2**62


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
        self.picks = config.num_picks
        self.slot_nvec = np.concatenate([[self.p + 1], self.levels]).astype(np.int64)
        self.nvec = np.tile(self.slot_nvec, self.picks)
        self.f_cluster = 2 * self.r + 4
        self.f_pending = self.k + self.r + 3
        self.f_running = self.k + self.r + 1
        self._max_level_int = self.levels - 1
        self._width = int(self.nvec.sum())
        self._active_cache: dict[int, NDArray[np.bool_]] = {}

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
                **self.exact_spaces,
            }
        )

    @cached_property
    def exact_spaces(self) -> dict[str, spaces.Box]:
        """The spaces of the v1 exact keys (:data:`EXACT_KEYS`); ``-1`` marks an empty row."""
        big = _BIG
        cfg = self.config
        tasks = cfg.workload.num_tasks
        cap_max = np.array([c.capacity for c in cfg.clusters], dtype=np.int64).max(axis=0)  # (R,)
        levels = self._max_level_int
        clock_high = np.array([big, cfg.rounds_limit], dtype=np.int64)
        cl_high = np.concatenate([cap_max, [self.p, tasks, tasks]]).astype(np.int64)
        req = np.full(self.r, big, dtype=np.int64)  # a minimum request may exceed every level
        pe_high = np.concatenate([[tasks - 1, self.k - 1, big, big, self.n], req]).astype(np.int64)
        ru_high = np.concatenate([[tasks - 1, self.k - 1, big], levels, req]).astype(np.int64)
        return {
            "clock": spaces.Box(0, clock_high, dtype=np.int64),
            "cluster_info": spaces.Box(0, np.tile(cl_high, (self.n, 1)), dtype=np.int64),
            "pending_info": spaces.Box(-1, np.tile(pe_high, (self.p, 1)), dtype=np.int64),
            "running_info": spaces.Box(-1, np.tile(ru_high, (self.m, 1)), dtype=np.int64),
        }

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

    # ------------------------------------------------------------------------- observations
    def _active(self, batch: int) -> NDArray[np.bool_]:
        a = self._active_cache.get(batch)
        if a is None:
            a = self._active_cache[batch] = np.ones(batch, dtype=bool)
        return a

    def _kernel_args(self, sim: Simulator) -> _SharedArgs:
        """The leading arguments shared by the ``observe`` and ``global_state`` kernels."""
        st = sim.state
        return (
            self._active(sim.batch_size),
            st.free,
            sim.capacity,
            self.cap_rel,
            st.pending,
            st.queue_len,
            st.running_count,
            st.run_table,
            st.t,
            st.type_idx,
            st.min_request,
            self.max_level,
            st.arrival_slot,
            st.num_visible,
        )

    def batch(self, sim: Simulator) -> dict[str, NDArray[Any]]:
        """Every agent's observation of every episode: arrays with leading axes ``(B, N)``.

        Fresh arrays on every call (safe to keep in a rollout buffer).
        """
        st = sim.state
        b, n, p, m, r = sim.batch_size, self.n, self.p, self.m, self.r
        out: dict[str, NDArray[Any]] = {
            "clusters": np.empty((b, n, n, self.f_cluster), dtype=_F32),
            "pending": np.empty((b, n, p, self.f_pending), dtype=_F32),
            "pending_mask": np.empty((b, n, p), dtype=np.int8),
            "running": np.empty((b, n, m, self.f_running), dtype=_F32),
            "running_mask": np.empty((b, n, m), dtype=np.int8),
            "alloc_mask": np.empty((b, n, p, r, self.l_max), dtype=np.int8),
            "action_mask": np.empty((b, n, self._width), dtype=np.int8),
            "clock": np.empty((b, n, 2), dtype=np.int64),
            "cluster_info": np.empty((b, n, n, r + 3), dtype=np.int64),
            "pending_info": np.empty((b, n, p, r + 5), dtype=np.int64),
            "running_info": np.empty((b, n, m, 2 * r + 3), dtype=np.int64),
        }
        K.observe(
            *self._kernel_args(sim),
            st.delay_slots,
            st.alloc,
            st.placed_slot,
            self._max_level_int,
            self.levels,
            self.ts,
            self.picks,
            out["clusters"],
            out["pending"],
            out["pending_mask"],
            out["running"],
            out["running_mask"],
            out["alloc_mask"],
            out["action_mask"],
        )
        observe_exact(
            self._active(b),
            st.t,
            st.round_in_slot,
            st.free,
            st.pending,
            st.queue_len,
            st.running_count,
            st.run_table,
            st.type_idx,
            st.arrival_slot,
            st.delay_slots,
            st.num_visible,
            st.min_request,
            st.alloc,
            st.placed_slot,
            st.status,
            st.host,
            st.run_row,
            st.run_hidden,
            st.num_arrived,
            out["clock"],
            out["cluster_info"],
            out["pending_info"],
            out["running_info"],
        )
        return out

    @staticmethod
    def agent_views(
        batch: dict[str, NDArray[Any]], agents: list[str], b: int = 0
    ) -> dict[str, dict[str, NDArray[Any]]]:
        """``{agent: {key: array}}`` views of episode ``b`` of a :meth:`batch` (agents in index order)."""
        items = tuple(batch.items())
        return {a: {key: arr[b, i] for key, arr in items} for i, a in enumerate(agents)}

    def per_agent(self, sim: Simulator, agents: list[str], b: int = 0) -> dict[str, dict[str, NDArray[Any]]]:
        """``{agent: {key: array}}`` of episode ``b`` for ``agents`` (named ``cluster_i``, in index order)."""
        return self.agent_views(self.batch(sim), agents, b)

    # --------------------------------------------------------------------------------- state
    def state_batch(self, sim: Simulator) -> NDArray[np.float32]:
        """``(B, S)`` the flat global state of every episode (see module docstring)."""
        st = sim.state
        out = np.empty((sim.batch_size, self.state_space.shape[0]), dtype=_F32)
        K.global_state(
            *self._kernel_args(sim),
            st.visible,
            st.alloc,
            st.placed_slot,
            self.ts,
            self.k,
            out,
        )
        return out

    def state(self, sim: Simulator, b: int = 0) -> NDArray[np.float32]:
        """The flat global state vector of episode ``b``."""
        row: NDArray[np.float32] = self.state_batch(sim)[b]
        return row

    def split_state(self, flat: NDArray[np.float32]) -> dict[str, NDArray[Any]]:
        """The named pieces (shapes in :attr:`state_shapes`, leading axes kept) of flat states."""
        lead = flat.shape[:-1]
        out: dict[str, NDArray[Any]] = {}
        o = 0
        for name, shape in self.state_shapes.items():
            size = int(np.prod(shape))
            out[name] = flat[..., o : o + size].reshape(*lead, *shape)
            o += size
        return out

    def state_dict(self, sim: Simulator, b: int = 0) -> dict[str, NDArray[Any]]:
        """The global state's named pieces of episode ``b`` (shapes in :attr:`state_shapes`)."""
        return self.split_state(self.state(sim, b))


def feature_layout(config: EnvConfig) -> dict[str, dict[str, slice]]:
    """Where each feature sits in the last axis of each observation block: block -> name -> slice.

    Blocks ``clusters``, ``pending`` and ``running`` of the per-agent observation (and the same
    order in the global state, whose cluster rows lack ``is_self`` and whose pool rows lack
    ``delay``). The graph builder of the learned agent reads features by these names.
    """
    r, k = config.num_resources, config.num_types
    return {
        "clusters": {
            "free": slice(0, r),
            "capacity": slice(r, 2 * r),
            "pending": slice(2 * r, 2 * r + 1),
            "queue": slice(2 * r + 1, 2 * r + 2),
            "running": slice(2 * r + 2, 2 * r + 3),
            "is_self": slice(2 * r + 3, 2 * r + 4),
        },
        "pending": {
            "type": slice(0, k),
            "min_request": slice(k, k + r),
            "waiting": slice(k + r, k + r + 1),
            "num_visible": slice(k + r + 1, k + r + 2),
            "delay": slice(k + r + 2, k + r + 3),
        },
        "running": {"type": slice(0, k), "alloc": slice(k, k + r), "age": slice(k + r, k + r + 1)},
    }
