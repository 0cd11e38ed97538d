"""Named presets: the experiments of the TapFinger paper (SPEC.md section 11) and later ones.

``PRESETS`` is an explicit dict from name to a zero-argument factory returning an
:class:`~edgesched_env.config.EnvConfig`; :func:`make_config` applies keyword overrides.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgesched_env._names import unknown_name_error
from edgesched_env.config import ClusterSpec, EnvConfig, TaskType, WorkloadSpec, with_overrides
from edgesched_env.workload.measured import MODEL_MATCHING, measured_model
from edgesched_env.workload.profile import load_profile
from edgesched_env.workload.speed import SyntheticSpeed
from edgesched_env.workload.topology import random_geometric_topology
from edgesched_env.workload.traces import TraceReplay

__all__ = [
    "DEFAULT_PRESET",
    "EDGE_NUM_LEVELS",
    "EDGE_RESOURCES",
    "PRESETS",
    "PRESET_INFO",
    "make_config",
    "measured_task_type",
    "preset_names",
    "profile_config",
]

DEFAULT_PRESET = "edge-ml-small"

_CPU, _GPU = 0, 1


def _synthetic_types(switch_penalty: float) -> tuple[TaskType, ...]:
    """The paper's two synthetic types: resource-insensitive and gpu-concave, min (2, 1)."""
    return (
        TaskType("insensitive", (2, 1), SyntheticSpeed(bias=0.25), switch_penalty),
        TaskType("gpu-concave", (2, 1), SyntheticSpeed(resource_idx=_GPU, scale=16.0), switch_penalty),
    )


def _sjf_types() -> tuple[TaskType, ...]:
    """The sjf variant: fixed durations, 1 slot (short) or 11 slots (long), min (3, 3)."""
    return (
        TaskType("sjf-short", (3, 3), SyntheticSpeed(bias=1.0), 1.0),
        TaskType("sjf-long", (3, 3), SyntheticSpeed(bias=0.1), 1.0),
    )


def _uniform(n: int, cap: tuple[int, int]) -> tuple[ClusterSpec, ...]:
    return tuple(ClusterSpec(cap) for _ in range(n))


def tapfinger_synthetic() -> EnvConfig:
    """3 clusters of (16 cpu, 16 gpu), rate 2, 192 tasks, synthetic types, penalty 0.5."""
    return EnvConfig(
        clusters=_uniform(3, (16, 16)),
        workload=WorkloadSpec(_synthetic_types(0.5), (0.5, 0.5), arrival_rate=2.0, num_tasks=192),
        name="tapfinger-synthetic",
    )


def tapfinger_synthetic6() -> EnvConfig:
    """6 clusters of (16, 16), rate 3, 384 tasks, synthetic types, penalty 0.5."""
    return EnvConfig(
        clusters=_uniform(6, (16, 16)),
        workload=WorkloadSpec(_synthetic_types(0.5), (0.5, 0.5), arrival_rate=3.0, num_tasks=384),
        name="tapfinger-synthetic6",
    )


def tapfinger_hetero6() -> EnvConfig:
    """6 heterogeneous clusters (4..32 units), rate 6, 384 tasks, synthetic types, no penalty."""
    caps = ((4, 4), (8, 8), (12, 12), (16, 16), (24, 24), (32, 32))
    return EnvConfig(
        clusters=tuple(ClusterSpec(c) for c in caps),
        workload=WorkloadSpec(_synthetic_types(1.0), (0.5, 0.5), arrival_rate=6.0, num_tasks=384),
        name="tapfinger-hetero6",
    )


def tapfinger_sjf() -> EnvConfig:
    """3 clusters of (16, 16), rate 3, 192 tasks, sjf types (1 or 11 slots), min (3, 3)."""
    return EnvConfig(
        clusters=_uniform(3, (16, 16)),
        workload=WorkloadSpec(_sjf_types(), (0.5, 0.5), arrival_rate=3.0, num_tasks=192),
        name="tapfinger-sjf",
    )


