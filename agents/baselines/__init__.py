"""Heuristic baseline schedulers, one module each, in an explicit registry."""

from __future__ import annotations

from collections.abc import Callable

from agents.base import SchedulerBase
from agents.baselines.random_feasible import RandomScheduler

__all__ = ["SCHEDULERS", "make_scheduler", "scheduler_names"]

#: Registry: name -> factory. Each scheduler's docstring says how it handles conflicts.
SCHEDULERS: dict[str, Callable[[], SchedulerBase]] = {
    "random": RandomScheduler,
}


def scheduler_names() -> list[str]:
    """Registered scheduler names."""
    return list(SCHEDULERS)


def make_scheduler(name: str) -> SchedulerBase:
    """Instantiate a registered scheduler by name."""
    if name not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {name!r}; available: {scheduler_names()}")
    return SCHEDULERS[name]()
