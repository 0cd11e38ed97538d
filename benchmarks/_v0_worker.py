"""Single-env timing worker for ``benchmarks/env_speed.py`` (runs against whichever code is importable).

``env_speed.py`` starts one of these per code version with ``PYTHONPATH`` set to that checkout and
the checkout as working directory, so ``import edgesched_env`` resolves to it (the v0 checkout for
the v0 columns, this repository for the new ones). The worker imports nothing but the standard
library, ``edgesched_env`` and ``agents`` (from that checkout), so the same measuring code runs on
both versions. It reports ``edgesched_env.__file__`` and the directories every loaded
``edgesched_env``/``agents`` module came from, which the caller checks.

Protocol (``--serve``): one JSON line ``{"hello": ...}`` on start, then for every JSON job line read
from stdin (``{"preset": ..., "overrides": {...}, "seed": 0, "warmup": true}``) one JSON result
line: one whole episode with the ``random`` feasible scheduler (``agents.baselines``), timing only
``env.step``. An empty line or EOF ends it.

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

import edgesched_env
from agents.baselines import make_scheduler

_ENVS: dict[str, Any] = {}


def _code_roots() -> list[str]:
    """Checkouts that the loaded ``edgesched_env`` and ``agents`` modules came from."""
    roots: set[str] = set()
    for name, mod in list(sys.modules.items()):
        if name.split(".")[0] not in ("edgesched_env", "agents"):
            continue
        path = getattr(mod, "__file__", None)
        if path:
            depth = name.count(".") + (2 if path.endswith("__init__.py") else 1)
            root = os.path.abspath(path)
            for _ in range(depth):
                root = os.path.dirname(root)
            roots.add(root)
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
    """One episode with the ``random`` scheduler: env.step seconds, whole-loop seconds, rounds, slots."""
    sched = make_scheduler("random")
    sched.bind(env)
    t_loop = time.perf_counter()
    obs, infos = env.reset(seed=seed)
    sched.reset(seed=seed)
    env_s = 0.0
    rounds = 0
    while env.agents:
        actions = sched.act(obs, infos)
        t0 = time.perf_counter()
        obs, _, _, _, infos = env.step(actions)
        env_s += time.perf_counter() - t0
        rounds += 1
    loop_s = time.perf_counter() - t_loop
    metrics = env.last_metrics or {}
    return {"env_s": env_s, "loop_s": loop_s, "rounds": rounds, "slots": int(metrics.get("slots", 0))}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One job: an optional warm-up episode (seed 1000), then the timed episode of ``job["seed"]``."""
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