# ------------------------------------------------------------------------ realistic edge presets
#: Resources of the edge presets: cpu cores, GPUs, host memory in units of 16 GB.
EDGE_RESOURCES = ("cpu", "gpu", "mem")
#: Per-task levels: up to 16 cpu cores, 4 GPUs (the largest single-node placement Pollux measured)
#: and 16 memory units (256 GB).
EDGE_NUM_LEVELS = (17, 5, 17)
_POLLUX_TYPES = ("resnet18-cifar10", "resnet50-imagenet", "bert", "deepspeech2", "yolov3", "ncf")
_SYNERGY_TYPES = ("alexnet", "mobilenet", "shufflenet", "gnmt", "transformer", "lstm", "vae", "m5")


def measured_task_type(name: str, switch_penalty: float = 1.0) -> TaskType:
    """A measured model type on (cpu, gpu, mem) with its documented minimum-request and data ranges.

    Minimum requests are drawn per task uniformly in the ranges of
    :data:`~edgesched_env.workload.measured.MODEL_MATCHING` (cpu cores, GPUs, 16 GB memory units);
    input data sizes log-uniformly in its ``input_mb`` range.
    """
    match = MODEL_MATCHING[name]
    lo = tuple(r[0] for r in match.min_request)
    hi = tuple(r[1] for r in match.min_request)
    return TaskType(
        name,
        lo,
        measured_model(name),
        switch_penalty,
        min_request_max=hi if hi != lo else None,
        input_mb=match.input_mb,
    )


def _measured_types(names: tuple[str, ...]) -> tuple[TaskType, ...]:
    return tuple(measured_task_type(n) for n in names)


def _uniform_probs(k: int) -> tuple[float, ...]:
    return tuple(1.0 / k for _ in range(k))


def edge_ml_small() -> EnvConfig:
    """4 edge clusters (cpu, gpu, 16 GB mem), Pollux's 6 measured model types, Poisson rate 0.3.

    Capacities (cpu, gpu, mem units): (16, 2, 8), (24, 4, 16), (24, 4, 16), (32, 8, 24); 200 tasks
    with per-task work ``exp(0.5 z)`` and per-task minimum requests; random-subset visibility.
    """
    caps = ((16, 2, 8), (24, 4, 16), (24, 4, 16), (32, 8, 24))
    types = _measured_types(_POLLUX_TYPES)
    return EnvConfig(
        clusters=tuple(ClusterSpec(c) for c in caps),
        workload=WorkloadSpec(
            types, _uniform_probs(len(types)), arrival_rate=0.3, num_tasks=200, work_sigma=0.5
        ),
        resource_names=EDGE_RESOURCES,
        num_levels=EDGE_NUM_LEVELS,
        time_scale_slots=20.0,
        name="edge-ml-small",
    )


def edge_philly() -> EnvConfig:
    """8 clusters on a random geometric network, replaying 300 Philly jobs, topology visibility.

    Trace: the packaged Philly cut (2017-10-02), rows 0..299; arrivals compressed 120 s -> 1 slot,
    durations 600 s -> 1 slot (clipped to [1, 60] slots). Model types (Philly has none) drawn
    uniformly from Pollux's 6 and 4 of Synergy's; work from the durations at the trace's gpu
    count, times ``exp(0.3 z)``. Home = the job's Philly virtual cluster (rank mod 8); visible to
    clusters within 1 hop; placing away from home costs the data transfer (slots of 60 s).
    """
    caps = (
        (16, 4, 16),
        (16, 4, 16),
        (24, 4, 16),
        (24, 4, 16),
        (32, 8, 24),
        (16, 2, 8),
        (16, 2, 8),
        (32, 8, 24),
    )
    names = (*_POLLUX_TYPES, "alexnet", "gnmt", "transformer", "m5")
    types = _measured_types(names)
    trace = TraceReplay(
        "philly",
        arrival_seconds_per_slot=120.0,
        duration_seconds_per_slot=600.0,
        max_duration_slots=60.0,
    )
    return EnvConfig(
        clusters=tuple(ClusterSpec(c) for c in caps),
        workload=WorkloadSpec(
            types,
            _uniform_probs(len(types)),
            arrival_rate=1.5,
            num_tasks=300,
            visibility="topology",
            arrival_process="trace",
            trace=trace,
            visibility_hops=1,
            work_sigma=0.3,
        ),
        resource_names=EDGE_RESOURCES,
        num_levels=EDGE_NUM_LEVELS,
        time_scale_slots=20.0,
        topology=random_geometric_topology(8, radius=0.45, seed=0),
        name="edge-philly",
    )


