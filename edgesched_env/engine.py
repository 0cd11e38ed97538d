"""The batched engine: ``E`` episodes of one config, from checked actions to step results.

Every env steps through one :class:`Engine`: :class:`~edgesched_env.vector.EdgeSchedVectorEnv`
with ``E`` episodes, :class:`~edgesched_env.parallel_env.EdgeSchedParallelEnv` with ``E = 1``
(the AEC and central envs wrap the parallel one). The engine owns the simulator, each episode's
RNG, the reward (:mod:`edgesched_env.rewards`), terminations, truncations (``max_slots`` from the
simulator, ``max_cycles`` counted here), the metrics of ended episodes and the autoreset
bookkeeping. The envs only check actions, build observations and format infos.

One :meth:`Engine.step`:

1. rows that ended in the previous step (:attr:`Engine.needs_reset`) do not play; they are
   restarted at the end of this step (gymnasium's ``NEXT_STEP`` autoreset);
2. the placements of the round (single-task mode) or of the slot (multi-task mode);
3. the slot end of the rows whose slot is over, and its reward;
4. step counting, termination, truncation (``max_slots`` before ``max_cycles``);
5. the metrics of the rows that ended, then the restarts of step 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgesched_env.config import EnvConfig
from edgesched_env.interface import TRUNCATION_CODES
from edgesched_env.rewards import Reward, make_reward
from edgesched_env.sim.core import PickOutcome, Simulator
from edgesched_env.sim.metrics import episode_metrics
from edgesched_env.sim.view import SimView

__all__ = ["TRUNCATION_NAMES", "Engine", "StepResult"]

#: ``truncated_by`` code -> name (the inverse of :data:`~edgesched_env.interface.TRUNCATION_CODES`).
TRUNCATION_NAMES = {code: name for name, code in TRUNCATION_CODES.items()}


@dataclass(slots=True)
class StepResult:
    """What one :meth:`Engine.step` did, as arrays over the ``E`` episodes."""

    rewards: NDArray[np.float64]
    """``(E, N)`` reward of each cluster (0 unless the step ended a slot)."""
    terminated: NDArray[np.bool_]
    """``(E,)`` every task has arrived and completed."""
    truncated: NDArray[np.bool_]
    """``(E,)`` ``max_slots`` or ``max_cycles`` reached (never with ``terminated``)."""
    truncated_by: NDArray[np.int64]
    """``(E,)`` :data:`~edgesched_env.interface.TRUNCATION_CODES` code (0: not truncated)."""
    slot_over: NDArray[np.bool_]
    """``(E,)`` the step ended a slot."""
    outcomes: list[PickOutcome]
    """The per-agent outcome of each pick position (one in single-task mode)."""
    slot: NDArray[np.int64]
    """``(E,)`` slot of the step (0 in rows that did not play)."""
    round: NDArray[np.int64]
    """``(E,)`` round within the slot (0 in rows that did not play)."""
    pending_before: NDArray[np.int64]
    """``(E, N, P)`` pending task ids as the step's observation saw them."""
    playing: NDArray[np.bool_]
    """``(E,)`` rows that played (the others were restarted: :attr:`restarted`)."""
    restarted: NDArray[np.bool_]
    """``(E,)`` rows that ended in the previous step and were restarted by this one."""
    metrics: dict[int, dict[str, Any]]
    """Episode ``e``'s metrics (SPEC.md section 10) for every row ``e`` that ended in this step."""

    @property
    def ended(self) -> NDArray[np.bool_]:
        """``(E,)`` terminated or truncated."""
        return self.terminated | self.truncated

    @property
    def truncated_by_names(self) -> NDArray[np.str_]:
        """``(E,)`` ``""``, ``"max_slots"`` or ``"max_cycles"``."""
        codes = self.truncated_by
        slots, cycles = TRUNCATION_CODES["max_slots"], TRUNCATION_CODES["max_cycles"]
        return np.where(codes == slots, "max_slots", np.where(codes == cycles, "max_cycles", ""))


