"""Rollout arithmetic: GAE per agent with a per-slot discount, and value normalisation.

**Discount per slot.** Rounds inside a slot take no time (SPEC.md section 2): every reward of a
round that does not end its slot is 0, and the next round sees the same instant. So both the
discount ``gamma`` and the GAE ``lambda`` apply only across a slot end: for the step at round
``t``, ``gamma_t = gamma`` and ``lambda_t = lambda`` if the round ended its slot, else 1. With
``gamma = 1`` and the global reward the return is minus the episode's remaining total JCT
(Little's law), whatever the number of rounds.

**Autoreset.** The vector env resets an ended episode on the *next* step (gymnasium
``NEXT_STEP``): that step's action is ignored, so the step is marked invalid (weight 0), and the
recursion is cut at the ended step. A truncated episode bootstraps from the value of its final
observation (the one the autoreset step acted on); a terminated one from 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["RunningNorm", "gae"]


def gae(
    rewards: NDArray[np.floating],
    values: NDArray[np.floating],
    next_value: NDArray[np.floating],
    terminated: NDArray[np.bool_],
    truncated: NDArray[np.bool_],
    slot_end: NDArray[np.bool_],
    gamma: float,
    lam: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Advantages and returns of a rollout of ``T`` steps of ``E`` episodes and ``N`` agents.

    Args:
        rewards: ``(T, E, N)`` reward of each step (per agent).
        values: ``(T, E, N)`` value of the observation each step acted on (env units).
        next_value: ``(E, N)`` value of the observation after the last step.
        terminated, truncated, slot_end: ``(T, E)`` flags of each step.
        gamma, lam: per-slot discount and GAE parameter.

    Returns:
        ``(advantages, returns)``, both ``(T, E, N)`` float64; ``returns = advantages + values``.
    """
    steps = rewards.shape[0]
    adv = np.zeros(rewards.shape, dtype=np.float64)
    last = np.zeros(rewards.shape[1:], dtype=np.float64)
    for t in range(steps - 1, -1, -1):
        nv = next_value if t == steps - 1 else values[t + 1]
        g = np.where(slot_end[t], gamma, 1.0)[:, None]
        lm = np.where(slot_end[t], lam, 1.0)[:, None]
        alive = (~terminated[t])[:, None].astype(np.float64)
        cont = (~(terminated[t] | truncated[t]))[:, None].astype(np.float64)
        delta = rewards[t] + g * nv * alive - values[t]
        last = delta + g * lm * cont * last
        adv[t] = last
    return adv, adv + values


class RunningNorm:
    """Running mean and variance of a scalar stream (Chan's parallel update), for value targets.

    The critic predicts ``(v - mean) / std``; :meth:`denormalize` maps back to env units.
    """

    def __init__(self, eps: float = 1e-4) -> None:
        self.mean = 0.0
        self.var = 1.0
        self.count = eps

    def update(self, x: NDArray[np.floating]) -> None:
        """Fold a batch of samples in."""
        x = np.asarray(x, dtype=np.float64).ravel()
        if x.size == 0:
            return
        b_mean, b_var, b_n = float(x.mean()), float(x.var()), x.size
        delta = b_mean - self.mean
        tot = self.count + b_n
        self.mean += delta * b_n / tot
        m2 = self.var * self.count + b_var * b_n + delta**2 * self.count * b_n / tot
        self.var = m2 / tot
        self.count = tot

    @property
    def std(self) -> float:
        """Standard deviation (floored at 1e-6)."""
        return max(float(np.sqrt(self.var)), 1e-6)

    def normalize(self, x: NDArray[np.floating]) -> NDArray[np.float64]:
        """Env units -> normalised."""
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def denormalize(self, x: NDArray[np.floating]) -> NDArray[np.float64]:
        """Normalised -> env units."""
        return np.asarray(x, dtype=np.float64) * self.std + self.mean

    def state(self) -> dict[str, float]:
        """JSON-serialisable state."""
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load(self, d: dict[str, float]) -> None:
        """Restore :meth:`state`."""
        self.mean, self.var, self.count = float(d["mean"]), float(d["var"]), float(d["count"])