def edge_hetero_gpu() -> EnvConfig:
    """6 clusters with K80, P100 and V100 GPUs (two each), 14 measured model types, Poisson 0.4.

    Capacities (cpu, gpu, mem units): (24, 4, 16) everywhere; GPU generations k80, k80, p100,
    p100, v100, v100 (cluster speed factors from Gavel; each model uses its own family's ratio).
    """
    gens = ("k80", "k80", "p100", "p100", "v100", "v100")
    types = _measured_types(_POLLUX_TYPES + _SYNERGY_TYPES)
    return EnvConfig(
        clusters=tuple(ClusterSpec((24, 4, 16), gpu_generation=g) for g in gens),
        workload=WorkloadSpec(
            types, _uniform_probs(len(types)), arrival_rate=0.4, num_tasks=240, work_sigma=0.5
        ),
        resource_names=EDGE_RESOURCES,
        num_levels=EDGE_NUM_LEVELS,
        time_scale_slots=20.0,
        name="edge-hetero-gpu",
    )


def edge_pollux() -> EnvConfig:
    """6 clusters replaying Pollux's workload-1 (160 jobs with model types), diurnal-free trace.

    Arrivals compressed 120 s -> 1 slot (8 h -> 240 slots); work = the model's nominal work times
    ``exp(0.5 z)`` (the workload has no durations). Capacities (24, 4, 16) x 6, all V100.
    """
    types = _measured_types(_POLLUX_TYPES)
    return EnvConfig(
        clusters=tuple(ClusterSpec((24, 4, 16)) for _ in range(6)),
        workload=WorkloadSpec(
            types,
            _uniform_probs(len(types)),
            arrival_rate=0.67,
            num_tasks=160,
            arrival_process="trace",
            trace=TraceReplay("pollux-workload-1", arrival_seconds_per_slot=120.0),
            work_sigma=0.5,
        ),
        resource_names=EDGE_RESOURCES,
        num_levels=EDGE_NUM_LEVELS,
        time_scale_slots=20.0,
        name="edge-pollux",
    )


def profile_config(
    path: str | Path,
    *,
    capacities: tuple[tuple[int, ...], ...] | None = None,
    resource_names: tuple[str, ...] | None = None,
    num_levels: tuple[int, ...] | None = None,
    num_clusters: int = 4,
    arrival_rate: float = 0.5,
    num_tasks: int = 200,
    slot_seconds: float = 60.0,
    nominal_work: float | dict[str, float] | None = None,
    work_sigma: float = 0.0,
    switch_penalty: float = 1.0,
    overhead_s: float = 0.0,
    extra_columns: str = "error",
    repeats: str = "error",
) -> EnvConfig:
    """A config simulating the user's measured jobs from a profile CSV (format in
    :mod:`edgesched_env.workload.profile`): one task type per ``task_type``, mixed uniformly,
    Poisson arrivals, random-subset visibility.

    What is not given is taken from the file: ``resource_names`` are its resource columns (``cpu``,
    ``gpu`` and ``mem`` if present); ``num_levels[r]`` is the largest measured units of ``r`` + 1
    (so every measured allocation is an action); ``capacities`` are ``num_clusters`` clusters of
    twice the largest measured units per resource (two of the biggest jobs fit). Each type's
    minimum request is its smallest measured allocation (0 where it was measured at 0 units; 0 for
    resources it was not profiled on). A measured point that the config cannot reach (above a
    resource's ``num_levels - 1`` or every cluster's capacity) is warned about.
    ``switch_penalty`` applies to every type; ``overhead_s``, ``extra_columns`` and ``repeats`` are
    :func:`~edgesched_env.workload.profile.load_profile`'s.
    """
    import warnings

    models = load_profile(
        path,
        resource_names=resource_names or EDGE_RESOURCES,
        nominal_work=nominal_work,
        slot_seconds=slot_seconds,
        extra_columns=extra_columns,
        repeats=repeats,
        overhead_s=overhead_s,
    )
    first = next(iter(models.values()))
    if resource_names is None:  # the profiled resources, in the file's (cpu, gpu, mem) order
        resource_names = first.resource_names
        models = {n: replace(m, resource_idx=tuple(range(len(m.resource_names)))) for n, m in models.items()}
    top = [0] * len(resource_names)  # largest measured units per env resource
    for m in models.values():
        for axis, r in zip(m.axes, m.resource_idx):
            top[r] = max(top[r], math.ceil(axis[-1]))
    if num_levels is None:
        num_levels = tuple(max(2, t + 1) for t in top)
    if capacities is None:
        if not (isinstance(num_clusters, int) and num_clusters >= 1):
            raise ValueError(
                f"profile_config(num_clusters=...) must be an integer >= 1, got {num_clusters!r}"
            )
        capacities = (tuple(max(1, 2 * t) for t in top),) * num_clusters
    for name, m in models.items():
        for axis, r in zip(m.axes, m.resource_idx):
            limit = min(num_levels[r] - 1, max(c[r] for c in capacities))
            if axis[-1] > limit:
                warnings.warn(
                    f"{Path(path).name}: task type {name!r} was measured at {axis[-1]:g} "
                    f"{resource_names[r]} units, but at most {limit} can be given (num_levels "
                    f"{num_levels[r]}, largest capacity {max(c[r] for c in capacities)})",
                    stacklevel=2,
                )
    types = []
    for name, model in models.items():
        low = model.min_allocation
        req = tuple(low.get(r, 0) for r in range(len(resource_names)))
        if all(u == 0 for u in req):
            raise ValueError(
                f"{Path(path).name}: task type {name!r} was measured with 0 units of every resource, so "
                "its minimum request would be nothing; profile it at >= 1 unit of some resource"
            )
        types.append(TaskType(name, req, model, switch_penalty))
    return EnvConfig(
        clusters=tuple(ClusterSpec(tuple(c)) for c in capacities),
        workload=WorkloadSpec(
            tuple(types), _uniform_probs(len(types)), arrival_rate, num_tasks, work_sigma=work_sigma
        ),
        resource_names=tuple(resource_names),
        num_levels=tuple(num_levels),
        name=f"profile:{Path(path).name}",
    )


