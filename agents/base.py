"""The one ``Scheduler`` interface shared by heuristic baselines and learned policies.

A scheduler drives a :class:`~edgesched_env.parallel_env.EdgeSchedParallelEnv`:

>>> import edgesched_env
>>> from agents.baselines import make_scheduler
>>> env = edgesched_env.parallel_env("tapfinger-synthetic")
>>> sched = make_scheduler("random")
>>> sched.bind(env)
>>> obs, infos = env.reset(seed=0); sched.reset(seed=0)
>>> while env.agents:
...     obs, rew, term, trunc, infos = env.step(sched.act(obs, infos))

``bind(env)`` is the explicit hook through which a scheduler receives the environment's config and
its documented read-only :class:`~edgesched_env.sim.view.SimView`. Only schedulers that declare it
(``uses_elastic_api``, ``uses_oracle``) may call the view's elastic ``resize`` or read its
``oracle_*`` members; an oracle is a reference point, not a peer, and says so in its name.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from edgesched_env.config import EnvConfig
from edgesched_env.sim.view import SimView, sim_view

__all__ = ["Actions", "Observations", "Scheduler", "SchedulerBase"]

Observations = dict[str, dict[str, NDArray]]
Actions = dict[str, NDArray[np.int64]]


@runtime_checkable
class Scheduler(Protocol):
    """What the evaluation harness needs of any scheduler."""

    name: str

    def bind(self, env: Any) -> None:
        """Attach to an environment (called once per env, before ``reset``)."""

    def reset(self, seed: int | None = None) -> None:
        """Start an episode; ``seed`` seeds the scheduler's own RNG."""

    def act(self, observations: Observations, infos: dict[str, dict[str, Any]]) -> Actions:
        """One action per live agent for the current decision round."""


class SchedulerBase:
    """Convenience base: keeps the config, the view and a seeded RNG.

    Attributes:
        name: registry name.
        uses_elastic_api: the scheduler resizes running tasks through ``SimView.resize``.
        uses_oracle: the scheduler reads hidden quantities (``SimView.oracle_*``).
    """

    name = "base"
    uses_elastic_api = False
    uses_oracle = False

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self._env: Any = None
        self.config: EnvConfig | None = None
        self.view: SimView | None = None

    def bind(self, env: Any) -> None:
        """Keep the env's config and read-only simulator view (any edgesched env, wrapped or not)."""
        self._env = env
        self.view = sim_view(env)
        self.config = self.view.config

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the scheduler's RNG."""
        self.rng = np.random.default_rng(seed)

    def act(self, observations: Observations, infos: dict[str, dict[str, Any]]) -> Actions:
        raise NotImplementedError

    # helpers for subclasses -------------------------------------------------------------
    @property
    def num_picks(self) -> int:
        """Picks per action: ``max_picks`` in multi-task mode, else 1."""
        assert self.config is not None, "bind(env) first"
        return self.config.max_picks if self.config.mode == "multi" else 1

    def noop(self) -> NDArray[np.int64]:
        """The no-op action (slot index ``P`` and zero units, for every pick)."""
        assert self.config is not None, "bind(env) first"
        one = np.zeros(1 + self.config.num_resources, dtype=np.int64)
        one[0] = self.config.max_pending
        return np.tile(one, self.num_picks)

    @staticmethod
    def placeable_slots(obs: dict[str, NDArray]) -> NDArray[np.int64]:
        """Pending slots whose task fits now (non-empty rows of ``alloc_mask``)."""
        return np.flatnonzero(obs["alloc_mask"][:, 0, :].any(axis=1))
