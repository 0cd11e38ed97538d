"""The benchmark harness behind ``edgesched bench``: every scheduler on the same seeds.

A benchmark is a grid of episodes, one per (scheduler, seed), plus the ``lower-bound`` figure per
seed (every task alone at its best allocation, no waiting: see :mod:`agents.baselines.lower_bound`).
They run in cells: a cell is one scheduler on a run of the seeds (all of them, or one part each
when there are more workers than schedulers), played as one batch by
:func:`agents.evaluate.play_episodes` (one vector-env row per seed, or one episode at a time
for a scheduler that cannot run batched). Each cell builds its own scheduler and seeds every
episode with its seed, and a batch's episodes equal the ones played alone bit for bit, so an
episode's result depends only on (preset, overrides, scheduler, seed): running the cells in
parallel processes (``workers > 1``) gives exactly the records of a serial run.

Outputs of :func:`write_outputs` in the output directory:

* ``results.json``: a JSON list of records, one per (scheduler, seed), ordered by scheduler (as
  given, then ``lower-bound``) and seed; each has ``scheduler``, ``seed``, ``preset``,
  ``overrides`` and every key of the env's metrics dict (the lower-bound records have ``null``
  where a key does not apply, e.g. utilisation). Wall-clock times are not in it (they are not
  reproducible), so serial and parallel runs write byte-identical files;
* ``timings.json``: ``{scheduler, seed, wall_time_s}`` per episode (``wall_time_s``: the
  episode's share of its cell, the cell's wall time divided by its number of episodes);
* ``summary.csv`` and ``summary.md``: the table of :func:`summarize` (one row per scheduler);
* plots (:mod:`agents.plots`): ``jct_cdf.png``, ``jct_box.png``, ``tasks_in_system.png``,
  ``utilization.png``, ``gantt.png``.
"""

from __future__ import annotations

import atexit
import csv
import dataclasses
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.baselines import (
    LOWER_BOUND,
    PRETRAINED_NAMES,
    lower_bound_jct,
    lower_bound_metrics,
    make_scheduler,
)
from agents.evaluate import play_episodes
from edgesched_env.config import EnvConfig
from edgesched_env.parallel_env import EdgeSchedParallelEnv

__all__ = [
    "BenchResult",
    "Cell",
    "format_table",
    "run_bench",
    "run_cell",
    "start_workers",
    "summarize",
    "t_quantile_975",
    "write_outputs",
]

#: Baselines of the reduction columns (the paper's request-based Min and Tiresias).
REDUCTION_BASELINES = ("min", "tiresias")


@dataclass(frozen=True)
class Cell:
    """One batch of the grid: one scheduler on some of the seeds.

    Attributes:
        scheduler: registered scheduler name, or ``"lower-bound"``.
        seeds: episode seeds (each episode's env and scheduler are both seeded with its own).
        preset: preset name or config.
        overrides: env config overrides as sorted ``(key, value)`` pairs.
        series_seed: also return this seed's episode time series and per-task data (for plots);
            ``None``: none.
    """

    scheduler: str
    seeds: tuple[int, ...]
    preset: str | EnvConfig
    overrides: tuple[tuple[str, Any], ...] = ()
    series_seed: int | None = None


@dataclass
class CellResult:
    """One episode of a cell: its record, its wall time (s: its share of the cell's), per-task
    JCTs and optional series."""

    record: dict[str, Any]
    wall_time_s: float
    jct: np.ndarray
    series: dict[str, Any] | None = None


def _run_on_ray(cells: list[Cell], workers: int, address: str | None) -> list[list[CellResult]]:
    """Every cell as a Ray task (one CPU each), results in ``cells`` order."""
    from agents._optional import require

    ray = require("ray", "ray", "backend='ray'")
    started = False
    if not ray.is_initialized():
        if address is None:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
        started = True
    try:
        remote = ray.remote(num_cpus=1)(run_cell)
        return list(ray.get([remote.remote(c) for c in cells]))
    finally:
        if started:
            ray.shutdown()


