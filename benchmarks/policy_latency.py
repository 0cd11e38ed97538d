"""Decision latency of the HGAT agent: one round of every cluster, batch of one, on CPU.

What is timed, per decision round of a real episode: building the graph from the padded
observation arrays, the actor's forward pass (encoder, pointer, allocation decoder; the critic is
not needed to act and is skipped), and the Bayes conflict rule -- everything
:class:`agents.hgat.HGATScheduler` does between receiving the observations and returning the
actions. The env step is not included. The reference TapFinger implementation measured 5.3 ms
per round for 6 clusters; the issue's target is 2 ms.

    .venv/bin/python benchmarks/policy_latency.py                       # default model, 6 clusters
    .venv/bin/python benchmarks/policy_latency.py --checkpoint runs/x/best --json out.json

Prints median / p90 / mean milliseconds per round for each preset and arch, measured in one run
(1 torch thread unless ``--threads``), plus the batched throughput (rounds per second at
``--batch`` episodes per forward) for context.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import numpy as np
import torch

import edgesched_env
from agents.hgat import HGATActorCritic, JointPolicy, ModelConfig, load_agent
from agents.hgat.model import NAMED_CONFIGS
from edgesched_env.presets import make_config


def _model(config: Any, arch: str, checkpoint: str | None) -> HGATActorCritic:
    if checkpoint:
        return load_agent(checkpoint, config)[0]
    torch.manual_seed(0)
    return HGATActorCritic(
        ModelConfig(
            num_types=config.num_types,
            num_resources=config.num_resources,
            num_levels=max(config.num_levels),
            **NAMED_CONFIGS[arch],
        )
    )


def measure(preset: str, arch: str, rounds: int, checkpoint: str | None, batch: int) -> dict[str, Any]:
    """Time ``rounds`` decisions of a batch of one on ``preset``; also a batched throughput."""
    config = make_config(preset)
    model = _model(config, arch, checkpoint).eval()
    policy = JointPolicy(model, config, seed=0)
    venv = edgesched_env.vector_env(config, num_envs=1)
    obs, _ = venv.reset(seed=0)
    times: list[float] = []
    for i in range(rounds + 20):
        ids = venv.pending_task_ids()
        t0 = time.perf_counter()
        dec = policy.decide(obs, ids, mode="greedy", with_value=False, with_stats=False)
        dt = time.perf_counter() - t0
        if i >= 20:  # warm-up rounds are not counted
            times.append(dt * 1e3)
        obs, *_ = venv.step(dec.executed)
    bvenv = edgesched_env.vector_env(config, num_envs=batch)
    bobs, _ = bvenv.reset(seed=0)
    t0 = time.perf_counter()
    steps = 20
    for _ in range(steps):
        dec = policy.decide(bobs, bvenv.pending_task_ids(), mode="sample", with_value=False, with_stats=False)
        bobs, *_ = bvenv.step(dec.executed)
    per_s = steps * batch / (time.perf_counter() - t0)
    times.sort()
    return {
        "preset": preset,
        "clusters": config.num_clusters,
        "arch": "checkpoint" if checkpoint else arch,
        "rounds_timed": len(times),
        "median_ms": statistics.median(times),
        "p90_ms": times[int(0.9 * (len(times) - 1))],
        "mean_ms": float(np.mean(times)),
        f"batched_rounds_per_s@{batch}": per_s,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="tapfinger-synthetic6,tapfinger-hetero6")
    ap.add_argument("--archs", default="cpu,paper", help="named model sizes (ignored with --checkpoint)")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the rows to this file")
    ap.add_argument("--md", default=None, help="write the table as Markdown to this file (the README's)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    archs = ["checkpoint"] if args.checkpoint else [a.strip() for a in args.archs.split(",")]
    rows = []
    for preset in [p.strip() for p in args.presets.split(",")]:
        for arch in archs:
            rows.append(measure(preset, arch, args.rounds, args.checkpoint, args.batch))
    keys = list(rows[0])
    print(f"decision latency, batch of one, {args.threads} torch thread(s); target <= 2 ms, reference 5.3 ms")
    print(" | ".join(keys))
    for r in rows:
        print(" | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    if args.md:
        batch_key = f"batched_rounds_per_s@{args.batch}"
        lines = [
            f"### Decision latency (batch of one, {args.threads} torch thread; "
            "target <= 2 ms, reference 5.3 ms)",
            "",
            f"| preset | clusters | model | median ms | p90 ms | mean ms | rounds/s batched x{args.batch} |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(
                f"| {r['preset']} | {r['clusters']} | {r['arch']} | {r['median_ms']:.2f} | "
                f"{r['p90_ms']:.2f} | {r['mean_ms']:.2f} | {r[batch_key]:.0f} |"
            )
        with open(args.md, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
