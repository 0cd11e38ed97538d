"""Workloads: arrival processes, instance generation, trace replay, the edge network and speed
(resource-sensitivity) models (synthetic, measured, user profiles, Optimus-style parametric)."""

from edgesched_env.workload.arrivals import (
    Workload,
    diurnal_arrival_slots,
    generate_workload,
    poisson_arrival_slots,
)
from edgesched_env.workload.measured import (
    MODEL_MATCHING,
    MeasuredSpeed,
    gpu_generations,
    measured_model,
    measured_model_names,
)
from edgesched_env.workload.parametric import OptimusSpeed
from edgesched_env.workload.profile import ProfileSpeed, load_profile
from edgesched_env.workload.speed import SpeedModel, SyntheticSpeed
from edgesched_env.workload.tables import DataFormatError
from edgesched_env.workload.topology import (
    Link,
    Topology,
    random_geometric_topology,
    ring_topology,
    star_topology,
)
from edgesched_env.workload.traces import TraceReplay, load_trace

__all__ = [
    "MODEL_MATCHING",
    "DataFormatError",
    "Link",
    "MeasuredSpeed",
    "OptimusSpeed",
    "ProfileSpeed",
    "SpeedModel",
    "SyntheticSpeed",
    "Topology",
    "TraceReplay",
    "Workload",
    "diurnal_arrival_slots",
    "generate_workload",
    "gpu_generations",
    "load_profile",
    "load_trace",
    "measured_model",
    "measured_model_names",
    "poisson_arrival_slots",
    "random_geometric_topology",
    "ring_topology",
    "star_topology",
]
