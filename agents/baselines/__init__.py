"""Heuristic baseline schedulers, one module each, in an explicit registry.

Every scheduler follows :class:`agents.base.Scheduler` (``bind``, ``reset(seed)``, ``act``), emits
only exactly feasible actions, uses its own seeded RNG, and says in its docstring how it handles
conflicts (SPEC.md section 6). Those that use the elastic API (``uses_elastic_api``) or hidden
knowledge (``uses_oracle``, with "oracle" in the name) declare it. See ``docs/baselines.md``.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.base import SchedulerBase
from agents.baselines.drf import DrfScheduler
from agents.baselines.fair_share import FairShareScheduler
from agents.baselines.fifo_greedy import FifoGreedyScheduler
from agents.baselines.lower_bound import lower_bound_jct, lower_bound_metrics
from agents.baselines.min_request import MinRequestScheduler
from agents.baselines.optimus import (
    OptimusNonPreemptivePaperScheduler,
    OptimusNonPreemptiveScheduler,
    OptimusPaperScheduler,
    OptimusScheduler,
)
from agents.baselines.oracle_greedy import OracleGreedyScheduler
from agents.baselines.oracle_plan import OraclePlanScheduler
from agents.baselines.random_feasible import RandomScheduler
from agents.baselines.srtf import SrtfScheduler
from agents.baselines.tetris import TetrisScheduler
from agents.baselines.tiresias import TiresiasNonPreemptiveScheduler, TiresiasScheduler
from edgesched_env._names import unknown_name_error

__all__ = [
    "LOWER_BOUND",
    "OFFLINE",
    "PRETRAINED_NAMES",
    "SCHEDULERS",
    "heuristic_names",
    "lower_bound_jct",
    "lower_bound_metrics",
    "make_scheduler",
    "scheduler_names",
]

#: Registry: name -> factory. Each scheduler's docstring says how it handles conflicts.
SCHEDULERS: dict[str, Callable[[], SchedulerBase]] = {
    "random": RandomScheduler,
    "min": MinRequestScheduler,
    "fifo-greedy": FifoGreedyScheduler,
    "fair-share": FairShareScheduler,
    "drf": DrfScheduler,
    "tiresias": TiresiasScheduler,
    "tiresias-np": TiresiasNonPreemptiveScheduler,
    "optimus": OptimusScheduler,
    "optimus-np": OptimusNonPreemptiveScheduler,
    "optimus-paper": OptimusPaperScheduler,
    "optimus-np-paper": OptimusNonPreemptivePaperScheduler,
    "srtf": SrtfScheduler,
    "tetris": TetrisScheduler,
    "oracle-greedy": OracleGreedyScheduler,
    "oracle-plan": OraclePlanScheduler,
}

#: The name of the lower-bound figure in benchmark tables (not a scheduler).
LOWER_BOUND = "lower-bound"


def scheduler_names() -> list[str]:
    """Registered scheduler names."""
    return list(SCHEDULERS)


#: Registered but not in the default bench: solved offline per episode (seconds to minutes of
#: CP-SAT), run them by name (``--schedulers oracle-plan``, ``benchmarks/headroom.py``).
OFFLINE = ("oracle-plan",)


def heuristic_names() -> list[str]:
    """The default set of ``edgesched bench``: every registered scheduler except the offline
    :data:`OFFLINE` ones (the online oracle ``oracle-greedy`` included, as a labelled reference)."""
    return [n for n in SCHEDULERS if n not in OFFLINE]


#: The bare names of the shipped HGAT agents (``agents.pretrained``), with their decision mode:
#: resolved at ``bind`` to the bound env's preset's checkpoint.
PRETRAINED_NAMES: dict[str, str | None] = {"hgat": None, "hgat-greedy": "greedy", "hgat-sample": "sample"}


def _extra_of_name(name: str) -> str | None:
    """The extra the scheduler ``name`` needs beyond the base install, or ``None``."""
    if name.split(":", 1)[0] in PRETRAINED_NAMES:  # hgat, hgat:PATH, hgat-greedy:PATH, ...
        return "agents"
    if name.startswith("sb3:"):
        return "sb3"
    return "plan" if name == "oracle-plan" else None


def make_scheduler(name: str) -> SchedulerBase:
    """Instantiate a registered scheduler by name, or a trained agent by ``hgat:PATH`` (the decision
    mode its training selected), ``hgat-greedy:PATH`` or ``hgat-sample:PATH``, ``PATH`` a checkpoint
    directory; the bare ``hgat``, ``hgat-greedy`` and ``hgat-sample`` load the shipped checkpoint
    of the preset of the env they are bound to (:mod:`agents.pretrained`).

    A name whose scheduler needs an extra that is not installed raises
    :class:`agents._optional.MissingExtraError` naming it (``hgat*``: ``[agents]``, ``sb3:``:
    ``[sb3]``, ``oracle-plan``: ``[plan]``)."""
    extra = _extra_of_name(name)
    if extra is not None:
        from agents._optional import require_extra

        require_extra(extra, f"{name!r} scheduler")
    if name in PRETRAINED_NAMES:
        from agents.hgat.scheduler import HGATScheduler

        return HGATScheduler(None, mode=PRETRAINED_NAMES[name])  # type: ignore[arg-type]
    for prefix, mode in (("hgat:", None), ("hgat-greedy:", "greedy"), ("hgat-sample:", "sample")):
        if name.startswith(prefix):
            from pathlib import Path

            from agents.hgat.scheduler import HGATScheduler

            path = name[len(prefix) :]
            if not (Path(path) / "checkpoint.json").is_file():
                raise ValueError(f"{name!r}: {path!r} is not a checkpoint directory (no checkpoint.json)")
            return HGATScheduler(path, mode=mode)  # type: ignore[arg-type]
    if name.startswith("sb3:"):  # a policy trained with agents.integrations.sb3 and saved
        from agents.integrations.sb3 import as_scheduler

        return as_scheduler(name[len("sb3:") :])
    if name not in SCHEDULERS:
        raise unknown_name_error("scheduler", name, [*scheduler_names(), *PRETRAINED_NAMES])
    return SCHEDULERS[name]()