class Engine:
    """``num_envs`` episodes of one config: the single path from a step to the simulator.

    Args:
        config: the env config.
        num_envs: ``E``, episodes stepped together.
        record_history: keep per-slot samples for rendering (see :class:`Simulator`).
    """

    def __init__(self, config: EnvConfig, num_envs: int = 1, record_history: bool = False) -> None:
        self.config = config
        self.num_envs = num_envs
        self.num_agents = config.num_clusters
        self.sim = Simulator(config, batch_size=num_envs, record_history=record_history)
        self.reward: Reward = make_reward(config.reward)
        """The reward paid at each slot end (``config.reward``)."""
        self.rngs: list[np.random.Generator] = []
        """Each episode's generator (an episode restarted in its row continues it)."""
        self._clock = 0  # steps of this engine since reset(): one int, not an (E,) array add per step
        self._started = np.zeros(num_envs, dtype=np.int64)  # _clock when each row's episode started
        self.needs_reset = np.zeros(num_envs, dtype=bool)
        """``(E,)`` rows that ended and restart at the next :meth:`step`."""
        # shared read-only results of a step in which every row plays and none is truncated
        self._all, self._none = np.ones(num_envs, dtype=bool), np.zeros(num_envs, dtype=bool)
        self._no_codes = np.zeros(num_envs, dtype=np.int64)
        for a in (self._all, self._none, self._no_codes):
            a.flags.writeable = False

    @property
    def steps(self) -> NDArray[np.int64]:
        """``(E,)`` steps of each running episode (for ``max_cycles``; a fresh array)."""
        return self._clock - self._started

    # ---------------------------------------------------------------------------------- reset
    def reset(self, rngs: Sequence[np.random.Generator]) -> None:
        """Start every episode, episode ``e`` drawn from ``rngs[e]`` (kept for its restarts)."""
        self.rngs = list(rngs)
        self.sim.reset(self.rngs)
        self._clock = 0
        self._started[:] = 0
        self.needs_reset[:] = False

    def reset_rows(self, rows: Sequence[int]) -> None:
        """Restart episodes ``rows`` now, each continuing its own generator."""
        rows = list(rows)
        if rows:
            self.sim.reset_episodes(rows, [self.rngs[b] for b in rows])
            self._started[rows] = self._clock
            self.needs_reset[rows] = False

    # ----------------------------------------------------------------------------------- step
    def step(self, act: NDArray[np.int64]) -> StepResult:
        """Play ``act`` ``(E, N, len(nvec))`` (checked int64 actions; rows in
        :attr:`needs_reset` are ignored and restarted) and return what happened."""
        sim, st = self.sim, self.sim.state
        e = self.num_envs
        # np.count_nonzero(x) tests "any" here: a fifth of the call cost of x.any() on a few rows
        if np.count_nonzero(self.needs_reset):
            restart = self.needs_reset.copy()
            playing = ~restart
            slot, rnd = np.where(playing, st.t, 0), np.where(playing, st.round_in_slot, 0)
            active: NDArray[np.bool_] | None = playing
        else:  # every row plays (the common case: no mask to apply, a few µs per step at E = 1)
            restart, playing = self._none, self._all
            slot, rnd = st.t.copy(), st.round_in_slot.copy()
            active = None
        pending_before = st.pending.copy()
        outs, slot_over = self._play(act, active)
        n_over = np.count_nonzero(slot_over)
        if n_over == e:  # every row ends its slot (always at E = 1): no mask
            local, glob = sim.end_slot()
            rewards = np.asarray(self.reward(local, glob), dtype=np.float64)
        else:
            rewards = np.zeros((e, self.num_agents), dtype=np.float64)
            if n_over:
                local, glob = sim.end_slot(slot_over)
                rewards[slot_over] = self.reward(local, glob)[slot_over]
        self._clock += 1  # the rows that did not play restart below: their count starts again
        # Only a slot end completes tasks or advances time, so only a row that ended its slot can
        # terminate or reach max_slots (a row that had, ended in an earlier step and restarted).
        codes = self._no_codes
        if n_over:
            terminated, truncated = sim.end_flags()
            if active is not None:
                terminated &= playing
                truncated &= playing
            if np.count_nonzero(truncated):
                codes = np.where(truncated, TRUNCATION_CODES["max_slots"], 0).astype(np.int64)
            ended = terminated | truncated
        else:
            terminated, truncated = np.zeros(e, dtype=bool), np.zeros(e, dtype=bool)
            ended = np.zeros(e, dtype=bool)
        if self.config.max_cycles is not None:
            by_cycles = playing & ~ended & (self.steps >= self.config.max_cycles)
            if np.count_nonzero(by_cycles):
                codes = np.where(by_cycles, TRUNCATION_CODES["max_cycles"], codes).astype(np.int64)
                truncated = truncated | by_cycles
                ended = ended | by_cycles
        metrics: dict[int, dict[str, Any]] = {}
        if np.count_nonzero(ended):
            metrics = {b: self.episode_metrics(b) for b in np.flatnonzero(ended).tolist()}
        if active is not None:
            self.reset_rows(np.flatnonzero(restart).tolist())
        self.needs_reset = ended
        return StepResult(
            rewards,
            terminated,
            truncated,
            codes,
            slot_over,
            outs,
            slot,
            rnd,
            pending_before,
            playing,
            restart,
            metrics,
        )

    def _play(
        self, act: NDArray[np.int64], active: NDArray[np.bool_] | None
    ) -> tuple[list[PickOutcome], NDArray[np.bool_]]:
        """The placements of the rows ``active`` (``None``: all) and which rows ended a slot."""
        e, n = self.num_envs, self.num_agents
        if self.config.mode == "single":
            out, slot_over = self.sim.play_round(act[:, :, 0].copy(), act[:, :, 1:].copy(), active)
            return [out], slot_over
        k, width = self.config.max_picks, 1 + self.config.num_resources
        picks = act.reshape(e, n, k, width)
        outs = self.sim.play_multi(picks[..., 0], picks[..., 1:], active)
        return outs, np.ones(e, dtype=bool) if active is None else active.copy()

    # -------------------------------------------------------------------------------- metrics
    def episode_metrics(self, b: int) -> dict[str, Any]:
        """Episode ``b``'s metrics (valid once it has ended)."""
        return episode_metrics(SimView(self.sim, b))
