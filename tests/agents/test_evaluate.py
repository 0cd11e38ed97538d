"""The one evaluation loop: ``evaluate`` plays all seeds as one vector-env batch, and its records
equal the per-episode ParallelEnv runs bit for bit (every key but ``wall_time_s``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agents.base import SchedulerBase
from agents.baselines import heuristic_names, make_scheduler
from agents.baselines.oracle_plan import OraclePlanScheduler, PlanReplayScheduler
from agents.baselines.random_feasible import RandomScheduler
from agents.evaluate import evaluate, play_episodes, run_episode, runs_batched
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.vector import EdgeSchedVectorEnv

SEEDS = [5, 2, 9]  # not contiguous, not sorted


def reference(name: str, preset: str, seeds: list[int], **overrides: Any) -> list[dict[str, Any]]:
    """The per-episode records: one parallel env and one scheduler, reset with each seed."""
    env = EdgeSchedParallelEnv(preset, **overrides)
    sched = make_scheduler(name)
    out = []
    for seed in seeds:
        metrics = run_episode(sched, env, seed)
        out.append({"scheduler": sched.name, "seed": seed, "preset": env.config.name, **metrics})
    return out


def assert_same_records(batched: list[dict[str, Any]], single: list[dict[str, Any]]) -> None:
    assert all(r["wall_time_s"] >= 0.0 for r in batched)
    # assert_equal: exact floats, NaN equal to NaN, nested dicts (utilisation) key by key
    np.testing.assert_equal([{k: v for k, v in r.items() if k != "wall_time_s"} for r in batched], single)


def check(name: str, preset: str, seeds: list[int] = SEEDS, **overrides: Any) -> list[dict[str, Any]]:
    sched = make_scheduler(name)
    assert runs_batched(sched), f"{name} should run batched"
    recs = evaluate(sched, preset, seeds, **overrides)
    assert_same_records(recs, reference(name, preset, seeds, **overrides))
    return recs


# ---------------------------------------------------------------------- every scheduler (slow)
SWEEP = [
    ("tapfinger-synthetic", {}),
    ("tapfinger-hetero6", {}),
    ("edge-ml-small", {}),  # three resources, measured speeds
    ("tapfinger-synthetic", {"mode": "multi"}),
]


@pytest.mark.slow
@pytest.mark.parametrize("name", heuristic_names())
@pytest.mark.parametrize(("preset", "extra"), SWEEP, ids=[f"{p}-{e.get('mode', 'single')}" for p, e in SWEEP])
def test_every_heuristic_batched_equals_per_episode(name: str, preset: str, extra: dict[str, Any]) -> None:
    check(name, preset, num_tasks=12, **extra)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hgat", "hgat-greedy", "hgat-sample"])
@pytest.mark.parametrize("preset", ["tapfinger-synthetic", "tapfinger-hetero6", "edge-ml-small"])
def test_shipped_hgat_batched_equals_per_episode(name: str, preset: str) -> None:
    check(name, preset, num_tasks=12)


# ------------------------------------------------------------------ tiny versions (default run)
@pytest.mark.parametrize("name", ["random", "min", "tiresias", "optimus-np", "oracle-greedy", "hgat"])
def test_batched_equals_per_episode(name: str) -> None:
    check(name, "tapfinger-synthetic", num_tasks=8)


@pytest.mark.parametrize("name", ["fifo-greedy", "srtf"])
def test_batched_equals_per_episode_multi_task_and_hetero(name: str) -> None:
    check(name, "tapfinger-hetero6", [3, 1], num_tasks=8, mode="multi")


def test_unequal_lengths_unsorted_and_repeated_seeds() -> None:
    seeds = [5, 2, 9, 2]
    recs = check("tiresias", "tapfinger-synthetic", seeds, num_tasks=12)
    assert [r["seed"] for r in recs] == seeds  # in the order given
    assert len({r["rounds"] for r in recs[:3]}) == 3  # the rows end at different steps
    strip = [{k: v for k, v in r.items() if k != "wall_time_s"} for r in recs]
    np.testing.assert_equal(strip[1], strip[3])  # a repeated seed is the same episode


def test_traces_of_a_batch_equal_the_single_episodes() -> None:
    batched = play_episodes("optimus-np", "tapfinger-synthetic", SEEDS, {"num_tasks": 10}, traces=True)
    single = play_episodes(
        "optimus-np", "tapfinger-synthetic", SEEDS, {"num_tasks": 10}, traces=True, batched=False
    )
    for b, s in zip(batched, single, strict=True):
        assert b.seed == s.seed and b.trace is not None and s.trace is not None
        assert b.trace["in_system"].shape[0] == b.metrics["makespan"]
        np.testing.assert_equal(b.trace, s.trace)
        np.testing.assert_equal(b.metrics, s.metrics)


# ------------------------------------------------------------------------------- the fallback
class _OldForm(RandomScheduler):
    """Overrides ``act`` itself (the older form): written against one parallel env."""

    def act(self, observations: Any, infos: Any) -> Any:
        return super().act(observations, infos)


class _Bare:
    """A scheduler that only follows the protocol (no SchedulerBase)."""

    name = "bare"

    def bind(self, env: Any) -> None:
        self.inner = RandomScheduler()
        self.inner.bind(env)

    def reset(self, seed: int | None = None) -> None:
        self.inner.reset(seed)

    def act(self, observations: Any, infos: Any) -> Any:
        return self.inner.act(observations, infos)


def test_fallback_rule() -> None:
    assert runs_batched(make_scheduler("random")) and runs_batched(make_scheduler("tiresias"))
    assert not runs_batched(_OldForm()) and not runs_batched(_Bare())
    assert not PlanReplayScheduler.batchable and not OraclePlanScheduler.batchable
    assert not runs_batched(PlanReplayScheduler())
    # the per-episode fallback gives the same records as the batch
    want = reference("random", "tapfinger-synthetic", SEEDS, num_tasks=8)
    for sched in (_OldForm(), _Bare()):
        recs = evaluate(sched, "tapfinger-synthetic", SEEDS, num_tasks=8)
        assert_same_records(recs, [{**r, "scheduler": sched.name} for r in want])


# --------------------------------------------------------------- SchedulerBase on a vector env
def test_reset_with_one_seed_per_episode() -> None:
    venv = EdgeSchedVectorEnv("tapfinger-synthetic", num_envs=3, num_tasks=8)
    sched = make_scheduler("random")
    assert isinstance(sched, SchedulerBase)
    sched.bind(venv)
    sched.reset(seed=SEEDS)
    assert [sched.episode_seed(i) for i in range(3)] == SEEDS
    for clone, seed in zip(sched._clones, SEEDS, strict=True):
        assert clone.rng.random() == np.random.default_rng(seed).random()
    sched.reset(seed=7)  # an int: episode i gets 7 + i, as the vector env's reset(seed=7)
    assert [sched.episode_seed(i) for i in range(3)] == [7, 8, 9]
    with pytest.raises(ValueError, match="2 seeds for 3 episodes"):
        sched.reset(seed=[1, 2])
    single = make_scheduler("random")
    single.bind(EdgeSchedParallelEnv("tapfinger-synthetic"))
    with pytest.raises(ValueError, match="needs a vector env"):
        single.reset(seed=[1, 2])


def test_retired_rows_get_the_noop_and_no_decision() -> None:
    venv = EdgeSchedVectorEnv("tapfinger-synthetic", num_envs=3, num_tasks=8)
    sched = make_scheduler("min")
    assert isinstance(sched, SchedulerBase)
    sched.batch_act = False  # the clones decide (min's batched act_batch would not ask them)
    sched.bind(venv)
    obs, infos = venv.reset(seed=SEEDS)
    sched.reset(seed=SEEDS)
    sched.retire_rows([1])

    def refuse(*_: Any) -> Any:
        raise AssertionError("a retired row's clone was asked")

    sched._clones[1].act_agents = refuse  # type: ignore[method-assign]
    acts = sched.act(obs, infos)
    assert (acts[1] == sched.noop()).all() and not (acts[0] == sched.noop()).all()
    sched.reset(seed=SEEDS)  # a reset plays every row again
    with pytest.raises(AssertionError, match="retired"):
        sched.act(obs, infos)
