"""EdgeSched-v0 (deprecated: every env made here warns; removed in the next release).

>>> import warnings
>>> from edgesched_env import edgesched_v0
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore", DeprecationWarning)
...     env = edgesched_v0.parallel_env("tapfinger-synthetic")
>>> env.metadata["name"]
'EdgeSched-v0'

The v0 observation is v1's without the exact int64 keys (``edgesched_env.observation.EXACT_KEYS``).

``parallel_env`` and ``env`` (AEC) take the arguments of
:class:`~edgesched_env.parallel_env.EdgeSchedParallelEnv`; ``raw_env`` is the unwrapped parallel env.
"""

from __future__ import annotations

from edgesched_env.parallel_env import versioned

__all__ = ["VERSION", "env", "parallel_env", "raw_env"]

#: the env version of this module
VERSION = 0

parallel_env, env = versioned(VERSION)
raw_env = parallel_env
