"""Measured speed models of real ML training jobs (Pollux x Synergy x Gavel).

A measured model type's speed, in progress per slot, for a task with allocation ``a`` =
(``c`` cpu units, ``g`` gpu units, ``m`` memory units) on a cluster of GPU generation ``v``:

.. code-block:: text

    rate(a, v) = G(g) * C(c / g, m * mem_gb_per_unit / g) * V(v)        (relative throughput)
    dp         = rate(a, v) / (nominal_slots * work)                   (progress per slot)

- ``G(g) = X(g) / X(1)``: **gpu-count scaling** from Pollux's measured step times of single-node
  placements with 1, 2, 3 and 4 GPUs, as throughput ``X(g) = g * local_bsz / step_time(g)``
  (samples/s at a fixed per-GPU batch size, the largest one measured at all four placements).
  Linear between the measured counts; ``G = 0`` below 1 GPU; ``G(g) = G(4)`` above 4 (no
  extrapolation beyond the largest single-node placement: conservative).
- ``C(x, y) = T(x, y) / T(x*, y*)``: **cpu and memory sensitivity per GPU** from Synergy's profile
  ``T`` (throughput over cpus per GPU ``x`` in {1..24} and host memory per GPU ``y`` in GB in
  {20.83..250}), normalised at the model's ideal demand ``(x*, y*)`` (Synergy's ``best_*``, clamped into the
  grid).
  Bilinear between grid points; clamped above the grid; below the smallest cpu (memory) value
  the throughput falls linearly to 0 (``T(x, y) = T(1, y) * x`` for ``x < 1``): a data-parallel
  job whose GPUs wait for input slows down in proportion to its data-loading cpus. So too few cpus
  for the gpus makes a task slower: ``G(g) * C(c/g, .)`` can drop when ``g`` grows at fixed ``c``.
  Without a memory resource, ``y = y*``.
- ``V(v)``: **GPU generation**, Gavel's single-GPU throughput of the matched model family on
  generation ``v`` relative to the V100 (the reference, ``V = 1``; geometric mean over the
  family's batch sizes). The Pollux step times are taken as V100-class speed.
- ``nominal_slots``: slots a task with ``work = 1`` takes at 1 GPU, ideal cpu/memory, on the
  reference generation. It is a modelling choice (edge-scale jobs), not a measurement.

At the ideal per-GPU demand, ``rate = G(g)`` reproduces Pollux's measured scaling exactly at
``g`` in {1, 2, 3, 4}; at 1 GPU, ``rate = C`` reproduces Synergy's grid exactly at its points.

**Matching (documented choices).** Each model type names a Pollux model (gpu scaling), a Synergy
model (cpu/memory; ``None`` = insensitive, used for NCF which Synergy does not profile, like its
language models, which are flat) and a Gavel family (generation), see :data:`MODEL_MATCHING`.

**GPU generation on a cluster.** The simulator hands the model the hosting cluster's
``speed_factor`` only. :func:`gpu_generations` gives each generation a cluster-level factor (the
geometric mean of ``V`` over all Gavel families); :class:`~edgesched_env.config.ClusterSpec` with
``gpu_generation`` set gets exactly that factor. A measured model recognises these exact values
and applies its own family's ``V`` instead; any other ``speed_factor`` multiplies the rate as is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgesched_env._names import did_you_mean, unknown_name_error
from edgesched_env.workload.tables import load_json_data

__all__ = [
    "MODEL_MATCHING",
    "MeasuredSpeed",
    "ModelMatch",
    "gpu_generation_factor",
    "gpu_generations",
    "measured_model",
    "measured_model_names",
]

_DATA = "measured_models.json"


@dataclass(frozen=True)
class ModelMatch:
    """Which measurements a model type uses.

    Attributes:
        pollux: Pollux model for gpu-count scaling.
        synergy: Synergy model for cpu/memory sensitivity (``None``: insensitive).
        gavel: Gavel model family for the GPU-generation ratio.
        nominal_slots: slots at 1 GPU, ideal cpu/memory, reference generation, ``work = 1``.
        min_request: default (low, high) minimum-request ranges per resource (cpu units, gpu
            units, memory units of 16 GB), drawn per task uniformly between low and high.
        input_mb: default (low, high) input data size in MB, drawn log-uniformly per task.
    """

    pollux: str
    synergy: str | None
    gavel: str
    nominal_slots: float
    min_request: tuple[tuple[int, int], tuple[int, int], tuple[int, int]]
    input_mb: tuple[float, float]


#: Model type -> its measurements. The first six are Pollux's models (measured gpu scaling);
#: the others are Synergy's profiled models, whose gpu scaling comes from the closest Pollux model.
MODEL_MATCHING: dict[str, ModelMatch] = {
    # Pollux models (matched to the Synergy model of the same network / task).
    "resnet18-cifar10": ModelMatch("cifar10", "res18", "ResNet-18", 8, ((2, 4), (1, 1), (2, 2)), (100, 400)),
    "resnet50-imagenet": ModelMatch(
        "imagenet", "res50", "ResNet-50", 30, ((2, 4), (1, 2), (2, 4)), (2000, 8000)
    ),
    "bert": ModelMatch("bert", "bert", "Transformer", 14, ((1, 2), (1, 1), (2, 2)), (200, 800)),
    "deepspeech2": ModelMatch("deepspeech2", "deepspeech", "LM", 20, ((2, 3), (1, 2), (2, 3)), (1000, 4000)),
    "yolov3": ModelMatch("yolov3", "res50", "ResNet-50", 24, ((2, 4), (1, 2), (2, 4)), (1000, 4000)),
    "ncf": ModelMatch("ncf", None, "Recommendation", 5, ((1, 2), (1, 1), (1, 2)), (50, 200)),
    # Synergy models without a Pollux measurement: gpu scaling of the closest Pollux model.
    "alexnet": ModelMatch("cifar10", "alexnet", "ResNet-18", 6, ((2, 4), (1, 1), (2, 3)), (500, 2000)),
    "mobilenet": ModelMatch("cifar10", "mobilenet", "ResNet-18", 8, ((2, 4), (1, 1), (2, 2)), (500, 2000)),
    "shufflenet": ModelMatch("cifar10", "shufflenet", "ResNet-18", 8, ((2, 4), (1, 1), (2, 3)), (500, 2000)),
    "gnmt": ModelMatch("bert", "gnmt", "LM", 18, ((1, 2), (1, 2), (2, 2)), (200, 800)),
    "transformer": ModelMatch("bert", "transformer", "Transformer", 18, ((1, 2), (1, 2), (2, 2)), (200, 800)),
    "lstm": ModelMatch("bert", "lstm", "LM", 10, ((1, 2), (1, 1), (2, 2)), (50, 200)),
    "vae": ModelMatch("cifar10", "vae", "CycleGAN", 6, ((1, 2), (1, 1), (2, 2)), (50, 200)),
    "m5": ModelMatch("deepspeech2", "m5", "ResNet-18", 8, ((2, 4), (1, 1), (2, 3)), (500, 2000)),
}

_REFERENCE_GENERATION = "v100"


@lru_cache(maxsize=1)
def _generations() -> dict[str, float]:
    gavel = load_json_data(_DATA)["gavel"]
    names = sorted({g for fam in gavel.values() for g in fam["relative_to_v100"]})
    out = {}
    for gen in names:
        logs = [math.log(fam["relative_to_v100"][gen]) for fam in gavel.values()]
        out[gen] = 1.0 if gen == _REFERENCE_GENERATION else math.exp(sum(logs) / len(logs))
    return out


def gpu_generations() -> dict[str, float]:
    """GPU generation -> cluster speed factor: the geometric mean over Gavel's model families of
    single-GPU throughput relative to the V100 (``k80``, ``p100``, ``v100`` = 1.0)."""
    return dict(_generations())


def gpu_generation_factor(generation: str) -> float:
    """Cluster-level speed factor of a GPU generation (see :func:`gpu_generations`).

    Raises:
        ValueError: unknown generation (the message lists the known ones).
    """
    gens = _generations()
    if generation not in gens:
        raise ValueError(
            f"unknown GPU generation {generation!r}{did_you_mean(generation, gens)} (known: {sorted(gens)})"
        )
    return gens[generation]


#: entries of a model's memo of rates (:meth:`MeasuredSpeed._rates`) before it is cleared
_RATE_MEMO_MAX = 65536
#: calls with more rows than this skip the memo (its per-row cost exceeds the formula's)
_RATE_MEMO_ROWS = 64


def _axis_weights(
    grid: NDArray[np.float64], v: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Left index and weight of ``v`` (clamped to the grid) for linear interpolation on ``grid``."""
    if grid.shape[0] == 1:
        return np.zeros(v.shape, dtype=np.int64), np.zeros(v.shape)
    vc = np.clip(v, grid[0], grid[-1])
    i = np.clip(np.searchsorted(grid, vc, side="right") - 1, 0, grid.shape[0] - 2)
    w = (vc - grid[i]) / (grid[i + 1] - grid[i])
    return i.astype(np.int64), w


