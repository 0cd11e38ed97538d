"""The ``edgesched`` command: ``presets``, ``run`` (and more subcommands as they land)."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["main"]


def _cmd_presets(args: argparse.Namespace) -> int:
    from edgesched_env.presets import PRESET_INFO, PRESETS

    rows = []
    for name, factory in PRESETS.items():
        cfg = factory()
        w = cfg.workload
        caps = sorted({c.capacity for c in cfg.clusters})
        rows.append(
            {
                "preset": name,
                "clusters": cfg.num_clusters,
                "resources": ",".join(cfg.resource_names),
                "capacities": " ".join(str(c) for c in caps),
                "arrival_rate": w.arrival_rate if w.fixed_tasks is None else "trace",
                "tasks": w.num_tasks,
                "types": ",".join(t.name for t in w.task_types),
                "visibility": w.visibility,
                "source": PRESET_INFO.get(name, ""),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r[k]).ljust(widths[k]) for k in keys))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from agents.baselines import make_scheduler
    from agents.evaluate import run_episode
    from edgesched_env.parallel_env import EdgeSchedParallelEnv

    env = EdgeSchedParallelEnv(args.preset)
    metrics = run_episode(make_scheduler(args.scheduler), env, args.seed)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(f"preset {args.preset}  scheduler {args.scheduler}  seed {args.seed}")
        for k, v in metrics.items():
            print(f"  {k:<24} {v}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``edgesched`` command."""
    from edgesched_env.presets import DEFAULT_PRESET

    parser = argparse.ArgumentParser(prog="edgesched", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("presets", help="list the presets and their parameters")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_presets)
    p = sub.add_parser("run", help="run one episode with a scheduler and print its metrics")
    p.add_argument("--preset", default=DEFAULT_PRESET)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scheduler", default="random")
    p.add_argument("--json", action="store_true", help="print exactly the metrics dict as JSON")
    p.set_defaults(func=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``edgesched`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # bad presets, overrides, scheduler names: a clear message, no trace
        print(f"edgesched: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
