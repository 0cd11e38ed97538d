"""``random``: a random placeable pending task with a random feasible allocation (SPEC.md s.12)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

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

    def act_batch(
        self, observations: dict[str, NDArray], infos: Mapping[str, Any], rows: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """:meth:`act_agents` for ``B`` vector-env episodes at once (``(B, N, K * (1 + R))``).

        The placeable slots and the feasible levels of every slot and resource are found for
        all episodes at once; only the draws run per episode, from row ``i``'s own generator
        (its clone's, seeded as on the clone path) in :meth:`act_agents`' order (agent, pick,
        then slot and each resource), so each row's actions are its clone's, bit for bit.
        """
        mask = observations["alloc_mask"].astype(bool)  # (B, N, P, R, L)
        b, n, _, r, _ = mask.shape
        width = 1 + r
        placeable = mask[:, :, :, 0, :].any(axis=-1)  # (B, N, P)
        num_slots = placeable.sum(axis=-1).tolist()  # (B, N)
        slot_of = np.argsort(~placeable, axis=-1, kind="stable").tolist()  # placeable ones first
        num_ok = mask.sum(axis=-1).tolist()  # (B, N, P, R) feasible levels
        level_of = np.argsort(~mask, axis=-1, kind="stable")  # (B, N, P, R, L) feasible levels first
        out = np.tile(self.noop(), (b, n, 1))
        picks = self.num_picks
        for j, row in enumerate(rows.tolist()):
            draw = self._clones[row].rng.integers
            for a in range(n):
                count = num_slots[j][a]
                if not count:
                    continue
                act = out[j, a]
                for k in range(picks):
                    s = slot_of[j][a][int(draw(count))]
                    act[k * width] = s
                    ok, levels = num_ok[j][a][s], level_of[j, a, s]
                    for q in range(r):
                        act[k * width + 1 + q] = levels[q, int(draw(ok[q]))]
        return out
