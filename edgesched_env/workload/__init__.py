"""Workloads: arrival processes, instance generation and speed (resource-sensitivity) models."""

from edgesched_env.workload.arrivals import Workload, generate_workload, poisson_arrival_slots
from edgesched_env.workload.speed import SpeedModel, SyntheticSpeed

__all__ = ["SpeedModel", "SyntheticSpeed", "Workload", "generate_workload", "poisson_arrival_slots"]
