"""edgesched_env: the TapFinger edge-ML scheduling environment (PettingZoo + Gymnasium).

Create it with :func:`parallel_env` (PettingZoo ParallelEnv, every cluster an agent), :func:`env`
(AEC), ``pettingzoo.make("parallel", "edgesched/EdgeSched-v1")``, the PettingZoo-style module
:mod:`edgesched_env.edgesched_v1` or, for one centralised controller,
``gymnasium.make("edgesched/EdgeSchedCentral-v1")``. The v0 ids and :mod:`edgesched_env.edgesched_v0`
still create EdgeSched-v0 (deprecated, one more release).
"""

from __future__ import annotations

import gymnasium
import pettingzoo

from edgesched_env import edgesched_v0, edgesched_v1
from edgesched_env.config import ClusterSpec, EnvConfig, FixedTask, TaskType, WorkloadSpec
from edgesched_env.interface import Interface, InterfaceOptions
from edgesched_env.parallel_env import ENV_VERSION, EdgeSchedParallelEnv, env, parallel_env
from edgesched_env.presets import DEFAULT_PRESET, PRESETS, make_config, preset_names
from edgesched_env.sim.view import sim_view
from edgesched_env.spaces import MaskedDiscrete, MaskedMultiDiscrete
from edgesched_env.vector import EdgeSchedVectorEnv, random_feasible_actions, vector_env

try:  # the installed distribution's version (one source of truth: pyproject.toml)
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("edgesched")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "DEFAULT_PRESET",
    "ENV_VERSION",
    "PRESETS",
    "ClusterSpec",
    "EdgeSchedParallelEnv",
    "EdgeSchedVectorEnv",
    "EnvConfig",
    "FixedTask",
    "Interface",
    "InterfaceOptions",
    "MaskedDiscrete",
    "MaskedMultiDiscrete",
    "TaskType",
    "WorkloadSpec",
    "edgesched_v0",
    "edgesched_v1",
    "env",
    "make_config",
    "parallel_env",
    "preset_names",
    "random_feasible_actions",
    "sim_view",
    "vector_env",
]

PARALLEL_ID = "edgesched/EdgeSched-v1"
CENTRAL_ID = "edgesched/EdgeSchedCentral-v1"
#: the deprecated v0 ids (one more release; each env made with them warns)
PARALLEL_ID_V0 = "edgesched/EdgeSched-v0"
CENTRAL_ID_V0 = "edgesched/EdgeSchedCentral-v0"

for _id, _version in ((PARALLEL_ID, 1), (PARALLEL_ID_V0, 0)):
    if _id not in pettingzoo.parallel_registry:
        _module = f"edgesched_env.edgesched_v{_version}"
        pettingzoo.register("parallel", _id, entry_point=f"{_module}:parallel_env")
        pettingzoo.register("aec", _id, entry_point=f"{_module}:env")
for _id, _version in ((CENTRAL_ID, 1), (CENTRAL_ID_V0, 0)):
    if _id not in gymnasium.registry:
        gymnasium.register(
            _id,
            entry_point="edgesched_env.central_env:CentralEdgeSchedEnv",
            vector_entry_point="edgesched_env.central_env:CentralEdgeSchedVectorEnv",
            kwargs={"version": _version},
        )
