"""The PettingZoo ParallelEnv: every edge cluster is an agent (and ``env()`` for the AEC API)."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from numpy.typing import NDArray
from pettingzoo import ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec_wrapper
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

from edgesched_env.config import EnvConfig, override_names
from edgesched_env.engine import Engine, StepResult
from edgesched_env.interface import (
    OUTCOME_KEYS,
    InterfaceOptions,
    flat_infos,
    flatten_metrics,
    make_interface,
    pop_interface_options,
)
from edgesched_env.observation import ObservationBuilder
from edgesched_env.presets import DEFAULT_PRESET, make_config
from edgesched_env.render import RENDER_MODES, check_render_mode
from edgesched_env.rewards import Reward
from edgesched_env.sim.metrics import episode_metrics
from edgesched_env.sim.view import SimView
from edgesched_env.spaces import action_array, integer_actions

__all__ = [
    "ENV_VERSION",
    "EdgeSchedParallelEnv",
    "check_reset_options",
    "check_seed",
    "env",
    "parallel_env",
    "versioned",
    "warn_deprecated_version",
]

ENV_VERSION = 1
"""The default env version (``edgesched/EdgeSched-v1``); ``version=0`` creates the deprecated v0."""


def check_reset_options(options: dict[str, Any] | None) -> None:
    """``reset(options=...)``: the env has no reset options; settings come from the config.

    ``None`` and any dict whose keys are not settings are accepted (Gymnasium's convention:
    options are env-specific; PettingZoo's own ``parallel_api_test`` resets with
    ``{"options": 1}``, and it must pass without a warning from the env). A key that names a
    setting (an :class:`EnvConfig` field or an interface option, e.g. ``num_tasks``) would be
    silently ignored, so it is a ``ValueError`` that says to set it when making the env. A
    non-dict is a ``ValueError``.
    """
    if options is None:
        return
    if not isinstance(options, dict):
        raise ValueError(f"reset(options=...) must be a dict or None, got {type(options).__name__}")
    settings = override_names() | {f.name for f in dataclasses.fields(InterfaceOptions)}
    named = sorted(str(k) for k in options if k in settings)
    if named:
        raise ValueError(
            f"reset(options=...) has no options; {named} are settings of the env's config and "
            "cannot change at reset: make a new env with them, e.g. parallel_env(preset, "
            f"{named[0]}=...)"
        )


def check_seed(seed: Any, what: str = "reset(seed=...)") -> int | None:
    """``seed`` as a Python int (``None`` stays ``None``): a non-negative integer, Python or numpy
    (``np.int64(3)``); a bool, a float or a negative number is a ``ValueError`` naming ``what``."""
    if seed is None:
        return None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)) and seed >= 0:
        return int(seed)
    raise ValueError(f"{what} must be a non-negative integer or None, got {seed!r} ({type(seed).__name__})")


class EdgeSchedParallelEnv(ParallelEnv[str, dict[str, Any], Any]):
    """EdgeSched-v1: task placement and resource allocation for ML training on edge clusters.

    **Description.** A re-implementation of the TapFinger model (Li et al., INFOCOM 2023; the
    semantics are SPEC.md sections 1-11). ML training tasks arrive over time (Poisson per slot)
    and are visible to a random subset of the ``N`` edge clusters. In each decision round every
    cluster may place one of its pending tasks on itself with an allocation of integer units of
    each resource. Time is slotted: a slot ends after a round in which nothing was placed; then
    rewards are computed, running tasks progress by their hidden speed model, finished tasks free
    their units, time advances and new tasks arrive.

    **Agents.** ``cluster_0 ... cluster_{N-1}``, all alive until the episode ends.

    **Observation.** A flat ``Dict`` per agent, identical spaces, float32 features normalised by
    capacities, ``max_pending``, ``max_running`` and ``time_scale_slots``, and (v1) the same
    facts as exact int64 blocks with task ids and the clock (``clock``, ``cluster_info``,
    ``pending_info``, ``running_info``); see :mod:`edgesched_env.observation` for the table of
    keys, shapes and units. Contains ``action_mask`` (flat, MaskablePPO convention) and
    ``alloc_mask`` ``(P, R, L)``.

    **Action.** :class:`~edgesched_env.spaces.MaskedMultiDiscrete` ``[P + 1, L_1, ..., L_R]``: a
    pending-slot index (``P`` = no-op) and the units of each resource. In multi-task mode (one step
    = one slot) the vector repeats ``max_picks`` times: ordered picks applied position by
    position. A well-formed infeasible action never raises: an all-zero allocation or an empty
    slot is a no-op; with ``infeasible="clip"`` the units are raised to the task's minimum and
    capped at ``min(free, max)``, and a task that still does not fit is a no-op; with
    ``infeasible="noop"`` any infeasible allocation is a no-op. A malformed action (wrong shape,
    non-integer, NaN, negative, out of range, missing agent) raises ``ValueError`` naming the
    agent and the component. When agents pick the same task, one wins (``conflict_rule``
    ``"capacity"``: the cluster that could host the most minimum-size copies, ties at random;
    ``"random"``: uniform) and the others get ``infos[a]["conflict"] = True``.

    **Reward.** 0 in rounds that do not end a slot. At a slot end, before progress and
    completions: ``"local"``: ``-(running on i + occupied pending slots of i + queue of i)``;
    ``"global"``: ``-(tasks in the system)`` for every agent. With discount 1 the global return is
    minus the total JCT (slots) of the episode.

    **Termination.** All ``num_tasks`` tasks have arrived and completed.
    **Truncation.** ``max_slots`` slots (default 100 x the expected episode length) or
    ``max_cycles`` steps; ``infos[a]["truncated_by"]`` says which. With ``skip_idle`` the env
    jumps over slots in which the system is empty (to the next arrival) and ``max_slots`` counts
    the slots it did not jump over (``EnvConfig.skip_idle``).

    **State.** ``state()``: a flat float32 global view for a centralised critic (all clusters,
    the global pending pool with visibility, all running tasks); ``state_dict()`` by name.

    **Infos.** Every step, per agent: ``slot`` (slot index of the round), ``round`` (round within
    the slot), ``slot_end``, ``task`` (task id picked or -1), ``placed``, ``noop``,
    ``empty_slot``, ``infeasible``, ``clipped``, ``conflict`` (lists, one per pick, in multi-task
    mode); ``pending_task_ids`` (task id per pending slot, -1 empty, as the observation saw them
    before this step's placements are reflected in the next observation). At the episode end
    also ``metrics`` (SPEC.md section 10: ``mean_jct``, ``p50/p95/p99_jct``, ``makespan``,
    ``mean_tasks_in_system``, ``utilization``, ``tasks_completed``, ``rounds``, ``conflicts``, ...).

    **Choices not fixed by the paper.** The whole workload is drawn at ``reset(seed)`` from the env
    RNG, so it depends on the seed only (never on the policy); conflict ties and noise use the
    same RNG later. Missing agents in the action dict are an error, not a no-op. Running tasks are
    listed in a stable per-cluster table order (a task keeps its row while it runs).

    **Arguments.** ``preset`` (name or :class:`EnvConfig`, default ``DEFAULT_PRESET``, ``"edge-ml-small"``),
    ``render_mode`` (``"ansi"``, ``"rgb_array"``, ``"human"``) and any keyword override of the
    config (``arrival_rate=4.0``, ``reward="global"``, ``visibility="all"``, ``mode="multi"``,
    ``max_cycles=..``; see :func:`edgesched_env.config.with_overrides`).

    **Example.**

    >>> import edgesched_env
    >>> env = edgesched_env.parallel_env(preset="tapfinger-synthetic", reward="global")
    >>> obs, infos = env.reset(seed=0)
    >>> actions = {a: env.action_space(a).sample(mask=obs[a]["action_mask"]) for a in env.agents}
    >>> obs, rewards, terms, truncs, infos = env.step(actions)

    **Reset.** ``reset(seed)`` fixes the whole episode; ``reset(options=...)`` has no options (a
    dict naming a setting is a ``ValueError``; see :func:`check_reset_options`).

    **Batches.** This env is the batch of one of :class:`edgesched_env.engine.Engine`, the one
    path from a ``step`` to the simulator (rewards, terminations, truncations and metrics are
    the engine's); :func:`edgesched_env.vector_env` steps ``E`` episodes of the same engine
    together, each bit-identical to this env seeded ``s + i``.

    **Version history.** v0: initial release (SPEC.md sections 1-11). edgesched 0.2.0 runs v0 on
    the batched simulator with bit-identical episodes. v1 (edgesched 0.4.0): the observation
    gains the exact int64 keys, so that the non-oracle baselines read only the observation; the
    dynamics, rewards, actions and the v0 keys are unchanged (v1 episodes are bit-identical to
    v0's). ``version=0`` (``edgesched/EdgeSched-v0``, ``edgesched_env.edgesched_v0``) still
    creates v0, with a ``DeprecationWarning``, for one release.
    """

    metadata: dict[str, Any] = {
        "name": "EdgeSched-v1",
        "render_modes": RENDER_MODES,
        "render_fps": 4,
        "is_parallelizable": True,
    }

    def __init__(
        self, preset: str | EnvConfig = DEFAULT_PRESET, render_mode: str | None = None, **overrides: Any
    ) -> None:
        iface = pop_interface_options(overrides)
        self.config: EnvConfig = make_config(preset, **overrides)
        check_render_mode(render_mode)
        self.render_mode = render_mode
        self.possible_agents = [f"cluster_{i}" for i in range(self.config.num_clusters)]
        self.agents: list[str] = []
        # A batch of one episode: the same dynamics as the vector env (edgesched_env.vector).
        self.engine = Engine(self.config, num_envs=1, record_history=True)
        """The batched engine (a batch of one) every step goes through (:mod:`edgesched_env.engine`)."""
        self.sim = self.engine.sim
        self.view = SimView(self.sim, 0)
        self.builder = ObservationBuilder(self.config)
        self.interface = make_interface(self.builder, **iface)
        """The interface options' writer (:mod:`edgesched_env.interface`)."""
        self.version: int = self.interface.options.version
        """The env version (1, or the deprecated 0)."""
        if self.version != ENV_VERSION:
            self.metadata = {**type(self).metadata, "name": f"EdgeSched-v{self.version}"}
            warn_deprecated_version(self.version)
        self._discrete = self.interface.options.action_format == "discrete"
        self._flat_info = self.interface.options.info_format == "flat"
        self._metric_keys: list[str] | None = None
        self._nvec = self.builder.nvec
        self._nvec_u64 = self._nvec.astype(np.uint64)  # the range check of _fast_actions
        self._comp_names = self._component_names()
        self._np_random: np.random.Generator | None = None
        self._np_random_seed: int | None = None
        self._last_metrics: dict[str, Any] | None = None
        self.last_obs_batch: dict[str, NDArray[Any]] | None = None
        """The latest observation as ``(1, N, ...)`` arrays in the default layout."""
        self.last_obs_formatted: dict[str, NDArray[Any]] | None = None
        """The same observation in the interface options' format (the per-agent dicts are views
        of it; the same object as :attr:`last_obs_batch` under the default options)."""

    @property
    def reward_fn(self) -> Reward:
        """The reward paid at each slot end: the engine's (:mod:`edgesched_env.rewards`)."""
        return self.engine.reward

    # --------------------------------------------------------------------------------- spaces
    # The builder caches its spaces, so every call returns the same object (as PettingZoo wants)
    # without a class-level functools cache that would keep every env instance alive.
    def observation_space(self, agent: str) -> spaces.Dict:
        """The per-agent observation space (one shared object for every agent)."""
        return self.interface.observation_space

    def action_space(self, agent: str) -> spaces.Space[Any]:
        """The per-agent action space (one shared object for every agent): ``MaskedMultiDiscrete``,
        or ``Discrete`` with ``action_format="discrete"``."""
        return self.interface.action_space

    @property
    def state_space(self) -> spaces.Box:
        """The flat global state space (see :mod:`edgesched_env.observation`)."""
        return self.builder.state_space

    def state(self) -> NDArray[np.float32]:
        """The flat float32 global state for a centralised critic."""
        return self.builder.state(self.sim)

    def state_dict(self) -> dict[str, NDArray[Any]]:
        """The global state's named pieces."""
        return self.builder.state_dict(self.sim)

    @property
    def sim_view(self) -> SimView:
        """The read-only view of the running episode (the same object as :attr:`view`)."""
        return self.view

    @property
    def np_random(self) -> np.random.Generator:
        """The env RNG (every random draw of the episode comes from it)."""
        if self._np_random is None:
            self._np_random, self._np_random_seed = seeding.np_random()
        return self._np_random

    # ---------------------------------------------------------------------------------- reset
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, dict[str, NDArray[Any]]], dict[str, dict[str, Any]]]:
        """Start an episode; ``seed`` fixes the whole episode (workload, ties, noise).

        The env has no reset options: it takes its settings from the config (make a new env to
        change them); an ``options`` key naming a setting is an error (:func:`check_reset_options`).
        """
        check_reset_options(options)
        seed = check_seed(seed)
        if seed is not None:
            self._np_random, self._np_random_seed = seeding.np_random(seed)
        self.engine.reset([self.np_random])
        self.agents = list(self.possible_agents)
        self._last_metrics = None
        obs = self._observe()
        pending = self.sim.state.pending[0]
        infos = {
            a: {"slot": 0, "round": 0, "pending_task_ids": pending[i].copy()}
            for i, a in enumerate(self.agents)
        }
        if self._flat_info:
            if self._metric_keys is None:  # every metric name, from the metrics of an empty episode
                self._metric_keys = sorted(flatten_metrics(episode_metrics(self.view)))
            infos = {
                a: self._flatten_info(info, info["pending_task_ids"], None, None) for a, info in infos.items()
            }
        return obs, infos

    def _flatten_info(
        self, info: dict[str, Any], pending: NDArray[np.int64], metrics: Any, truncated_by: str | None
    ) -> dict[str, Any]:
        assert self._metric_keys is not None
        return flat_infos(info, pending, self.config.num_picks, self._metric_keys, metrics, truncated_by)

    # ----------------------------------------------------------------------------------- step
    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, dict[str, NDArray[Any]]],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """One decision round (single-task mode) or one slot (multi-task mode)."""
        if not self.agents:
            raise RuntimeError("step() called on a finished episode: call reset() first")
        act = self._validate(actions)  # 1. parse and check the joint action
        res = self.engine.step(act[None])  # 2. the engine: placements, rewards, ends, metrics
        terminated, truncated = bool(res.terminated[0]), bool(res.truncated[0])
        obs = self._observe()  # 3. observations, rewards, infos
        rewards = dict(zip(self.agents, res.rewards[0].tolist()))
        terms = dict.fromkeys(self.agents, terminated)
        truncs = dict.fromkeys(self.agents, truncated)
        infos = self._infos(res)
        if terminated or truncated:  # 4. episode end: the engine's metrics
            self._finish(infos, res.metrics[0], str(res.truncated_by_names[0]) if truncated else None)
        if self._flat_info:
            infos = {
                a: self._flatten_info(
                    info, info["pending_task_ids"], info.get("metrics"), info.get("truncated_by")
                )
                for a, info in infos.items()
            }
        if self.render_mode == "human":
            self.render()
        return obs, rewards, terms, truncs, infos

    def _observe(self) -> dict[str, dict[str, NDArray[Any]]]:
        self.last_obs_batch = batch = self.builder.batch(self.sim)
        self.last_obs_formatted = self.interface.observe(batch)
        return self.builder.agent_views(self.last_obs_formatted, self.agents)

    def _finish(
        self, infos: dict[str, dict[str, Any]], metrics: dict[str, Any], truncated_by: str | None
    ) -> None:
        self._last_metrics = metrics
        for a in self.agents:
            infos[a]["metrics"] = metrics
            infos[a]["truncated_by"] = truncated_by
        self.agents = []

    def _infos(self, res: StepResult) -> dict[str, dict[str, Any]]:
        outs = res.outcomes
        slot, rnd, slot_over = int(res.slot[0]), int(res.round[0]), bool(res.slot_over[0])
        keys = OUTCOME_KEYS
        if self.config.mode == "single":
            o = outs[0]
            cols = [getattr(o, k).tolist()[0] for k in keys]
        else:
            cols = [np.stack([getattr(o, k)[0] for o in outs], axis=1).tolist() for k in keys]
        infos = {}
        # one row of every outcome column per agent; iterating (N, P) yields the (P,) row views
        for a, values, pending in zip(self.agents, zip(*cols), res.pending_before[0]):
            info = dict(zip(keys, values))
            info["slot"] = slot
            info["round"] = rnd
            info["slot_end"] = slot_over
            info["pending_task_ids"] = pending
            infos[a] = info
        return infos

    # ----------------------------------------------------------------------------- validation
    def _component_names(self) -> list[str]:
        one = ["slot", *self.config.resource_names]
        if self.config.mode == "single":
            return one
        return [f"pick{k}.{c}" for k in range(self.config.max_picks) for c in one]

    def _validate(self, actions: dict[str, Any]) -> NDArray[np.int64]:
        """Stack the agents' actions into ``(N, len(nvec))`` int64, or raise a clear ValueError."""
        if not isinstance(actions, dict):
            raise ValueError(
                f"actions must be a dict from agent name to action, got {type(actions).__name__}"
            )
        if self._discrete:
            return self._validate_discrete(actions)
        width = self._nvec.shape[0]
        try:
            rows = [actions[a] for a in self.agents]
        except KeyError:
            missing = [a for a in self.agents if a not in actions]
            raise ValueError(f"missing action for agent(s) {missing}") from None
        arr = self._fast_actions(rows, width)
        if arr is None:  # slow path: check each action and name the first bad agent and component
            arr = np.stack([self._check_one(a, actions[a]) for a in self.agents])
        extra = set(actions) - set(self.agents) if len(actions) != len(self.agents) else ()
        if extra:
            raise ValueError(f"actions given for unknown or finished agent(s) {sorted(extra)}")
        return arr

    def _fast_actions(self, rows: list[Any], width: int) -> NDArray[np.int64] | None:
        """The checked ``(N, width)`` int64 actions when the agents' actions make one integer
        array together (the common case: one ``np.array`` call), else None (the per-agent checks
        then name the first bad agent); a value out of range is the ``ValueError`` of
        :func:`integer_actions`."""
        try:
            arr = np.array(rows)
        except (ValueError, TypeError, OverflowError):  # ragged and the like
            return None
        if arr.shape != (len(rows), width) or arr.dtype.kind not in "iu":
            return None
        if arr.dtype == np.int64 and not np.count_nonzero(arr.view(np.uint64) >= self._nvec_u64):
            return arr  # every value in [0, nvec): a negative int64 reads as a huge uint64
        return integer_actions(arr, self._nvec, "actions", self._where)

    def _validate_discrete(self, actions: dict[str, Any]) -> NDArray[np.int64]:
        """Joint ``Discrete`` actions (one integer per agent) -> ``(N, 1 + R)`` multi-discrete."""
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"missing action for agent(s) {missing}")
        extra = set(actions) - set(self.agents)
        if extra:
            raise ValueError(f"actions given for unknown or finished agent(s) {sorted(extra)}")
        codes = [self._check_discrete(a, actions[a]) for a in self.agents]
        return self.interface.decode(np.array(codes, dtype=np.int64))

    def _check_discrete(self, agent: str, action: Any) -> np.int64:
        _not_none(agent, action, f"one integer in [0, {self.interface.num_discrete - 1}]")
        v = action_array(action, f"action of {agent}")
        if v.size != 1:
            raise ValueError(
                f"action of {agent} must be one integer (action_format='discrete'), got shape {v.shape}"
            )
        n = np.array([self.interface.num_discrete])
        codes = integer_actions(v.reshape(1), n, f"action of {agent}", _Named(f"action of {agent}"))
        code: np.int64 = codes[0]
        return code

    def check_action(self, agent: str, action: Any) -> None:
        """Check one live agent's action as :meth:`step` would, without changing anything.

        Raises the ``ValueError`` that :meth:`step` would raise for this agent's action (naming the
        agent, the component, the value and the valid range), or one for an agent that is not
        alive. The AEC env (:func:`env`) calls it for each action when it is given.
        """
        if agent not in self.agents:
            raise ValueError(
                f"{agent!r} is not a live agent of this episode (live agents: {self.agents}; "
                "call reset() to start one)"
            )
        if self._discrete:
            self._check_discrete(agent, action)
        else:
            self._check_one(agent, action)

    def _check_one(self, agent: str, action: Any) -> NDArray[np.int64]:
        width = self._nvec.shape[0]
        i = self.agents.index(agent)
        _not_none(agent, action, f"an integer array of shape ({width},) (components {self._comp_names})")
        a = action_array(action, f"action of {agent}")  # ragged lists and the like: a named error
        if a.shape != (width,):
            raise ValueError(
                f"action of {agent} must have shape ({width},) (components {self._comp_names}), "
                f"got shape {a.shape}"
            )
        return integer_actions(a, self._nvec, f"action of {agent}", lambda idx: self._where((i, *idx)))

    def _where(self, idx: tuple[int, ...]) -> str:
        """``"action of cluster_i: component c (name)"`` for index ``(i, c)``."""
        i, c = idx
        return f"action of {self.agents[i]}: component {c} ({self._comp_names[c]})"

    # -------------------------------------------------------------------------------- render
    def render(self) -> str | NDArray[np.uint8] | None:
        """``"ansi"``: a text frame; ``"rgb_array"``: an RGB image; ``"human"``: prints ansi."""
        from edgesched_env import render as _render

        if self.render_mode is None:
            return None
        if self.render_mode == "rgb_array":
            return _render.render_rgb(self.view)
        text = _render.render_ansi(self.view)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        """Release rendering resources (none are held between calls)."""

    @property
    def last_metrics(self) -> dict[str, Any] | None:
        """Metrics of the last finished episode (``None`` while it runs)."""
        return self._last_metrics


