"""Typed, frozen, validated configuration of an edgesched environment.

Every bad value raises ``ValueError`` naming the field, the value and what would be allowed.
Configs are plain data: they hold no RNG and no mutable state, so they pickle and compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from edgesched_env._names import did_you_mean, unknown_name_error
from edgesched_env.rewards import REWARDS
from edgesched_env.workload.profile import ProfileSpeed
from edgesched_env.workload.speed import SpeedModel
from edgesched_env.workload.topology import Topology
from edgesched_env.workload.traces import TraceReplay

__all__ = [
    "ClusterSpec",
    "EnvConfig",
    "FixedTask",
    "TaskType",
    "WorkloadSpec",
    "override_names",
    "with_overrides",
]

Visibility = Literal["random-subset", "all", "topology"]
ArrivalProcess = Literal["poisson", "diurnal", "trace"]
RewardKind = Literal["local", "global"]
ConflictRule = Literal["capacity", "random"]
InfeasiblePolicy = Literal["clip", "noop"]
Mode = Literal["single", "multi"]


def _check_choice(owner: str, name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(
            f"{owner}.{name} must be one of {allowed}, got {value!r}{did_you_mean(value, allowed)}"
        )


#: most tasks in one episode (per-task arrays are allocated at reset).
MAX_TASKS = 1_000_000
#: most expected slots until the last Poisson / diurnal arrival (every slot is stepped).
MAX_ARRIVAL_SLOTS = 10_000_000
#: most tasks that can run on one cluster at once (``EnvConfig.max_running``: padded arrays).
MAX_RUNNING = 4096


def _seq(owner: str, name: str, value: object) -> tuple[Any, ...]:
    """``value`` (a list, tuple or 1-d array) as a tuple, else a ``ValueError`` naming the field."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return tuple(v.item() if isinstance(v, np.generic) else v for v in value)
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{owner}.{name} must be a list or tuple, got {type(value).__name__} {value!r}")
    return tuple(value)


def plain(value: Any) -> Any:
    """``value`` with every numpy scalar made the Python scalar of the same value (``np.int64(10)``
    -> ``10``, ``np.float32(0.5)`` -> ``0.5``, ``np.bool_`` -> ``bool``, ``np.str_`` -> ``str``),
    inside tuples, lists and dicts too; anything else is returned as it is."""
    if isinstance(value, np.generic):
        return value.item()
    if type(value) is tuple:
        return tuple(plain(v) for v in value)
    if type(value) is list:
        return [plain(v) for v in value]
    if type(value) is dict:
        return {plain(k): plain(v) for k, v in value.items()}
    return value


def plain_fields(obj: Any) -> None:
    """Make every field of the (frozen) dataclass ``obj`` plain (:func:`plain`), in place.

    Called first in each config's ``__post_init__``: numpy scalars are accepted wherever Python
    numbers are, and the config then holds Python types only, so ``asdict`` and JSON dumps work
    and ``np.int64(10)`` and ``10`` give equal configs.
    """
    for f in fields(obj):
        value = getattr(obj, f.name)
        new = plain(value)
        if new is not value:
            object.__setattr__(obj, f.name, new)


def _kind(value: object) -> str:
    """``" (a float)"``: the type of a rejected value, for messages."""
    return (
        f" ({type(value).__name__})" if not isinstance(value, (int, str)) or isinstance(value, bool) else ""
    )


