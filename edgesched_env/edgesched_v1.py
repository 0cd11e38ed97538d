"""EdgeSched-v1 in PettingZoo's module convention (``from edgesched_env import edgesched_v1``).

>>> from edgesched_env import edgesched_v1
>>> env = edgesched_v1.parallel_env("tapfinger-synthetic")
>>> env.metadata["name"]
'EdgeSched-v1'

``parallel_env`` and ``env`` (AEC) take the arguments of
:class:`~edgesched_env.parallel_env.EdgeSchedParallelEnv`; ``raw_env`` is the unwrapped parallel env.
"""

from __future__ import annotations

from typing import Any

from edgesched_env.config import EnvConfig
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.parallel_env import env as _env
from edgesched_env.parallel_env import parallel_env as _parallel_env
from edgesched_env.presets import DEFAULT_PRESET

__all__ = ["env", "parallel_env", "raw_env"]

#: the env version of this module
VERSION = 1


def parallel_env(preset: str | EnvConfig = DEFAULT_PRESET, **kwargs: Any) -> EdgeSchedParallelEnv:
    """The PettingZoo ParallelEnv ``edgesched/EdgeSched-v1``."""
    return _parallel_env(preset, version=VERSION, **kwargs)


def env(preset: str | EnvConfig = DEFAULT_PRESET, **kwargs: Any) -> Any:
    """The AEC env ``edgesched/EdgeSched-v1`` (each action checked when it is given)."""
    return _env(preset, version=VERSION, **kwargs)


raw_env = parallel_env
