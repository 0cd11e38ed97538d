"""The ``edgesched`` command: ``presets``, ``run``, ``bench``, ``train`` and ``eval``.

``edgesched bench --preset NAME --schedulers a,b,... --seeds N --out DIR [--workers K]`` runs every
scheduler on the same seeds, prints the comparison table and writes ``DIR/results.json``,
``DIR/summary.csv``, ``DIR/summary.md``, ``DIR/timings.json`` and the plots (see
:mod:`agents.bench`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edgesched_env._names import did_you_mean
from edgesched_env.rewards import REWARDS

__all__ = ["main"]


def _int_at_least(low: int) -> Any:
    """An argparse ``type``: an integer >= ``low`` (argparse names the option in its error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
        return value

    return parse


def _positive_minutes(text: str) -> float:
    """An argparse ``type``: a finite number of minutes > 0."""
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number of minutes > 0, got {text!r}")
    return value


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

    env = EdgeSchedParallelEnv(_source(args), **dict(_parse_override(s) for s in args.set))
    metrics = run_episode(make_scheduler(args.scheduler), env, args.seed)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(f"preset {env.config.name}  scheduler {args.scheduler}  seed {args.seed}")
        for k, v in metrics.items():
            print(f"  {k:<24} {_rounded(v)}")
    return 0


def _rounded(value: Any) -> Any:
    """``value`` with floats to 4 significant decimals for reading (``--json`` prints them exact)."""
    if isinstance(value, float):
        return float(f"{value:.4g}") if abs(value) < 1e4 else round(value, 1)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _parse_override(text: str, option: str = "--set") -> tuple[str, Any]:
    """``KEY=VALUE`` -> (key, value); the value is read as JSON when it parses, else a string.
    ``option`` names the flag in the error."""
    if "=" not in text or not text.split("=", 1)[0].strip():
        raise ValueError(f"{option} expects KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if isinstance(value, list):
        value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return key.strip(), value


def _source(args: argparse.Namespace) -> Any:
    """The preset name, or with ``--profile FILE`` the config simulating that profile."""
    if getattr(args, "profile", None) is None:
        if getattr(args, "profile_opt", None):
            raise ValueError("--profile-opt needs --profile FILE")
        return args.preset
    from edgesched_env.presets import profile_config

    if not Path(args.profile).is_file():
        raise ValueError(f"--profile {args.profile}: no such file")
    opts = dict(_parse_override(s, "--profile-opt") for s in args.profile_opt)
    import inspect

    valid = [p for p in inspect.signature(profile_config).parameters if p != "path"]
    bad = sorted(set(opts) - set(valid))
    if bad:
        hints = "".join(did_you_mean(b, valid) for b in bad)
        raise ValueError(f"unknown --profile-opt {bad}{hints} (valid are {valid})")
    return profile_config(args.profile, **opts)


def _cmd_bench(args: argparse.Namespace) -> int:
    from agents.baselines import heuristic_names
    from agents.bench import start_workers

    names: list[str] = []
    for n in args.schedulers.split(","):
        n = n.strip()
        names += heuristic_names() if n == "all" else [n] if n else []
    if not names:
        raise ValueError(f"--schedulers names no scheduler: {args.schedulers!r}")
    if args.address is not None and args.backend != "ray":
        raise ValueError("--address is the Ray cluster of --backend ray; add --backend ray")
    overrides = dict(_parse_override(s) for s in args.set)
    if args.vs is None:  # the default: the reduction columns of those of min, tiresias that ran
        vs = ["min", "tiresias"]
    else:
        vs = [n.strip() for n in args.vs.split(",") if n.strip()]
        missing = [v for v in vs if v not in names]
        if missing:
            raise ValueError(f"--vs {missing} are not among the benched schedulers {names}")
    seeds = list(range(args.seed_start, args.seed_start + args.seeds))
    # the workers start first, so that their imports overlap the checks below; they run the
    # cells, then draw two of the plots
    pool = start_workers(args.workers) if args.workers > 1 and args.backend == "process" else None
    try:
        return _bench_with(args, names, overrides, vs, seeds, pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _bench_with(
    args: argparse.Namespace,
    names: list[str],
    overrides: dict[str, Any],
    vs: list[str],
    seeds: list[int],
    pool: Any,
) -> int:
    """``edgesched bench`` once its names, overrides, ``--vs`` and seeds are parsed; ``pool``:
    the worker processes of ``--workers`` > 1 (``None``: none)."""
    from agents.bench import (
        BenchInterrupted,
        check_bench,
        check_writable,
        format_table,
        run_bench,
        summarize,
        write_outputs,
    )

    source = _source(args)
    label = args.preset if isinstance(source, str) else source.name.replace(":", "-")
    out_dir = args.out or f"bench-out/{label}"
    check_bench(source, names, seeds, args.workers, backend=args.backend, **overrides)
    check_writable(out_dir)  # before any work, not after the whole bench
    try:
        result = run_bench(
            source,
            names,
            seeds,
            workers=args.workers,
            progress=not args.no_progress,
            backend=args.backend,
            address=args.address,
            executor=pool,
            **overrides,
        )
    except BenchInterrupted as stop:  # keep what finished
        if not stop.partial.records:
            print("interrupted before any cell finished; nothing written", file=sys.stderr)
            return 130
        written = write_outputs(stop.partial, out_dir, plots=False, baselines=vs)
        print(
            f"interrupted: wrote the {len(stop.partial.records)} finished cells to {out_dir}/ "
            "(summary.md says partial)",
            file=sys.stderr,
        )
        return 130
    written = write_outputs(result, out_dir, plots=False, baselines=vs)  # the results first, then plots
    rows = summarize(result, vs)
    print(
        f"preset {result.preset}  seeds {seeds[0]}..{seeds[-1]} ({len(seeds)})  JCT in slots; "
        "vs X = (X - scheduler) / X of the mean JCT"
    )
    print(format_table(rows, markdown=args.markdown, baselines=vs))
    written += _draw_plots(result, out_dir, plots=not args.no_plots, executor=pool)
    print(f"wrote {len(written)} files to {out_dir}/")
    return 0


def _draw_plots(result: Any, out_dir: str | Path, plots: bool, executor: Any = None) -> list[Path]:
    """The plots of a bench or eval, drawn after its results are written (``plots``: not
    ``--no-plots``; ``executor``: worker processes that draw some of them, see
    :func:`agents.plots.plot_all`); without matplotlib one line on stderr says how to get them,
    and nothing fails."""
    if not plots:
        return []
    from agents.plots import VIZ_HINT, matplotlib_available, plot_all

    if not matplotlib_available():
        print(f"no plots drawn ({VIZ_HINT}); the results are written", file=sys.stderr)
        return []
    return plot_all(result, out_dir, executor=executor)


def _cmd_train(args: argparse.Namespace) -> int:
    from agents.mappo.config import TrainConfig
    from agents.mappo.trainer import train

    if args.budget_minutes is None and args.rounds is None:
        raise ValueError("give --budget-minutes M or --rounds N (or both)")
    fields: dict[str, Any] = dict(_parse_override(s, "--train-set") for s in args.train_set)
    fixed = {"preset", "profile", "profile_options", "env_overrides", "model_overrides", "seed", "num_envs"}
    fixed |= {"total_rounds", "budget_minutes", "arch", "threads"}
    clash = sorted(set(fields) & fixed)
    if clash:
        raise ValueError(f"--train-set {clash}: these have options of their own (see edgesched train --help)")
    fields.update(
        preset=args.preset,
        profile=args.profile,
        profile_options=dict(_parse_override(s, "--profile-opt") for s in args.profile_opt),
        env_overrides=dict(_parse_override(s) for s in args.set),
        model_overrides=dict(_parse_override(s, "--model-set") for s in args.model_set),
        seed=args.seed,
        num_envs=args.num_envs,
        total_rounds=args.rounds,
        budget_minutes=args.budget_minutes,
        arch=args.arch,
        threads=args.threads,
    )
    if args.reward:
        fields["reward"] = args.reward
    if args.no_bayes:
        fields["bayes"] = False
    cfg = TrainConfig.from_dict(fields)
    result = train(cfg, args.out, resume=args.resume, progress=not args.no_progress)
    from agents.plots import VIZ_HINT, matplotlib_available

    if not matplotlib_available():  # train skips its curve then; say so once
        print(f"no training_curve.png drawn ({VIZ_HINT}); progress.csv holds the curve", file=sys.stderr)
    print(
        f"trained {result.iterations} iterations, {result.rounds} rounds in {result.wall_s:.0f} s "
        f"({result.rounds / max(result.wall_s, 1e-9):.0f} rounds/s); best selection mean JCT "
        f"{result.best_selection_jct:.3f} -> {result.best}"
    )
    return 0


def _eval_out_dir(checkpoint: Path, run_dir: Path | None, preset: str) -> Path:
    """The default ``--out`` of ``edgesched eval``: ``./eval-NAME-PRESET`` in the working directory,
    NAME being the run directory's name (with ``-last`` for its ``last/``), else the checkpoint's."""
    if run_dir is None:
        name = checkpoint.resolve().name
    else:
        name = run_dir.resolve().name + ("" if checkpoint.name == "best" else f"-{checkpoint.name}")
    return Path(f"eval-{name}-{preset}")


def _cmd_eval(args: argparse.Namespace) -> int:
    from agents.bench import check_writable, format_table, run_bench, summarize, write_outputs
    from agents.checkpoint import load_checkpoint, resolve_checkpoint_dir

    overrides = dict(_parse_override(s) for s in args.set)  # bad options fail before any loading
    checkpoint, run_dir = resolve_checkpoint_dir(args.checkpoint)
    if checkpoint != Path(args.checkpoint):
        print(f"--checkpoint {args.checkpoint} is a training run: using {checkpoint}", file=sys.stderr)
    meta = load_checkpoint(checkpoint, groups=()).meta
    preset = args.preset or meta.get("trained_on")
    if not preset:
        raise ValueError(f"{checkpoint}: no preset recorded; pass --preset")
    out_dir = Path(args.out) if args.out else _eval_out_dir(checkpoint, run_dir, preset)
    for inside in (checkpoint, run_dir):
        if inside is not None and out_dir.resolve().is_relative_to(inside.resolve()):
            default = _eval_out_dir(checkpoint, run_dir, preset)
            raise ValueError(
                f"--out {out_dir} is inside {inside}: eval never writes into a checkpoint or training "
                f"run directory; pass an --out outside it (the default is ./{default})"
            )
    spec = f"hgat{'-' + args.mode if args.mode else ''}:{checkpoint}"
    names = [spec] + [n.strip() for n in args.baselines.split(",") if n.strip()]
    seeds = list(range(args.seed_start, args.seed_start + args.seeds))
    check_writable(out_dir)  # before any work, not after every episode
    result = run_bench(preset, names, seeds, workers=args.workers, progress=not args.no_progress, **overrides)
    written = write_outputs(result, out_dir, plots=False, baselines=[])  # the results first, then plots
    rows = summarize(result, [])
    print(f"preset {preset}  seeds {seeds[0]}..{seeds[-1]} ({len(seeds)})  JCT in slots")
    print(format_table(rows, markdown=args.markdown, baselines=[]))
    written += _draw_plots(result, out_dir, plots=not args.no_plots)
    print(f"wrote {len(written)} files to {out_dir}/")
    return 0


def plain_text(doc: str) -> str:
    """A docstring without reST markup, for ``--help``: ````x```` -> ``x``, ``:mod:`m``` -> ``m``."""
    import re

    doc = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", doc)
    return doc.replace("``", "")


def _profile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile",
        metavar="FILE",
        help="simulate your measured jobs from a profile CSV instead of --preset (format: "
        "edgesched_env.workload.profile; resources, levels and capacities come from the file)",
    )
    p.add_argument(
        "--profile-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="profile_config option: num_clusters, capacities, repeats=mean|median|last, "
        "extra_columns=ignore, overhead_s, slot_seconds, nominal_work, arrival_rate, num_tasks, ...",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``edgesched`` command."""
    from edgesched_env.presets import DEFAULT_PRESET

    parser = argparse.ArgumentParser(prog="edgesched", description=plain_text(__doc__ or ""))
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("presets", help="list the presets and their parameters")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--markdown", action="store_true", help="print a markdown table (the README's)")
    p.set_defaults(func=_cmd_presets)
    p = sub.add_parser("run", help="run one episode with a scheduler and print its metrics")
    p.add_argument("--preset", default=DEFAULT_PRESET)
    _profile_args(p)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="env config override")
    p.add_argument("--seed", type=_int_at_least(0), default=0)
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
    _profile_args(p)
    p.add_argument(
        "--schedulers",
        default="all",
        help="comma-separated names; 'all' = every registered heuristic (the default); 'hgat' = the "
        "preset's pretrained agent; 'hgat:DIR' = a trained checkpoint",
    )
    p.add_argument("--seeds", type=_int_at_least(1), default=10, help="number of seeds (default 10)")
    p.add_argument("--seed-start", type=_int_at_least(0), default=0, help="first seed (default 0)")
    p.add_argument("--out", default=None, help="output directory (default bench-out/PRESET)")
    p.add_argument(
        "--workers", type=_int_at_least(1), default=1, help="worker processes (results do not change)"
    )
    p.add_argument(
        "--backend",
        choices=("process", "ray"),
        default="process",
        help="where cells run: local processes, or Ray tasks (results do not change)",
    )
    p.add_argument(
        "--address", default=None, help="Ray cluster address (--backend ray; default: a local Ray)"
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="env config override, repeatable (e.g. --set num_tasks=40 --set arrival_rate=3)",
    )  # fmt: skip
    p.add_argument(
        "--vs",
        default=None,
        help="benched schedulers for the reduction columns (default: min,tiresias, those benched)",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser(
        "train",
        help="train the HGAT actor-critic with MAPPO on a preset (checkpoints, CSV log, curve)",
        description="Train the HGAT agent from the vector env. Writes OUT/progress.csv, OUT/best/ and "
        "OUT/last/ (safetensors checkpoints), OUT/train_result.json and OUT/training_curve.png.",
    )
    p.add_argument("--preset", default=DEFAULT_PRESET)
    _profile_args(p)
    p.add_argument(
        "--budget-minutes", type=_positive_minutes, default=None, help="wall-time budget (minutes)"
    )
    p.add_argument("--rounds", type=_int_at_least(1), default=None, help="env rounds budget (deterministic)")
    p.add_argument(
        "--num-envs", type=_int_at_least(1), default=16, help="episodes stepped together (default 16)"
    )
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="training seed (default 0)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--arch", default="cpu", help="named model size: cpu (default), paper, tiny")
    p.add_argument("--reward", choices=("env", *REWARDS), default=None)
    p.add_argument("--no-bayes", action="store_true", help="leave conflicts to the env's rule")
    p.add_argument("--threads", type=_int_at_least(1), default=1, help="torch threads (default 1)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="env config override")
    p.add_argument(
        "--model-set", action="append", default=[], metavar="KEY=VALUE", help="ModelConfig field override"
    )
    p.add_argument(
        "--train-set", action="append", default=[], metavar="KEY=VALUE",
        help="TrainConfig field override (lr=1e-4, epochs=2, ...)",
    )  # fmt: skip
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "eval",
        help="evaluate a trained agent against baselines on held-out seeds (the bench table)",
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        help="a checkpoint directory (runs/x/best, runs/x/last) or the run directory that "
        "edgesched train --out wrote (runs/x: its best/ is used)",
    )
    p.add_argument("--preset", default=None, help="default: the preset it was trained on")
    p.add_argument("--seeds", type=_int_at_least(1), default=10, help="number of seeds (default 10)")
    p.add_argument(
        "--seed-start", type=_int_at_least(0), default=0, help="first seed (default 0; never trained on)"
    )
    p.add_argument(
        "--baselines", default="random,optimus-np,oracle-greedy", help="schedulers to compare with"
    )
    p.add_argument(
        "--mode", choices=("greedy", "sample"), default=None,
        help="decision mode (default: the one the training run selected)",
    )  # fmt: skip
    p.add_argument("--workers", type=_int_at_least(1), default=1)
    p.add_argument(
        "--out",
        default=None,
        help="output directory, never inside the checkpoint or run directory (default "
        "./eval-RUN-PRESET in the working directory: RUN is the run directory's name, with -last "
        "for its last/; the checkpoint directory's name for a checkpoint outside a run)",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="env config override")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--markdown", action="store_true")
    p.set_defaults(func=_cmd_eval)
    return parser


def _command_extras(args: argparse.Namespace) -> list[tuple[str, str]]:
    """``(extra, feature)`` pairs that the command ``args`` needs, checked before any work."""
    needs = {"train": [("agents", "training")], "eval": [("agents", "evaluating a trained agent")]}
    out = list(needs.get(args.command, []))
    if getattr(args, "backend", None) == "ray":
        out.append(("ray", "--backend ray"))
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``edgesched`` console script.

    A missing optional library (a command's extra, a scheduler's, a backend's) is one line on
    stderr naming the extra to install, exit status 2, before any work where it can be known."""
    args = build_parser().parse_args(argv)
    try:
        from agents._optional import require_extra

        for extra, feature in _command_extras(args):
            require_extra(extra, feature)
        return int(args.func(args))
    except ValueError as exc:  # bad presets, overrides, scheduler names: a clear message, no trace
        print(f"edgesched {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # an optional library: one line naming the extra, no trace
        from agents._optional import as_missing_extra

        missing = as_missing_extra(exc, "this command")
        if missing is None:
            raise
        print(f"edgesched {args.command}: error: {missing}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
