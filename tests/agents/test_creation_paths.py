"""Every scheduler drives every documented creation path with that path's usual loop.

The matrix: every registered scheduler (and the pretrained ``hgat``) x {ParallelEnv, AEC env,
``gymnasium.make("edgesched/EdgeSchedCentral-v1")``, vector env (``E = 2``)}. Each episode (every
joint action, every reward and the final metrics) must equal the ParallelEnv's for the same
seed; for the vector env episode ``i`` of ``reset(seed=s)`` is the ParallelEnv's with ``s + i``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
import pytest

import edgesched_env
from agents.base import SchedulerBase
from agents.baselines import make_scheduler, scheduler_names

PRESET = "tapfinger-synthetic"
#: tiny episodes; global reward so the central env's reward is comparable.
SETTING: dict[str, Any] = {"num_tasks": 5, "reward": "global"}
SEED = 3
PATHS = ("aec", "central", "vector")

Episode = dict[str, Any]  # actions: [(N, 1 + R)], rewards: [(N,)], metrics: dict


def _factory(name: str) -> Callable[[], SchedulerBase]:
    if name == "oracle-plan":
        pytest.importorskip("ortools")
        from agents.baselines.oracle_plan import OraclePlanScheduler

        return lambda: OraclePlanScheduler(time_limit=2.0, workers=1)
    if name == "hgat":
        pytest.importorskip("torch")
        from agents.hgat.scheduler import HGATScheduler

        return lambda: HGATScheduler.pretrained(PRESET)
    return lambda: make_scheduler(name)


NAMES = [*scheduler_names(), "hgat"]


# ------------------------------------------------------------------------------------ loops
def run_parallel(sched: SchedulerBase, seed: int, **setting: Any) -> Episode:
    env = edgesched_env.parallel_env(PRESET, **setting)
    sched.bind(env)
    obs, infos = env.reset(seed=seed)
    sched.reset(seed=seed)
    ep: Episode = {"actions": [], "rewards": []}
    while env.agents:
        actions = sched.act(obs, infos)
        ep["actions"].append(np.stack([np.asarray(actions[a]) for a in env.possible_agents]))
        obs, rew, _, _, infos = env.step(actions)
        ep["rewards"].append(np.array([rew[a] for a in env.possible_agents]))
    ep["metrics"] = env.last_metrics
    return ep


def run_aec(sched: SchedulerBase, seed: int, **setting: Any) -> Episode:
    env = edgesched_env.env(PRESET, **setting)
    sched.bind(env)
    env.reset(seed=seed)
    sched.reset(seed=seed)
    agents = env.possible_agents
    ep: Episode = {"actions": [], "rewards": []}
    round_actions: dict[str, Any] = {}
    for agent in env.agent_iter():
        obs, _, term, trunc, info = env.last()
        action = None if term or trunc else sched.act(obs, info)
        env.step(action)
        if action is None:
            continue
        round_actions[agent] = action
        if len(round_actions) == len(agents):  # the parallel round has been stepped
            ep["actions"].append(np.stack([np.asarray(round_actions[a]) for a in agents]))
            ep["rewards"].append(np.array([env.rewards[a] for a in agents]))
            round_actions = {}
    ep["metrics"] = env.unwrapped.last_metrics
    return ep


def run_central(sched: SchedulerBase, seed: int, **setting: Any) -> Episode:
    env = gymnasium.make("edgesched/EdgeSchedCentral-v1", preset=PRESET, **setting)
    sched.bind(env)
    obs, info = env.reset(seed=seed)
    sched.reset(seed=seed)
    n = len(env.unwrapped.agents)
    ep: Episode = {"actions": [], "rewards": []}
    done = False
    while not done:
        action = sched.act(obs, info)
        assert env.action_space.contains(action)
        ep["actions"].append(np.asarray(action).reshape(n, -1))
        obs, rew, term, trunc, info = env.step(action)
        ep["rewards"].append(np.full(n, rew))
        done = term or trunc
    ep["metrics"] = env.unwrapped.par.last_metrics  # (the info holds them too, in its format)
    return ep


def run_vector(
    sched: SchedulerBase, seed: int, num_envs: int = 2, episodes: int = 1, **setting: Any
) -> list[list[Episode]]:
    """``episodes`` episodes of each row of a vector env (NEXT_STEP autoreset)."""
    venv = edgesched_env.vector_env(PRESET, num_envs=num_envs, **setting)
    sched.bind(venv)
    obs, infos = venv.reset(seed=seed)
    sched.reset(seed=seed)
    done: list[list[Episode]] = [[] for _ in range(num_envs)]
    cur: list[Episode] = [{"actions": [], "rewards": []} for _ in range(num_envs)]
    ignored = np.zeros(num_envs, dtype=bool)  # rows whose action the next step ignores
    while min(len(d) for d in done) < episodes:
        actions = sched.act(obs, infos)
        assert actions.shape == venv.action_space.shape
        obs, rew, term, trunc, infos = venv.step(actions)
        for i in range(num_envs):
            if ignored[i]:
                assert infos["reset"][i]
                continue
            cur[i]["actions"].append(actions[i].copy())
            cur[i]["rewards"].append(rew[i].copy())
            if term[i] or trunc[i]:
                cur[i]["metrics"] = venv.episode_metrics(i)
                done[i].append(cur[i])
                cur[i] = {"actions": [], "rewards": []}
        ignored = term | trunc
    return done


RUNNERS = {"aec": run_aec, "central": run_central}


def assert_same_episode(got: Episode, ref: Episode, where: str) -> None:
    """``got`` equals ``ref`` (``where`` names the scheduler and path in the failure message)."""
    assert len(got["actions"]) == len(ref["actions"]), f"{where}: episode lengths differ"
    for t, (a, b) in enumerate(zip(got["actions"], ref["actions"])):
        np.testing.assert_array_equal(a, b, err_msg=f"{where}: actions of round {t}")
    for t, (a, b) in enumerate(zip(got["rewards"], ref["rewards"])):
        np.testing.assert_array_equal(a, b, err_msg=f"{where}: rewards of round {t}")
    np.testing.assert_equal(got["metrics"], ref["metrics"], err_msg=f"{where}: final metrics")


# ----------------------------------------------------------------------------------- matrix
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", NAMES)
def test_every_scheduler_on_every_path(name: str, path: str) -> None:
    make = _factory(name)
    if path == "vector":
        eps = run_vector(make(), SEED, **SETTING)
        for i in range(2):
            assert_same_episode(
                eps[i][0], run_parallel(make(), SEED + i, **SETTING), f"{name} on vector row {i}"
            )
    else:
        assert_same_episode(
            RUNNERS[path](make(), SEED, **SETTING), run_parallel(make(), SEED, **SETTING), f"{name} on {path}"
        )


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", NAMES)
def test_every_scheduler_on_every_path_larger(name: str, path: str) -> None:
    make = _factory(name)
    setting = {"num_tasks": 30, "reward": "global"}
    for seed in (0, 11):
        if path == "vector":
            eps = run_vector(make(), seed, num_envs=3, **setting)
            for i in range(3):
                assert_same_episode(
                    eps[i][0],
                    run_parallel(make(), seed + i, **setting),
                    f"{name} on vector row {i}, seed {seed}",
                )
        else:
            assert_same_episode(
                RUNNERS[path](make(), seed, **setting),
                run_parallel(make(), seed, **setting),
                f"{name} on {path}, seed {seed}",
            )


# ---------------------------------------------------------------------------- the details
@pytest.mark.parametrize("name", ["random", "tiresias"])
def test_vector_autoreset_episodes(name: str) -> None:
    """After an autoreset, row ``i``'s ``k``-th episode is a ParallelEnv's ``k``-th (reset with
    ``s + i``, then ``reset()``), the scheduler reset with ``s + i + k * E``."""
    e, seed = 2, 5
    eps = run_vector(make_scheduler(name), seed, num_envs=e, episodes=2, num_tasks=4)
    for i in range(e):
        env = edgesched_env.parallel_env(PRESET, num_tasks=4)
        sched = make_scheduler(name)
        sched.bind(env)
        for k in range(2):
            obs, infos = env.reset(seed=seed + i if k == 0 else None)
            sched.reset(seed=seed + i + k * e)
            ref: Episode = {"actions": [], "rewards": []}
            while env.agents:
                actions = sched.act(obs, infos)
                ref["actions"].append(np.stack([actions[a] for a in env.possible_agents]))
                obs, rew, _, _, infos = env.step(actions)
                ref["rewards"].append(np.array([rew[a] for a in env.possible_agents]))
            ref["metrics"] = env.last_metrics
            assert_same_episode(eps[i][k], ref, f"{name}: vector row {i}, episode {k}")


def test_central_vector_and_discrete_actions() -> None:
    """``gymnasium.make_vec``'s central vector env gets ``(E, N * (1 + R))`` joint actions, and
    ``action_format="discrete"`` encoded actions, on every path, with the same episodes."""
    ref = [run_parallel(make_scheduler("drf"), SEED + i, **SETTING) for i in range(2)]
    venv = gymnasium.make_vec(
        "edgesched/EdgeSchedCentral-v1",
        num_envs=2,
        vectorization_mode="vector_entry_point",
        preset=PRESET,
        **SETTING,
    )
    sched = make_scheduler("drf")
    sched.bind(venv)
    obs, infos = venv.reset(seed=SEED)
    sched.reset(seed=SEED)
    actions = sched.act(obs, infos)
    assert actions.shape == (2, 3 * 3)
    for i in range(2):
        np.testing.assert_array_equal(actions[i].reshape(3, -1), ref[i]["actions"][0])
    disc = {**SETTING, "action_format": "discrete"}
    iface = edgesched_env.parallel_env(PRESET, **disc).interface
    for path, runner in (("parallel", run_parallel), *RUNNERS.items()):
        got = runner(make_scheduler("drf"), SEED, **disc)
        decoded = [iface.decode(np.asarray(a).reshape(3)) for a in got["actions"]]
        assert_same_episode({**got, "actions": decoded}, ref[0], f"drf, discrete actions, on {path}")


@pytest.mark.parametrize("layout", [{"obs_layout": "flat"}, {"mask": "strict"}, {"info_format": "flat"}])
def test_interface_options(layout: dict[str, str]) -> None:
    """Other observation layouts and info formats reach the scheduler in the default form."""
    ref = run_parallel(make_scheduler("random"), SEED, **SETTING)
    for runner in (run_parallel, *RUNNERS.values()):
        assert_same_episode(
            runner(make_scheduler("random"), SEED, **SETTING, **layout),
            ref,
            f"random on {runner.__name__} with {layout}",
        )


def test_subclass_overriding_act_keeps_working_on_the_parallel_env() -> None:
    """The older form (a subclass overrides ``act``, maybe chaining ``super().act``) still drives
    the ParallelEnv, with the parent's episode."""
    from agents.baselines.random_feasible import RandomScheduler

    class Legacy(RandomScheduler):
        def act(self, observations: Any, infos: Any) -> Any:
            return super().act(observations, infos)

    assert_same_episode(
        run_parallel(Legacy(), SEED, **SETTING),
        run_parallel(RandomScheduler(), SEED, **SETTING),
        "legacy act",
    )
