"""Named presets: the experiments of the TapFinger paper (SPEC.md section 11) and later ones.

``PRESETS`` is an explicit dict from name to a zero-argument factory returning an
:class:`~edgesched_env.config.EnvConfig`; :func:`make_config` applies keyword overrides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgesched_env.config import ClusterSpec, EnvConfig, TaskType, WorkloadSpec, with_overrides
from edgesched_env.workload.speed import SyntheticSpeed

__all__ = ["DEFAULT_PRESET", "PRESETS", "PRESET_INFO", "make_config", "preset_names"]

DEFAULT_PRESET = "tapfinger-synthetic"

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


PRESETS: dict[str, Callable[[], EnvConfig]] = {
    "tapfinger-synthetic": tapfinger_synthetic,
    "tapfinger-synthetic6": tapfinger_synthetic6,
    "tapfinger-hetero6": tapfinger_hetero6,
    "tapfinger-sjf": tapfinger_sjf,
}

#: One line of provenance per preset, shown by ``edgesched presets``.
PRESET_INFO: dict[str, str] = {
    "tapfinger-synthetic": "TapFinger paper, synthetic 3-cluster setting (SPEC.md s.11)",
    "tapfinger-synthetic6": "TapFinger paper, synthetic 6-cluster setting (SPEC.md s.11)",
    "tapfinger-hetero6": "TapFinger paper, heterogeneous 6-cluster setting (SPEC.md s.11)",
    "tapfinger-sjf": "TapFinger paper, fixed-duration sjf variant (SPEC.md s.11)",
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
            raise ValueError(f"unknown preset {preset!r}; available presets: {preset_names()}")
        base = PRESETS[preset]()
    return with_overrides(base, **overrides) if overrides else base
