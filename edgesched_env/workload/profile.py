"""User profile tables: simulate your own measured jobs from a CSV.

Format (one header line, comma-separated, one row per measured allocation):

================== ========= ==============================================================
column             required  meaning
================== ========= ==============================================================
task_type          yes       name of the task type (one speed model per distinct name)
cpu                yes       cpu units of the measured allocation (integer >= 0)
gpu                yes       gpu units (integer >= 0)
mem                no        memory units (integer >= 0); without it, memory does not matter
completion_time_s  one of    seconds the whole job took at this allocation (> 0)
throughput         one of    work per second at this allocation (>= 0), e.g. samples/s;
                             then give ``nominal_work`` (same unit x s) to :func:`load_profile`
================== ========= ==============================================================

Exactly one of ``completion_time_s`` and ``throughput`` must be present. For each task type the
measured allocations must form a full grid: every combination of its distinct cpu, gpu (and mem)
values appears. Rows with the same (task_type, cpu, gpu, mem) key are allowed only if they agree,
unless ``load_profile(repeats="mean" | "median" | "last")`` merges repeated measurements. Other
columns are an error, or ignored with ``extra_columns="ignore"``. A file without a header line is
an error that lists the expected columns.

Speed: ``rate(a)`` (work per second) is multilinear interpolation between the measured points;
above the largest measured value of a resource it stays at that value (no extrapolation); an
allocation below the smallest measured value of any resource is **infeasible** (``dp = 0``; give
the task type a ``min_request`` of at least the smallest measured point so it can be placed).
Progress per slot: ``dp = rate(a) * speed_factor * slot_seconds / (nominal_work * work)``, with
``rate = 1 / completion_time_s`` and ``nominal_work = 1`` job for completion-time tables.

Every malformed file raises :class:`~edgesched_env.workload.tables.DataFormatError` naming the
file, the line and the column.
"""

from __future__ import annotations

import io
import itertools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgesched_env.workload.tables import DataFormatError, Table, read_table

__all__ = ["ProfileSpeed", "load_profile"]

_RESOURCE_COLUMNS = ("cpu", "gpu", "mem")


