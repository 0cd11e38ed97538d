"""Batched act: bound to a vector env, a scheduler with ``act_batch`` decides every episode of a
step with one call, and each row's episode equals the ParallelEnv's for its seed, bit for bit.

Row ``i`` of ``reset(seed=s)`` is the ParallelEnv's episode for ``s + i`` (its ``k``-th episode after
autoresets: the ParallelEnv's ``k``-th, the scheduler reset with ``s + i + k * E``). Each test also
checks that the batched path was the one taken (the per-episode clones never decide).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import edgesched_env
from agents.base import SchedulerBase
from agents.baselines import SCHEDULERS, make_scheduler
from agents.baselines.min_request import MinRequestScheduler

BATCHED = ["random", "min", "fifo-greedy", "fair-share", "drf"]
PRESETS = ["tapfinger-synthetic", "edge-ml-small"]
E = 4

Episode = dict[str, Any]  # actions: [(N, len(nvec))], metrics: dict


def run_parallel(name: str, preset: str, seed: int, episodes: int = 1, **setting: Any) -> list[Episode]:
    """``episodes`` episodes of one ParallelEnv (reset with ``seed``, then ``reset()``); the
    scheduler is reset with ``seed + k * E`` before the ``k``-th."""
    env = edgesched_env.parallel_env(preset, **setting)
    sched = make_scheduler(name)
    sched.bind(env)
    out: list[Episode] = []
    for k in range(episodes):
        obs, infos = env.reset(seed=seed if k == 0 else None)
        sched.reset(seed=seed + k * E)
        ep: Episode = {"actions": []}
        while env.agents:
            actions = sched.act(obs, infos)
            ep["actions"].append(np.stack([np.asarray(actions[a]) for a in env.possible_agents]))
            obs, _, _, _, infos = env.step(actions)
        ep["metrics"] = env.last_metrics
        out.append(ep)
    return out


def _fail(*_: Any) -> Any:
    raise AssertionError("a per-episode clone decided: the batched path was not taken")


def run_vector(
    sched: SchedulerBase, preset: str, seed: int, episodes: int = 1, **setting: Any
) -> tuple[list[list[Episode]], int]:
    """``episodes`` episodes of each of the ``E`` rows, and the number of ``act_batch`` calls."""
    venv = edgesched_env.vector_env(preset, num_envs=E, **setting)
    same_step = venv.autoreset_mode == "same_step"
    sched.bind(venv)
    calls = [0]
    batch = sched.act_batch

    def counted(*args: Any) -> Any:
        calls[0] += 1
        return batch(*args)

    sched.act_batch = counted  # type: ignore[method-assign]
    for clone in sched._clones:
        clone.act_agents = _fail  # type: ignore[method-assign]
    obs, infos = venv.reset(seed=seed)
    sched.reset(seed=seed)
    done: list[list[Episode]] = [[] for _ in range(E)]
    cur: list[Episode] = [{"actions": []} for _ in range(E)]
    ignored = np.zeros(E, dtype=bool)
    while min(len(d) for d in done) < episodes:
        actions = sched.act(obs, infos)
        obs, _, term, trunc, infos = venv.step(actions)
        for i in range(E):
            if ignored[i]:
                continue
            cur[i]["actions"].append(actions[i].copy())
            if term[i] or trunc[i]:
                if same_step:  # the row is already reset: its metrics are in the infos (flat)
                    cur[i]["metrics"] = {k: v[i] for k, v in infos["metrics"].items()}
                else:
                    cur[i]["metrics"] = venv.episode_metrics(i)
                done[i].append(cur[i])
                cur[i] = {"actions": []}
        ignored = np.zeros(E, dtype=bool) if same_step else term | trunc
    return done, calls[0]


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = np.asarray(v, dtype=np.float64)
    return out


def assert_same(got: Episode, ref: Episode, where: str) -> None:
    assert len(got["actions"]) == len(ref["actions"]), f"{where}: episode lengths differ"
    for t, (a, b) in enumerate(zip(got["actions"], ref["actions"])):
        np.testing.assert_array_equal(a, b, err_msg=f"{where}: actions of round {t}")
    metrics, expected = got["metrics"], ref["metrics"]
    if any("." in k for k in metrics):  # a vector env's flat infos (SAME_STEP autoreset)
        expected = {k: v for k, v in _flat(expected).items() if k in metrics}
        assert len(expected) == len(metrics), f"{where}: metric names differ"
    np.testing.assert_equal(metrics, expected, err_msg=f"{where}: final metrics")


@pytest.mark.parametrize("mode", ["single", "multi"])
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("name", BATCHED)
def test_batched_rows_equal_the_parallel_env_episodes(name: str, preset: str, mode: str) -> None:
    setting = {"num_tasks": 20, "mode": mode}
    sched = make_scheduler(name)
    assert sched.acts_batched
    seed = 11
    eps, calls = run_vector(sched, preset, seed, **setting)
    assert calls >= max(len(ep[0]["actions"]) for ep in eps) > 0
    for i in range(E):
        ref = run_parallel(name, preset, seed + i, **setting)[0]
        assert_same(eps[i][0], ref, f"{name} {preset} {mode}: row {i}")


@pytest.mark.parametrize("autoreset", ["next_step", "same_step"])
@pytest.mark.parametrize("name", ["random", "drf"])
def test_batched_rows_after_autoresets(name: str, autoreset: str) -> None:
    """Rows run past their ends: each row's later episodes (scheduler reseeded ``s + i + k * E``)
    are the ParallelEnv's, in both autoreset modes (NEXT_STEP: the reset step's row is ignored)."""
    setting = {"num_tasks": 4}
    seed = 5
    eps, calls = run_vector(
        make_scheduler(name), "tapfinger-synthetic", seed, episodes=3, autoreset_mode=autoreset, **setting
    )
    assert calls > 0
    for i in range(E):
        refs = run_parallel(name, "tapfinger-synthetic", seed + i, episodes=3, **setting)
        for k in range(3):
            assert_same(eps[i][k], refs[k], f"{name} ({autoreset}): row {i}, episode {k}")


def test_batched_path_reads_other_observation_layouts() -> None:
    """Under a non-default observation option the batched path reads the round's default-layout
    observation from the env (as the clone path does), with the same episodes."""
    setting = {"num_tasks": 10, "obs_layout": "flat"}
    eps, calls = run_vector(make_scheduler("random"), "tapfinger-synthetic", 2, **setting)
    assert calls > 0
    for i in range(E):
        assert_same(eps[i][0], run_parallel("random", "tapfinger-synthetic", 2 + i, **setting)[0], f"row {i}")


def test_forced_fallback_and_who_is_batched() -> None:
    """``batch_act = False`` forces the clone loop; schedulers whose decision the batched planner
    does not reproduce (estimating, elastic, oracle, a subclass overriding a per-episode hook) are
    never batched."""
    for name in BATCHED:
        assert make_scheduler(name).acts_batched, name
    for name in SCHEDULERS:
        if name not in BATCHED:
            assert not make_scheduler(name).acts_batched, name

    class Oldest(MinRequestScheduler):
        def choose(self, agent: int, cand: Any, free: Any) -> Any:
            return 0, cand.hi[0].copy()

    assert not Oldest().acts_batched
    sched = make_scheduler("drf")
    sched.batch_act = False
    assert not sched.acts_batched
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=2, num_tasks=5)
    sched.bind(venv)
    sched.act_batch = _fail  # type: ignore[method-assign]
    obs, infos = venv.reset(seed=0)
    sched.reset(seed=0)
    assert sched.act(obs, infos).shape == venv.action_space.shape


def test_hgat_batched_forward_is_opt_in_and_plays_feasible_deterministic_episodes() -> None:
    """HGAT's one-forward-pass path is opt-in (``batch_act = True``): a batched matmul is not
    bit-identical to a batch of one on CPU, so near-tied choices may differ from the per-episode
    runs. Opted in, it is deterministic and feasible."""
    pytest.importorskip("torch")
    from agents.hgat.scheduler import HGATScheduler

    assert not HGATScheduler.pretrained("tapfinger-synthetic").acts_batched
    results = []
    for _ in range(2):
        sched = HGATScheduler.pretrained("tapfinger-synthetic", mode="sample")
        sched.batch_act = True
        assert sched.acts_batched
        eps, calls = run_vector(sched, "tapfinger-synthetic", 3, num_tasks=10)
        assert calls > 0
        results.append(eps)
    for i in range(E):
        assert_same(results[0][i][0], results[1][i][0], f"hgat batched: row {i}")
        assert results[0][i][0]["metrics"]["tasks_completed"] == 10
        assert results[0][i][0]["metrics"]["infeasible_actions"] == 0
