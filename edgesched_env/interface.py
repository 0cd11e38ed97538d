"""Interface options: the observation layout, mask, action format and info format RL libraries need.

The simulation (the config, SPEC.md) is untouched by these options; they only change how an
observation, an action and an info dict are written. Every env class takes them as keyword
arguments (``edgesched_env.parallel_env(preset, obs_layout="flat", mask="strict")``,
``gymnasium.make("edgesched/EdgeSchedCentral-v1", mask="strict")``, ``vector_env(..., ...)``).
The defaults are the EdgeSched-v1 interface; ``version=0`` gives the v0 observation, bit for bit.

================ ===================== ==================================================================
option           values (default first) what changes
================ ===================== ==================================================================
``obs_layout``   ``"dict"``            the per-agent ``Dict`` of :mod:`edgesched_env.observation`
                 ``"flat"``            ``Dict(observation=Box(F,), action_mask=Box(int8))``: the nesting
                                       of the PettingZoo / SB3 masking tutorials; ``observation`` is
                                       the float32 concatenation of :data:`FLAT_KEYS` (see
                                       :meth:`Interface.flat_slices` to cut it back)
                 ``"rllib"``           ``Dict(observations=Box(F,), action_mask=Box(float32))``: the
                                       keys RLlib's action-masking RLModule reads
``mask``         ``"loose"``           the slot part of ``action_mask`` marks every *occupied* slot
                                       (SPEC.md section 5: picking a task that does not fit is a
                                       no-op, reported in the infos)
                 ``"strict"``          the slot part marks only the slots whose task fits now (and the
                                       no-op). The resource parts are the same in both: the levels
                                       feasible for at least one fitting task. A per-component mask
                                       cannot say which levels go with which task, so an action
                                       drawn inside it can still be infeasible for its task (then
                                       the env's ``infeasible`` rule applies); only ``"discrete"``
                                       is exact.
``action_format`` ``"multidiscrete"``  ``MultiDiscrete([P + 1, L_1, ..., L_R])`` (repeated per pick)
                 ``"discrete"``        one ``Discrete(1 + P * L_1 * ... * L_R)`` per agent, single-task
                                       mode only: 0 is the no-op, ``1 + p * S + code(u)`` places slot
                                       ``p`` with units ``u`` (``code``: mixed radix, resource 0 most
                                       significant; :meth:`Interface.encode` / :meth:`decode`). Its
                                       ``action_mask`` is exact: 1 iff the allocation is feasible
                                       for that task now (and never all-zero).
``info_format``  ``"nested"``          the v0 infos (reset infos have fewer keys; ``metrics`` and
                                       ``truncated_by`` only at the episode end)
                 ``"flat"``            the same keys on reset and on every step, every value a number
                                       or a fixed-shape array: the step keys, ``episode_end``,
                                       ``truncated_by`` as an int code (:data:`TRUNCATION_CODES`)
                                       and every metric as ``metrics.<name>`` (nested names joined
                                       with ``.``, per-cluster lists as ``.<i>``), 0.0 until the
                                       episode ends (``episode_end`` says when they are real; not
                                       NaN, which env checkers cannot compare)
``version``      ``1``                 EdgeSched-v1: the ``dict`` layout holds the exact int64 keys of
                                       :data:`edgesched_env.observation.EXACT_KEYS` (task ids, clock,
                                       units)
                 ``0``                 EdgeSched-v0 (deprecated, kept for one release): the same
                                       observation without them. The flat layouts are the same in both
================ ===================== ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from edgesched_env._names import did_you_mean, unknown_name_error
from edgesched_env.observation import EXACT_KEYS, ObservationBuilder
from edgesched_env.spaces import MaskedDiscrete

__all__ = [
    "ACTION_FORMATS",
    "FLAT_KEYS",
    "INFO_FORMATS",
    "INTERFACE_KEYS",
    "MASKS",
    "OBS_LAYOUTS",
    "TRUNCATION_CODES",
    "VERSIONS",
    "Interface",
    "InterfaceOptions",
    "flat_infos",
    "flatten_metrics",
    "make_interface",
    "pop_interface_options",
]

OBS_LAYOUTS = ("dict", "flat", "rllib")
MASKS = ("loose", "strict")
ACTION_FORMATS = ("multidiscrete", "discrete")
INFO_FORMATS = ("nested", "flat")
#: the observation keys concatenated (in this order) into the flat layouts' vector.
FLAT_KEYS = ("clusters", "pending", "pending_mask", "running", "running_mask", "alloc_mask")
#: ``truncated_by`` of the flat infos: 0 not truncated, 1 ``max_slots``, 2 ``max_cycles``.
TRUNCATION_CODES = {"": 0, "max_slots": 1, "max_cycles": 2}
#: the keyword arguments of the env classes that are interface options (not config overrides).
INTERFACE_KEYS = ("obs_layout", "mask", "action_format", "info_format", "version")
#: the env versions an env can be created at (``version=``): 1 is the default; 0 (deprecated,
#: kept for one release) is the observation without the v1 exact keys.
VERSIONS = (1, 0)
#: the per-pick outcome keys of the step infos.
OUTCOME_KEYS = ("task", "placed", "noop", "empty_slot", "infeasible", "clipped", "conflict")


def flatten_metrics(metrics: dict[str, Any], prefix: str = "metrics.") -> dict[str, float]:
    """The episode metrics as ``{prefix + dotted name: float}`` (lists become ``.<i>`` entries)."""
    out: dict[str, float] = {}
    for k, v in metrics.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten_metrics(v, key + "."))
        elif isinstance(v, (list, tuple, np.ndarray)):
            for i, x in enumerate(np.asarray(v, dtype=np.float64).reshape(-1)):
                out[f"{key}.{i}"] = float(x)
        else:
            out[key] = float(v)
    return out


def _check(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(
            f"{name} must be one of {list(allowed)}, got {value!r}{did_you_mean(value, allowed)}"
        )
    return str(value)


@dataclass(frozen=True)
class InterfaceOptions:
    """The options (validated; see the module docstring)."""

    obs_layout: str = "dict"
    mask: str = "loose"
    action_format: str = "multidiscrete"
    info_format: str = "nested"
    version: int = 1

    def __post_init__(self) -> None:
        _check("obs_layout", self.obs_layout, OBS_LAYOUTS)
        _check("mask", self.mask, MASKS)
        _check("action_format", self.action_format, ACTION_FORMATS)
        _check("info_format", self.info_format, INFO_FORMATS)
        if (
            not isinstance(self.version, (int, np.integer))
            or isinstance(self.version, bool)
            or self.version not in VERSIONS
        ):
            raise ValueError(f"version must be one of {list(VERSIONS)}, got {self.version!r}")

    @property
    def is_default(self) -> bool:
        """The default interface (observations and actions pass through untouched)."""
        return self == InterfaceOptions()

    @property
    def observation_is_default(self) -> bool:
        """The observation is the builder's default layout, every key as it is (the info format
        aside)."""
        return (self.obs_layout, self.mask, self.action_format, self.version) == (
            "dict",
            "loose",
            "multidiscrete",
            1,
        )


class Interface:
    """Writes observations, masks and actions of one env config in the chosen format.

    Works on the batched arrays of :meth:`ObservationBuilder.batch` (leading axes ``(B, N)``).

    Args:
        builder: the env's observation builder.
        options: the interface options.
    """

    def __init__(self, builder: ObservationBuilder, options: InterfaceOptions) -> None:
        cfg = builder.config
        if options.action_format == "discrete" and cfg.mode != "single":
            raise ValueError(
                "action_format='discrete' needs mode='single' (a multi-task pick list has no "
                "practical joint Discrete encoding); use the multidiscrete format in multi-task mode"
            )
        self.builder = builder
        self.options = options
        self.p = builder.p
        self.levels = builder.levels.astype(np.int64)  # (R,) L_r
        self.joint = int(np.prod(self.levels))  # S: allocations per slot
        self._strides = np.array(
            [int(np.prod(self.levels[r + 1 :])) for r in range(len(self.levels))], dtype=np.int64
        )

    # ---------------------------------------------------------------------------- actions
    @property
    def num_discrete(self) -> int:
        """``1 + P * S``: size of the joint ``Discrete`` action."""
        return 1 + self.p * self.joint

    @cached_property
    def action_space(self) -> spaces.Space[Any]:
        """The per-agent action space of the chosen format."""
        if self.options.action_format == "discrete":
            return MaskedDiscrete(self.num_discrete)
        return self.builder.action_space

    def encode(self, actions: NDArray[np.integer[Any]]) -> NDArray[np.int64]:
        """Multi-discrete actions ``(..., 1 + R)`` -> joint discrete ``(...)`` (no-op: 0)."""
        a = np.asarray(actions, dtype=np.int64)
        slot, units = a[..., 0], a[..., 1:]
        code = (units * self._strides).sum(-1)
        noop = (slot >= self.p) | (code == 0)
        return np.where(noop, 0, 1 + slot * self.joint + code)

    def decode(self, actions: NDArray[np.integer[Any]]) -> NDArray[np.int64]:
        """Joint discrete ``(...)`` -> multi-discrete ``(..., 1 + R)`` (0 -> slot ``P``, no units)."""
        a = np.asarray(actions, dtype=np.int64)
        q = np.maximum(a - 1, 0)
        slot = np.where(a == 0, self.p, q // self.joint)
        rem = q % self.joint
        units = (rem[..., None] // self._strides) % self.levels
        units = np.where((a == 0)[..., None], 0, units)
        return np.concatenate([slot[..., None], units], axis=-1)

    # ------------------------------------------------------------------------------- masks
    def action_mask(self, batch: dict[str, NDArray[Any]]) -> NDArray[np.int8]:
        """``(B, N, W)`` int8 action mask of the chosen format and mask option."""
        if self.options.action_format == "discrete":
            return self._joint_mask(batch["alloc_mask"])
        mask = batch["action_mask"]
        if self.options.mask == "loose":
            return mask
        mask = mask.copy()
        fits = batch["alloc_mask"][..., 0, :].any(-1)  # (B, N, P): the task fits now
        width = int(self.builder.slot_nvec.sum())
        for k in range(self.builder.picks):
            mask[..., k * width : k * width + self.p] = fits
        return mask

    def _joint_mask(self, alloc_mask: NDArray[np.int8]) -> NDArray[np.int8]:
        am = alloc_mask.astype(bool)  # (B, N, P, R, L)
        joint = am[..., 0, : self.levels[0]]
        for r in range(1, len(self.levels)):
            joint = joint[..., :, None] & am[..., r, None, : self.levels[r]]
            joint = joint.reshape(*joint.shape[:-2], -1)
        joint[..., 0] = False  # the all-zero allocation places nothing
        lead = joint.shape[:2]
        out = np.empty((*lead, self.num_discrete), dtype=np.int8)
        out[..., 0] = 1
        out[..., 1:] = joint.reshape(*lead, -1)
        return out

    # -------------------------------------------------------------------------- observations
    @cached_property
    def flat_slices(self) -> dict[str, tuple[slice, tuple[int, ...]]]:
        """Key -> (slice of the flat vector, per-agent shape) for :data:`FLAT_KEYS`."""
        space = self.builder.observation_space
        out: dict[str, tuple[slice, tuple[int, ...]]] = {}
        o = 0
        for k in FLAT_KEYS:
            shape = tuple(space[k].shape or ())
            size = int(np.prod(shape))
            out[k] = (slice(o, o + size), shape)
            o += size
        return out

    def unflatten(self, flat: NDArray[np.float32]) -> dict[str, NDArray[Any]]:
        """The :data:`FLAT_KEYS` arrays of flat observations ``(..., F)`` (float32 views)."""
        lead = flat.shape[:-1]
        return {k: flat[..., s].reshape(*lead, *shape) for k, (s, shape) in self.flat_slices.items()}

    @cached_property
    def observation_space(self) -> spaces.Dict:
        """The per-agent observation space of the chosen layout."""
        base = self.builder.observation_space
        if self.options.version == 0:
            base = spaces.Dict({k: v for k, v in base.spaces.items() if k not in EXACT_KEYS})
        layout = self.options.obs_layout
        if layout == "dict" and self.options.action_format == "multidiscrete":
            return base  # the strict mask has the loose one's shape
        width = (
            self.num_discrete if self.options.action_format == "discrete" else int(self.builder.nvec.sum())
        )
        mask_dtype = np.float32 if layout == "rllib" else np.int8
        mask_space = spaces.Box(0, 1, (width,), dtype=mask_dtype)
        if layout == "dict":
            return spaces.Dict({**base.spaces, "action_mask": mask_space})
        boxes: list[spaces.Box] = []
        for k in FLAT_KEYS:
            box = base[k]
            assert isinstance(box, spaces.Box)
            boxes.append(box)
        low = np.concatenate([np.asarray(b.low, dtype=np.float32).reshape(-1) for b in boxes])
        high = np.concatenate([np.asarray(b.high, dtype=np.float32).reshape(-1) for b in boxes])
        obs_key = "observation" if layout == "flat" else "observations"
        return spaces.Dict({obs_key: spaces.Box(low, high, dtype=np.float32), "action_mask": mask_space})

    def observe(self, batch: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        """The batched observation ``(B, N, ...)`` in the chosen layout (fresh arrays)."""
        if self.options.observation_is_default:
            return batch
        layout = self.options.obs_layout
        if layout == "dict":
            out = (
                {k: v for k, v in batch.items() if k not in EXACT_KEYS}
                if self.options.version == 0
                else dict(batch)
            )
            if (self.options.mask, self.options.action_format) != ("loose", "multidiscrete"):
                out["action_mask"] = self.action_mask(batch)
            return out
        mask = self.action_mask(batch)
        lead = batch["clusters"].shape[:2]
        flat = np.concatenate([batch[k].reshape(*lead, -1).astype(np.float32) for k in FLAT_KEYS], axis=-1)
        if layout == "flat":
            return {"observation": flat, "action_mask": mask}
        return {"observations": flat, "action_mask": mask.astype(np.float32)}


def make_interface(builder: ObservationBuilder, **options: Any) -> Interface:
    """:class:`Interface` from keyword options (unknown keys: a ``TypeError`` naming them)."""
    extra = sorted(set(options) - set(INTERFACE_KEYS))
    if extra:
        err = unknown_name_error("interface option(s)", extra, INTERFACE_KEYS)
        raise TypeError(str(err))
    return Interface(builder, InterfaceOptions(**options))


def pop_interface_options(overrides: dict[str, Any]) -> dict[str, Any]:
    """Remove and return the interface options from an env's keyword arguments (the rest are
    config overrides)."""
    return {k: overrides.pop(k) for k in INTERFACE_KEYS if k in overrides}


def flat_infos(
    infos: dict[str, Any],
    pending_task_ids: NDArray[np.int64],
    picks: int,
    metric_keys: list[str],
    metrics: dict[str, Any] | None,
    truncated_by: str | None,
) -> dict[str, Any]:
    """One agent's info dict in the ``"flat"`` format (reset: ``infos`` without outcome keys)."""
    out: dict[str, Any] = {
        "slot": int(infos.get("slot", 0)),
        "round": int(infos.get("round", 0)),
        "slot_end": bool(infos.get("slot_end", False)),
    }
    for k in OUTCOME_KEYS:
        default: int | bool = -1 if k == "task" else False
        v = infos.get(k, [default] * picks if picks > 1 else default)
        if picks > 1:
            out[k] = np.asarray(v, dtype=np.int64 if k == "task" else np.bool_)
        else:
            out[k] = int(v) if k == "task" else bool(v)
    out["pending_task_ids"] = np.asarray(pending_task_ids, dtype=np.int64).copy()
    out["episode_end"] = metrics is not None
    out["truncated_by"] = TRUNCATION_CODES[truncated_by or ""]
    values = flatten_metrics(metrics) if metrics is not None else {}
    for key in metric_keys:
        out[key] = values.get(key, 0.0)
    return out
