"""``random``: a random placeable pending task with a random feasible allocation (SPEC.md s.12)."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.base import Actions, Observations, SchedulerBase

__all__ = ["RandomScheduler"]


class RandomScheduler(SchedulerBase):
    """Each agent picks a uniformly random pending task that fits now and, per resource, a
    uniformly random feasible number of units (from ``alloc_mask``); no-op when nothing fits.

    Conflicts are left to the environment's rule (losers retry in the next round). In multi-task
    mode each pick is drawn the same way from the round's observation (later picks of the same
    task are skipped by the env).
    """

    name = "random"

    def act_agents(self, observations: Observations, infos: dict[str, dict[str, Any]]) -> Actions:
        rng = self.rng
        actions: Actions = {}
        for agent, obs in observations.items():
            act = self.noop()
            slots = self.placeable_slots(obs)
            if slots.shape[0]:
                width = 1 + obs["alloc_mask"].shape[1]
                for k in range(self.num_picks):
                    s = int(slots[rng.integers(slots.shape[0])])
                    act[k * width] = s
                    for r, levels in enumerate(obs["alloc_mask"][s]):
                        ok = np.flatnonzero(levels)
                        act[k * width + 1 + r] = ok[rng.integers(ok.shape[0])]
            actions[agent] = act
        return actions
