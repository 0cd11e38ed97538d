"""Fair baselines: the non-oracle heuristics read the episode only through the observation.

:class:`agents.baselines._observed.ObservedView` rebuilds what the heuristics need from the
EdgeSched-v1 observation; these tests check (1) that it states what the simulator holds wherever
the observation shows it, through whole episodes of the elastic schedulers (preemption, tasks
without a running-table row, multi-task mode), and (2) that a non-oracle scheduler touches the
env's simulator view for nothing but the elastic ``resize``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agents.baselines import OFFLINE, SCHEDULERS, heuristic_names, make_scheduler
from agents.baselines._common import HeuristicScheduler
from agents.baselines._observed import ObservedView
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.sim.core import DONE, RUNNING

FAIR = [n for n in heuristic_names() if not SCHEDULERS[n]().uses_oracle]


def _compare(seen: ObservedView, env: EdgeSchedParallelEnv) -> None:
    v = env.view
    for k in ("free", "pending", "queue_len", "running_count"):
        np.testing.assert_array_equal(getattr(seen, k), getattr(v, k), err_msg=k)
    assert (seen.t, seen.round_in_slot) == (v.t, v.round_in_slot)
    np.testing.assert_array_equal(seen.status == RUNNING, v.status == RUNNING)
    np.testing.assert_array_equal(seen.status == DONE, v.status == DONE)
    known = seen.status > 0
    for k in ("type_idx", "arrival_slot", "num_visible", "min_request"):
        np.testing.assert_array_equal(getattr(seen, k)[known], getattr(v, k)[known], err_msg=k)
    run = v.status == RUNNING
    for k in ("alloc", "host", "placed_slot"):
        np.testing.assert_array_equal(getattr(seen, k)[run], getattr(v, k)[run], err_msg=k)


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("tiresias", {}),
        ("optimus", {}),
        ("srtf", {}),
        ("tiresias", {"mode": "multi"}),
        ("optimus", {"mode": "multi"}),
        ("optimus-paper", {"max_pending": 3}),
    ],
)
def test_the_observed_view_states_what_the_simulator_holds(name: str, overrides: dict[str, Any]) -> None:
    env = EdgeSchedParallelEnv("tapfinger-synthetic", num_tasks=80, **overrides)
    sched = make_scheduler(name)
    assert isinstance(sched, HeuristicScheduler)
    sched.bind(env)
    obs, infos = env.reset(seed=2)
    sched.reset(seed=2)
    checks = 0
    while env.agents:
        actions = sched.act(obs, infos)
        assert sched.observed is not None
        _compare(sched.observed, env)  # after the round's update and the elastic resizes
        checks += 1
        obs, _, _, _, infos = env.step(actions)
    assert checks > 20 and env.view.num_completed > 0


class _OnlyResize:
    """Stands in for the env's simulator view: anything but ``resize`` is a test failure."""

    def __init__(self, view: Any, name: str) -> None:
        self._view, self._name = view, name

    def resize(self, task: int, units: Any) -> None:
        self._view.resize(task, units)

    def __getattr__(self, attr: str) -> Any:
        raise AssertionError(
            f"{self._name} read the simulator view's {attr!r}: it may only read the observation"
        )


@pytest.mark.parametrize("name", FAIR)
def test_a_fair_scheduler_reads_only_the_observation(name: str) -> None:
    env = EdgeSchedParallelEnv("edge-ml-small", num_tasks=25)
    sched = make_scheduler(name)
    sched.bind(env)
    guard = _OnlyResize(env.view, name)
    sched.view = guard  # type: ignore[assignment]
    if isinstance(sched, HeuristicScheduler):
        assert sched.observed is not None
        sched.observed._elastic = guard if sched.uses_elastic_api else None  # type: ignore[assignment]
    obs, infos = env.reset(seed=0)
    sched.reset(seed=0)
    while env.agents:
        obs, _, _, _, infos = env.step(sched.act(obs, infos))
    assert env.last_metrics is not None and env.last_metrics["tasks_completed"] > 0


def test_oracles_are_the_only_schedulers_that_declare_hidden_access() -> None:
    oracles = {n for n in SCHEDULERS if SCHEDULERS[n]().uses_oracle}
    assert oracles == {n for n in SCHEDULERS if "oracle" in n}
    assert set(OFFLINE) <= oracles
    assert "random" in FAIR and "optimus" in FAIR


def test_an_observation_without_the_v1_keys_is_a_clear_error() -> None:
    env = EdgeSchedParallelEnv("tapfinger-synthetic")
    seen = ObservedView(env.config)
    obs, _ = env.reset(seed=0)
    stripped = {a: {k: v for k, v in o.items() if k != "running_info"} for a, o in obs.items()}
    with pytest.raises(KeyError, match="EdgeSched-v1 observation"):
        seen.update(stripped)


def test_resize_needs_the_elastic_api() -> None:
    env = EdgeSchedParallelEnv("tapfinger-synthetic")
    seen = ObservedView(env.config)
    with pytest.raises(RuntimeError, match="uses_elastic_api"):
        seen.resize(0, np.zeros(2, dtype=np.int64))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_heuristics_play_a_v0_env_the_same_as_v1() -> None:
    """On the deprecated v0 (no exact keys in what it returns) a scheduler reads the env's
    default-layout observation, which has them: the same episode as on v1."""
    records = []
    for version in (1, 0):
        env = EdgeSchedParallelEnv("tapfinger-synthetic", num_tasks=30, version=version)
        sched = make_scheduler("optimus")
        sched.bind(env)
        obs, infos = env.reset(seed=4)
        sched.reset(seed=4)
        while env.agents:
            obs, _, _, _, infos = env.step(sched.act(obs, infos))
        records.append(env.last_metrics)
    assert records[0] == records[1]
