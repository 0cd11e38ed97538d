"""Rewards as objects: what the env pays each cluster at the end of a slot.

The simulator's :meth:`~edgesched_env.sim.core.Simulator.end_slot` computes, for every episode
``e`` of the batch, before progress and completions (SPEC.md section 7):

- ``local (E, N)``: ``-(running on i + occupied pending slots of i + queue of i)`` per cluster
  ``i``, in tasks (the paper's per-cluster reward);
- ``glob (E,)``: ``-(tasks in the system)``, in tasks; with discount 1 its sum over an
  episode is minus the total JCT in slots.

A :class:`Reward` turns these two arrays into the ``(E, N)`` reward of every cluster. The env
picks one at construction by ``EnvConfig.reward`` (:func:`make_reward`), and never branches on
the name again.

>>> import numpy as np
>>> local, glob = np.array([[-1.0, -2.0]]), np.array([-3.0])
>>> make_reward("global")(local, glob)
array([[-3., -3.]])
>>> make_reward("local")(local, glob)
array([[-1., -2.]])
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edgesched_env._names import unknown_name_error

__all__ = ["REWARDS", "GlobalReward", "LocalReward", "Reward", "make_reward"]


class Reward:
    """The reward of every cluster at a slot end, from the simulator's two slot-end arrays."""

    name: str = ""
    """The ``EnvConfig.reward`` name of this reward."""

    def __call__(self, local: NDArray[np.float64], glob: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(E, N)`` float64 rewards from ``local (E, N)`` and ``glob (E,)`` (both in tasks)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LocalReward(Reward):
    """``"local"`` (the paper's): each cluster gets minus the tasks it holds (running, pending,
    queued)."""

    name = "local"

    def __call__(self, local: NDArray[np.float64], glob: NDArray[np.float64]) -> NDArray[np.float64]:
        return local


class GlobalReward(Reward):
    """``"global"``: every cluster gets minus the tasks in the whole system."""

    name = "global"

    def __call__(self, local: NDArray[np.float64], glob: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.broadcast_to(glob[:, None], local.shape).copy()


REWARDS: dict[str, type[Reward]] = {cls.name: cls for cls in (LocalReward, GlobalReward)}
"""Every reward the env offers, by ``EnvConfig.reward`` name."""


def make_reward(name: str) -> Reward:
    """The :class:`Reward` named ``name``; an unknown name is a ``ValueError`` with the closest
    names."""
    try:
        cls = REWARDS[name]
    except (KeyError, TypeError):
        raise unknown_name_error("reward", name, REWARDS) from None
    return cls()