@dataclass(frozen=True)
class MeasuredSpeed:
    """Speed of a measured ML model type (formulas in the module docstring).

    Attributes:
        name: model type name (a key of :data:`MODEL_MATCHING` for the packaged ones).
        gpus: measured gpu counts (increasing).
        gpu_scaling: ``G(g)`` at ``gpus`` (throughput relative to 1 GPU).
        cpus_per_gpu: Synergy cpu grid (cpus per GPU, increasing); ``()`` = cpu-insensitive.
        mem_gb_per_gpu: Synergy memory grid (GB per GPU, increasing); ``()`` = insensitive.
        cpu_mem_tput: ``T`` on the grid, row per cpu value (``()`` when insensitive).
        best_cpus_per_gpu: ``x*`` (cpus per GPU of the ideal demand).
        best_mem_gb_per_gpu: ``y*`` (GB per GPU of the ideal demand).
        generation_ratio: ``(generation, V)`` pairs for the model's Gavel family.
        nominal_slots: slots at 1 GPU, ideal cpu/memory, reference generation, ``work = 1``.
        cpu_idx, gpu_idx, mem_idx: resource indices (``mem_idx=None``: no memory resource).
        mem_gb_per_unit: GB of host memory per memory unit.
    """

    name: str
    gpus: tuple[float, ...]
    gpu_scaling: tuple[float, ...]
    cpus_per_gpu: tuple[float, ...]
    mem_gb_per_gpu: tuple[float, ...]
    cpu_mem_tput: tuple[tuple[float, ...], ...]
    best_cpus_per_gpu: float
    best_mem_gb_per_gpu: float
    generation_ratio: tuple[tuple[str, float], ...]
    nominal_slots: float
    cpu_idx: int = 0
    gpu_idx: int = 1
    mem_idx: int | None = 2
    mem_gb_per_unit: float = 16.0
    _arr: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.gpus) != len(self.gpu_scaling) or not self.gpus:
            raise ValueError(
                f"MeasuredSpeed({self.name}): gpus and gpu_scaling must be non-empty, equal length"
            )
        if any(b <= a for a, b in zip(self.gpus, self.gpus[1:])):
            raise ValueError(f"MeasuredSpeed({self.name}).gpus must increase, got {self.gpus}")
        if self.nominal_slots <= 0 or not math.isfinite(self.nominal_slots):
            raise ValueError(
                f"MeasuredSpeed({self.name}).nominal_slots must be > 0, got {self.nominal_slots!r}"
            )
        if self.mem_gb_per_unit <= 0:
            raise ValueError(f"MeasuredSpeed({self.name}).mem_gb_per_unit must be > 0")
        arr = self._arr
        arr["gpus"] = np.array(self.gpus, dtype=np.float64)
        arr["g"] = np.array(self.gpu_scaling, dtype=np.float64)
        if self.cpus_per_gpu:
            x = np.array(self.cpus_per_gpu, dtype=np.float64)
            y = np.array(self.mem_gb_per_gpu, dtype=np.float64)
            t = np.array(self.cpu_mem_tput, dtype=np.float64)
            if t.shape != (x.shape[0], y.shape[0]):
                raise ValueError(f"MeasuredSpeed({self.name}).cpu_mem_tput has shape {t.shape}")
            arr["x"], arr["y"], arr["t"] = x, y, t
            # Normalise at the ideal demand clamped into the grid (Synergy gives some language
            # models an ideal memory of 20 GB, just below its smallest profiled 20.83 GB).
            bx = np.clip([self.best_cpus_per_gpu], x[0], x[-1])
            by = np.clip([self.best_mem_gb_per_gpu], y[0], y[-1])
            best = self._grid(bx, by)
            if not best[0] > 0:
                raise ValueError(f"MeasuredSpeed({self.name}): zero throughput at the ideal demand")
            arr["t_best"] = float(best[0])
        arr["gen"] = dict(self.generation_ratio)
        arr["rate_memo"] = {}

    # ----------------------------------------------------------------------------- pieces
    def gpu_factor(self, g: NDArray[np.float64]) -> NDArray[np.float64]:
        """``G(g)``: linear between measured counts, 0 below the smallest, flat above the largest."""
        gp: NDArray[np.float64] = self._arr["gpus"]
        out: NDArray[np.float64] = np.interp(g, gp, self._arr["g"])
        out[g < gp[0]] = 0.0
        return out

    def _grid(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
        """``T(x, y)``: bilinear on the Synergy grid, clamped above, linear to 0 below."""
        gx: NDArray[np.float64] = self._arr["x"]
        gy: NDArray[np.float64] = self._arr["y"]
        t: NDArray[np.float64] = self._arr["t"]
        i, wx = _axis_weights(gx, x)
        j, wy = _axis_weights(gy, y)
        i1 = np.minimum(i + 1, gx.shape[0] - 1)
        j1 = np.minimum(j + 1, gy.shape[0] - 1)
        val: NDArray[np.float64] = (
            (1 - wx) * (1 - wy) * t[i, j]
            + wx * (1 - wy) * t[i1, j]
            + (1 - wx) * wy * t[i, j1]
            + wx * wy * t[i1, j1]
        )
        val = np.where(x < gx[0], val * np.maximum(x, 0.0) / gx[0], val)
        return np.where(y < gy[0], val * np.maximum(y, 0.0) / gy[0], val)

    def cpu_mem_factor(
        self, cpus_per_gpu: NDArray[np.float64], mem_gb_per_gpu: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """``C(x, y) = T(x, y) / T(x*, y*)`` (1 when the model is cpu/memory-insensitive)."""
        if "t" not in self._arr:
            return np.ones(np.shape(cpus_per_gpu))
        t_best: float = self._arr["t_best"]
        return self._grid(cpus_per_gpu, mem_gb_per_gpu) / t_best

    def generation_factor(self, speed_factor: NDArray[np.float64]) -> NDArray[np.float64]:
        """``V``: the family's ratio where ``speed_factor`` is a known generation's, else itself."""
        out = np.array(speed_factor, dtype=np.float64, copy=True)
        for gen, factor in _generations().items():
            if gen in self._arr["gen"]:
                out[speed_factor == factor] = self._arr["gen"][gen]
        return out

    def relative_speed(
        self,
        gpus: NDArray[np.float64] | float,
        cpus: NDArray[np.float64] | float,
        mem_gb: NDArray[np.float64] | float | None = None,
        speed_factor: NDArray[np.float64] | float = 1.0,
    ) -> NDArray[np.float64]:
        """``rate``: throughput relative to 1 GPU at the ideal demand on the reference generation.

        Args:
            gpus: GPUs allocated.
            cpus: cpu cores allocated (in total, not per GPU).
            mem_gb: host memory allocated, GB in total (``None``: the ideal amount).
            speed_factor: the hosting cluster's speed factor (1.0 = V100).
        """
        g = np.atleast_1d(np.asarray(gpus, dtype=np.float64))
        c = np.broadcast_to(np.asarray(cpus, dtype=np.float64), g.shape)
        per = np.maximum(g, 1e-12)
        if mem_gb is None:
            y = np.full(g.shape, self.best_mem_gb_per_gpu)
        else:
            y = np.broadcast_to(np.asarray(mem_gb, dtype=np.float64), g.shape) / per
        sf = np.broadcast_to(np.asarray(speed_factor, dtype=np.float64), g.shape)
        return self.gpu_factor(g) * self.cpu_mem_factor(c / per, y) * self.generation_factor(sf)

    # --------------------------------------------------------------------------- protocol
    def increment(
        self,
        alloc: NDArray[np.int64],
        progress: NDArray[np.float64],
        work: NDArray[np.float64],
        speed_factor: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """``dp = rate(alloc, generation) / (nominal_slots * work)`` per task (progress per slot)."""
        return self._rates(alloc, speed_factor) / (self.nominal_slots * work)

    def _rates(self, alloc: NDArray[np.int64], speed_factor: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(n,)`` :meth:`relative_speed` of integer allocations ``(n, R)`` on clusters of these
        speed factors, memoised per (allocation, factor): the simulator asks for the same few
        allocations every slot. Each value is computed by the same elementwise formula, so the
        result is bit for bit that of one :meth:`relative_speed` call over all rows."""
        if alloc.shape[0] > _RATE_MEMO_ROWS:  # a grid of allocations (oracle tables): no memo
            return self._rate_formula(alloc, speed_factor)
        memo: dict[tuple[Any, ...], float] = self._arr["rate_memo"]
        factors = np.broadcast_to(np.asarray(speed_factor, dtype=np.float64), (alloc.shape[0],))
        keys = [(*row, f) for row, f in zip(alloc.tolist(), factors.tolist())]
        missing = [i for i, k in enumerate(keys) if k not in memo]
        if missing:
            if len(memo) > _RATE_MEMO_MAX:
                memo.clear()
            vals = self._rate_formula(alloc[missing], factors[missing])
            for i, v in zip(missing, vals.tolist()):
                memo[keys[i]] = v
        return np.array([memo[k] for k in keys], dtype=np.float64)

    def _rate_formula(
        self, alloc: NDArray[np.int64], speed_factor: NDArray[np.float64] | float
    ) -> NDArray[np.float64]:
        """``(n,)`` :meth:`relative_speed` of allocations ``(n, R)`` in units (memory units
        converted to GB)."""
        a = alloc.astype(np.float64)
        mem = None if self.mem_idx is None else a[:, self.mem_idx] * self.mem_gb_per_unit
        return self.relative_speed(a[:, self.gpu_idx], a[:, self.cpu_idx], mem, speed_factor)

    def resource_indices(self) -> dict[str, int]:
        """``cpu_idx``, ``gpu_idx`` and (unless ``None``) ``mem_idx``."""
        out = {"cpu_idx": self.cpu_idx, "gpu_idx": self.gpu_idx}
        if self.mem_idx is not None:
            out["mem_idx"] = self.mem_idx
        return out

    def work_for_duration(
        self, duration_slots: NDArray[np.float64], gpus: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Work such that the task takes ``duration_slots`` at ``gpus`` GPUs (ideal cpu/memory, V100).

        Used by trace replay: ``work = duration_slots * G(gpus) / nominal_slots``.
        """
        g = np.maximum(np.asarray(gpus, dtype=np.float64), self.gpus[0])
        return np.asarray(duration_slots, dtype=np.float64) * self.gpu_factor(g) / self.nominal_slots

    def ideal_request(self, gpus: int) -> tuple[float, float]:
        """(cpu cores, memory GB) of the ideal demand for ``gpus`` GPUs."""
        return self.best_cpus_per_gpu * gpus, self.best_mem_gb_per_gpu * gpus


def measured_model_names() -> list[str]:
    """Names of the packaged measured model types."""
    return list(MODEL_MATCHING)


def measured_model(
    name: str,
    *,
    nominal_slots: float | None = None,
    cpu_idx: int = 0,
    gpu_idx: int = 1,
    mem_idx: int | None = 2,
    mem_gb_per_unit: float = 16.0,
) -> MeasuredSpeed:
    """Build a packaged measured model type from the shipped measurements.

    Args:
        name: one of :func:`measured_model_names`.
        nominal_slots: override of the model's slots at 1 GPU (see :class:`ModelMatch`).
        cpu_idx, gpu_idx, mem_idx: resource indices in the env (``mem_idx=None``: no memory).
        mem_gb_per_unit: GB per memory unit.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    if name not in MODEL_MATCHING:
        raise unknown_name_error("measured model", name, measured_model_names())
    match = MODEL_MATCHING[name]
    data = load_json_data(_DATA)
    pol = data["pollux"][match.pollux]
    tput = pol["samples_per_s"]
    scaling = tuple(float(x) / float(tput[0]) for x in tput)
    if match.synergy is None:
        cpus: tuple[float, ...] = ()
        mems: tuple[float, ...] = ()
        grid: tuple[tuple[float, ...], ...] = ()
        best_c, best_m = 1.0, 20.0
    else:
        syn = data["synergy"][match.synergy]
        cpus = tuple(float(v) for v in syn["cpus_per_gpu"])
        mems = tuple(float(v) for v in syn["mem_gb_per_gpu"])
        grid = tuple(tuple(float(v) for v in row) for row in syn["norm_tput"])
        # The ideal demand, clamped into the profiled grid (Synergy gives some language models an
        # ideal memory of 20 GB, just below its smallest profiled 20.83 GB).
        best_c = min(max(float(syn["best_cpus_per_gpu"]), cpus[0]), cpus[-1])
        best_m = min(max(float(syn["best_mem_gb_per_gpu"]), mems[0]), mems[-1])
    ratios = data["gavel"][match.gavel]["relative_to_v100"]
    return MeasuredSpeed(
        name=name,
        gpus=tuple(float(g) for g in pol["gpus"]),
        gpu_scaling=scaling,
        cpus_per_gpu=cpus,
        mem_gb_per_gpu=mems,
        cpu_mem_tput=grid,
        best_cpus_per_gpu=best_c,
        best_mem_gb_per_gpu=best_m,
        generation_ratio=tuple(sorted((k, float(v)) for k, v in ratios.items())),
        nominal_slots=float(match.nominal_slots if nominal_slots is None else nominal_slots),
        cpu_idx=cpu_idx,
        gpu_idx=gpu_idx,
        mem_idx=mem_idx,
        mem_gb_per_unit=mem_gb_per_unit,
    )
