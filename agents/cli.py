"""The ``edgesched`` command: ``presets``, ``run`` and ``bench`` (more subcommands as they land).

``edgesched bench --preset NAME --schedulers a,b,... --seeds N --out DIR [--workers K]`` runs every
scheduler on the same seeds, prints the comparison table and writes ``DIR/results.json``,
``DIR/summary.csv``, ``DIR/summary.md``, ``DIR/timings.json`` and the plots (see
:mod:`agents.bench`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["main"]


def _preset_rows() -> list[dict[str, object]]:
    """One row per preset: its parameters and its source (for ``edgesched presets``)."""
    from edgesched_env.presets import PRESET_INFO, PRESETS

    rows: list[dict[str, object]] = []
    for name, factory in PRESETS.items():
        cfg = factory()
        w = cfg.workload
        caps = sorted({c.capacity for c in cfg.clusters})
        gens = sorted({c.gpu_generation for c in cfg.clusters if c.gpu_generation})
        if w.arrival_process == "trace" or w.fixed_tasks is not None:
            arrivals = "trace replay"
        else:
            arrivals = f"{w.arrival_process} {w.arrival_rate:g}/slot"
        rows.append(
            {
                "preset": name,
                "clusters": cfg.num_clusters,
                "resources": ",".join(cfg.resource_names),
                "capacities": " ".join(str(c) for c in caps),
                "gpu": ",".join(gens) if gens else "-",
                "arrivals": arrivals,
                "tasks": w.num_tasks,
                "types": f"{len(w.task_types)}: " + ",".join(t.name for t in w.task_types),
                "visibility": w.visibility,
                "source": PRESET_INFO.get(name, ""),
            }
        )
    return rows


def _cmd_presets(args: argparse.Namespace) -> int:
    rows = _preset_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if args.markdown:
        keys = list(rows[0])
        print("| " + " | ".join(keys) + " |")
        print("|" + "---|" * len(keys))
        for r in rows:
            print("| " + " | ".join(f"`{v}`" if k == "preset" else str(v) for k, v in r.items()) + " |")
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


def _parse_override(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> (key, value); the value is read as JSON when it parses, else a string."""
    if "=" not in text:
        raise ValueError(f"--set expects KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if isinstance(value, list):
        value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return key.strip(), value


def _cmd_bench(args: argparse.Namespace) -> int:
    from agents.baselines import heuristic_names
    from agents.bench import format_table, run_bench, summarize, write_outputs

    if args.schedulers in ("all", ""):
        names = heuristic_names()
    else:
        names = [n.strip() for n in args.schedulers.split(",") if n.strip()]
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    overrides = dict(_parse_override(s) for s in args.set)
    vs = [n.strip() for n in args.vs.split(",") if n.strip()]
    seeds = list(range(args.seed_start, args.seed_start + args.seeds))
    out_dir = args.out or f"bench-out/{args.preset}"
    result = run_bench(
        args.preset, names, seeds, workers=args.workers, progress=not args.no_progress, **overrides
    )
    written = write_outputs(result, out_dir, plots=not args.no_plots, baselines=vs)
    rows = summarize(result, vs)
    print(
        f"preset {args.preset}  seeds {seeds[0]}..{seeds[-1]} ({len(seeds)})  JCT in slots; "
        "vs X = (X - scheduler) / X of the mean JCT"
    )
    print(format_table(rows, markdown=args.markdown, baselines=vs))
    print(f"wrote {len(written)} files to {out_dir}/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``edgesched`` command."""
    from edgesched_env.presets import DEFAULT_PRESET

    parser = argparse.ArgumentParser(prog="edgesched", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("presets", help="list the presets and their parameters")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--markdown", action="store_true", help="print a markdown table (the README's)")
    p.set_defaults(func=_cmd_presets)
    p = sub.add_parser("run", help="run one episode with a scheduler and print its metrics")
    p.add_argument("--preset", default=DEFAULT_PRESET)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scheduler", default="random")
    p.add_argument("--json", action="store_true", help="print exactly the metrics dict as JSON")
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser(
        "bench",
        help="compare schedulers on identical seeds: table, results.json, summary.csv, plots",
        description="Run every scheduler (and the lower-bound figure) on the same seeds; print the "
        "table and write DIR/results.json (records without wall time: identical for any --workers), "
        "DIR/timings.json, DIR/summary.csv, DIR/summary.md and the plots.",
    )
    p.add_argument("--preset", default=DEFAULT_PRESET)
    p.add_argument(
        "--schedulers", default="all", help="comma-separated names (default: all registered heuristics)"
    )
    p.add_argument("--seeds", type=int, default=10, help="number of seeds (default 10)")
    p.add_argument("--seed-start", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--out", default=None, help="output directory (default bench-out/PRESET)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (results do not change)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="env config override, repeatable (e.g. --set num_tasks=40 --set arrival_rate=3)",
    )  # fmt: skip
    p.add_argument(
        "--vs", default="min,tiresias", help="baselines of the reduction columns (default min,tiresias)"
    )
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.set_defaults(func=_cmd_bench)
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
