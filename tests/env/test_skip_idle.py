"""EnvConfig.skip_idle: jumping over empty slots changes nothing but the number of steps, and
max_slots then counts busy slots (issue 12: a trace gap of years stepped slot by slot)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import edgesched_env
from agents.bench import run_bench
from edgesched_env.config import busy_span
from edgesched_env.presets import make_config
from edgesched_env.workload.traces import TraceReplay

KEYS = ("mean_jct", "p95_jct", "makespan", "slots", "mean_tasks_in_system", "utilization", "tasks_completed")


def _gap_trace(tmp_path, gap_s: float, jobs: int = 4) -> TraceReplay:
    """Two bursts of ``jobs`` jobs (10 min each), ``gap_s`` seconds apart; 60 s slots."""
    rows = ["submit_s,duration_s,num_gpus"]
    rows += [f"{i * 60},600,1" for i in range(jobs)]
    rows += [f"{gap_s + i * 60},600,1" for i in range(jobs)]
    path = tmp_path / f"gap{int(gap_s)}.csv"
    path.write_text("\n".join(rows) + "\n")
    return TraceReplay(str(path), arrival_seconds_per_slot=60.0, duration_seconds_per_slot=60.0)


def _pick(records, keys=KEYS):
    return [(r["scheduler"], r["seed"], *(r.get(k) for k in keys)) for r in records]


def test_a_trace_gap_is_jumped_over_with_identical_metrics(tmp_path):
    trace = _gap_trace(tmp_path, gap_s=60 * 3000)  # 3000 empty slots between the bursts
    base = make_config("edge-ml-small")
    runs = {}
    for skip in (False, True):
        cfg = make_config(base, arrival_process="trace", trace=trace, num_tasks=8, skip_idle=skip)
        runs[skip] = run_bench(cfg, ["fifo-greedy", "srtf"], seeds=[0, 1], progress=False).records
    assert _pick(runs[True]) == _pick(runs[False])
    played = [r for r in runs[True] if r["scheduler"] != "lower-bound"]
    assert all(r["slots"] > 3000 and not r["truncated"] for r in played)
    # without the jump every empty slot is a round; with it, the rounds are those of busy slots
    rounds = {skip: [r["rounds"] for r in rs if r["scheduler"] != "lower-bound"] for skip, rs in runs.items()}
    assert all(a > 3000 and b < 200 for a, b in zip(rounds[False], rounds[True]))


def test_horizon_counts_busy_slots_not_the_gap(tmp_path):
    trace = _gap_trace(tmp_path, gap_s=60 * 1_000_000)  # ~2 years of 60 s slots
    base = make_config("edge-ml-small")
    with pytest.warns(UserWarning, match="skip_idle=True"):
        edgesched_env.parallel_env(make_config(base, arrival_process="trace", trace=trace, num_tasks=8))
    far = _gap_trace(tmp_path, gap_s=60 * 20_000_000)  # ~38 years: refused unless jumped over
    with pytest.raises(ValueError, match=r"slot 20000003.*skip_idle=True"):
        edgesched_env.parallel_env(make_config(base, arrival_process="trace", trace=far, num_tasks=8))
    far_cfg = make_config(base, arrival_process="trace", trace=far, num_tasks=8, skip_idle=True)
    assert run_bench(far_cfg, ["srtf"], seeds=[0], progress=False).records[0]["tasks_completed"] == 8
    cfg = make_config(base, arrival_process="trace", trace=trace, num_tasks=8, skip_idle=True)
    assert cfg.slots_limit < 100 * 100  # 100 x the busy span, not 100 x two years
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no gap warning with skip_idle
        rec = run_bench(cfg, ["srtf"], seeds=[0], progress=False).records[0]
    assert rec["slots"] > 1_000_000 and not rec["truncated"] and rec["rounds"] < 200
    # a policy that never places anything is cut after max_slots *busy* slots
    env = edgesched_env.parallel_env(make_config(cfg, max_slots=50))
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        noop = {a: np.array([env.config.max_pending, 0, 0, 0]) for a in env.agents}
        _, _, terms, truncs, infos = env.step(noop)
        steps += 1
        done = all(terms.values()) or all(truncs.values())
    assert {info["truncated_by"] for info in infos.values()} == {"max_slots"}
    assert steps == 50 and env.sim.busy_slots[0] == 50


@pytest.mark.parametrize("preset", ["tapfinger-synthetic", "edge-ml-small"])
def test_sparse_poisson_arrivals_give_the_same_episode(preset):
    over = {"arrival_rate": 0.05, "num_tasks": 8}
    a = run_bench(preset, ["srtf", "tetris"], seeds=[0, 1], progress=False, **over).records
    b = run_bench(preset, ["srtf", "tetris"], seeds=[0, 1], progress=False, skip_idle=True, **over).records
    assert _pick(a) == _pick(b)
    played = [(x["rounds"], y["rounds"]) for x, y in zip(a, b) if x["scheduler"] != "lower-bound"]
    assert all(y < x for x, y in played)


class _First:
    """A stand-in generator whose draws are all 0: ``random_feasible_actions`` then picks the
    first feasible choice (the first task that fits, at its fewest feasible units; the no-op when
    none fits), a deterministic policy of the state."""

    def random(self, shape=None):
        return np.zeros(() if shape is None else shape)


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_vector_env_rewards_and_autoreset_match_the_serial_slots(mode):
    """Batched episodes with the jump (also at autoreset), in single- and multi-task mode: each
    episode's summed reward and the metrics equal those without it."""
    over = {"arrival_rate": 0.05, "num_tasks": 6, "max_pending": 2, "mode": mode}
    out = {}
    for skip in (False, True):
        venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=3, skip_idle=skip, **over)
        obs, _ = venv.reset(seed=7)
        ret = np.zeros(3)
        finished: list[tuple[int, float, float]] = []
        steps = 0
        while len(finished) < 6:  # two episodes per row: the second starts at an autoreset
            obs, rew, term, trunc, infos = venv.step(venv.random_actions(obs, _First()))
            steps += 1
            ret += rew.sum(axis=1)
            for e in np.flatnonzero(term | trunc).tolist():
                finished.append((e, float(ret[e]), float(infos["metrics"]["mean_jct"][e])))
                ret[e] = 0.0
        out[skip] = (sorted(finished), steps)
    assert out[True][0] == out[False][0]
    assert all(jct < 100 for *_, jct in out[True][0])  # finished episodes, not truncated ones
    assert out[True][1] < out[False][1]


def test_busy_span_and_bad_values():
    # [0, 4) and [2, 4) overlap; then [100, 102)
    assert busy_span(np.array([0, 2, 100]), np.array([3.0, 1.0, 0.5])) == 4 + 2
    assert busy_span(np.array([], dtype=np.int64), np.array([])) == 0
    with pytest.raises(ValueError, match="skip_idle"):
        make_config("tapfinger-synthetic", skip_idle="yes")


def test_trace_times_beyond_the_last_slot_are_a_named_error(tmp_path):
    """Submit times that would overflow int64 slots (negative JCTs before) name the row."""
    path = tmp_path / "far.csv"
    path.write_text("submit_s,duration_s,num_gpus\n0,600,1\n60,600,1\n1e300,600,1\n")
    trace = TraceReplay(str(path))
    with pytest.raises(ValueError, match=r"far\.csv.*row 2 .*2\*\*53"):
        edgesched_env.parallel_env("edge-ml-small", arrival_process="trace", trace=trace, num_tasks=3)
