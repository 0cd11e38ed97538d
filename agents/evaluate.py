"""Run schedulers on identical seeds and collect tidy per-episode records."""

from __future__ import annotations

import time
from typing import Any

from agents.base import Scheduler
from edgesched_env.config import EnvConfig
from edgesched_env.parallel_env import EdgeSchedParallelEnv

__all__ = ["evaluate", "run_episode"]


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


def evaluate(
    scheduler: Scheduler, preset: str | EnvConfig, seeds: list[int] | range, **env_overrides: Any
) -> list[dict[str, Any]]:
    """One record per seed: ``scheduler``, ``seed``, ``preset``, the env's metric keys and
    ``wall_time_s``."""
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