#: in-memory schedulers of the running :func:`run_bench` call (``instances``), by name.
_INSTANCES: dict[str, Any] = {}

_ENV_CACHE: dict[tuple[str, str], EdgeSchedParallelEnv] = {}  # (repr(preset), repr(overrides))


def _tupled(value: Any) -> Any:
    """``value`` with every list made a tuple (JSON-shaped overrides such as ``clusters=[[16, 16]]``)."""
    return tuple(_tupled(v) for v in value) if isinstance(value, (list, tuple)) else value


def _env_for(preset: str | EnvConfig, overrides: tuple[tuple[str, Any], ...]) -> EdgeSchedParallelEnv:
    """One env per (preset, overrides) and process; ``reset(seed)`` makes reuse exact."""
    key = (repr(preset), repr(overrides))  # repr: configs and list-valued overrides are not hashable
    env = _ENV_CACHE.get(key)
    if env is None:
        env = _ENV_CACHE[key] = EdgeSchedParallelEnv(preset, **dict(overrides))
    return env


def run_cell(cell: Cell) -> list[CellResult]:
    """Run one cell (top-level, so that worker processes can pickle it): one result per seed,
    in the order of ``cell.seeds``."""
    out = []
    if cell.scheduler == LOWER_BOUND:
        env = _env_for(cell.preset, cell.overrides)
        for seed in cell.seeds:
            t0 = time.perf_counter()
            env.reset(seed=seed)
            metrics, jct = lower_bound_metrics(env), lower_bound_jct(env)
            wall = time.perf_counter() - t0
            out.append(CellResult(_record(cell, seed, env.config.name, metrics), wall, np.asarray(jct)))
        return out
    sched = _INSTANCES.get(cell.scheduler) or make_scheduler(cell.scheduler)
    for ep in play_episodes(sched, cell.preset, cell.seeds, dict(cell.overrides), traces=True):
        assert ep.trace is not None
        series = ep.trace if ep.seed == cell.series_seed else None
        record = _record(cell, ep.seed, ep.preset, ep.metrics)
        out.append(CellResult(record, ep.wall_time_s, np.asarray(ep.trace["jct"]), series))
    return out


def _record(cell: Cell, seed: int, preset: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "scheduler": cell.scheduler,
        "seed": seed,
        "preset": preset,
        "overrides": dict(cell.overrides),
    }
    record.update(metrics)
    return record


