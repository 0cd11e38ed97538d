"""Shared helpers of the agents tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agents.base import SchedulerBase
from edgesched_env.parallel_env import EdgeSchedParallelEnv


def play_episode(
    scheduler: SchedulerBase, preset: str, seed: int, **overrides: Any
) -> tuple[dict[str, Any], dict[str, int]]:
    """Run one episode, checking every step's infos; return (metrics, counters).

    Counters: ``infeasible``, ``clipped``, ``conflict``, ``placed`` picks over the episode.
    """
    env = EdgeSchedParallelEnv(preset, **overrides)
    scheduler.bind(env)
    obs, infos = env.reset(seed=seed)
    scheduler.reset(seed=seed)
    counts = {"infeasible": 0, "clipped": 0, "conflict": 0, "placed": 0}
    while env.agents:
        actions = scheduler.act(obs, infos)
        for agent, act in actions.items():
            assert env.action_space(agent).contains(np.asarray(act, dtype=np.int64)), (agent, act)
        obs, _, _, _, infos = env.step(actions)
        for info in infos.values():
            for key in counts:
                val = info[key]
                counts[key] += int(np.sum(val)) if isinstance(val, list) else int(val)
    assert env.last_metrics is not None
    return env.last_metrics, counts


@pytest.fixture
def play() -> Any:
    """The :func:`play_episode` helper."""
    return play_episode
