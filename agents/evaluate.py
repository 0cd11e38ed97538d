"""Run schedulers on identical seeds and collect tidy per-episode records.

A record is one episode: ``scheduler``, ``seed``, ``preset``, every key of the environment's
metrics dict (SPEC.md section 10: ``mean_jct``, ``p50_jct``, ``p95_jct``, ``p99_jct`` and
``makespan`` in slots, ``mean_tasks_in_system``, ``utilization`` per resource in ``[0, 1]``,
``conflicts``, ``rounds``, ...) and ``wall_time_s`` (seconds, the only key that is not a
deterministic function of the seed).

>>> from agents.evaluate import evaluate
>>> recs = evaluate("min", "tapfinger-synthetic", seeds=[0, 1], num_tasks=20)
>>> sorted({r["seed"] for r in recs}), recs[0]["scheduler"]
([0, 1], 'min')
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from agents.base import Scheduler
from edgesched_env.config import EnvConfig
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.sim.metrics import jct_array

__all__ = ["episode_trace", "evaluate", "run_episode"]


def run_episode(scheduler: Scheduler, env: EdgeSchedParallelEnv, seed: int) -> dict[str, Any]:
    """Play one episode of ``env`` (seeded ``seed``) with ``scheduler``; return its metrics.

    The scheduler is bound to ``env`` and reset with the same seed, so the pair (env seed,
    scheduler seed) fixes the episode bit for bit.
    """
    scheduler.bind(env)
    obs, infos = env.reset(seed=seed)
    scheduler.reset(seed=seed)
    while env.agents:
        obs, _, _, _, infos = env.step(scheduler.act(obs, infos))
    metrics = env.last_metrics
    assert metrics is not None
    return metrics


def episode_trace(env: EdgeSchedParallelEnv) -> dict[str, Any]:
    """Time series and per-task data of the episode ``env`` just finished (for plots).

    Reads the simulator directly (the harness may; schedulers may not). Keys:

    * ``jct``: ``(A,)`` int64, JCT (slots) of every task that spent a slot in the system, in
      arrival order (:func:`edgesched_env.sim.metrics.jct_array`);
    * ``in_system``: ``(S,)`` int64, tasks in the system at each slot's reward time;
    * ``used``: ``(S, N, R)`` int64, units allocated per cluster and resource at each slot;
    * ``capacity``: ``(N, R)`` int64; ``resource_names``: tuple of ``R`` names;
    * ``type_names``: tuple of ``K`` names; and per task (``T``): ``type_idx``, ``cluster``,
      ``placed_slot``, ``completion_slot`` (int64, -1 when it never happened), ``alloc``
      ``(T, R)`` (units at the end: the last allocation held).
    """
    sim = env.view
    used = np.stack(sim.hist_used) if sim.hist_used else np.zeros((0, *sim.capacity.shape), np.int64)
    return {
        "jct": jct_array(sim)[0].astype(np.int64),
        "in_system": np.asarray(sim.hist_in_system, dtype=np.int64),
        "used": used.astype(np.int64),
        "capacity": sim.capacity.copy(),
        "resource_names": tuple(env.config.resource_names),
        "type_names": tuple(t.name for t in env.config.workload.task_types),
        "type_idx": sim.type_idx.copy(),
        "cluster": sim.host.copy(),
        "placed_slot": sim.placed_slot.copy(),
        "completion_slot": sim.completion_slot.copy(),
        "alloc": sim.alloc.copy(),
    }


def evaluate(
    scheduler: Scheduler | str,
    preset: str | EnvConfig,
    seeds: list[int] | range,
    **env_overrides: Any,
) -> list[dict[str, Any]]:
    """Run ``scheduler`` (an instance or a registered name) on ``preset`` for each seed.

    Args:
        scheduler: the scheduler, or a name from :data:`agents.baselines.SCHEDULERS`.
        preset: a preset name or an :class:`EnvConfig`.
        seeds: episode seeds (the env and the scheduler are both seeded with each).
        **env_overrides: config overrides (``num_tasks=40``, ``arrival_rate=3.0``, ...).

    Returns:
        One record per seed, in the order of ``seeds``: ``scheduler``, ``seed``, ``preset``,
        the env's metric keys, and ``wall_time_s``.
    """
    if isinstance(scheduler, str):
        from agents.baselines import make_scheduler

        scheduler = make_scheduler(scheduler)
    env = EdgeSchedParallelEnv(preset, **env_overrides)
    records = []
    for seed in seeds:
        t0 = time.perf_counter()
        metrics = run_episode(scheduler, env, int(seed))
        rec: dict[str, Any] = {
            "scheduler": scheduler.name,
            "seed": int(seed),
            "preset": env.config.name,
        }
        rec.update(metrics)
        rec["wall_time_s"] = time.perf_counter() - t0
        records.append(rec)
    return records
