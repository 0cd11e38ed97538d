"""Adapters so third-party RL libraries train against edgesched, and what they learn is benched.

One module per library, each importing its library lazily (importing this package never imports
one): :mod:`agents.integrations.sb3` (stable-baselines3 / sb3-contrib). See
``docs/integrations.md`` for the interface options every adapter builds on.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents import _optional
from agents.base import SchedulerBase
from edgesched_env.interface import Interface, InterfaceOptions
from edgesched_env.observation import ObservationBuilder

__all__ = ["LibraryScheduler", "require"]


def require(module: str, extra: str, feature: str = "this integration") -> ModuleType:
    """Import ``module`` or raise :class:`agents._optional.MissingExtraError` naming ``extra``
    (see :func:`agents._optional.require`)."""
    return _optional.require(module, extra, feature)


class LibraryScheduler(SchedulerBase):
    """Base of the integrations' bench schedulers: a policy trained in some interface format.

    ``bind`` builds the :class:`~edgesched_env.interface.Interface` of the bound env's config
    and :attr:`options`; each round, :meth:`observe` writes the env's latest observation
    (``env.last_obs_batch``) in that format, and :meth:`to_actions` turns the policy's joint
    discrete codes (one per cluster) back into the env's actions. Subclasses implement
    ``act_agents``.
    """

    name = "library"
    #: played one episode at a time by :func:`agents.evaluate.evaluate`: a library policy is
    #: not copied into one clone per episode of a vector env.
    batchable = False
    #: the interface options the policy was trained with.
    options: dict[str, Any] = {}

    def __init__(self) -> None:
        super().__init__()
        self.interface: Interface | None = None

    def bind(self, env: Any) -> None:
        super().bind(env)
        assert self.config is not None
        self.interface = Interface(ObservationBuilder(self.config), InterfaceOptions(**self.options))

    def observe(self) -> dict[str, NDArray]:
        """This round's observation in the training format, ``(1, N, ...)`` per key."""
        assert self.interface is not None, "bind(env) first"
        env = getattr(self._env, "unwrapped", self._env)
        return self.interface.observe(env.last_obs_batch)

    def to_actions(
        self, codes: NDArray[np.integer[Any]], agents: Iterable[str]
    ) -> dict[str, NDArray[np.int64]]:
        """``{agent: action}`` from ``(N,)`` joint discrete codes (cluster order)."""
        assert self.interface is not None, "bind(env) first"
        acts = self.interface.decode(np.asarray(codes, dtype=np.int64))
        return {a: acts[int(a.rsplit("_", 1)[1])] for a in agents}
