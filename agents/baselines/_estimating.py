"""Shared part of the schedulers that learn task durations online (srtf, tetris, optimus)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.baselines._common import Candidates, DurationModel, HeuristicScheduler

__all__ = ["EstimatingScheduler"]


class EstimatingScheduler(HeuristicScheduler):
    """A :class:`HeuristicScheduler` with a :class:`DurationModel` learned in the episode.

    Nothing carries over between episodes: ``reset`` starts the estimates from scratch, so a
    result depends only on the episode's seed.

    Attributes:
        fit_criterion: how the speed function is fitted (``"lsq"`` or ``"bic"``, see
            :func:`~agents.baselines._common.fit_speed_function`).
    """

    fit_criterion = "lsq"

    def __init__(self) -> None:
        super().__init__()
        self._model: DurationModel | None = None

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self._model = None

    @property
    def model(self) -> DurationModel:
        """The duration estimates of the current episode."""
        if self._model is None or self._model.tracker is not self.tracker:
            cfg = self.sim_view.config
            self._model = DurationModel(
                self.tracker, cfg.resource_names, cfg.num_types, criterion=self.fit_criterion
            )
        return self._model

    def share_box_hi(self, agent: int, cand: Candidates) -> NDArray[np.int64]:
        """``(c, R)``: each candidate's fair share (``capacity // (waiting + running)``), within
        its minimum and what it may get now: the upper corner of the allocations considered."""
        jobs = self.waiting_count(agent) + int(self.sim_view.running_count[agent])
        share = self.fair_share(agent, jobs)
        return np.clip(share[None, :], cand.lo, cand.hi)

    def proposals(self, agent: int, cand: Candidates) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Each candidate's allocation and estimated duration (slots): the cheapest allocation
        within 5% of the fastest estimate inside its fair-share box once its type is fitted, else
        (to explore) the whole fair share.

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
            if model.fitted(k):
                units[j], est[j] = model.efficient(k, cand.lo[j], hi[j], scale)
            else:
                units[j] = hi[j]
                est[j] = float(model.predict(k, hi[j][None])[0])
        return units, est
