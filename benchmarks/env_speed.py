"""Environment speed: decision rounds, slots and episodes per second, and scaling in clusters.

Runs whole episodes of every preset with the ``random`` feasible scheduler in one process and
prints medians over several runs. Two figures per preset:

* ``env rounds/s``: ``env.step`` alone (simulation + observation building for all agents +
  infos), timed around each call; this is the figure of the issue's target.
* ``loop rounds/s``: the whole loop including the scheduler's ``act``.

The scaling table uses tapfinger-synthetic with N = 3, 6, 12, 24, 48 clusters of (16, 16) and an
arrival rate of 2N/3 per slot (the same load per cluster), and prints the per-round cost of
``env.step`` and that cost divided by ``N * max_pending``, relative to N = 3: a ratio that stays
flat or falls means the cost grows no faster than linearly in clusters x pending tasks.

Usage: ``python benchmarks/env_speed.py [--repeats 5] [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from agents.baselines import make_scheduler
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.presets import preset_names


def time_episode(env: EdgeSchedParallelEnv, seed: int) -> tuple[float, float, int, int]:
    """One episode with the random scheduler: (env seconds, loop seconds, rounds, slots)."""
    sched = make_scheduler("random")
    sched.bind(env)
    t_loop = time.perf_counter()
    obs, infos = env.reset(seed=seed)
    sched.reset(seed=seed)
    env_s = 0.0
    while env.agents:
        actions = sched.act(obs, infos)
        t0 = time.perf_counter()
        obs, _, _, _, infos = env.step(actions)
        env_s += time.perf_counter() - t0
    loop_s = time.perf_counter() - t_loop
    m = env.last_metrics
    assert m is not None
    return env_s, loop_s, int(m["rounds"]), int(m["slots"])


def measure(preset: str, repeats: int, **overrides: Any) -> dict[str, float]:
    """Medians over ``repeats`` episodes (seeds 0..repeats-1) of one config."""
    env = EdgeSchedParallelEnv(preset, **overrides)
    time_episode(env, 1000)  # warm-up (imports, caches)
    rows = [time_episode(env, s) for s in range(repeats)]
    return {
        "env_rounds_s": statistics.median(r / e for e, _, r, _ in rows),
        "loop_rounds_s": statistics.median(r / lp for _, lp, r, _ in rows),
        "slots_s": statistics.median(sl / e for e, _, _, sl in rows),
        "episodes_s": statistics.median(1.0 / lp for _, lp, _, _ in rows),
        "us_per_round": statistics.median(e / r * 1e6 for e, _, r, _ in rows),
        "rounds": statistics.median(r for _, _, r, _ in rows),
    }


def main() -> None:
    """Print the preset table and the scaling table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 repeats, fewer tasks (smoke run)")
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    extra: dict[str, Any] = {"num_tasks": 60} if args.quick else {}

    print(f"{'preset':<22}{'env rounds/s':>14}{'loop rounds/s':>15}{'slots/s':>10}{'episodes/s':>12}")
    for name in preset_names():
        m = measure(name, repeats, **extra)
        print(
            f"{name:<22}{m['env_rounds_s']:>14,.0f}{m['loop_rounds_s']:>15,.0f}"
            f"{m['slots_s']:>10,.0f}{m['episodes_s']:>12.2f}"
        )

    print("\nscaling (tapfinger-synthetic, (16,16) clusters, rate 2N/3, tasks 64N):")
    print(f"{'N':>4}{'us/round':>10}{'us/(N*P)':>10}{'ratio vs N=3':>14}{'env rounds/s':>14}")
    base = None
    for n in (3, 6, 12, 24, 48):
        tasks = (20 if args.quick else 64) * n
        m = measure(
            "tapfinger-synthetic",
            repeats,
            capacities=[(16, 16)] * n,
            arrival_rate=2.0 * n / 3,
            num_tasks=tasks,
        )
        per_np = m["us_per_round"] / (n * 10)
        base = base or per_np
        ratio = per_np / base
        print(f"{n:>4}{m['us_per_round']:>10.1f}{per_np:>10.2f}{ratio:>14.2f}{m['env_rounds_s']:>14,.0f}")


if __name__ == "__main__":
    main()