@dataclass(frozen=True)
class ProfileSpeed:
    """Speed from a measured profile table (see the module docstring for the format and formulas).

    Attributes:
        name: task type name.
        axes: measured values per profiled resource (each increasing).
        resource_idx: env resource index of each axis.
        rates: work per second on the full grid, flattened in C order over ``axes``.
        nominal_work: work of a task with ``work = 1`` (1 for completion-time tables).
        slot_seconds: seconds per slot.
        resource_names: name of the resource each axis profiles (the table's column, e.g.
            ``("cpu", "gpu", "mem")``), checked against the config's ``resource_names`` at
            ``resource_idx``; ``()``: unknown, only the indices are checked.
    """

    name: str
    axes: tuple[tuple[float, ...], ...]
    resource_idx: tuple[int, ...]
    rates: tuple[float, ...]
    nominal_work: float = 1.0
    slot_seconds: float = 60.0
    resource_names: tuple[str, ...] = ()
    _grid: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        shape = tuple(len(a) for a in self.axes)
        if not shape or math.prod(shape) != len(self.rates) or len(self.resource_idx) != len(shape):
            raise ValueError(f"ProfileSpeed({self.name}): axes {shape} do not match {len(self.rates)} rates")
        for what, v in (("nominal_work", self.nominal_work), ("slot_seconds", self.slot_seconds)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):  # nan, inf: no progress
                raise ValueError(f"ProfileSpeed({self.name}).{what} must be a finite number > 0, got {v!r}")
        object.__setattr__(self, "resource_names", tuple(self.resource_names))
        if self.resource_names and len(self.resource_names) != len(shape):
            raise ValueError(
                f"ProfileSpeed({self.name}).resource_names={self.resource_names} must name one "
                f"resource per axis ({len(shape)}) or be empty"
            )
        object.__setattr__(self, "_grid", np.array(self.rates, dtype=np.float64).reshape(shape))

    @property
    def min_allocation(self) -> dict[int, int]:
        """Smallest measured units per profiled resource index (below it: infeasible)."""
        return {r: math.ceil(a[0]) for r, a in zip(self.resource_idx, self.axes)}

    def rate(self, alloc: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.float64]:
        """Work per second of each row of ``alloc`` (``(n, R)`` units), 0 where infeasible."""
        a = np.asarray(alloc, dtype=np.float64)
        n = a.shape[0]
        idx = []
        wts = []
        feasible = np.ones(n, dtype=bool)
        for axis, r in zip(self.axes, self.resource_idx):
            grid = np.array(axis)
            v = a[:, r]
            feasible &= v >= grid[0]
            if grid.shape[0] == 1:
                idx.append(np.zeros(n, dtype=np.int64))
                wts.append(np.zeros(n))
                continue
            vc = np.clip(v, grid[0], grid[-1])
            i = np.clip(np.searchsorted(grid, vc, side="right") - 1, 0, grid.shape[0] - 2)
            idx.append(i)
            wts.append((vc - grid[i]) / (grid[i + 1] - grid[i]))
        out = np.zeros(n)
        last = [len(ax) - 1 for ax in self.axes]
        for corner in itertools.product((0, 1), repeat=len(self.axes)):
            w = np.ones(n)
            pos = []
            for d, bit in enumerate(corner):
                w = w * (wts[d] if bit else 1.0 - wts[d])
                pos.append(np.minimum(idx[d] + bit, last[d]))
            out += w * self._grid[tuple(pos)]
        return np.where(feasible, out, 0.0)

    def increment(
        self,
        alloc: NDArray[np.int64],
        progress: NDArray[np.float64],
        work: NDArray[np.float64],
        speed_factor: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """``dp = rate(a) * speed_factor * slot_seconds / (nominal_work * work)``."""
        return self.rate(alloc) * speed_factor * self.slot_seconds / (self.nominal_work * work)

    def resource_indices(self) -> dict[str, int]:
        """``resource_idx[k]`` of each profiled axis ``k``."""
        return {f"resource_idx[{k}]": r for k, r in enumerate(self.resource_idx)}

    def work_for_duration(
        self, duration_slots: NDArray[np.float64], gpus: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Work such that the task takes ``duration_slots`` at the largest measured allocation."""
        top = float(self._grid.flat[-1])
        return np.asarray(duration_slots, dtype=np.float64) * top * self.slot_seconds / self.nominal_work


def _key_value(table: Table, i: int, columns: tuple[str, ...]) -> tuple[float, ...]:
    return tuple(table.number(i, c, integer=True) for c in columns)


#: how ``load_profile(repeats=...)`` merges the values measured for one allocation ("error":
#: they agree, or the load failed before this, so the first is the value)
_MERGE: dict[str, Any] = {
    "error": lambda vs: vs[0],
    "mean": lambda vs: float(np.mean(vs)),
    "median": lambda vs: float(np.median(vs)),
    "last": lambda vs: vs[-1],
}


def load_profile(
    source: str | Path | io.TextIOBase,
    *,
    resource_names: tuple[str, ...] = ("cpu", "gpu", "mem"),
    nominal_work: float | Mapping[str, float] | None = None,
    slot_seconds: float = 60.0,
    name: str | None = None,
    extra_columns: str = "error",
    repeats: str = "error",
    overhead_s: float = 0.0,
) -> dict[str, ProfileSpeed]:
    """Read a profile table into one :class:`ProfileSpeed` per task type (in file order).

    Args:
        source: path or text stream of the CSV.
        resource_names: the env's resources; ``cpu``, ``gpu`` (and ``mem`` if the table has it)
            must be among them.
        nominal_work: for throughput tables, the work of a task with ``work = 1`` (one number or
            one per task type); ignored for completion-time tables.
        slot_seconds: seconds per slot.
        name: how the file is named in errors (default: the path).
        extra_columns: columns other than those of the format (per-epoch times, notes, ...):
            ``"error"`` (default: a typo is caught) or ``"ignore"`` (a warning lists them).
        repeats: rows measuring the same (task_type, cpu, gpu, mem) allocation: ``"error"``
            (default; rows that agree exactly are allowed) or merged by ``"mean"``, ``"median"`` or
            ``"last"`` (a warning says how many rows were merged).
        overhead_s: fixed start-up seconds of every run, added to each measured completion time
            (throughput tables: to ``nominal_work / throughput``), so ``rate = work / (time +
            overhead_s)``.

    Raises:
        DataFormatError: missing or unknown columns, non-numeric or negative values, a
            non-integer allocation, duplicate keys that disagree, an incomplete grid, or a
            non-positive completion time; the message names the file, line and column.
        ValueError: a throughput table without ``nominal_work`` for one of its types, or a
            profiled resource the env does not have.
    """
    if repeats not in _MERGE:
        raise ValueError(
            f"load_profile(repeats=...) must be 'error', 'mean', 'median' or 'last', got {repeats!r}"
        )
    if not (isinstance(overhead_s, (int, float)) and math.isfinite(overhead_s) and overhead_s >= 0):
        raise ValueError(
            f"load_profile(overhead_s=...) must be a finite number of seconds >= 0, got {overhead_s!r}"
        )
    table = read_table(
        source,
        ("task_type", "cpu", "gpu"),
        optional=("mem", "completion_time_s", "throughput"),
        name=name,
        extra=extra_columns,
    )
    if table.ignored:
        warnings.warn(
            f"{table.file}: ignored columns {list(table.ignored)} (read are task_type, cpu, gpu, mem, "
            "completion_time_s / throughput)",
            stacklevel=2,
        )
    has_time = "completion_time_s" in table.columns
    has_tput = "throughput" in table.columns
    if has_time == has_tput:
        problem = "both columns given" if has_time else "missing column"
        raise DataFormatError(
            table.file, 1, "completion_time_s" if not has_time else "throughput",
            f"{problem}: give exactly one of 'completion_time_s' and 'throughput'",
        )  # fmt: skip
    value_col = "completion_time_s" if has_time else "throughput"
    res_cols = tuple(c for c in _RESOURCE_COLUMNS if c in table.columns)
    for c in res_cols:
        if c not in resource_names:
            raise ValueError(f"{table.file}: profiles resource {c!r}, but the env has {resource_names}")
    measured: dict[str, dict[tuple[float, ...], list[tuple[float, int]]]] = {}
    first_line: dict[str, int] = {}
    for i, row in enumerate(table.rows):
        ttype = row["task_type"]
        if not ttype:
            raise table.error(i, "task_type", "empty task type name")
        key = _key_value(table, i, res_cols)
        value = table.number(i, value_col)
        if has_time and value <= 0:
            raise table.error(i, value_col, f"{row[value_col]!r} must be > 0 seconds")
        pts_i = measured.setdefault(ttype, {})
        first_line.setdefault(ttype, i)
        if key in pts_i and repeats == "error" and pts_i[key][0][0] != value:
            raise table.error(
                i, value_col,
                f"duplicate key {ttype}/{dict(zip(res_cols, key))} disagrees with line "
                f"{table.lines[pts_i[key][0][1]]} ({pts_i[key][0][0]:g} vs {value:g}); pass "
                "repeats='mean' (or 'median', 'last') to merge repeated measurements",
            )  # fmt: skip
        pts_i.setdefault(key, []).append((value, i))
    points: dict[str, dict[tuple[float, ...], tuple[float, int]]] = {}
    merged = groups = 0
    for ttype, by_key in measured.items():
        points[ttype] = {}
        for key, vals in by_key.items():
            vs = [v for v, _ in vals]
            if len(vals) > 1 and repeats != "error":
                merged += len(vals)
                groups += 1
            points[ttype][key] = (_MERGE[repeats](vs), vals[0][1])
    if merged:
        warnings.warn(
            f"{table.file}: merged {merged} rows measuring the same allocation into {groups} points "
            f"({repeats})",
            stacklevel=2,
        )
    models: dict[str, ProfileSpeed] = {}
    for ttype, pts in points.items():
        axes = tuple(tuple(sorted({k[d] for k in pts})) for d in range(len(res_cols)))
        rates = []
        for combo in itertools.product(*axes):
            if combo not in pts:
                raise table.error(
                    first_line[ttype], "task_type",
                    f"task type {ttype!r} misses the measured point {dict(zip(res_cols, combo))}: "
                    "the allocations of a type must form a full grid",
                )  # fmt: skip
            rates.append(pts[combo][0])
        if has_time:
            work = 1.0
            rates = [1.0 / (v + overhead_s) for v in rates]
        else:
            w = nominal_work.get(ttype) if isinstance(nominal_work, Mapping) else nominal_work
            if w is None or not w > 0:
                raise ValueError(
                    f"{table.file}: a throughput table needs nominal_work > 0 for task type {ttype!r}"
                )
            work = float(w)
            if overhead_s > 0:  # work / (work / throughput + overhead); a zero throughput stays 0
                rates = [work / (work / v + overhead_s) if v > 0 else 0.0 for v in rates]
        models[ttype] = ProfileSpeed(
            name=ttype,
            axes=axes,
            resource_idx=tuple(resource_names.index(c) for c in res_cols),
            rates=tuple(rates),
            nominal_work=work,
            slot_seconds=slot_seconds,
            resource_names=res_cols,
        )
    return models