def _exit_now() -> None:
    """Flush stdout and stderr, then end the process at once (exit status 0)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os._exit(0)


def _worker_init() -> None:
    """Initializer of a bench worker process: skip the interpreter's teardown at its exit.

    A spawn worker ends with ``sys.exit``, which tears down every module and collects every
    object the cells left (numba's dispatchers, the envs): 0.5-1 s per worker after a default
    bench, and :meth:`ProcessPoolExecutor.shutdown` waits for it while the plots wait for the
    shutdown. Registered first, :func:`_exit_now` runs after every other exit handler (they run
    last-registered first) and then ends the process: by then the worker has sent all its
    results (a result is written to the pipe before the next task is read) and has nothing
    else to keep.
    """
    atexit.register(_exit_now)


def _warm() -> None:
    """A no-op task: unpickling it imports this module (numpy, the env) in the worker."""


def start_workers(workers: int) -> ProcessPoolExecutor:
    """``workers`` bench worker processes, started now (spawn; see :func:`_worker_init`).

    Each is sent a no-op task at once, so that its start (about a second of imports) overlaps
    whatever the caller does next, e.g. checking the arguments. Pass it to :func:`run_bench`
    and :func:`agents.plots.plot_all` as ``executor``; the caller shuts it down.
    """
    # "spawn": fresh interpreters, the same on every OS, and safe whatever threads this
    # process runs (a progress bar's monitor thread, a notebook's kernel).
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
    for _ in range(workers):  # the pool starts a process per submit while none is idle
        pool.submit(_warm)
    return pool


def _split(seeds: list[int], parts: int) -> list[tuple[int, ...]]:
    """``seeds`` in ``parts`` consecutive runs of near-equal length (the longer ones first)."""
    size, extra = divmod(len(seeds), parts)
    out, start = [], 0
    for k in range(parts):
        end = start + size + (k < extra)
        out.append(tuple(seeds[start:end]))
        start = end
    return out


@dataclass
class BenchResult:
    """All cells of a benchmark, in grid order (schedulers as given, ``lower-bound`` last).

    Attributes:
        preset: preset name; schedulers: scheduler names (without the lower bound).
        seeds: the seeds; records: one per episode (no wall time); timings: wall time (s) per
            episode (its share of its cell's).
        jct: ``(scheduler, seed) -> per-task JCTs (slots)``.
        series: ``scheduler -> episode trace`` of the first seed (see
            :func:`agents.evaluate.episode_trace`).
        complete: ``False`` for the partial result of an interrupted bench (:class:`BenchInterrupted`).
    """

    preset: str
    schedulers: list[str]
    seeds: list[int]
    records: list[dict[str, Any]]
    timings: list[dict[str, Any]]
    jct: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    series: dict[str, dict[str, Any]] = field(default_factory=dict)
    complete: bool = True


class BenchInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_bench`: ``partial`` holds the cells that had finished.

    Its records are in grid order like a full result's; ``partial.complete`` is ``False``.
    """

    def __init__(self, partial: BenchResult) -> None:
        super().__init__(f"bench interrupted after {len(partial.records)} episodes")
        self.partial = partial


def check_writable(out_dir: str | Path) -> Path:
    """Create ``out_dir`` (and parents) and check a file can be written there, before any work.

    Raises:
        ValueError: naming the directory and the reason (a file in the way, no permission, ...).
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".edgesched-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"cannot write the bench output to {str(out)!r}: {exc.strerror or exc}") from exc
    return out


def _fill_missing(records: list[dict[str, Any]]) -> None:
    """Give every record every key (``None`` where absent), in the key order of the first
    scheduler record, so that ``results.json`` has one schema."""
    order: list[str] = []
    for rec in records:
        for k in rec:
            if k not in order:
                order.append(k)
    for i, rec in enumerate(records):
        records[i] = {k: rec.get(k) for k in order}


def check_bench(
    preset: str | EnvConfig,
    schedulers: Sequence[str],
    seeds: Sequence[int],
    workers: int = 1,
    instances: Mapping[str, Any] | None = None,
    backend: str = "process",
    **env_overrides: Any,
) -> EdgeSchedParallelEnv:
    """Check the arguments of :func:`run_bench` without running anything: the preset and the
    overrides build, every scheduler name is known (a pretrained one has a checkpoint for the
    preset), there are seeds. Returns an env of the config.

    Raises:
        ValueError: naming what is wrong.
    """
    if not seeds:
        raise ValueError("run_bench needs at least one seed")
    if not schedulers:
        raise ValueError("run_bench needs at least one scheduler")
    overrides = tuple(sorted((k, _tupled(v)) for k, v in env_overrides.items()))
    env = _env_for(preset, overrides)  # bad presets/overrides fail first
    if backend not in ("process", "ray"):
        raise ValueError(f"backend must be 'process' or 'ray', got {backend!r}")
    if instances and (workers > 1 or backend == "ray"):
        raise ValueError("in-memory schedulers (instances=...) run in this process: use workers=1")
    for name in schedulers:
        if instances and name in instances:
            continue
        make_scheduler(name)  # so do unknown names ...
        if name in PRETRAINED_NAMES:  # ... and a preset with no shipped agent
            from agents.pretrained import checkpoint_path

            checkpoint_path(env.config.name)
    return env


def run_bench(
    preset: str | EnvConfig,
    schedulers: Sequence[str],
    seeds: Sequence[int],
    workers: int = 1,
    progress: bool = True,
    lower_bound: bool = True,
    instances: Mapping[str, Any] | None = None,
    backend: str = "process",
    address: str | None = None,
    executor: ProcessPoolExecutor | None = None,
    **env_overrides: Any,
) -> BenchResult:
    """Run every scheduler on every seed (and the lower bound), serially or in processes.

    Args:
        preset: preset name, or a config (e.g. ``profile_config("my_jobs.csv")``; it is named
            by ``config.name`` in the records).
        schedulers: registered scheduler names.
        seeds: episode seeds, shared by all schedulers.
        workers: worker processes (1: run in this process). Results do not depend on it.
        progress: show a tqdm progress bar on stderr.
        lower_bound: add the ``lower-bound`` figure's records.
        instances: in-memory schedulers by name (e.g. a policy an RL library just trained, from
            an integration's ``as_scheduler``); their names go in ``schedulers`` like any other.
            They run in this process, so ``workers`` must be 1.
        backend: ``"process"`` (``workers`` local processes) or ``"ray"``: every cell is a Ray
            task on the cluster at ``address`` (``None``: start a local Ray with ``workers``
            CPUs; ``"auto"``: the running cluster). Cells are independent and seeded, so the
            records are identical to the serial run's whatever runs them.
        address: the Ray cluster (``backend="ray"`` only).
        executor: the worker processes of ``workers > 1`` (:func:`start_workers`, started
            early and kept for the plots by ``edgesched bench``); ``None``: started here and
            shut down on return. It is stopped on Ctrl-C or a failed cell either way.
        **env_overrides: env config overrides (``num_tasks=40``, ...).

    Returns:
        The :class:`BenchResult`.
    """
    overrides = tuple(sorted((k, _tupled(v)) for k, v in env_overrides.items()))
    env = check_bench(preset, schedulers, seeds, workers, instances, backend, **env_overrides)
    label = preset if isinstance(preset, str) else env.config.name
    instances = dict(instances or {})
    seeds = list(dict.fromkeys(int(s) for s in seeds))  # a seed or a name given twice is run once:
    schedulers = list(dict.fromkeys(schedulers))  # duplicates would fake a tighter interval
    names = list(schedulers) + ([LOWER_BOUND] if lower_bound else [])
    first = seeds[0]
    # one cell per scheduler, its seeds one batch; split in parts while workers would idle
    parts = min(len(seeds), max(1, -(-workers // len(names)))) if workers > 1 or backend == "ray" else 1
    cells = [
        Cell(name, part, preset, overrides, series_seed=first if name != LOWER_BOUND else None)
        for name in names
        for part in _split(seeds, parts)
    ]
    from tqdm.auto import tqdm

    total = len(names) * len(seeds)
    bar = tqdm(total=total, desc=f"bench {preset}", unit="ep", disable=not progress, file=sys.stderr)
    results: dict[Cell, list[CellResult]] = {}
    try:
        if backend == "ray":
            for cell, res in zip(cells, _run_on_ray(cells, workers, address)):
                results[cell] = res
                bar.update(len(cell.seeds))
        elif workers <= 1:
            _INSTANCES.update(instances)
            try:
                for cell in cells:
                    results[cell] = run_cell(cell)
                    bar.update(len(cell.seeds))
            finally:
                for name in instances:
                    _INSTANCES.pop(name, None)
        else:
            pool = executor if executor is not None else start_workers(workers)
            try:
                futures = {pool.submit(run_cell, cell): cell for cell in cells}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update(len(futures[fut].seeds))
            except BaseException:
                # Ctrl-C (or a failed cell): drop the queued cells and stop the workers now
                # instead of running every queued cell first.
                for proc in list(getattr(pool, "_processes", {}).values()):
                    proc.terminate()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            if executor is None:
                pool.shutdown()
    except KeyboardInterrupt:
        bar.close()
        raise BenchInterrupted(_result(label, schedulers, seeds, cells, results, complete=False)) from None
    bar.close()
    return _result(label, schedulers, seeds, cells, results, complete=True)


def _result(
    preset: str,
    schedulers: Sequence[str],
    seeds: list[int],
    cells: list[Cell],
    results: Mapping[Cell, list[CellResult]],
    complete: bool,
) -> BenchResult:
    """The :class:`BenchResult` of the ``cells`` that have a result (all of them unless interrupted)."""
    done = [(c, res) for c in cells if c in results for res in results[c]]
    records = [res.record for _, res in done]
    _fill_missing(records)
    out = BenchResult(
        preset=preset,
        schedulers=list(schedulers),
        seeds=seeds,
        records=records,
        timings=[
            {"scheduler": c.scheduler, "seed": res.record["seed"], "wall_time_s": res.wall_time_s}
            for c, res in done
        ],
        complete=complete,
    )
    for c, res in done:
        out.jct[(c.scheduler, int(res.record["seed"]))] = res.jct
        if res.series is not None:
            out.series[c.scheduler] = res.series
    return out


# ---------------------------------------------------------------------------------- summary
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
         2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
         2.052, 2.048, 2.045, 2.042)  # fmt: skip


def t_quantile_975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (two-sided 95% CI).

    Exact to 3 decimals up to 30, then ``1.96 + 2.5 / df`` (within 0.002 of the true value).
    """
    if df < 1:
        return math.nan
    return _T975[df - 1] if df <= 30 else 1.96 + 2.5 / df


def summarize(result: BenchResult, baselines: Sequence[str] = REDUCTION_BASELINES) -> list[dict[str, Any]]:
    """One row per scheduler (then ``lower-bound``), aggregated over seeds.

    Row keys: ``scheduler``; ``seeds``; ``mean_jct`` (mean over seeds of the per-episode mean
    JCT, slots), ``mean_jct_ci95`` (half-width of its 95% t-interval over seeds), ``mean_jct_std``;
    ``p95_jct``, ``p99_jct``, ``makespan``, ``mean_tasks_in_system`` (means over seeds);
    ``util_<resource>`` (mean utilisation, ``[0, 1]``); ``conflicts``, ``rounds`` (means);
    ``vs_<baseline>`` for each of ``baselines`` (default :data:`REDUCTION_BASELINES`) that was
    run: the reduction
    ``(baseline - this) / baseline`` of the mean JCT (positive: better than the baseline);
    ``vs_lower_bound``: ``this / lower-bound`` mean JCT ratio; ``truncated``: how many of its
    episodes were cut (``max_slots`` / ``max_cycles``) before every task finished; their JCTs count
    the unfinished tasks' slots so far, so they are not comparable with full episodes.
    """
    by_name: dict[str, list[dict[str, Any]]] = {}
    for rec in result.records:
        by_name.setdefault(rec["scheduler"], []).append(rec)
    rows: list[dict[str, Any]] = []
    for name, recs in by_name.items():
        jcts = np.array([r["mean_jct"] for r in recs], dtype=np.float64)
        n = jcts.shape[0]
        std = float(jcts.std(ddof=1)) if n > 1 else 0.0
        row: dict[str, Any] = {
            "scheduler": name,
            "seeds": n,
            "mean_jct": float(jcts.mean()),
            "mean_jct_ci95": t_quantile_975(n - 1) * std / math.sqrt(n) if n > 1 else math.nan,
            "mean_jct_std": std,
        }
        for key in ("p95_jct", "p99_jct", "makespan", "mean_tasks_in_system"):
            row[key] = float(np.mean([r[key] for r in recs]))
        util = recs[0].get("utilization")
        for res in util or {}:
            row[f"util_{res}"] = float(np.mean([r["utilization"][res] for r in recs]))
        for key in ("conflicts", "rounds"):
            vals = [r[key] for r in recs if r.get(key) is not None]
            row[key] = float(np.mean(vals)) if vals else None
        row["truncated"] = sum(bool(r.get("truncated")) for r in recs)
        rows.append(row)
    means = {r["scheduler"]: r["mean_jct"] for r in rows}
    for row in rows:
        for base in baselines:
            if base in means:
                row[f"vs_{base}"] = (means[base] - row["mean_jct"]) / means[base]
        if LOWER_BOUND in means:
            row["vs_lower_bound"] = row["mean_jct"] / means[LOWER_BOUND]
    return rows


def _fmt(v: Any, spec: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec)


def format_table(
    rows: list[dict[str, Any]], markdown: bool = False, baselines: Sequence[str] = REDUCTION_BASELINES
) -> str:
    """The benchmark table as aligned text (or a Markdown table).

    Columns: scheduler, mean JCT +- 95% CI over seeds, p95 JCT, makespan (slots), utilisation per
    resource (%), reduction of the mean JCT vs each of ``baselines`` (default ``min`` and
    ``tiresias``; %, positive = better), and the ratio to the lower bound. A scheduler with
    truncated episodes is starred, and a note under the table says how many.
    """
    res = [k[len("util_") :] for k in rows[0] if k.startswith("util_")] if rows else []
    for row in rows:
        for k in row:
            if k.startswith("util_") and k[len("util_") :] not in res:
                res.append(k[len("util_") :])
    head = ["scheduler", "mean JCT (95% CI)", "p95 JCT", "makespan"]
    head += [f"util {r}" for r in res]
    head += [f"vs {b}" for b in baselines] + ["x lower bound"]
    body = []
    for row in rows:
        ci = row.get("mean_jct_ci95")
        cells = [
            row["scheduler"] + ("*" if row.get("truncated") else ""),
            f"{row['mean_jct']:.2f}" + ("" if ci is None or math.isnan(ci) else f" ± {ci:.2f}"),
            _fmt(row.get("p95_jct"), ".1f"),
            _fmt(row.get("makespan"), ".1f"),
        ]
        for r in res:
            u = row.get(f"util_{r}")
            cells.append(_fmt(None if u is None else 100 * u, ".1f"))
        for b in baselines:
            v = row.get(f"vs_{b}")
            cells.append(_fmt(None if v is None else 100 * v, "+.1f") + ("%" if v is not None else ""))
        cells.append(_fmt(row.get("vs_lower_bound"), ".2f"))
        body.append(cells)
    cut = [f"{r['scheduler']} {r['truncated']} of {r['seeds']}" for r in rows if r.get("truncated")]
    note = (
        [
            "",
            "* truncated episodes (cut by max_slots / max_cycles before every task finished; their "
            "JCTs count unfinished tasks' slots so far and are not comparable with full episodes or "
            "the lower bound): " + ", ".join(cut),
        ]
        if cut
        else []
    )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(c) + " |" for c in body]
        return "\n".join(lines + note)
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(lines + note)


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if dataclasses.is_dataclass(v) and not isinstance(v, type):  # config overrides (ClusterSpec, ...)
        return {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def write_outputs(
    result: BenchResult,
    out_dir: str | Path,
    plots: bool = True,
    baselines: Sequence[str] = REDUCTION_BASELINES,
) -> list[Path]:
    """Write ``results.json``, ``timings.json``, ``summary.csv``, ``summary.md`` and the plots.

    Returns:
        The paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    path = out / "results.json"
    path.write_text(json.dumps(result.records, indent=1, default=_json_default) + "\n")
    written.append(path)
    path = out / "timings.json"
    path.write_text(json.dumps(result.timings, indent=1) + "\n")
    written.append(path)
    rows = summarize(result, baselines)
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    path = out / "summary.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in keys})
    written.append(path)
    path = out / "summary.md"
    partial = "" if result.complete else f"; **partial: interrupted after {len(result.records)} episodes**"
    path.write_text(
        f"preset `{result.preset}`, seeds {result.seeds[0]}..{result.seeds[-1]} "
        f"({len(result.seeds)}); JCT in slots{partial}\n\n"
        + format_table(rows, markdown=True, baselines=baselines)
        + "\n"
    )
    written.append(path)
    if plots:
        from agents.plots import plot_all

        written += plot_all(result, out)
    return written
