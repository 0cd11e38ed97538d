"""Trace replay: arrivals (and durations, gpu counts, homes, model types) from real job traces.

Sources (``TraceReplay.source``):

- ``"philly"``: the packaged cut of the Microsoft Philly trace (via Pollux's ``philly.csv``): the
  1,692 jobs submitted 2017-10-02 00:00:00 .. 2017-10-04 00:00:00, sorted by submit time.
  Columns ``submit_s`` (s since the window start), ``duration_s``, ``num_gpus``, ``cluster``
  (hashed virtual-cluster id). No model type: types are drawn from the preset's mix.
- ``"pollux-workload-K"`` (K = 1..8): Pollux's evaluation workloads (160 jobs each): arrival
  ``time`` (s), ``application`` (model type), ``num_replicas`` (GPUs). No duration: work is the
  model's nominal work (times the per-task draw, if any).
- a path to a user CSV with columns ``submit_s``, ``duration_s`` (optional), ``num_gpus``
  (optional, default 1), ``cluster`` (optional), ``application`` (optional). Rows are sorted by
  ``submit_s`` (stable) before replay.

Time compression (exact, documented): with ``s_0`` the submit time of row ``start_row``,

.. code-block:: text

    arrival_slot_i  = floor((submit_s_i - s_0) / arrival_seconds_per_slot)
    duration_slots_i = clip(duration_s_i / duration_seconds_per_slot, min_duration_slots,
                            max_duration_slots)

Rows ``start_row .. start_row + num_tasks - 1`` are replayed, in file order. A task's work is set so
that at the trace's gpu count (clipped to the per-task maximum), with its ideal cpu/memory on the
reference GPU, it runs about ``duration_slots`` (see ``MeasuredSpeed.work_for_duration``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edgesched_env._names import did_you_mean
from edgesched_env.workload.tables import Table, read_data_table, read_table

__all__ = ["POLLUX_APPLICATION_TYPES", "TraceJobs", "TraceReplay", "load_trace"]

#: Pollux application name -> measured model type name.
POLLUX_APPLICATION_TYPES: dict[str, str] = {
    "cifar10": "resnet18-cifar10",
    "imagenet": "resnet50-imagenet",
    "bert": "bert",
    "deepspeech2": "deepspeech2",
    "yolov3": "yolov3",
    "ncf": "ncf",
}


@dataclass(frozen=True)
class TraceJobs:
    """The jobs of a trace, sorted by submit time.

    Attributes:
        source: where they came from (for messages).
        submit_s: ``(J,)`` float64 submit time (s).
        duration_s: ``(J,)`` float64 run time (s), NaN where the trace has none.
        num_gpus: ``(J,)`` int64 GPUs the job used.
        cluster: ``(J,)`` int64 rank of the job's cluster id among the trace's sorted ids (-1: none).
        application: per job the model type name, or ``None`` when the trace has none.
    """

    source: str
    submit_s: NDArray[np.float64]
    duration_s: NDArray[np.float64]
    num_gpus: NDArray[np.int64]
    cluster: NDArray[np.int64]
    application: tuple[str, ...] | None

    @property
    def num_jobs(self) -> int:
        """``J``."""
        return int(self.submit_s.shape[0])


def _jobs_from_table(table: Table, source: str, time_col: str, gpu_col: str) -> TraceJobs:
    n = len(table.rows)
    submit = np.array(table.numbers(time_col), dtype=np.float64)
    if "duration_s" in table.columns:
        duration = np.array(table.numbers("duration_s"), dtype=np.float64)
    else:
        duration = np.full(n, np.nan)
    if gpu_col in table.columns:
        gpus = np.array(table.numbers(gpu_col, integer=True, minimum=1), dtype=np.int64)
    else:
        gpus = np.ones(n, dtype=np.int64)
    if "cluster" in table.columns:
        ids = [r["cluster"] for r in table.rows]
        rank = {c: i for i, c in enumerate(sorted(set(ids)))}
        cluster = np.array([rank[c] for c in ids], dtype=np.int64)
    else:
        cluster = np.full(n, -1, dtype=np.int64)
    app_col = "application" if "application" in table.columns else None
    apps: tuple[str, ...] | None = None
    if app_col is not None:
        for i, r in enumerate(table.rows):
            if not r[app_col]:
                raise table.error(i, app_col, "empty application name")
        apps = tuple(POLLUX_APPLICATION_TYPES.get(r[app_col], r[app_col]) for r in table.rows)
    order = np.argsort(submit, kind="stable")
    return TraceJobs(
        source=source,
        submit_s=submit[order],
        duration_s=duration[order],
        num_gpus=gpus[order],
        cluster=cluster[order],
        application=None if apps is None else tuple(apps[i] for i in order),
    )


@cache
def _load_packaged(source: str) -> TraceJobs:
    if source == "philly":
        table = read_data_table("philly_cut.csv", ("submit_s", "duration_s", "num_gpus", "cluster"))
        return _jobs_from_table(table, source, "submit_s", "num_gpus")
    if source.startswith("pollux-workload-"):
        k = source.removeprefix("pollux-workload-")
        if k not in {str(i) for i in range(1, 9)}:
            raise ValueError(f"unknown trace {source!r}; Pollux workloads are pollux-workload-1 .. -8")
        cols = ("workload", "name", "time", "application", "num_replicas", "batch_size")
        full = read_data_table("pollux_workloads.csv", cols)
        keep = [i for i, r in enumerate(full.rows) if r["workload"] == k]
        table = Table(
            full.file, full.columns, tuple(full.rows[i] for i in keep), tuple(full.lines[i] for i in keep)
        )
        return _jobs_from_table(table, source, "time", "num_replicas")
    packaged = ["philly", *(f"pollux-workload-{i}" for i in range(1, 9))]
    raise ValueError(
        f"unknown trace {source!r}{did_you_mean(source, packaged)} (packaged traces are 'philly' and "
        "'pollux-workload-1' .. '-8', or give a path to a CSV file)"
    )


def load_trace(source: str) -> TraceJobs:
    """Load a packaged trace by name or a user CSV by path (see the module docstring).

    Raises:
        DataFormatError: a malformed user file (names the file, line and column).
        ValueError: an unknown packaged trace name (a bare name that is no file counts as one).
    """
    if source == "philly" or source.startswith("pollux-workload-"):
        return _load_packaged(source)
    path = Path(source)
    if not path.exists() and path.suffix == "" and len(path.parts) == 1:  # a mistyped name, not a path
        _load_packaged(source)  # the unknown-trace error, with the closest names
    table = read_table(
        path, ("submit_s",), optional=("duration_s", "num_gpus", "cluster", "application"), name=str(path)
    )
    return _jobs_from_table(table, str(path), "submit_s", "num_gpus")


#: the latest arrival slot a trace may map to (exact in float64 and far from int64 overflow, so
#: that slot arithmetic and JCTs cannot wrap).
MAX_TRACE_SLOT = 2**53


@dataclass(frozen=True)
class TraceReplay:
    """How to replay a trace (the compression formulas are in the module docstring).

    Attributes:
        source: ``"philly"``, ``"pollux-workload-K"`` or a CSV path.
        start_row: first replayed row (0-based, after sorting).
        arrival_seconds_per_slot: trace seconds per slot for arrivals.
        duration_seconds_per_slot: trace seconds per slot for durations.
        min_duration_slots, max_duration_slots: clip of the compressed durations (slots).
    """

    source: str = "philly"
    start_row: int = 0
    arrival_seconds_per_slot: float = 60.0
    duration_seconds_per_slot: float = 60.0
    min_duration_slots: float = 1.0
    max_duration_slots: float = 100.0

    def __post_init__(self) -> None:
        if not isinstance(self.start_row, int) or self.start_row < 0:
            raise ValueError(f"TraceReplay.start_row must be an integer >= 0, got {self.start_row!r}")
        for name in ("arrival_seconds_per_slot", "duration_seconds_per_slot", "min_duration_slots"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"TraceReplay.{name} must be a number > 0, got {v!r}")
        if not self.max_duration_slots >= self.min_duration_slots:
            raise ValueError("TraceReplay.max_duration_slots must be >= min_duration_slots")

    def jobs(self, num_tasks: int) -> TraceJobs:
        """The ``num_tasks`` replayed rows.

        Raises:
            ValueError: the trace has fewer than ``start_row + num_tasks`` rows.
        """
        full = load_trace(self.source)
        stop = self.start_row + num_tasks
        if stop > full.num_jobs:
            raise ValueError(
                f"trace {self.source!r} has {full.num_jobs} jobs; start_row={self.start_row} + "
                f"num_tasks={num_tasks} needs {stop}"
            )
        sl = slice(self.start_row, stop)
        return TraceJobs(
            source=full.source,
            submit_s=full.submit_s[sl],
            duration_s=full.duration_s[sl],
            num_gpus=full.num_gpus[sl],
            cluster=full.cluster[sl],
            application=None if full.application is None else full.application[sl],
        )

    def arrival_slots(self, jobs: TraceJobs) -> NDArray[np.int64]:
        """``floor((submit_s - submit_s[0]) / arrival_seconds_per_slot)`` of the replayed rows."""
        rel = jobs.submit_s - jobs.submit_s[0]
        slots: NDArray[np.float64] = np.floor(rel / self.arrival_seconds_per_slot)
        over = np.flatnonzero(~(slots <= MAX_TRACE_SLOT))
        if over.shape[0]:
            i = int(over[0])
            raise ValueError(
                f"trace {self.source!r}: replayed row {self.start_row + i} arrives {rel[i]:.6g} s after the "
                f"first, slot {slots[i]:.6g}, beyond the last representable slot {MAX_TRACE_SLOT} (2**53): "
                "raise arrival_seconds_per_slot or drop the row"
            )
        return slots.astype(np.int64)

    def duration_slots(self, jobs: TraceJobs) -> NDArray[np.float64]:
        """Compressed, clipped durations (NaN where the trace has no duration)."""
        d = jobs.duration_s / self.duration_seconds_per_slot
        return np.where(np.isnan(d), np.nan, np.clip(d, self.min_duration_slots, self.max_duration_slots))
