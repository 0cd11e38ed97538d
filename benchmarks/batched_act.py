"""Time per vector step of ``Scheduler.act`` with the batched path vs the per-episode clones.

For each scheduler: ``E`` episodes of a vector env, ``--steps`` steps timed (the scheduler's ``act``
only, not the env's step), the batched path (``act_batch``) and the forced clone fallback
(``batch_act = False``) alternating ``--repeats`` times; medians and their ratio are printed.

    python benchmarks/batched_act.py --preset tapfinger-synthetic --num-envs 16
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import edgesched_env
from agents.baselines import make_scheduler


def time_per_step(
    name: str, batched: bool, preset: str, num_envs: int, steps: int, **setting: object
) -> float:
    """Median seconds of one ``act`` call over ``steps`` vector steps (autoresets included)."""
    venv = edgesched_env.vector_env(preset, num_envs=num_envs, **setting)
    sched = make_scheduler(name)
    sched.batch_act = batched
    sched.bind(venv)
    assert sched.acts_batched == batched, name
    obs, infos = venv.reset(seed=0)
    sched.reset(seed=0)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        actions = sched.act(obs, infos)
        times.append(time.perf_counter() - t0)
        obs, _, _, _, infos = venv.step(actions)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tapfinger-synthetic")
    ap.add_argument("--num-envs", type=int, default=16)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mode", default="single", choices=["single", "multi"])
    ap.add_argument("--num-tasks", type=int, default=100)
    ap.add_argument("--schedulers", default="random,min,fifo-greedy,fair-share,drf")
    args = ap.parse_args()
    setting = {"mode": args.mode, "num_tasks": args.num_tasks}
    print(f"{args.preset}, E={args.num_envs}, mode={args.mode}, {args.steps} steps x {args.repeats}")
    print(f"{'scheduler':<12} {'batched ms':>11} {'clones ms':>10} {'speed-up':>9}")
    for name in args.schedulers.split(","):
        runs: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.repeats):
            for batched in (True, False):
                runs[batched].append(
                    time_per_step(name, batched, args.preset, args.num_envs, args.steps, **setting)
                )
        fast, slow = (float(np.median(runs[b])) for b in (True, False))
        print(f"{name:<12} {fast * 1e3:>11.3f} {slow * 1e3:>10.3f} {slow / fast:>8.1f}x")


if __name__ == "__main__":
    main()
