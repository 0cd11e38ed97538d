"""``oracle-plan``: the CP-SAT plan against enumeration, its replay, and its validity."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("ortools")

from agents.baselines import make_scheduler
from agents.baselines.oracle_greedy import OracleGreedyScheduler
from agents.baselines.oracle_plan import (
    OraclePlanScheduler,
    Plan,
    PlanInstance,
    PlanReplayScheduler,
    candidate_options,
    check_plan,
    greedy_plan,
    parallel_plan,
    plan_from_episode,
    simulate,
    solve_plan,
)
from agents.evaluate import episode_trace, run_episode
from edgesched_env.config import ClusterSpec, EnvConfig, FixedTask, TaskType, WorkloadSpec
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.workload.speed import SyntheticSpeed

TYPES = (
    TaskType("insensitive", (1, 1), SyntheticSpeed(bias=0.5)),  # 2 slots whatever the units
    TaskType("gpu", (1, 1), SyntheticSpeed(resource_idx=1, scale=2.0)),  # 1 gpu: 4 slots ... 4 gpus: 2
)


def tiny_config(
    tasks: list[tuple[int, int, tuple[int, ...]]], caps: list[tuple[int, int]], max_pending: int = 10
) -> EnvConfig:
    """Hand-written workload ``(arrival, type, visible_to)`` on clusters of ``caps`` (levels 0..4)."""
    fixed = tuple(FixedTask(a, k, vis) for a, k, vis in tasks)
    wl = WorkloadSpec(TYPES, (0.5, 0.5), arrival_rate=1.0, num_tasks=len(fixed), fixed_tasks=fixed)
    return EnvConfig(
        clusters=tuple(ClusterSpec(c) for c in caps), workload=wl, num_levels=(5, 5), max_pending=max_pending
    )


TINY = tiny_config(
    [(0, 1, (0,)), (0, 1, (0, 1)), (0, 0, (0,)), (1, 1, (1,)), (1, 1, (0, 1))],
    [(4, 4), (2, 2)],
)


def instance(config: EnvConfig, seed: int = 0) -> tuple[EdgeSchedParallelEnv, PlanInstance]:
    env = EdgeSchedParallelEnv(config)
    env.reset(seed=seed)
    return env, PlanInstance.from_view(env.view)


def enumerate_optimum(inst: PlanInstance) -> int:
    """Exhaustive search over every option and every start slot up to the greedy plan's slack
    (depth first, pruned only by the cost so far): the optimal total JCT over the candidates."""
    greedy = greedy_plan(inst).total_jct
    min_size = [min(o.size for o in opts) for opts in inst.options]
    slack = greedy - sum(min_size)
    n, r = inst.capacity.shape
    horizon = int(inst.arrival.max()) + greedy + 1
    use = np.zeros((n, horizon + 1, r), dtype=np.int64)
    best = [greedy]

    def dfs(t: int, cost: int) -> None:
        if t == inst.num_tasks:
            best[0] = min(best[0], cost)
            return
        if cost + sum(min_size[t:]) >= best[0]:
            return
        a = int(inst.arrival[t])
        for o in inst.options[t]:
            u = np.asarray(o.units)
            for s in range(a, a + slack + 1):
                window = use[o.cluster, s : s + o.size]
                if ((window + u) > inst.capacity[o.cluster]).any():
                    continue
                window += u
                dfs(t + 1, cost + s + o.size - a)
                window -= u

    dfs(0, 0)
    return best[0]


def test_candidate_options_are_the_pareto_front() -> None:
    _, inst = instance(TINY)
    gpu_opts = [(o.units, o.run) for o in inst.options[0]]
    runs = [run for _, run in gpu_opts]
    assert runs == sorted(runs) and len(set(runs)) == len(runs)  # strictly slower ...
    cost = [sum(u) for u, _ in gpu_opts]
    assert cost == sorted(cost, reverse=True) and len(set(cost)) == len(cost)  # ... and cheaper
    assert all(u[0] == 1 for u, _ in gpu_opts)  # cpu never helps: always at the minimum
    assert [(o.units, o.run) for o in inst.options[2]] == [((1, 1), 2)]  # insensitive: one option
    grid = np.array([[1, 1], [1, 2], [2, 1], [2, 2]])
    front = candidate_options(grid, np.array([4.0, 3.0, 4.0, np.inf]), np.array([4.0, 4.0]), 5)
    assert front == [((1, 2), 3), ((1, 1), 4)]
    assert candidate_options(grid, np.full(4, np.inf), np.ones(2)) == []


def test_cp_sat_finds_the_enumerated_optimum() -> None:
    _, inst = instance(TINY)
    plan = solve_plan(inst, time_limit=10.0)
    assert plan.status == "optimal" and plan.gap == 0.0
    assert plan.total_jct == enumerate_optimum(inst)
    assert plan.total_jct <= greedy_plan(inst).total_jct
    check_plan(inst, plan)


def test_replay_gives_exactly_the_planned_jct() -> None:
    env = EdgeSchedParallelEnv(TINY)
    sched = OraclePlanScheduler(time_limit=10.0)
    metrics = run_episode(sched, env, seed=0)
    plan, inst = sched.last_plan, sched.last_instance
    assert plan is not None and inst is not None
    jct = episode_trace(env)["jct"]
    np.testing.assert_array_equal(jct, plan.jct(inst.arrival))
    assert metrics["mean_jct"] == pytest.approx(plan.total_jct / inst.num_tasks)
    view = env.view
    np.testing.assert_array_equal(view.placed_slot, plan.start)
    np.testing.assert_array_equal(view.host, plan.cluster)
    assert view.visible[np.arange(inst.num_tasks), view.host].all()


def test_same_seed_same_plan() -> None:
    _, inst = instance(TINY)
    a, b = solve_plan(inst, time_limit=2.0), solve_plan(inst, time_limit=2.0)
    for field in ("cluster", "start", "units", "option"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_check_plan_names_each_violation() -> None:
    _, inst = instance(TINY)
    plan = solve_plan(inst, time_limit=5.0)
    early = dataclasses.replace(plan, start=plan.start - 1, end=plan.end - 1)
    with pytest.raises(ValueError, match="before its arrival"):
        check_plan(inst, early)
    crowded = dataclasses.replace(plan, start=inst.arrival.copy(), end=inst.arrival + (plan.end - plan.start))
    with pytest.raises(ValueError, match="over capacity"):
        check_plan(inst, crowded)  # five tasks at their arrival do not fit the (2, 2) cluster
    wrong = dataclasses.replace(plan, cluster=1 - plan.cluster)
    with pytest.raises(ValueError, match="not one of its options"):
        check_plan(inst, wrong)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 1), st.sampled_from([(0,), (1,), (0, 1)])),
        min_size=1,
        max_size=7,
    ),
    st.integers(0, 1000),
)
def test_plans_are_valid_and_replay_exactly(tasks: list[tuple[int, int, tuple[int, ...]]], seed: int) -> None:
    tasks = sorted(tasks, key=lambda t: t[0])
    config = tiny_config(tasks, [(3, 4), (2, 2)])
    env = EdgeSchedParallelEnv(config)
    sched = OraclePlanScheduler(time_limit=2.0)
    run_episode(sched, env, seed)
    plan, inst = sched.last_plan, sched.last_instance
    assert isinstance(plan, Plan) and inst is not None
    check_plan(inst, plan)  # capacities, arrivals, visibility (options only on seeing clusters)
    assert plan.total_jct <= greedy_plan(inst).total_jct
    assert plan.bound <= plan.total_jct + 1e-9
    np.testing.assert_array_equal(episode_trace(env)["jct"], plan.jct(inst.arrival))


def test_parallel_plan_places_the_shortest_waiting_task_first() -> None:
    # One (1, 1) cluster; a gpu task (3 slots on 1 gpu) and a 2-slot insensitive one arrive
    # together. Arrival order (the serial schedule) runs the gpu task first: JCTs 3 + 5 = 8.
    # Shortest first: 2 + 5 = 7, the optimum.
    config = tiny_config([(0, 1, (0,)), (0, 0, (0,))], [(1, 1)])
    _, inst = instance(config)
    serial, par = greedy_plan(inst), parallel_plan(inst)
    check_plan(inst, serial)
    check_plan(inst, par)
    assert (serial.total_jct, par.total_jct) == (8, 7)
    assert par.total_jct == enumerate_optimum(inst) and par.status == "parallel"
    assert solve_plan(inst, time_limit=5.0, hint=par).total_jct == 7


def test_plan_from_episode_is_the_schedule_the_episode_followed() -> None:
    env = EdgeSchedParallelEnv(TINY)
    metrics = run_episode(OracleGreedyScheduler(), env, seed=3)
    _, inst = instance(TINY, seed=3)
    plan = plan_from_episode(inst, env.view)
    assert plan is not None and plan.status == "episode"
    check_plan(inst, plan)
    np.testing.assert_array_equal(plan.jct(inst.arrival), episode_trace(env)["jct"])
    assert plan.total_jct == pytest.approx(metrics["mean_jct"] * inst.num_tasks)
    replay = EdgeSchedParallelEnv(TINY)
    run_episode(PlanReplayScheduler(plan), replay, seed=3)
    np.testing.assert_array_equal(episode_trace(replay)["jct"], plan.jct(inst.arrival))


def test_plan_replay_needs_a_plan() -> None:
    env = EdgeSchedParallelEnv(TINY)
    with pytest.raises(RuntimeError, match="no plan"):
        run_episode(PlanReplayScheduler(), env, seed=0)


# Six gpu tasks (3 slots), then three insensitive ones (2 slots), all at slot 0 on a (1, 1)
# cluster with 2 pending slots. The optimal plan runs the short tasks first, but they are queued
# behind gpu tasks the plan starts later: its replay idles and is far worse than the plan.
QUEUED = tiny_config([(0, 1, (0,))] * 6 + [(0, 0, (0,))] * 3, [(1, 1)], max_pending=2)


def test_the_kept_plan_is_the_best_replay_and_never_worse_than_oracle_greedy() -> None:
    env = EdgeSchedParallelEnv(QUEUED)
    sched = OraclePlanScheduler(time_limit=5.0)
    metrics = run_episode(sched, env, seed=0)
    plan = sched.last_plan
    assert plan is not None
    info = plan.info
    replayed = info["replayed_mean_jct"]
    assert set(replayed) == {"cp-sat", "oracle-greedy", "serial", "parallel"}
    assert replayed["cp-sat"] > info["planned_mean_jct"]["cp-sat"]  # the pending limit bites
    assert info["source"] != "cp-sat"
    assert info["source"] == min(replayed, key=lambda k: (replayed[k], k != "cp-sat"))
    assert metrics["mean_jct"] == pytest.approx(replayed[info["source"]])
    greedy_mean = run_episode(OracleGreedyScheduler(), EdgeSchedParallelEnv(QUEUED), seed=0)["mean_jct"]
    assert metrics["mean_jct"] <= greedy_mean
    assert replayed["oracle-greedy"] == pytest.approx(greedy_mean)
    assert plan.bound <= info["planned_mean_jct"]["cp-sat"] * 9 + 1e-9


def test_simulate_refuses_another_workload_and_the_plan_is_then_unverified() -> None:
    env = EdgeSchedParallelEnv("tapfinger-synthetic", num_tasks=6)
    env.reset(seed=1)
    assert simulate(env.view, 2, OracleGreedyScheduler()) is None  # seed 2 draws another workload
    sched = OraclePlanScheduler(time_limit=1.0)
    sched.bind(env)
    obs, infos = env.reset(seed=1)
    sched.reset(seed=2)  # not the env's seed: the episode cannot be played again
    while env.agents:
        obs, _, _, _, infos = env.step(sched.act(obs, infos))
    plan = sched.last_plan
    assert plan is not None and plan.info["source"] == "cp-sat" and "replayed_mean_jct" not in plan.info
    assert "oracle-greedy" not in plan.info["planned_mean_jct"]


def test_registered_as_an_oracle_outside_the_default_bench() -> None:
    from agents.baselines import heuristic_names

    sched = make_scheduler("oracle-plan")
    assert sched.uses_oracle and "oracle" in sched.name
    assert "oracle-plan" not in heuristic_names()
