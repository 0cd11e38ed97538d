"""Shared part of the schedulers that learn task durations online (srtf, tetris, optimus).

Two choices, as class attributes, distinguish the current schedulers from the paper-era ones:

* ``duration_family``: ``"monotone"`` (default,
  :class:`~agents.baselines._monotone.MonotoneDurationModel`: log-additive, non-increasing in
  every resource and in cpu/memory per gpu, with per-cluster offsets; it represents the measured
  presets) or ``"optimus"`` (the paper's Optimus function,
  :class:`~agents.baselines._common.DurationModel`; the ``*-paper`` variants).
* ``allocation_rule``: ``"cost"`` (default): a fitted type's allocation minimises its own
  estimated duration plus the delay its resource-time imposes on the tasks waiting for the
  cluster, over everything it may get now (:meth:`EstimatingScheduler.cost_aware`); ``"share"``:
  the cheapest allocation within 5% of the fastest estimate inside the fair share.

* ``exploration``: how a type whose model is not fitted yet is run (so that its samples cover
  the allocation range). ``"alternate"`` (default): its tasks take, in turn, everything they may
  get now and their fair share (so the fit sees both ends of the range; on the measured presets,
  where big allocations pay, the first sample is the fast one); ``"share"``: always the fair share
  (the paper-era variants).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.base import Seeds
from agents.baselines._common import Candidates, DurationModel, HeuristicScheduler, box_grid
from agents.baselines._monotone import MonotoneDurationModel

__all__ = ["EstimatingScheduler"]


class EstimatingScheduler(HeuristicScheduler):
    """A :class:`HeuristicScheduler` with a duration model learned in the episode.

    Nothing carries over between episodes: ``reset`` starts the estimates from scratch, so a
    result depends only on the episode's seed.

    Attributes:
        duration_family: ``"monotone"`` or ``"optimus"`` (see the module docstring).
        allocation_rule: ``"cost"`` or ``"share"`` (see the module docstring).
        fit_criterion: how the Optimus function is fitted (``"lsq"`` or ``"bic"``, see
            :func:`~agents.baselines._common.fit_speed_function`); unused by ``"monotone"``.
        exploration: ``"alternate"`` or ``"share"`` (see the module docstring).
    """

    duration_family = "monotone"
    allocation_rule = "cost"
    fit_criterion = "lsq"
    exploration = "alternate"

    def __init__(self) -> None:
        super().__init__()
        self._model: DurationModel | None = None
        self._floors_key: tuple[int, int] = (-1, -1)
        self._floors: dict[int, NDArray[np.float64] | None] = {}

    def reset(self, seed: Seeds = None) -> None:
        super().reset(seed)
        self._model = None

    @property
    def model(self) -> DurationModel:
        """The duration estimates of the current episode."""
        if self._model is None or self._model.tracker is not self.tracker:
            view = self.sim_view
            cfg = view.config
            if self.duration_family == "monotone":
                self._model = MonotoneDurationModel(
                    self.tracker, cfg.resource_names, cfg.num_types, view.max_level, cfg.num_clusters
                )
            elif self.duration_family == "optimus":
                self._model = DurationModel(
                    self.tracker,
                    cfg.resource_names,
                    cfg.num_types,
                    criterion=self.fit_criterion,
                    max_level=view.max_level,
                )
            else:
                raise ValueError(f"{self.name}: unknown duration_family {self.duration_family!r}")
        return self._model

    def pressure(self, agent: int, exclude: int = -1) -> float:
        """How many tasks wait for ``agent``: its pending and queued tasks other than ``exclude``,
        each counted as ``1 / (clusters that see it)`` (its expected share of this cluster)."""
        tasks = self.waiting_tasks(agent)
        return self.waiting_weight(agent, tasks[tasks != exclude])

    def waiting_weight(self, agent: int, tasks: NDArray[np.int64]) -> float:
        """``sum(1 / num_visible)`` over ``tasks`` (pending tasks of ``agent``) plus ``agent``'s
        overflow queue, whose tasks are not observed: each counts as the mean ``1 / num_visible``
        of ``agent``'s pending tasks (1 without any)."""
        view = self.sim_view
        row = view.pending[agent]
        shown = row[row >= 0]
        per_queued = float((1.0 / view.num_visible[shown]).mean()) if shown.shape[0] else 1.0
        seen = float((1.0 / view.num_visible[tasks]).sum()) if tasks.shape[0] else 0.0
        return seen + per_queued * int(view.queue_len[agent])

    def explored(self, type_idx: int, grid: NDArray[np.int64]) -> NDArray[np.bool_]:
        """``(n,)`` which allocations of ``grid`` ``(n, R)`` stay within one halving of what
        completed tasks of this type ran with: at least half the fewest gpus, and at least half
        the lowest units per gpu of every other resource. All of them if no task of the type has
        completed. (Running tasks do not count: how fast they are is not known yet.)

        A fitted model extrapolates below the allocations it has seen, and with the
        ``"monotone"`` family the shrinkage towards insensitivity makes that optimistic (a task
        given a quarter of the memory per gpu it was ever seen with can take ten times longer).
        So the schedulers descend one halving at a time; each step's completed samples (and
        the running tasks that take longer than estimated) show whether smaller is still fast. Only the
        ``"monotone"`` family is restricted.
        """
        if self.duration_family != "monotone":
            return np.ones(grid.shape[0], dtype=bool)
        floors = self._explored_floors(type_idx)
        if floors is None:
            return np.ones(grid.shape[0], dtype=bool)
        g_idx = self.model.gpu_idx
        g = np.maximum(grid[:, g_idx], 1).astype(np.float64)
        ok = g >= floors[g_idx]
        for r in range(grid.shape[1]):
            if r != g_idx:
                ok &= grid[:, r] / g >= floors[r]
        return ok

    def _explored_floors(self, type_idx: int) -> NDArray[np.float64] | None:
        """``(R,)`` half the fewest gpus (at the gpu index) and half the lowest units per gpu of
        every other resource among the type's completed samples, or ``None`` without samples.
        Cached until the tracker records a new sample (it is asked for every candidate)."""
        tr = self.tracker
        key = (id(tr), tr.num_samples)
        if self._floors_key != key:
            self._floors_key, self._floors = key, {}
        if type_idx not in self._floors:
            held = [a for k, a in zip(tr.sample_type, tr.sample_alloc) if k == type_idx]
            if not held:
                self._floors[type_idx] = None
            else:
                g_idx = self.model.gpu_idx
                h = np.stack(held)
                g_seen = np.maximum(h[:, g_idx], 1.0)
                floors = (h / g_seen[:, None]).min(axis=0) / 2.0
                floors[g_idx] = g_seen.min() / 2.0
                self._floors[type_idx] = floors
        return self._floors[type_idx]

    def explored_min(
        self, type_idx: int, lo: NDArray[np.int64], hi: NDArray[np.int64], scale: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """``(R,)`` the cheapest allocation in ``lo..hi`` (units normalised by ``scale``) that
        :meth:`explored` allows: the least a fitted type's task is given (``lo`` if none is)."""
        grid = box_grid(lo, np.maximum(hi, lo))
        ok = self.explored(type_idx, grid)
        if not ok.any():
            return lo.copy()
        cost = np.where(ok, (grid / scale).sum(axis=1), np.inf)
        return grid[int(np.argmin(cost))]

    def waiting_tasks(self, agent: int) -> NDArray[np.int64]:
        """Ids of the tasks in ``agent``'s pending slots (the queue's are not observed: see
        :meth:`waiting_weight`)."""
        row = self.sim_view.pending[agent]
        return row[row >= 0]

    def cost_aware(
        self, agent: int, task: int, lo: NDArray[np.int64], hi: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], float]:
        """The allocation in ``lo..hi`` that minimises ``D(a) + P * D(a) * max_r(a_r / C_r)``.

        ``D(a)`` is the estimated duration on ``agent``'s cluster plus the task's data-transfer
        delay (slots), ``C`` the cluster's capacity and ``P`` :meth:`pressure`: its own completion
        time plus, in a fluid picture of the cluster, the delay that the resource-time it holds
        (dominant share x slots) imposes on each waiting task. An idle cluster gives the fastest
        allocation; a congested one the most resource-efficient one. Ties: fewer units.

        Returns:
            ``(units (R,), estimated slots including the delay)``.
        """
        view = self.sim_view
        cap = view.capacity[agent].astype(np.float64)
        k = int(view.type_idx[task])
        grid = box_grid(lo, hi)
        ok = self.explored(k, grid)
        if not ok.any():
            if view.running_count[agent] > 0:
                return lo.copy(), float("inf")  # wait for units to free up
            ok[:] = True  # an idle cluster that can never offer more: take what it has
        grid = grid[ok]
        dur = self.model.predict(k, grid, agent) + float(view.delay_slots[task, agent])
        share = grid / cap
        cost = dur * (1.0 + self.pressure(agent, task) * share.max(axis=1)) + 1e-9 * share.sum(axis=1)
        i = int(np.argmin(cost))
        return grid[i], float(dur[i])

    def share_box_hi(self, agent: int, cand: Candidates) -> NDArray[np.int64]:
        """``(c, R)``: each candidate's fair share (``capacity // (waiting + running)``), within
        its minimum and what it may get now (``"share"``), or, with ``exploration =
        "alternate"``, everything it may get now for a candidate whose type has had an even
        number of tasks placed so far: the exploration allocation of an unfitted type."""
        jobs = self.waiting_count(agent) + int(self.sim_view.running_count[agent])
        share = self.fair_share(agent, jobs)
        out = np.clip(share[None, :], cand.lo, cand.hi)
        if self.exploration == "alternate":
            big = self.explore_big(cand.tasks)
            out[big] = cand.hi[big]
        elif self.exploration != "share":
            raise ValueError(f"{self.name}: unknown exploration {self.exploration!r}")
        return out

    def explore_big(self, tasks: NDArray[np.int64]) -> NDArray[np.bool_]:
        """``(c,)``: whether each task's type has had an even number of tasks placed so far (its
        turn to explore with everything it may get, under ``exploration = "alternate"``)."""
        view = self.sim_view
        placed = np.bincount(view.type_idx[view.placed_slot >= 0], minlength=view.config.num_types)
        return placed[view.type_idx[tasks]] % 2 == 0

    def proposals(self, agent: int, cand: Candidates) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Each candidate's allocation and estimated duration (slots). Once its type is fitted:
        :meth:`cost_aware` over everything it may get now (rule ``"cost"``), or the cheapest
        allocation within 5% of the fastest estimate inside its fair-share box (rule
        ``"share"``); before that (to explore) the whole fair share.

        Returns:
            ``(units (c, R), estimated slots (c,))``.
        """
        view = self.sim_view
        model = self.model
        hi = self.share_box_hi(agent, cand)
        scale = view.capacity[agent]
        units = np.empty_like(hi)
        est = np.empty(hi.shape[0])
        for j, task in enumerate(cand.tasks.tolist()):
            k = int(view.type_idx[task])
            if not model.fitted(k):
                units[j] = hi[j]
                est[j] = float(model.predict(k, hi[j][None], agent)[0])
            elif self.allocation_rule == "cost":
                units[j], est[j] = self.cost_aware(agent, task, cand.lo[j], cand.hi[j])
            else:
                units[j], est[j] = model.efficient(k, cand.lo[j], hi[j], scale, cluster=agent)
        return units, est