def _check_int(owner: str, name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` as a Python int if it is an integer (Python or numpy, not a bool) in
    ``[low, high]``, else a ``ValueError`` naming ``owner.name``, the range and the value."""
    value = plain(value)
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
    if ok and high is not None:
        ok = value <= high  # type: ignore[operator]  # value is an int here
    if not ok:
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{owner}.{name} must be an integer {rng}, got {value!r}{_kind(value)}")
    return value  # type: ignore[return-value]  # an int, checked above


def _check_real(
    owner: str, name: str, value: object, low: float, high: float = math.inf, *, open_low: bool = False
) -> float:
    """``value`` as a Python number if it is a finite real (Python or numpy, not a bool) in the
    range, else a ``ValueError`` naming ``owner.name``, the range and the value."""
    value = plain(value)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        v = float(value)  # type: ignore[arg-type]  # checked above
        ok = (v > low if open_low else v >= low) and v <= high
    if not ok:
        lo = "(" if open_low else "["
        raise ValueError(
            f"{owner}.{name} must be a finite number in {lo}{low}, {high}], got {value!r}{_kind(value)}"
        )
    return value  # type: ignore[return-value]  # an int or float, checked above


def _check_speed_resources(task_type: TaskType, resource_names: tuple[str, ...]) -> None:
    """Every resource index of the type's speed model names one of ``resource_names``, and a
    profile model's axes profile the resources of those names. Models without
    ``resource_indices`` (user models) are not checked."""
    speed = task_type.speed
    get_indices = getattr(speed, "resource_indices", None)
    if not callable(get_indices):
        return
    num_r = len(resource_names)
    owner = f"TaskType({task_type.name}).speed"
    for field_name, idx in get_indices().items():
        ok = isinstance(idx, (int, np.integer)) and not isinstance(idx, bool) and 0 <= idx < num_r
        if not ok:
            raise ValueError(
                f"{owner}.{field_name}={idx!r} names no resource of {resource_names} (valid: 0..{num_r - 1})"
            )
    if isinstance(speed, ProfileSpeed) and speed.resource_names:
        for k, (idx, expected) in enumerate(zip(speed.resource_idx, speed.resource_names)):
            if resource_names[idx] != expected:
                raise ValueError(
                    f"{owner}.resource_idx[{k}]={idx} is resource {resource_names[idx]!r} of "
                    f"{resource_names}, but the profile measured {expected!r} there: load the "
                    "profile with the config's resource_names"
                )


def busy_span(arrivals: NDArray[np.int64], durations: NDArray[np.float64]) -> int:
    """Slots covered by the union of the intervals ``[a, a + ceil(d) + 1)`` (arrival ``a``,
    duration ``d``, both in slots): how long a workload keeps the system busy if every task
    starts on arrival, so idle gaps between bursts do not count."""
    if arrivals.shape[0] == 0:
        return 0
    start = np.asarray(arrivals, dtype=np.int64)
    end = start + np.ceil(np.asarray(durations, dtype=np.float64)).astype(np.int64) + 1
    order = np.argsort(start, kind="stable")
    start, end = start[order], np.maximum.accumulate(end[order])
    new_run = np.ones(start.shape[0], dtype=bool)  # an interval that starts after all earlier ends
    new_run[1:] = start[1:] >= end[:-1]
    last = np.append(new_run[1:], True)  # the last interval of each run: its end is the run's end
    return int((end[last] - start[new_run]).sum())


def _check_resource_counts(cfg: EnvConfig) -> None:
    """Every per-resource field has one entry per resource; else one error naming *all* the
    fields that disagree with ``resource_names`` (they are coupled: change them together)."""
    num_r = len(cfg.resource_names)
    wrong = []
    if len(cfg.num_levels) != num_r:
        wrong.append(f"num_levels has {len(cfg.num_levels)} entries")
    caps = sorted({len(c.capacity) for c in cfg.clusters if len(c.capacity) != num_r})
    if caps:
        bad = [i for i, c in enumerate(cfg.clusters) if len(c.capacity) != num_r]
        where = "every cluster" if len(bad) == len(cfg.clusters) else f"clusters {bad[:8]}"
        wrong.append(f"the capacity of {where} has {'/'.join(map(str, caps))} entries")
    types = [t for t in cfg.workload.task_types if len(t.min_request) != num_r]
    if types:
        wrong.append(
            f"the min_request of task type(s) {[t.name for t in types][:8]} has "
            f"{'/'.join(sorted({str(len(t.min_request)) for t in types}))} entries"
        )
    if wrong:
        raise ValueError(
            f"EnvConfig.resource_names {cfg.resource_names} has {num_r} resources, but "
            + "; ".join(wrong)
            + ". These fields go together: give resource_names, num_levels and capacities "
            "(and task types whose min_request matches) in one override, or build the config from a "
            "measured profile with profile_config, which infers them"
        )


@dataclass(frozen=True)
class TaskType:
    """One kind of ML training task.

    Attributes:
        name: identifier shown in observations' type one-hot order and in metrics.
        min_request: minimum units per resource (one entry per resource of the env).
        speed: the hidden speed model (see :mod:`edgesched_env.workload.speed`).
        switch_penalty: factor on the progress of a slot in which the task's allocation differs
            from its previous slot's (elastic resizes only; 1.0 = no penalty).
        min_request_max: if set, each task's minimum request is drawn per task and resource
            uniformly from the integers ``min_request[r] .. min_request_max[r]`` (units);
            ``None``: every task requests exactly ``min_request``.
        input_mb: ``(low, high)`` input data size (MB) of a task, drawn per task log-uniformly
            (``low == high``: fixed); moved from the task's home cluster when it is placed
            elsewhere (needs ``EnvConfig.topology``). ``(0, 0)``: no data.
    """

    name: str
    min_request: tuple[int, ...]
    speed: SpeedModel
    switch_penalty: float = 1.0
    min_request_max: tuple[int, ...] | None = None
    input_mb: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        plain_fields(self)
        if not self.name:
            raise ValueError("TaskType.name must be a non-empty string")
        object.__setattr__(
            self, "min_request", _seq(f"TaskType({self.name})", "min_request", self.min_request)
        )
        if not self.min_request:
            raise ValueError(f"TaskType({self.name}).min_request must not be empty")
        for r, m in enumerate(self.min_request):
            _check_int(f"TaskType({self.name})", f"min_request[{r}]", m, 0)
        if all(m == 0 for m in self.min_request):
            raise ValueError(
                f"TaskType({self.name}).min_request must be positive for at least one resource, "
                f"got {self.min_request}"
            )
        _check_real(f"TaskType({self.name})", "switch_penalty", self.switch_penalty, 0.0, 1.0, open_low=True)
        if self.min_request_max is not None:
            object.__setattr__(
                self,
                "min_request_max",
                _seq(f"TaskType({self.name})", "min_request_max", self.min_request_max),
            )
            if len(self.min_request_max) != len(self.min_request):
                raise ValueError(
                    f"TaskType({self.name}).min_request_max has {len(self.min_request_max)} entries, "
                    f"expected {len(self.min_request)} like min_request"
                )
            for r, (lo, hi) in enumerate(zip(self.min_request, self.min_request_max)):
                _check_int(f"TaskType({self.name})", f"min_request_max[{r}]", hi, lo)
        object.__setattr__(self, "input_mb", _seq(f"TaskType({self.name})", "input_mb", self.input_mb))
        if len(self.input_mb) != 2:
            raise ValueError(f"TaskType({self.name}).input_mb must be (low, high), got {self.input_mb}")
        _check_real(f"TaskType({self.name})", "input_mb[0]", self.input_mb[0], 0.0)
        _check_real(f"TaskType({self.name})", "input_mb[1]", self.input_mb[1], self.input_mb[0])
        if self.input_mb[0] == 0.0 and self.input_mb[1] > 0.0:
            raise ValueError(
                f"TaskType({self.name}).input_mb low must be > 0 for a log-uniform draw, got {self.input_mb}"
            )
        if not hasattr(self.speed, "increment"):
            raise ValueError(
                f"TaskType({self.name}).speed must implement SpeedModel.increment, got {self.speed!r}"
            )


@dataclass(frozen=True)
class ClusterSpec:
    """One edge cluster (one agent).

    Attributes:
        capacity: units of each resource (one entry per resource of the env).
        speed_factor: relative speed of the cluster's hardware (1.0 = reference GPU generation).
        gpu_generation: GPU generation of the cluster (``"k80"``, ``"p100"``, ``"v100"``; see
            :func:`edgesched_env.workload.measured.gpu_generations`). When set, ``speed_factor``
            is derived from it (leave ``speed_factor`` at 1.0 or give the same value); measured
            speed models then apply their own model family's measured ratio for it.
    """

    capacity: tuple[int, ...]
    speed_factor: float = 1.0
    gpu_generation: str | None = None

    def __post_init__(self) -> None:
        plain_fields(self)
        cap = tuple(int(c) if isinstance(c, np.integer) else c for c in self.capacity)  # exact
        object.__setattr__(self, "capacity", cap)
        if self.gpu_generation is not None:
            from edgesched_env.workload.measured import gpu_generation_factor

            derived = gpu_generation_factor(self.gpu_generation)
            if self.speed_factor not in (1.0, derived):
                raise ValueError(
                    f"ClusterSpec.speed_factor={self.speed_factor!r} contradicts gpu_generation="
                    f"{self.gpu_generation!r} (factor {derived!r}); give one or the other"
                )
            object.__setattr__(self, "speed_factor", derived)
        if not self.capacity:
            raise ValueError("ClusterSpec.capacity must not be empty")
        for r, c in enumerate(self.capacity):
            _check_int("ClusterSpec", f"capacity[{r}]", c, 1)
        _check_real("ClusterSpec", "speed_factor", self.speed_factor, 0.0, open_low=True)


def _as_cluster(i: int, c: Any) -> ClusterSpec:
    """``EnvConfig.clusters[i]`` as a :class:`ClusterSpec`.

    Accepts a spec, a capacity sequence (``[16, 16]``, as ``--set clusters=[[16,16],[8,8]]`` gives)
    or a mapping of :class:`ClusterSpec` fields (``{"capacity": [16, 16], "speed_factor": 2}``).
    """
    if isinstance(c, ClusterSpec):
        return c
    if isinstance(c, dict):
        unknown = sorted(set(c) - {"capacity", "speed_factor", "gpu_generation"})
        if unknown or "capacity" not in c:
            raise ValueError(
                f"EnvConfig.clusters[{i}]: a mapping needs 'capacity' and may have 'speed_factor' and "
                f"'gpu_generation'; got keys {sorted(c)}"
            )
        return ClusterSpec(**c)
    if isinstance(c, (list, tuple)):
        return ClusterSpec(tuple(c))
    raise ValueError(
        f"EnvConfig.clusters[{i}] must be a ClusterSpec, a capacity sequence or a mapping, "
        f"got {type(c).__name__} {c!r}"
    )


@dataclass(frozen=True)
class FixedTask:
    """One task of an explicit (replayed or hand-written) workload.

    Attributes:
        arrival_slot: slot in which the task arrives (``>= 0``).
        type_idx: index into ``WorkloadSpec.task_types``.
        visible_to: indices of the clusters that see the task (non-empty).
        work: relative amount of work (1.0 = the type's nominal work).
    """

    arrival_slot: int
    type_idx: int
    visible_to: tuple[int, ...]
    work: float = 1.0

    def __post_init__(self) -> None:
        plain_fields(self)
        object.__setattr__(self, "visible_to", _seq("FixedTask", "visible_to", self.visible_to))
        _check_int("FixedTask", "arrival_slot", self.arrival_slot, 0)
        _check_int("FixedTask", "type_idx", self.type_idx, 0)
        if not self.visible_to:
            raise ValueError("FixedTask.visible_to must name at least one cluster")
        if len(set(self.visible_to)) != len(self.visible_to):
            raise ValueError(f"FixedTask.visible_to has duplicates: {self.visible_to}")
        _check_real("FixedTask", "work", self.work, 0.0, open_low=True)


@dataclass(frozen=True)
class WorkloadSpec:
    """What arrives: task types, their mix, the arrival process and the visibility rule.

    Attributes:
        task_types: the types; their order is the observation's type one-hot order.
        type_probs: probability of each type per arrival (sums to 1).
        arrival_rate: mean of the Poisson number of arrivals per slot.
        num_tasks: tasks per episode (the last Poisson batch is cut to reach it exactly).
        visibility: ``"random-subset"`` (k ~ U{1..N}, then a uniform k-subset) or ``"all"``.
        fixed_tasks: an explicit workload replayed as given (then ``type_probs``,
            ``arrival_rate`` and ``visibility`` are unused and ``num_tasks`` must match).
        arrival_process: ``"poisson"`` (rate ``arrival_rate`` per slot), ``"diurnal"``
            (Poisson with rate ``arrival_rate * (1 + diurnal_amplitude * sin(2 pi t /
            diurnal_period_slots))`` in slot ``t``) or ``"trace"`` (replay ``trace``; then
            ``arrival_rate`` is only used for the truncation horizon).
        diurnal_amplitude: relative swing of the diurnal rate, in ``[0, 1]``.
        diurnal_period_slots: period of the diurnal rate (slots).
        trace: the trace replay settings (required with ``arrival_process="trace"``).
        visibility_hops: with visibility ``"topology"``, clusters within this many hops of the
            task's home see it (``None``: no hop limit).
        visibility_latency_ms: with visibility ``"topology"``, also require a path latency of
            at most this (ms) from home (``None``: no latency limit).
        work_sigma: per-task work is ``exp(work_sigma * z)``, ``z ~ N(0, 1)`` (clipped to
            ``[1/8, 8]``), times the trace-derived work when replaying durations; 0: no draw.
    """

    task_types: tuple[TaskType, ...]
    type_probs: tuple[float, ...]
    arrival_rate: float
    num_tasks: int
    visibility: Visibility = "random-subset"
    fixed_tasks: tuple[FixedTask, ...] | None = None
    arrival_process: ArrivalProcess = "poisson"
    diurnal_amplitude: float = 0.5
    diurnal_period_slots: float = 96.0
    trace: TraceReplay | None = None
    visibility_hops: int | None = 1
    visibility_latency_ms: float | None = None
    work_sigma: float = 0.0

    def __post_init__(self) -> None:
        plain_fields(self)
        object.__setattr__(self, "task_types", _seq("WorkloadSpec", "task_types", self.task_types))
        object.__setattr__(self, "type_probs", _seq("WorkloadSpec", "type_probs", self.type_probs))
        if not self.task_types:
            raise ValueError("WorkloadSpec.task_types must not be empty")
        names = [t.name for t in self.task_types]
        if len(set(names)) != len(names):
            raise ValueError(f"WorkloadSpec.task_types has duplicate names: {names}")
        if len(self.type_probs) != len(self.task_types):
            raise ValueError(
                f"WorkloadSpec.type_probs has {len(self.type_probs)} entries, "
                f"expected one per task type ({len(self.task_types)})"
            )
        for k, p in enumerate(self.type_probs):
            _check_real("WorkloadSpec", f"type_probs[{k}]", p, 0.0, 1.0)
        if abs(sum(self.type_probs) - 1.0) > 1e-9:
            raise ValueError(f"WorkloadSpec.type_probs must sum to 1, got {sum(self.type_probs)!r}")
        _check_real("WorkloadSpec", "arrival_rate", self.arrival_rate, 0.0, open_low=True)
        _check_int("WorkloadSpec", "num_tasks", self.num_tasks, 1, MAX_TASKS)
        if self.arrival_process in ("poisson", "diurnal") and self.fixed_tasks is None:
            span = self.num_tasks / self.arrival_rate  # expected slots until the last arrival
            if span > MAX_ARRIVAL_SLOTS:
                raise ValueError(
                    f"WorkloadSpec.arrival_rate={self.arrival_rate!r} with num_tasks={self.num_tasks} "
                    f"spreads the arrivals over ~{span:.3g} slots (more than {MAX_ARRIVAL_SLOTS:.0e}, "
                    "each stepped); "
                    "raise arrival_rate or lower num_tasks"
                )
        _check_choice("WorkloadSpec", "visibility", self.visibility, ("random-subset", "all", "topology"))
        _check_choice(
            "WorkloadSpec", "arrival_process", self.arrival_process, ("poisson", "diurnal", "trace")
        )
        _check_real("WorkloadSpec", "diurnal_amplitude", self.diurnal_amplitude, 0.0, 1.0)
        _check_real("WorkloadSpec", "diurnal_period_slots", self.diurnal_period_slots, 0.0, open_low=True)
        if self.visibility_hops is not None:
            _check_int("WorkloadSpec", "visibility_hops", self.visibility_hops, 0)
        if self.visibility_latency_ms is not None:
            _check_real("WorkloadSpec", "visibility_latency_ms", self.visibility_latency_ms, 0.0)
        _check_real("WorkloadSpec", "work_sigma", self.work_sigma, 0.0, 5.0)
        if self.arrival_process == "trace":
            if self.trace is None:
                raise ValueError('WorkloadSpec.arrival_process="trace" needs WorkloadSpec.trace')
            jobs = self.trace.jobs(self.num_tasks)  # raises if the trace is too short
            if jobs.application is not None:
                type_names = {t.name for t in self.task_types}
                missing = sorted(set(jobs.application) - type_names)
                if missing:
                    raise ValueError(
                        f"trace {self.trace.source!r} has model types {missing} that are not among "
                        f"WorkloadSpec.task_types {sorted(type_names)}"
                    )
        num_resources = {len(t.min_request) for t in self.task_types}
        if len(num_resources) != 1:
            raise ValueError(
                f"WorkloadSpec.task_types disagree on the number of resources: {sorted(num_resources)}"
            )
        if self.fixed_tasks is not None:
            object.__setattr__(self, "fixed_tasks", _seq("WorkloadSpec", "fixed_tasks", self.fixed_tasks))
            if len(self.fixed_tasks) != self.num_tasks:
                raise ValueError(
                    f"WorkloadSpec.num_tasks={self.num_tasks} but fixed_tasks has "
                    f"{len(self.fixed_tasks)} tasks"
                )
            last = -1
            for i, task in enumerate(self.fixed_tasks):
                if task.type_idx >= len(self.task_types):
                    raise ValueError(
                        f"WorkloadSpec.fixed_tasks[{i}].type_idx={task.type_idx} is out of range "
                        f"[0, {len(self.task_types) - 1}]"
                    )
                if task.arrival_slot < last:
                    raise ValueError(
                        f"WorkloadSpec.fixed_tasks must be sorted by arrival_slot; task {i} arrives "
                        f"at {task.arrival_slot} after a task at {last}"
                    )
                last = task.arrival_slot


@dataclass(frozen=True)
class EnvConfig:
    """The whole environment configuration.

    Attributes:
        clusters: one spec per cluster (= agent), ``N`` of them.
        workload: the arrival process and task types.
        resource_names: names of the ``R`` resources (default ``("cpu", "gpu")``).
        num_levels: allocation levels per resource, ``L_r`` (levels ``0 .. L_r - 1`` units;
            ``L_r - 1`` is also the per-task maximum).
        max_pending: pending slots per agent (``P``); further visible tasks wait in a FIFO queue.
        reward: ``"local"`` (the paper's) or ``"global"``.
        conflict_rule: ``"capacity"`` (most minimum-size copies fit; ties at random) or ``"random"``.
        infeasible: ``"clip"`` (raise to the minimum, cap at free and maximum) or ``"noop"``.
        mode: ``"single"`` (one placement per agent per decision round) or ``"multi"``
            (one step = one slot, up to ``max_picks`` ordered picks per agent).
        max_picks: picks per agent and slot in multi-task mode (``K``).
        max_rounds_per_slot: rounds after which a slot ends anyway (``None``: ``N * P + 1``).
        max_slots: truncation in slots (``None``: 100 x the expected episode length).
        max_cycles: truncation in env steps (decision rounds), for PettingZoo's ``max_cycles``
            convention (``None``: no limit).
        skip_idle: fast-forward over idle slots. When a slot ends with no task in the system
            (none pending, queued or running) and the next task arrives later, time jumps to that
            arrival slot instead of asking the agents to no-op through every empty slot. Nothing
            observable is lost: an empty slot has reward 0 and adds nothing to any metric
            (JCTs, utilisation and ``slots`` are the same as without the jump). ``max_slots``
            then counts *busy* slots (slots not skipped), and its default is 100 x the slots in
            which the workload's tasks could be running. Default ``False`` (every slot is a step,
            as in the reference); set it for traces with long gaps.
        progress_noise: ``x`` in the uniform factor ``[1 - x, 1 + x]`` on each increment.
        time_scale_slots: divisor of every time feature of the observations (slots).
        name: preset name (for messages and listings).
        topology: the edge network between the clusters (``None``: no network; no transfer
            delays; required by visibility ``"topology"``).
    """

    clusters: tuple[ClusterSpec, ...]
    workload: WorkloadSpec
    resource_names: tuple[str, ...] = ("cpu", "gpu")
    num_levels: tuple[int, ...] = (17, 17)
    max_pending: int = 10
    reward: RewardKind = "local"
    conflict_rule: ConflictRule = "capacity"
    infeasible: InfeasiblePolicy = "clip"
    mode: Mode = "single"
    max_picks: int = 4
    max_rounds_per_slot: int | None = None
    max_slots: int | None = None
    max_cycles: int | None = None
    skip_idle: bool = False
    progress_noise: float = 0.0
    time_scale_slots: float = 20.0
    name: str = "custom"
    topology: Topology | None = None

    def __post_init__(self) -> None:
        plain_fields(self)
        clusters = _seq("EnvConfig", "clusters", self.clusters)
        object.__setattr__(self, "clusters", tuple(_as_cluster(i, c) for i, c in enumerate(clusters)))
        object.__setattr__(self, "resource_names", _seq("EnvConfig", "resource_names", self.resource_names))
        object.__setattr__(self, "num_levels", _seq("EnvConfig", "num_levels", self.num_levels))
        if not self.clusters:
            raise ValueError("EnvConfig.clusters must contain at least one cluster")
        num_r = len(self.resource_names)
        names_ok = all(isinstance(n, str) and n for n in self.resource_names)
        if num_r == 0 or not names_ok or len(set(self.resource_names)) != num_r:
            raise ValueError(
                f"EnvConfig.resource_names must be non-empty, unique strings, got {self.resource_names}"
            )
        _check_resource_counts(self)
        for r, lv in enumerate(self.num_levels):
            _check_int("EnvConfig", f"num_levels[{r}]", lv, 2)
        if self.topology is not None and self.topology.num_clusters != len(self.clusters):
            raise ValueError(
                f"EnvConfig.topology has {self.topology.num_clusters} clusters, expected {len(self.clusters)}"
            )
        if self.workload.visibility == "topology" and self.topology is None:
            raise ValueError('WorkloadSpec.visibility="topology" needs EnvConfig.topology')
        for t in self.workload.task_types:
            _check_speed_resources(t, self.resource_names)
            for r, m in enumerate(t.min_request):
                if m > self.num_levels[r] - 1:
                    raise ValueError(
                        f"TaskType({t.name}).min_request[{r}]={m} exceeds the per-task maximum "
                        f"{self.num_levels[r] - 1} (num_levels[{r}] - 1) of resource "
                        f"{self.resource_names[r]!r}"
                    )
            if not any(all(m <= cap for m, cap in zip(t.min_request, c.capacity)) for c in self.clusters):
                raise ValueError(
                    f"TaskType({t.name}).min_request={t.min_request} fits on no cluster: "
                    "the episode could never end"
                )
            if t.min_request_max is not None:
                for r, m in enumerate(t.min_request_max):
                    if m > self.num_levels[r] - 1:
                        raise ValueError(
                            f"TaskType({t.name}).min_request_max[{r}]={m} exceeds the per-task maximum "
                            f"{self.num_levels[r] - 1} (num_levels[{r}] - 1) of resource "
                            f"{self.resource_names[r]!r}"
                        )
                if not any(
                    all(m <= cap for m, cap in zip(t.min_request_max, c.capacity)) for c in self.clusters
                ):
                    raise ValueError(
                        f"TaskType({t.name}).min_request_max={t.min_request_max} fits on no cluster: "
                        "the episode could never end"
                    )
        if self.workload.fixed_tasks is not None:
            for i, task in enumerate(self.workload.fixed_tasks):
                bad = [c for c in task.visible_to if not 0 <= c < len(self.clusters)]
                if bad:
                    raise ValueError(
                        f"EnvConfig.workload.fixed_tasks[{i}].visible_to names clusters {bad}, "
                        f"valid are 0..{len(self.clusters) - 1}"
                    )
        _check_int("EnvConfig", "max_pending", self.max_pending, 1)
        _check_choice("EnvConfig", "reward", self.reward, tuple(REWARDS))
        _check_choice("EnvConfig", "conflict_rule", self.conflict_rule, ("capacity", "random"))
        _check_choice("EnvConfig", "infeasible", self.infeasible, ("clip", "noop"))
        _check_choice("EnvConfig", "mode", self.mode, ("single", "multi"))
        _check_int("EnvConfig", "max_picks", self.max_picks, 1)
        if self.max_rounds_per_slot is not None:
            _check_int("EnvConfig", "max_rounds_per_slot", self.max_rounds_per_slot, 1)
        if self.max_slots is not None:
            _check_int("EnvConfig", "max_slots", self.max_slots, 1)
        if self.max_cycles is not None:
            _check_int("EnvConfig", "max_cycles", self.max_cycles, 1)
        if not isinstance(self.skip_idle, (bool, np.bool_)):
            raise ValueError(f"EnvConfig.skip_idle must be True or False, got {self.skip_idle!r}")
        object.__setattr__(self, "skip_idle", bool(self.skip_idle))
        _check_real("EnvConfig", "progress_noise", self.progress_noise, 0.0, 1.0, open_low=False)
        if self.progress_noise >= 1.0:
            raise ValueError(f"EnvConfig.progress_noise must be < 1, got {self.progress_noise!r}")
        _check_real("EnvConfig", "time_scale_slots", self.time_scale_slots, 0.0, open_low=True)
        if self.max_running > MAX_RUNNING:
            raise ValueError(
                f"EnvConfig.clusters: capacities {[c.capacity for c in self.clusters][:4]}"
                f"{'...' if len(self.clusters) > 4 else ''} let "
                f"{self.max_running} tasks of the smallest minimum request run on one cluster (more than "
                f"{MAX_RUNNING}; running-task arrays are padded to it); use coarser units"
            )

    # ----------------------------------------------------------------------------- derived sizes
    @property
    def num_clusters(self) -> int:
        """``N``, the number of clusters (agents)."""
        return len(self.clusters)

    @property
    def num_resources(self) -> int:
        """``R``, the number of resource types."""
        return len(self.resource_names)

    @property
    def num_types(self) -> int:
        """``K``, the number of task types."""
        return len(self.workload.task_types)

    @property
    def num_picks(self) -> int:
        """Picks per action: ``max_picks`` in multi-task mode, 1 in single-task mode (the one
        place that says so; every action vector is ``num_picks`` copies of ``[slot, units_r]``)."""
        return self.max_picks if self.mode == "multi" else 1

    @property
    def rounds_limit(self) -> int:
        """Rounds after which a slot ends even if tasks were placed."""
        if self.max_rounds_per_slot is not None:
            return self.max_rounds_per_slot
        return self.num_clusters * self.max_pending + 1

    @property
    def slots_limit(self) -> int:
        """Truncation horizon in slots."""
        if self.max_slots is not None:
            return self.max_slots
        expected = math.ceil(self.workload.num_tasks / self.workload.arrival_rate)
        if self.workload.fixed_tasks is not None:
            expected = self.workload.fixed_tasks[-1].arrival_slot + 1
        elif self.workload.arrival_process == "trace" and self.workload.trace is not None:
            trace = self.workload.trace
            jobs = trace.jobs(self.workload.num_tasks)
            durations = trace.duration_slots(jobs)
            arrivals = trace.arrival_slots(jobs)
            longest = float(np.nanmax(durations)) if np.isfinite(durations).any() else 0.0
            expected = int(arrivals[-1]) + 1 + math.ceil(longest)
            if self.skip_idle:  # busy slots: the union of [arrival, arrival + duration] over the jobs
                expected = busy_span(arrivals, np.where(np.isfinite(durations), durations, longest))
        return 100 * max(expected, 10)

    @property
    def max_running(self) -> int:
        """Upper bound on tasks running at once on one cluster (padding of running-task arrays).

        A running task holds at least its minimum, so at most ``min_r cap_r // m_r`` tasks of the
        smallest type fit; the bound is exact, so no running task is ever cut from an observation.
        """
        best = 1
        for c in self.clusters:
            for t in self.workload.task_types:
                fit = min(cap // m for cap, m in zip(c.capacity, t.min_request) if m > 0)
                best = max(best, fit)
        return best


#: overrides applied to every task type: ``switch_penalty`` and, for measured-profile speed models,
#: ``slot_seconds``; and ``capacities`` (per-cluster capacity lists replacing the clusters').
_TYPE_WIDE = {"capacities", "switch_penalty", "slot_seconds"}
_WORKLOAD_FIELDS = {f.name for f in fields(WorkloadSpec)}
_ENV_FIELDS = {f.name for f in fields(EnvConfig)} - {"workload"}


def override_names() -> set[str]:
    """The keys :func:`with_overrides` accepts (config fields, workload fields, type-wide ones)."""
    return _WORKLOAD_FIELDS | _ENV_FIELDS | _TYPE_WIDE


def _capacities(value: Any) -> tuple[tuple[int, ...], ...]:
    """The ``capacities`` override as integer tuples; a non-integer unit count is an error naming
    its place (``16.7`` is not silently made ``16``; numpy integers and integral floats such as
    ``16.0`` are exact and accepted)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise ValueError(f"capacities must be a list of per-cluster capacity lists, got {value!r}")
    out = []
    for i, cap in enumerate(value):
        if isinstance(cap, (str, bytes)) or not hasattr(cap, "__len__"):
            raise ValueError(f"capacities[{i}] must be a list of units per resource, got {cap!r}")
        row = []
        for r, u in enumerate(cap):
            if isinstance(u, (bool, np.bool_)):
                ok = False
            elif isinstance(u, (int, np.integer)):
                ok = True
            else:
                ok = isinstance(u, (float, np.floating)) and math.isfinite(u) and float(u).is_integer()
            if not ok:
                raise ValueError(f"capacities[{i}][{r}] must be a whole number of units, got {u!r}")
            row.append(int(u))
        out.append(tuple(row))
    return tuple(out)


def with_overrides(config: EnvConfig, **overrides: Any) -> EnvConfig:
    """Return ``config`` with flat keyword overrides applied.

    Keys of :class:`WorkloadSpec` (``arrival_rate``, ``num_tasks``, ``visibility``, ...) and of
    :class:`EnvConfig` (``reward``, ``max_pending``, ...) may be mixed; ``capacities`` (a list of
    per-cluster capacity tuples) replaces the clusters. Unknown keys raise ``ValueError`` listing
    the valid ones. ``switch_penalty`` sets every task type's; ``slot_seconds`` every measured
    profile model's (``profile_config``; an error for configs without one).
    """
    overrides = {k: plain(v) for k, v in overrides.items()}  # numpy scalars as Python numbers
    workload_kw = {k: v for k, v in overrides.items() if k in _WORKLOAD_FIELDS}
    env_kw = {k: v for k, v in overrides.items() if k in _ENV_FIELDS}
    capacities = overrides.get("capacities")
    unknown = set(overrides) - _WORKLOAD_FIELDS - _ENV_FIELDS - _TYPE_WIDE
    if unknown:
        raise unknown_name_error("config option(s)", sorted(unknown), override_names())
    if "switch_penalty" in overrides or "slot_seconds" in overrides:  # every task type's
        types = workload_kw.get("task_types", config.workload.task_types)
        if "switch_penalty" in overrides:
            types = tuple(replace(t, switch_penalty=overrides["switch_penalty"]) for t in types)
        if "slot_seconds" in overrides:
            sec = overrides["slot_seconds"]
            ok = (
                isinstance(sec, (int, float)) and not isinstance(sec, bool) and math.isfinite(sec) and sec > 0
            )
            if not ok:
                raise ValueError(f"slot_seconds must be a finite number of seconds > 0, got {sec!r}")
            if not any(hasattr(t.speed, "slot_seconds") for t in types):
                raise ValueError(
                    "slot_seconds applies to measured-profile speed models (profile_config), and no "
                    f"task type of {config.name!r} has one"
                )
            types = tuple(
                replace(t, speed=replace(t.speed, slot_seconds=float(sec)))
                if hasattr(t.speed, "slot_seconds")
                else t
                for t in types
            )
        workload_kw["task_types"] = types
    if capacities is not None:
        if "clusters" in env_kw:
            raise ValueError("give either 'clusters' or 'capacities', not both")
        caps = _capacities(capacities)
        old = config.clusters
        if len(caps) == len(old):  # keep each cluster's GPU generation / speed factor
            env_kw["clusters"] = tuple(replace(c, capacity=cap) for c, cap in zip(old, caps))
        else:
            env_kw["clusters"] = tuple(ClusterSpec(cap) for cap in caps)
    workload = replace(config.workload, **workload_kw) if workload_kw else config.workload
    return replace(config, workload=workload, **env_kw)
