"""agents: schedulers for edgesched (heuristic baselines, the HGAT-MAPPO learner, RL-library adapters).

May import :mod:`edgesched_env`; the environment never imports this package.
"""

from agents.base import Scheduler, SchedulerBase

__all__ = ["Scheduler", "SchedulerBase"]
