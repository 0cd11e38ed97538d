"""The batched engine (edgesched_env.engine): one path from every env's step to the simulator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import edgesched_env
from edgesched_env.engine import Engine, StepResult
from edgesched_env.presets import make_config
from edgesched_env.vector import random_feasible_actions


def _count_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = Engine.step

    def counted(self: Engine, act: Any) -> StepResult:
        calls.append(self.num_envs)
        return original(self, act)

    monkeypatch.setattr(Engine, "step", counted)
    return calls


def test_every_env_steps_through_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_steps(monkeypatch)
    penv = edgesched_env.parallel_env("tapfinger-synthetic")
    obs, _ = penv.reset(seed=0)
    penv.step({a: penv.action_space(a).sample(mask=obs[a]["action_mask"]) for a in penv.agents})
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=3)
    vobs, _ = venv.reset(seed=0)
    venv.step(random_feasible_actions(vobs, np.random.default_rng(0)))
    assert calls == [1, 3]


def test_max_cycles_truncates_then_the_next_step_restarts_the_row() -> None:
    cfg = make_config("tapfinger-synthetic", max_cycles=3)
    eng = Engine(cfg, num_envs=2)
    eng.reset([np.random.default_rng(0), np.random.default_rng(1)])
    noop = np.zeros((2, cfg.num_clusters, 1 + cfg.num_resources), dtype=np.int64)
    noop[..., 0] = cfg.max_pending
    results = [eng.step(noop) for _ in range(4)]
    for res in results[:2]:
        assert not res.ended.any() and not res.metrics
    last = results[2]
    assert last.truncated.all() and not last.terminated.any()
    assert last.truncated_by_names.tolist() == ["max_cycles"] * 2
    assert sorted(last.metrics) == [0, 1]
    after = results[3]
    assert after.restarted.all() and not after.playing.any()
    assert not after.rewards.any() and not after.ended.any()
    assert not eng.needs_reset.any() and eng.steps.tolist() == [0, 0]
