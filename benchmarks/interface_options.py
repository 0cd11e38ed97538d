"""What the interface options cost and what the masks are worth, measured in one run.

1. **Wasted picks**: an agent that samples uniformly inside its ``action_mask`` (as a fresh
   masked policy does), on the parallel env: the share of its task picks (slot < P, or a joint
   code > 0) that place nothing for a reason other than a conflict, with ``mask="loose"``
   (default), ``mask="strict"`` and ``action_format="discrete"`` (exact joint mask).
2. **Overhead**: vector-env steps per second (``E`` episodes, random feasible actions) of every
   option against the default interface, as a ratio to the default measured in the same run.

    python benchmarks/interface_options.py [--presets edge-ml-small,tapfinger-synthetic] [--rounds 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MASK_OPTIONS: dict[str, dict[str, str]] = {
    "loose (default)": {},
    "strict": {"mask": "strict"},
    "discrete (exact)": {"action_format": "discrete"},
}
SPEED_OPTIONS: dict[str, dict[str, str]] = {
    "default": {},
    "obs_layout=flat": {"obs_layout": "flat"},
    "obs_layout=rllib, mask=strict": {"obs_layout": "rllib", "mask": "strict"},
    "action_format=discrete": {"action_format": "discrete"},
    "info_format=flat": {"info_format": "flat"},
}


def wasted_picks(preset: str, options: dict[str, str], rounds: int, seed: int = 0) -> dict[str, float]:
    """Uniform-in-mask agents for ``rounds`` rounds: picks of a task and the share wasted."""
    import edgesched_env

    env = edgesched_env.parallel_env(preset, **options)
    obs, _ = env.reset(seed=seed)
    tried = wasted = 0
    episodes = 0
    for _ in range(rounds):
        acts = {a: env.action_space(a).sample(mask=obs[a]["action_mask"]) for a in env.agents}
        obs, _, terms, truncs, infos = env.step(acts)
        for info in infos.values():
            if info["task"] >= 0 or info["infeasible"] or info["empty_slot"]:
                tried += 1
                wasted += not info["placed"] and not info["conflict"]
        if any(terms.values()) or any(truncs.values()):
            episodes += 1
            obs, _ = env.reset(seed=seed + episodes)
    return {"task_picks": tried, "wasted_share": wasted / max(tried, 1)}


def steps_per_second(preset: str, options: dict[str, str], rounds: int, num_envs: int) -> float:
    """Vector-env rounds per second (all ``num_envs`` episodes; random feasible actions)."""
    import edgesched_env

    venv = edgesched_env.vector_env(preset, num_envs=num_envs, **options)
    rng = np.random.default_rng(0)
    obs, _ = venv.reset(seed=0)
    obs, *_ = venv.step(venv.random_actions(obs, rng))  # warm-up
    t0 = time.perf_counter()
    for _ in range(rounds):
        obs, *_ = venv.step(venv.random_actions(obs, rng))
    return rounds * num_envs / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="edge-ml-small,tapfinger-synthetic")
    ap.add_argument("--rounds", type=int, default=2000, help="rounds per measurement")
    ap.add_argument("--num-envs", type=int, default=16)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "interface_options.json")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    rep: dict[str, Any] = {"rounds": args.rounds, "num_envs": args.num_envs, "presets": {}}
    for preset in [p.strip() for p in args.presets.split(",") if p.strip()]:
        waste = {name: wasted_picks(preset, o, args.rounds) for name, o in MASK_OPTIONS.items()}
        speed = {
            name: steps_per_second(preset, o, args.rounds // 4, args.num_envs)
            for name, o in SPEED_OPTIONS.items()
        }
        base = speed["default"]
        rep["presets"][preset] = {
            "wasted": waste,
            "steps_per_s": speed,
            "ratio_to_default": {k: v / base for k, v in speed.items()},
        }
        print(f"\n{preset}: task picks that place nothing (uniform sampling inside the mask)")
        for name, w in waste.items():
            print(f"  {name:<18} {100 * w['wasted_share']:5.1f}% of {w['task_picks']} picks")
        print(f"{preset}: vector-env rounds/s (E={args.num_envs}), ratio to the default in this run")
        for name, v in speed.items():
            print(f"  {name:<32} {v:9.0f}  {v / base:5.2f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rep, indent=1) + "\n")
    if not args.no_docs:
        from benchmarks._docs import splice_block

        splice_block(
            ROOT / "docs" / "integrations.md", "interface", markdown(rep), "Interface options, measured"
        )
    return 0


def markdown(rep: dict[str, Any]) -> str:
    """The two tables of a report."""
    presets = list(rep["presets"])
    head = " | ".join(presets)
    lines = [
        f"Task picks that place nothing (not conflicts) when every agent samples uniformly inside its "
        f"`action_mask`, {rep['rounds']} rounds on the parallel env, seed 0:",
        "",
        f"| mask | {head} |",
        "|---|" + "---|" * len(presets),
    ]
    for name in MASK_OPTIONS:
        cells = []
        for p in presets:
            w = rep["presets"][p]["wasted"][name]
            cells.append(f"{100 * w['wasted_share']:.1f}% of {w['task_picks']}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Vector-env rounds per second ({rep['num_envs']} episodes, random feasible actions), as a ratio "
        "to the default interface measured in the same run:",
        "",
        f"| option | {head} |",
        "|---|" + "---|" * len(presets),
    ]
    for name in SPEED_OPTIONS:
        cells = []
        for p in presets:
            r = rep["presets"][p]
            cells.append(f"{r['ratio_to_default'][name]:.2f}x ({r['steps_per_s'][name]:.0f}/s)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
