"""Timing worker for ``benchmarks/env_speed.py`` (runs against whichever code is importable).

``env_speed.py`` starts one of these per code version with ``PYTHONPATH`` set to that checkout and
the checkout as working directory, so ``import edgesched_env`` resolves to it (the v0 checkout for
the v0 columns, this repository for the new ones). The worker imports nothing but the standard
library, numpy, ``edgesched_env`` and ``agents`` (from that checkout), so the same measuring code runs on
both versions. It reports ``edgesched_env.__file__`` and the directories every loaded
``edgesched_env``/``agents`` module came from, which the caller checks.

Protocol (``--serve``): one JSON line ``{"hello": ...}`` on start, then for every JSON job line read
from stdin one JSON result line. A single-env job (``{"preset": ..., "overrides": {...}, "seed": 0,
"warmup": true}``) plays one whole episode with the ``random`` feasible scheduler
(``agents.baselines``), timing ``env.reset`` and ``env.step`` (wall and CPU seconds). A vector job
(``{"kind": "vector", "preset": ..., "overrides": {...}, "num_envs": 256, "seed": 0, "steps": 500}``)
plays ``steps`` batched steps of a vector env kept between jobs of the same settings (the first
job of a setting resets it with ``seed`` and runs it to its first autoreset, untimed), actions from
``venv.random_actions`` with a generator seeded ``seed``, timing only ``venv.step``. An empty line or
EOF ends it.

Usage (by hand)::

    PYTHONPATH=/work/v0 python benchmarks/_v0_worker.py --preset tapfinger-synthetic --seeds 3
    python benchmarks/_v0_worker.py --serve   # what env_speed.py does
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import numpy as np

import edgesched_env
from agents.baselines import make_scheduler

_ENVS: dict[str, Any] = {}
_VECTORS: dict[str, dict[str, Any]] = {}
#: the most batched steps the first vector job of a setting plays while waiting for an autoreset
_VECTOR_WARMUP_STEPS = 5000


def _code_roots() -> list[str]:
    """Checkouts that the loaded ``edgesched_env`` and ``agents`` modules came from."""
    roots: set[str] = set()
    for name, mod in list(sys.modules.items()):
        if name.split(".")[0] not in ("edgesched_env", "agents"):
            continue
        path = getattr(mod, "__file__", None)
        if not path:
            continue
        path = os.path.abspath(path)
        rel = name.replace(".", os.sep)
        for tail in (os.sep + rel + ".py", os.sep + os.path.join(rel, "__init__.py")):
            if path.endswith(tail):  # a module loaded from its own file (not one a test made up)
                roots.add(path[: -len(tail)] or os.sep)
    return sorted(roots)


def _env(preset: str, overrides: dict[str, Any]) -> Any:
    """One cached env per (preset, overrides); JSON lists of capacities become tuples."""
    key = json.dumps([preset, overrides], sort_keys=True)
    if key not in _ENVS:
        kw = dict(overrides)
        if "capacities" in kw:
            kw["capacities"] = [tuple(c) for c in kw["capacities"]]
        _ENVS[key] = edgesched_env.parallel_env(preset, **kw)
    return _ENVS[key]


def time_episode(env: Any, seed: int) -> dict[str, float]:
    """One episode with the ``random`` scheduler: ``env.step`` seconds (``env_s``, and CPU seconds
    ``env_cpu_s``), ``env.reset`` seconds (``reset_s``, ``reset_cpu_s``), whole-loop seconds,
    rounds, slots and the return of agent 0 (to check that two codes played the same episode)."""
    sched = make_scheduler("random")
    sched.bind(env)
    perf, cpu = time.perf_counter, time.process_time
    t_loop = perf()
    c0 = cpu()
    obs, infos = env.reset(seed=seed)
    reset_s, reset_cpu_s = perf() - t_loop, cpu() - c0
    sched.reset(seed=seed)
    env_s = env_cpu_s = ret = 0.0
    rounds = 0
    first = env.possible_agents[0]
    while env.agents:
        actions = sched.act(obs, infos)
        c0, t0 = cpu(), perf()
        obs, rewards, _, _, infos = env.step(actions)
        env_s += perf() - t0
        env_cpu_s += cpu() - c0
        ret += rewards[first]
        rounds += 1
    loop_s = perf() - t_loop
    metrics = env.last_metrics or {}
    return {
        "env_s": env_s,
        "env_cpu_s": env_cpu_s,
        "reset_s": reset_s,
        "reset_cpu_s": reset_cpu_s,
        "loop_s": loop_s,
        "rounds": rounds,
        "slots": int(metrics.get("slots", 0)),
        "return0": ret,
    }


def _vector_steps(v: dict[str, Any], steps: int) -> dict[str, Any]:
    """``steps`` batched steps of the vector env in ``v`` (its state carried over): ``venv.step``
    wall and CPU seconds, rounds (episode-steps that played: autoreset steps not counted),
    restarts and the sum of the rewards."""
    venv, rng = v["venv"], v["rng"]
    perf, cpu = time.perf_counter, time.process_time
    env_s = env_cpu_s = policy_s = reward_sum = 0.0
    resets = 0
    for _ in range(steps):
        t0 = perf()
        actions = venv.random_actions(v["obs"], rng)
        c1, t1 = cpu(), perf()
        v["obs"], rewards, _, _, infos = venv.step(actions)
        env_s += perf() - t1
        env_cpu_s += cpu() - c1
        policy_s += t1 - t0
        resets += int(infos["reset"].sum())
        reward_sum += float(rewards.sum())
    rounds = venv.num_envs * steps - resets
    return {
        "steps": steps,
        "env_s": env_s,
        "env_cpu_s": env_cpu_s,
        "policy_s": policy_s,
        "rounds": rounds,
        "resets": resets,
        "reward_sum": reward_sum,
    }


def run_vector_job(job: dict[str, Any]) -> dict[str, Any]:
    """One vector job (module docstring): a block of ``job["steps"]`` timed batched steps."""
    overrides = job.get("overrides", {})
    key = json.dumps([job["preset"], overrides, job["num_envs"], job.get("seed", 0)], sort_keys=True)
    out: dict[str, Any] = {}
    if key not in _VECTORS:
        t0 = time.perf_counter()
        venv = edgesched_env.vector_env(job["preset"], num_envs=int(job["num_envs"]), **overrides)
        seed = int(job.get("seed", 0))
        obs, _ = venv.reset(seed=seed)
        v = _VECTORS[key] = {"venv": venv, "obs": obs, "rng": np.random.default_rng(seed)}
        warm = 0
        while warm < _VECTOR_WARMUP_STEPS:  # numba compiles slot-end and restart kernels late
            warm += 1
            if _vector_steps(v, 1)["resets"]:
                break
        out["warmup_steps"] = warm
        out["warmup_s"] = time.perf_counter() - t0
    out.update(_vector_steps(_VECTORS[key], int(job["steps"])))
    out["roots"] = _code_roots()
    return out


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One job: a vector block (``"kind": "vector"``), or an optional warm-up episode (seed 1000)
    then the timed episode of ``job["seed"]``."""
    if job.get("kind") == "vector":
        return run_vector_job(job)
    env = _env(job["preset"], job.get("overrides", {}))
    out: dict[str, Any] = {}
    if job.get("warmup"):
        t0 = time.perf_counter()
        time_episode(env, 1000)
        out["warmup_s"] = time.perf_counter() - t0
    out.update(time_episode(env, int(job["seed"])))
    out["roots"] = _code_roots()
    return out


def hello() -> dict[str, Any]:
    """What the caller checks: where the code came from."""
    return {
        "hello": True,
        "edgesched_env_file": os.path.abspath(edgesched_env.__file__ or ""),
        "roots": _code_roots(),
        "python": sys.version.split()[0],
    }


def serve() -> None:
    """The line protocol of the module docstring."""
    print(json.dumps(hello()), flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        print(json.dumps(run_job(json.loads(line))), flush=True)


def main() -> None:
    """``--serve`` for env_speed.py, or a one-off measurement printed as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="line protocol on stdin/stdout")
    parser.add_argument("--preset", default="tapfinger-synthetic")
    parser.add_argument("--seeds", type=int, default=3, help="episodes with seeds 0..N-1")
    parser.add_argument("--overrides", default="{}", help="JSON dict of env overrides")
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    print(json.dumps(hello()))
    overrides = json.loads(args.overrides)
    for seed in range(args.seeds):
        job = {"preset": args.preset, "overrides": overrides, "seed": seed, "warmup": seed == 0}
        res = run_job(job)
        res["rounds_s"] = res["rounds"] / res["env_s"]
        print(json.dumps(res))


if __name__ == "__main__":
    main()
