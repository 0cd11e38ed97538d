"""Plots of a benchmark (matplotlib, Agg backend, imported lazily; ``pip install 'edgesched[viz]'``).

:func:`plot_all` writes, for a :class:`~agents.bench.BenchResult`:

* ``jct_cdf.png``: empirical CDF of the per-task JCT (slots), all seeds pooled, per scheduler
  (the lower bound dashed);
* ``jct_box.png``: box plot of the same per-task JCTs (log scale);
* ``tasks_in_system.png``: tasks in the system at each slot of the first seed's episode;
* ``utilization.png``: allocated / capacity over all clusters at each slot of the first seed's
  episode as small multiples (a row per scheduler, a column per resource): the per-slot value
  faint, its moving average bold, the episode mean in the corner;
* ``gantt.png``: per-cluster Gantt chart of the first seed's episode of one scheduler (default:
  the non-oracle scheduler with the lowest mean JCT): a bar per task from its placement slot to
  its completion slot, stacked in lanes within each cluster, coloured by task type.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from agents.bench import BenchResult

__all__ = ["VIZ_HINT", "gantt_lanes", "matplotlib_available", "plot_all"]


VIZ_HINT = "plots need matplotlib: pip install 'edgesched[viz]'"
"""The one line said (and raised) when a plot is asked for on an install without matplotlib."""


def matplotlib_available() -> bool:
    """Whether ``import matplotlib`` works (it is in the ``[viz]`` extra, not in a base install)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot() -> Any:
    """pyplot on the Agg backend, or :class:`agents._optional.MissingExtraError` naming ``[viz]``
    (an ``ImportError``, as before)."""
    from agents._optional import require

    matplotlib = require("matplotlib", "viz", "plotting")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def gantt_lanes(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Greedy lane assignment of intervals ``[start, end)`` so that no two in a lane overlap.

    Args:
        start, end: ``(n,)`` slots (``end > start``).

    Returns:
        ``(n,)`` int64 lane index per interval (lanes are reused as soon as they are free).
    """
    order = np.lexsort((end, start))
    lane_end: list[int] = []
    lane = np.zeros(start.shape[0], dtype=np.int64)
    for i in order.tolist():
        for k, e in enumerate(lane_end):
            if e <= start[i]:
                lane[i] = k
                lane_end[k] = int(end[i])
                break
        else:
            lane[i] = len(lane_end)
            lane_end.append(int(end[i]))
    return lane


def _colors(names: list[str]) -> dict[str, Any]:
    plt = _pyplot()
    cmap = plt.get_cmap("tab20")
    return {n: cmap(i % 20) for i, n in enumerate(names)}


def plot_all(
    result: BenchResult,
    out_dir: str | Path,
    gantt_scheduler: str | None = None,
    executor: Executor | None = None,
) -> list[Path]:
    """Write the five plots into ``out_dir``; return their paths (in the order of the module
    docstring).

    Args:
        result: the benchmark.
        out_dir: the directory written into.
        gantt_scheduler: the scheduler of ``gantt.png`` (``None``: the non-oracle one with the
            lowest mean JCT).
        executor: worker processes (e.g. the bench's, :func:`agents.bench.start_workers`) that
            draw ``utilization.png`` and ``gantt.png`` while this process draws the other three;
            ``None``: all five here. The files do not depend on it.
    """
    out = Path(out_dir)
    futures: dict[str, Future[Path]] = {}
    if executor is not None:  # the two costliest there, first
        for name, args in (("utilization", ()), ("gantt", (gantt_scheduler,))):
            futures[name] = executor.submit(_draw, name, result, out, *args)
    paths = {
        name: _draw(name, result, out, *args)
        for name, args in (("jct_cdf", ()), ("jct_box", ()), ("tasks_in_system", ()),
                           ("utilization", ()), ("gantt", (gantt_scheduler,)))
        if name not in futures
    }  # fmt: skip
    for name, fut in futures.items():
        paths[name] = fut.result()
    return [paths[name] for name in ("jct_cdf", "jct_box", "tasks_in_system", "utilization", "gantt")]


def _draw(name: str, result: BenchResult, out: Path, *args: Any) -> Path:
    """Draw the figure ``name`` of :func:`plot_all` into ``out`` (top-level, so that a worker
    process can run it); return its path."""
    return _FIGURES[name](result, out, *args)


def _pooled(result: BenchResult, name: str) -> np.ndarray:
    """Per-task JCTs (slots) of ``name`` over all seeds, in seed order."""
    parts = [result.jct[(name, s)] for s in result.seeds if (name, s) in result.jct]
    return np.concatenate(parts) if parts else np.zeros(0)


def _jct_cdf(result: BenchResult, out: Path) -> Path:
    from agents.baselines import LOWER_BOUND

    plt = _pyplot()
    names = list(result.schedulers)
    colors = _colors(names)
    fig, ax = plt.subplots(figsize=(8, 5))
    for name in names:
        x = np.sort(_pooled(result, name))
        if x.shape[0]:
            ax.step(
                x, np.arange(1, x.shape[0] + 1) / x.shape[0], where="post", label=name, color=colors[name]
            )
    lb = np.sort(_pooled(result, LOWER_BOUND))
    if lb.shape[0]:
        ax.step(lb, np.arange(1, lb.shape[0] + 1) / lb.shape[0], where="post", label=LOWER_BOUND,
                color="black", linestyle="--")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("JCT (slots, log scale)")
    ax.set_ylabel("fraction of tasks")
    ax.set_title(f"JCT CDF: {result.preset}, {len(result.seeds)} seeds pooled")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    return _save(fig, out / "jct_cdf.png")


def _jct_box(result: BenchResult, out: Path) -> Path:
    from agents.baselines import LOWER_BOUND

    plt = _pyplot()
    names = list(result.schedulers)
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * (len(names) + 1)), 5))
    labels = [*names, LOWER_BOUND] if _pooled(result, LOWER_BOUND).shape[0] else names
    data = [_pooled(result, n) for n in labels]
    ax.boxplot(data, showfliers=True, flierprops={"markersize": 2})
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("JCT (slots, log scale)")
    ax.set_title(f"JCT per task: {result.preset}")
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, out / "jct_box.png")


def _tasks_in_system(result: BenchResult, out: Path) -> Path:
    plt = _pyplot()
    names = list(result.schedulers)
    colors = _colors(names)
    fig, ax = plt.subplots(figsize=(8, 5))
    for name in names:
        s = result.series.get(name)
        if s is not None:
            ax.plot(s["in_system"], label=name, color=colors[name], linewidth=1)
    ax.set_xlabel("slot")
    ax.set_ylabel("tasks in system")
    ax.set_title(f"Tasks in system: {result.preset}, seed {result.seeds[0]}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, out / "tasks_in_system.png")


def _utilization(result: BenchResult, out: Path) -> Path:
    """Small multiples (a row per scheduler, a column per resource), each the per-slot value
    (faint) under its moving average (bold), with the episode mean."""
    plt = _pyplot()
    names = list(result.schedulers)
    colors = _colors(names)
    any_series = next(iter(result.series.values()), None)
    res_names = list(any_series["resource_names"]) if any_series else []
    rows = [n for n in names if n in result.series and result.series[n]["used"].shape[0] > 0]
    nr, nc = max(1, len(rows)), max(1, len(res_names))
    fig, axes = plt.subplots(
        nr, nc, figsize=(3.2 * nc + 1.5, 1.25 * nr + 1.2), sharex=True, sharey=True, squeeze=False
    )
    for i, name in enumerate(rows):
        s = result.series[name]
        for r, res in enumerate(res_names):
            ax = axes[i, r]
            util = s["used"][:, :, r].sum(axis=1) / s["capacity"][:, r].sum()
            ax.plot(util, color=colors[name], linewidth=0.6, alpha=0.3)
            ax.plot(moving_average(util), color=colors[name], linewidth=1.6)
            ax.text(
                0.99, 0.9, f"mean {util.mean():.0%}", transform=ax.transAxes, ha="right", va="top", fontsize=7
            )
            ax.set_ylim(0, 1.05)
            ax.grid(True, alpha=0.3)
            if i == 0:
                ax.set_title(res, fontsize=9)
        axes[i, 0].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(
        f"Utilisation, all clusters (faint: per slot; bold: moving average): {result.preset}, "
        f"seed {result.seeds[0]}",
        fontsize=9,
        y=1 - 0.12 / fig.get_size_inches()[1],
        va="top",
    )
    for ax in axes[-1]:
        ax.set_xlabel("slot")
    # fixed margins (inches) instead of tight_layout, which lays out every small multiple's ticks
    # once more (a second of the bench's time for 15 rows)
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=1.3 / width, right=1 - 0.15 / width, bottom=0.55 / height, top=1 - 0.75 / height,
        wspace=0.08, hspace=0.12,
    )  # fmt: skip
    return _save(fig, out / "utilization.png", tight=False)


def _gantt_figure(result: BenchResult, out: Path, gantt_scheduler: str | None = None) -> Path:
    plt = _pyplot()
    gname = gantt_scheduler or _best_peer(result)
    s = result.series.get(gname) if gname else None
    fig, ax = plt.subplots(figsize=(11, 6))
    if s is not None:
        _gantt(ax, s, f"{gname}, {result.preset}, seed {result.seeds[0]}")
    return _save(fig, out / "gantt.png")


_FIGURES: dict[str, Callable[..., Path]] = {
    "jct_cdf": _jct_cdf,
    "jct_box": _jct_box,
    "tasks_in_system": _tasks_in_system,
    "utilization": _utilization,
    "gantt": _gantt_figure,
}


def moving_average(x: np.ndarray, window: int | None = None) -> np.ndarray:
    """Centred moving average of ``x`` (same length; the window shrinks at the ends).

    ``window`` defaults to about 1/25 of the series (at least 1 slot).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    w = max(1, x.size // 25) if window is None else min(x.size, max(1, int(window)))
    kernel = np.ones(w)
    total = np.convolve(x, kernel, mode="same")
    count = np.convolve(np.ones_like(x), kernel, mode="same")
    return total / count


def _best_peer(result: BenchResult) -> str | None:
    """The non-oracle scheduler with the lowest mean JCT over seeds."""
    best, best_jct = None, np.inf
    for name in result.schedulers:
        if "oracle" in name:
            continue
        vals = [r["mean_jct"] for r in result.records if r["scheduler"] == name]
        if vals and float(np.mean(vals)) < best_jct:
            best, best_jct = name, float(np.mean(vals))
    return best


def _gantt(ax: Any, s: dict[str, Any], title: str) -> None:
    plt = _pyplot()
    placed = s["placed_slot"]
    done = s["completion_slot"]
    ok = placed >= 0
    end_all = int(max(done.max(initial=0), placed.max(initial=0))) + 1
    cmap = plt.get_cmap("tab10")
    n_clusters = s["capacity"].shape[0]
    base = 0.0
    ticks, tick_labels = [], []
    for c in range(n_clusters):
        sel = np.flatnonzero(ok & (s["cluster"] == c))
        start = placed[sel]
        end = np.where(done[sel] >= 0, done[sel] + 1, end_all)
        lanes = gantt_lanes(start, end) if sel.shape[0] else np.zeros(0, dtype=np.int64)
        height = int(lanes.max()) + 1 if lanes.shape[0] else 1
        # one collection per lane (a broken_barh call draws its bars at one height), not one
        # per task: 200 tasks' collections cost a quarter of a second to draw
        for ln in range(height if sel.shape[0] else 0):
            k = np.flatnonzero(lanes == ln)
            ax.broken_barh(
                list(zip(start[k].tolist(), (end[k] - start[k]).tolist())),
                (base + ln, 0.9),
                facecolors=[cmap(int(t) % 10) for t in s["type_idx"][sel[k]].tolist()],
                edgecolor="white",
                linewidth=0.5,
            )
        ticks.append(base + height / 2)
        tick_labels.append(f"cluster {c}")
        base += height + 1
        ax.axhline(base - 0.5, color="grey", linewidth=0.5)
    ax.set_yticks(ticks, tick_labels)
    ax.set_xlabel("slot")
    ax.set_title(f"Gantt (a bar per task, placement to completion): {title}")
    handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(k % 10)) for k in range(len(s["type_names"]))]
    ax.legend(handles, list(s["type_names"]), fontsize=8, loc="upper right")


def _save(fig: Any, path: Path, tight: bool = True) -> Path:
    plt = _pyplot()
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
