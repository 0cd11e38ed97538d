"""Simulator core: pure numpy state and dynamics, no gymnasium and no scheduler."""

from edgesched_env.sim.core import DONE, FUTURE, RUNNING, WAITING, PickOutcome, Simulator
from edgesched_env.sim.metrics import episode_metrics, jct_array
from edgesched_env.sim.view import SimView

__all__ = [
    "DONE",
    "FUTURE",
    "RUNNING",
    "WAITING",
    "PickOutcome",
    "SimView",
    "Simulator",
    "episode_metrics",
    "jct_array",
]