PRESETS: dict[str, Callable[[], EnvConfig]] = {
    "tapfinger-synthetic": tapfinger_synthetic,
    "tapfinger-synthetic6": tapfinger_synthetic6,
    "tapfinger-hetero6": tapfinger_hetero6,
    "tapfinger-sjf": tapfinger_sjf,
    "edge-ml-small": edge_ml_small,
    "edge-philly": edge_philly,
    "edge-hetero-gpu": edge_hetero_gpu,
    "edge-pollux": edge_pollux,
}

#: One line of provenance per preset, shown by ``edgesched presets``.
PRESET_INFO: dict[str, str] = {
    "tapfinger-synthetic": "TapFinger paper, synthetic 3-cluster setting (SPEC.md s.11)",
    "tapfinger-synthetic6": "TapFinger paper, synthetic 6-cluster setting (SPEC.md s.11)",
    "tapfinger-hetero6": "TapFinger paper, heterogeneous 6-cluster setting (SPEC.md s.11)",
    "tapfinger-sjf": "TapFinger paper, fixed-duration sjf variant (SPEC.md s.11)",
    "edge-ml-small": "measured models: Pollux step times (Apache-2.0) x Synergy cpu/mem profiles (MIT)",
    "edge-philly": "Philly trace (Jeon et al. ATC'19, CC-BY-4.0, via Pollux) + Pollux/Synergy models",
    "edge-hetero-gpu": "Gavel K80/P100/V100 throughputs (MIT) + Pollux/Synergy measured models",
    "edge-pollux": "Pollux OSDI'21 workload-1 replay (Apache-2.0) with measured model types",
}


def preset_names() -> list[str]:
    """Names of all presets, in registry order."""
    return list(PRESETS)


def make_config(preset: str | EnvConfig = DEFAULT_PRESET, **overrides: Any) -> EnvConfig:
    """Build the config of a preset (or take a given config) and apply keyword overrides.

    >>> make_config("tapfinger-hetero6", arrival_rate=4.0).workload.arrival_rate
    4.0
    """
    if isinstance(preset, EnvConfig):
        base = preset
    else:
        if preset not in PRESETS:
            raise unknown_name_error("preset", preset, preset_names())
        base = PRESETS[preset]()
    return with_overrides(base, **overrides) if overrides else base