def _not_none(agent: str, action: Any, expected: str) -> None:
    """``None`` is only the action of a done agent (AEC); a live agent's is a ``ValueError``."""
    if action is None:
        raise ValueError(
            f"action of {agent} is None, but {agent} is alive: give {expected} (None is only for "
            "a terminated or truncated agent in the AEC env)"
        )


class _Named:
    """A ``where`` callback of :func:`integer_actions` that names one thing whatever the index."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, idx: tuple[int, ...]) -> str:
        return self.name


def warn_deprecated_version(version: int) -> None:
    """The ``DeprecationWarning`` of an env created at an old version (v0: kept for one release)."""
    warnings.warn(
        f"EdgeSched-v{version} is deprecated and will be removed in the next release: use "
        f"EdgeSched-v{ENV_VERSION} (the default; its observation adds exact int64 keys and is "
        "otherwise the same, see CHANGELOG.md)",
        DeprecationWarning,
        stacklevel=3,
    )


def versioned(version: int) -> tuple[Callable[..., EdgeSchedParallelEnv], Callable[..., Any]]:
    """``(parallel_env, env)`` constructors pinned to env ``version`` (the PettingZoo-style
    modules :mod:`edgesched_env.edgesched_v1` and :mod:`edgesched_env.edgesched_v0`)."""

    def make_parallel(preset: str | EnvConfig = DEFAULT_PRESET, **kwargs: Any) -> EdgeSchedParallelEnv:
        return parallel_env(preset, version=version, **kwargs)

    def make_aec(preset: str | EnvConfig = DEFAULT_PRESET, **kwargs: Any) -> Any:
        return env(preset, version=version, **kwargs)

    for fn, what in ((make_parallel, "PettingZoo ParallelEnv"), (make_aec, "AEC env")):
        fn.__name__ = fn.__qualname__ = "parallel_env" if fn is make_parallel else "env"
        fn.__doc__ = (
            f"The {what} ``edgesched/EdgeSched-v{version}``; arguments as :class:`EdgeSchedParallelEnv`."
        )
    return make_parallel, make_aec


def parallel_env(preset: str | EnvConfig = DEFAULT_PRESET, **kwargs: Any) -> EdgeSchedParallelEnv:
    """Create the PettingZoo ParallelEnv (``edgesched/EdgeSched-v1``; ``version=0`` for the
    deprecated v0); see :class:`EdgeSchedParallelEnv`."""
    return EdgeSchedParallelEnv(preset, **kwargs)


class _CheckedAEC(parallel_to_aec_wrapper[str, dict[str, Any], Any]):
    """PettingZoo's ``parallel_to_aec`` wrapper that checks each action when it is given.

    The plain wrapper buffers actions until the last agent of the cycle acts, so a malformed
    action was only found by the parallel ``step`` that followed, after the cycle had moved on
    (every later ``step`` then failed). Here a malformed action raises its ``ValueError`` at that
    very ``step`` (the parallel env's own check, :meth:`EdgeSchedParallelEnv.check_action`) and
    nothing is buffered or advanced: the same agent can act again. A done agent's action must be
    ``None``.
    """

    env: EdgeSchedParallelEnv

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            if action is not None:
                raise ValueError(f"{agent} is done (terminated or truncated): its action must be None")
            super().step(None)
            return
        self.env.check_action(agent, action)  # 1. a malformed action changes nothing
        previous = self._actions.get(agent)
        try:
            super().step(action)  # 2. buffer it (the last agent's also steps the parallel env)
        except Exception:
            self._actions[agent] = previous
            raise


class _OrderEnforcing(OrderEnforcingWrapper[str, dict[str, Any], Any]):
    """PettingZoo's order-enforcing wrapper, whose ``_has_updated`` flag a rejected step leaves as
    it was (so a rejected step changes nothing, not even the wrapper's bookkeeping)."""

    def step(self, action: Any) -> None:
        updated: bool = self._has_updated
        try:
            super().step(action)
        except ValueError:
            self._has_updated = updated
            raise


def env(preset: str | EnvConfig = DEFAULT_PRESET, **kwargs: Any) -> Any:
    """Create the AEC version: PettingZoo's ``parallel_to_aec`` of :func:`parallel_env`, with each
    action checked when it is given (a malformed one raises at that ``step`` and changes nothing)."""
    return _OrderEnforcing(_CheckedAEC(parallel_env(preset, **kwargs)))
