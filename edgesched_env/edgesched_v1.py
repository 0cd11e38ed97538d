"""EdgeSched-v1 in PettingZoo's module convention (``from edgesched_env import edgesched_v1``).

>>> from edgesched_env import edgesched_v1
>>> env = edgesched_v1.parallel_env("tapfinger-synthetic")
>>> env.metadata["name"]
'EdgeSched-v1'

``parallel_env`` and ``env`` (AEC) take the arguments of
:class:`~edgesched_env.parallel_env.EdgeSchedParallelEnv`; ``raw_env`` is the unwrapped parallel env.
"""

from __future__ import annotations

from edgesched_env.parallel_env import versioned

__all__ = ["VERSION", "env", "parallel_env", "raw_env"]

#: the env version of this module
VERSION = 1

parallel_env, env = versioned(VERSION)
raw_env = parallel_env
