"""The vector env: ``E`` episodes of one config stepped together on the batched simulator.

>>> import numpy as np, edgesched_env
>>> venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=8)
>>> obs, infos = venv.reset(seed=0)            # episode i is seeded 0 + i
>>> obs["alloc_mask"].shape                    # (E, N, P, R, L)
(8, 3, 10, 2, 17)
>>> actions = edgesched_env.random_feasible_actions(obs, np.random.default_rng(0))   # (E, N, A)
>>> obs, rewards, terminations, truncations, infos = venv.step(actions)
>>> rewards.shape, terminations.shape
((8, 3), (8,))

**Equivalence.** Episode ``i`` of a vector env reset with seed ``s`` is bit-identical (every
observation, reward, info and metric) to a single :class:`~edgesched_env.parallel_env.EdgeSchedParallelEnv`
reset with seed ``s + i`` and given the same actions, including the episodes after an autoreset
(which continue the episode's own generator, as the single env's ``reset(seed=None)`` does).

**Autoreset** (gymnasium 1.x ``NEXT_STEP`` mode, :attr:`metadata` ``["autoreset_mode"]``): the step
that ends episode ``i`` returns its last observation; the next ``step`` resets episode ``i``
(its action row is ignored) and returns the new episode's first observation with reward 0,
``terminations[i] = truncations[i] = False`` and ``infos["reset"][i] = True``.

With ``autoreset_mode="same_step"`` (gymnasium's ``SAME_STEP``, the SB3 convention) the step
that ends episode ``i`` resets it at once: it returns the new episode's first observation, and
the last one in ``infos["final_obs"]`` (the observation dict, valid where the mask
``infos["_final_obs"]`` is set); every step then plays every episode.

**Observations** are the per-agent dict of the single env with two leading axes ``(E, N, ...)``;
``state()`` is ``(E, S)``. **Actions** are an integer array ``(E, N, len(nvec))``. **Rewards**
``(E, N)``; **terminations**, **truncations** ``(E,)``.

**Infos** (arrays, leading axis ``E``): ``slot``, ``round``, ``slot_end``, ``reset`` ``(E,)``;
``task``, ``placed``, ``noop``, ``empty_slot``, ``infeasible``, ``clipped``, ``conflict``
``(E, N)`` (``(E, N, K)`` in multi-task mode); ``pending_task_ids`` ``(E, N, P)``;
``truncated_by`` ``(E,)`` str (``""``, ``"max_slots"``, ``"max_cycles"``); and for the episodes
that ended in this step ``metrics`` (flat ``name -> (E,) or (E, N)`` float arrays, NaN elsewhere;
nested single-env keys joined with ``.``, e.g. ``utilization.cpu``) with the mask ``_metrics``
``(E,)``. :meth:`EdgeSchedVectorEnv.episode_metrics` gives episode ``i``'s metrics exactly as the
single env's dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from numpy.typing import NDArray

from edgesched_env.config import EnvConfig
from edgesched_env.engine import Engine, StepResult
from edgesched_env.interface import OUTCOME_KEYS, flatten_metrics, make_interface, pop_interface_options
from edgesched_env.observation import ObservationBuilder
from edgesched_env.parallel_env import ENV_VERSION, check_reset_options, check_seed, warn_deprecated_version
from edgesched_env.presets import DEFAULT_PRESET, make_config
from edgesched_env.rewards import Reward
from edgesched_env.sim.view import SimView
from edgesched_env.spaces import action_array, integer_actions

__all__ = ["EdgeSchedVectorEnv", "random_feasible_actions", "vector_env"]


def _batch_box(box: spaces.Box, lead: tuple[int, ...]) -> spaces.Box:
    return spaces.Box(
        np.broadcast_to(box.low, (*lead, *box.shape)),
        np.broadcast_to(box.high, (*lead, *box.shape)),
        dtype=box.dtype.type,
    )


class EdgeSchedVectorEnv:
    """``num_envs`` episodes of one edgesched config stepped together (see the module docstring).

    Args:
        preset: a preset name or an :class:`EnvConfig`.
        num_envs: ``E``, episodes in the batch.
        record_history: keep each episode's per-slot samples (tasks in system, units in use:
            :attr:`SimView.hist_in_system`, :attr:`SimView.hist_used`), as the single env does,
            for plots of its episodes; off by default (a list append per episode and slot).
        **overrides: config overrides, as for :func:`edgesched_env.parallel_env`, and the
            interface options of :mod:`edgesched_env.interface` (``obs_layout``, ``mask``,
            ``action_format``: actions are then ``(E, N)`` integers, ``info_format``: with
            ``"flat"``, every metric is in the infos on every step, as ``metrics.<name>`` ``(E,)``
            float arrays, 0.0 until that episode ends, ``episode_end`` ``(E,)`` and
            ``truncated_by`` as int codes).
    """

    metadata: dict[str, Any] = {"autoreset_mode": gymnasium.vector.AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        preset: str | EnvConfig = DEFAULT_PRESET,
        num_envs: int = 1,
        autoreset_mode: str = "next_step",
        record_history: bool = False,
        **overrides: Any,
    ) -> None:
        ok = isinstance(num_envs, (int, np.integer)) and not isinstance(num_envs, (bool, np.bool_))
        if not ok or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        num_envs = int(num_envs)
        if autoreset_mode not in ("next_step", "same_step"):
            raise ValueError(f"autoreset_mode must be 'next_step' or 'same_step', got {autoreset_mode!r}")
        self.autoreset_mode = autoreset_mode
        self._same_step = autoreset_mode == "same_step"
        if self._same_step:
            self.metadata = {"autoreset_mode": gymnasium.vector.AutoresetMode.SAME_STEP}
        iface = pop_interface_options(overrides)
        self.config: EnvConfig = make_config(preset, **overrides)
        self.num_envs = num_envs
        self.num_agents = self.config.num_clusters
        self.possible_agents = [f"cluster_{i}" for i in range(self.num_agents)]
        self.engine = Engine(self.config, num_envs, record_history=bool(record_history))
        """The batched engine every step goes through (:mod:`edgesched_env.engine`)."""
        self.sim = self.engine.sim
        self.builder = ObservationBuilder(self.config)
        self.interface = make_interface(self.builder, **iface)
        self.version: int = self.interface.options.version
        """The env version (1, or the deprecated 0)."""
        if self.version != ENV_VERSION:
            warn_deprecated_version(self.version)
        self._discrete = self.interface.options.action_format == "discrete"
        self._flat_info = self.interface.options.info_format == "flat"
        self._metric_keys: list[str] | None = None
        self.nvec = self.builder.nvec
        self.single_observation_space: spaces.Dict = self.interface.observation_space
        self.single_action_space: spaces.Space[Any] = self.interface.action_space
        lead = (num_envs, self.num_agents)
        self.observation_space = spaces.Dict(
            {k: _batch_box(b, lead) for k, b in self.single_observation_space.spaces.items()}  # type: ignore[arg-type]
        )
        self.action_space: spaces.MultiDiscrete = spaces.MultiDiscrete(
            np.full(lead, self.interface.num_discrete)
            if self._discrete
            else np.broadcast_to(self.nvec, (*lead, self.nvec.shape[0])).copy()
        )
        self.last_obs_batch: dict[str, NDArray[Any]] | None = None
        """The latest observation in the default layout (what :meth:`random_actions` reads)."""
        self.state_space = _batch_box(self.builder.state_space, (num_envs,))
        self._reset_done = False

    @property
    def reward_fn(self) -> Reward:
        """The reward paid at each slot end: the engine's (:mod:`edgesched_env.rewards`)."""
        return self.engine.reward

    # --------------------------------------------------------------------------------- views
    def sim_view(self, i: int) -> SimView:
        """The read-only view of episode ``i`` (for schedulers written against one episode)."""
        return SimView(self.sim, i)

    def pending_task_ids(self) -> NDArray[np.int64]:
        """``(E, N, P)`` task id in every pending position of the current observation (-1 empty).

        Ids are the env's public task identifiers (the single env's ``infos[a]["pending_task_ids"]``
        after ``reset``); a task visible to several clusters has one id. The graph builder of the
        learned agent uses them to merge a shared task into one node.
        """
        return self.sim.state.pending.copy()

    def state(self) -> NDArray[np.float32]:
        """``(E, S)`` the flat global state of every episode."""
        return self.builder.state_batch(self.sim)

    def episode_metrics(self, i: int) -> dict[str, Any]:
        """Episode ``i``'s metrics as the single env reports them (valid once it has ended)."""
        return self.engine.episode_metrics(i)

    def random_actions(self, obs: dict[str, NDArray[Any]], rng: np.random.Generator) -> NDArray[np.int64]:
        """:func:`random_feasible_actions` for this env's mode, in its action format (an ``obs`` in
        another layout than ``"dict"`` is read from :attr:`last_obs_batch`, the same round)."""
        if "alloc_mask" not in obs:
            assert self.last_obs_batch is not None
            obs = self.last_obs_batch
        acts = random_feasible_actions(obs, rng, self.config.num_picks)
        return self.interface.encode(acts) if self._discrete else acts

    def memory_bytes(self) -> int:
        """Bytes of the simulation state (all episodes; observations are allocated per step)."""
        return self.sim.state.nbytes()

    # --------------------------------------------------------------------------------- reset
    def reset(
        self, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
        """Start every episode: ``seed`` int seeds episode ``i`` with ``seed + i``; a sequence
        gives one seed per episode; ``None`` draws fresh entropy."""
        check_reset_options(options)
        e = self.num_envs
        if seed is None:
            seeds: list[int | None] = [None] * e
        elif np.ndim(seed) == 0:
            first = check_seed(seed)
            assert first is not None
            seeds = [first + i for i in range(e)]
        else:
            seeds = [check_seed(s, "reset(seed=[...]) entries") for s in np.asarray(seed).reshape(-1)]
            if len(seeds) != e:
                raise ValueError(f"reset: {len(seeds)} seeds for {e} episodes")
        self.engine.reset([seeding.np_random(s)[0] for s in seeds])
        self._reset_done = True
        obs = self._observe()
        infos = self._base_infos(np.ones(e, dtype=bool))
        if self._flat_info:
            if self._metric_keys is None:
                self._metric_keys = sorted(flatten_metrics(self.episode_metrics(0)))
            self._add_flat(infos, np.zeros(e, dtype=bool), np.zeros(e, dtype=np.int64))
        return obs, infos

    def reset_episodes(self, rows: Sequence[int]) -> dict[str, NDArray[Any]]:
        """Restart episodes ``rows`` now (each continues its own generator, as an autoreset does)
        and return every episode's observation; the others are untouched. For libraries that
        reset finished episodes themselves (TorchRL's partial ``_reset``)."""
        if not self._reset_done:
            raise RuntimeError("reset_episodes() called before reset()")
        rows = sorted({int(b) for b in rows})
        bad = [b for b in rows if not 0 <= b < self.num_envs]
        if bad:
            raise ValueError(f"reset_episodes: rows {bad} out of range [0, {self.num_envs - 1}]")
        self.engine.reset_rows(rows)
        return self._observe()

    def _observe(self) -> dict[str, NDArray[Any]]:
        self.last_obs_batch = batch = self.builder.batch(self.sim)
        return self.interface.observe(batch)

    def _add_flat(
        self,
        infos: dict[str, Any],
        ended: NDArray[np.bool_],
        codes: NDArray[np.int64],
        metrics: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        """The flat info format: the outcome keys, every metric and the end flags on every call."""
        assert self._metric_keys is not None
        e, n = self.num_envs, self.num_agents
        picks = (self.config.max_picks,) if self.config.mode == "multi" else ()
        for k in OUTCOME_KEYS:
            if k not in infos:
                infos[k] = np.full(
                    (e, n, *picks), -1 if k == "task" else False, np.int64 if k == "task" else bool
                )
        if "slot_end" not in infos:
            infos["slot_end"] = np.zeros(e, dtype=bool)
        for key in self._metric_keys:
            infos[key] = np.zeros(e)
        for b, m in (metrics or {}).items():
            for key, v in flatten_metrics(m).items():
                infos[key][b] = v
        infos["episode_end"] = ended.copy()
        infos["truncated_by"] = codes

    # ---------------------------------------------------------------------------------- step
    def step(
        self, actions: NDArray[np.integer[Any]]
    ) -> tuple[
        dict[str, NDArray[Any]], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]
    ]:
        """One decision round (single-task mode) or one slot (multi-task mode) of every episode."""
        if not self._reset_done:
            raise RuntimeError("step() called before reset()")
        act = self._validate(actions)  # 1. parse and check the batched action
        res = self.engine.step(act)  # 2. the engine: autoreset, placements, rewards, ends, metrics
        ended = res.ended
        infos = self._step_infos(res)  # 3. infos
        if self._flat_info:
            self._add_flat(infos, ended, res.truncated_by, res.metrics)
        else:
            infos["truncated_by"] = res.truncated_by_names
            if res.metrics:  # the rows that ended
                infos.update(self._metrics_infos(res.metrics))
        infos["reset"] = res.restarted
        if self._same_step and res.metrics:  # SAME_STEP: the final observation, then a new episode
            infos["final_obs"] = self._observe()
            infos["_final_obs"] = ended.copy()
            self.engine.reset_rows(np.flatnonzero(ended).tolist())
        obs = self._observe()  # 4. observations
        if np.count_nonzero(res.restarted):
            infos["pending_task_ids"][res.restarted] = self.sim.state.pending[res.restarted]
        return obs, res.rewards, res.terminated, res.truncated, infos

    def _base_infos(self, rows: NDArray[np.bool_]) -> dict[str, Any]:
        st = self.sim.state
        return {
            "slot": st.t.copy(),
            "round": st.round_in_slot.copy(),
            "pending_task_ids": st.pending.copy(),
            "reset": rows.copy(),
        }

    def _step_infos(self, res: StepResult) -> dict[str, Any]:
        outs = res.outcomes
        infos: dict[str, Any] = {}
        for key in OUTCOME_KEYS:
            infos[key] = (
                getattr(outs[0], key) if len(outs) == 1 else np.stack([getattr(o, key) for o in outs], axis=2)
            )
        infos["slot"] = res.slot
        infos["round"] = res.round
        infos["slot_end"] = res.slot_over
        infos["pending_task_ids"] = res.pending_before
        return infos

    def _metrics_infos(self, metrics: dict[int, dict[str, Any]]) -> dict[str, Any]:
        flat: dict[str, NDArray[np.float64]] = {}
        ended = np.zeros(self.num_envs, dtype=bool)
        ended[list(metrics)] = True
        for b, m in metrics.items():
            for key, value in _flatten(m).items():
                arr = np.asarray(value, dtype=np.float64)
                if key not in flat:
                    flat[key] = np.full((self.num_envs, *arr.shape), np.nan)
                flat[key][b] = arr
        return {"metrics": flat, "_metrics": ended.copy()}

    # ---------------------------------------------------------------------------- validation
    def _validate(self, actions: Any) -> NDArray[np.int64]:
        """``(E, N, len(nvec))`` int64, or a ValueError naming the episode, agent and component.

        Rows being reset must be well-formed too (their actions are then ignored).
        """
        if self._discrete:
            shape2 = (self.num_envs, self.num_agents)
            a = action_array(actions, f"actions (discrete, shape {shape2})")
            if a.shape != shape2:
                raise ValueError(
                    f"discrete actions must have shape (num_envs, num_agents) = {shape2}, got {a.shape}"
                )
            codes = integer_actions(
                a[..., None],
                np.array([self.interface.num_discrete]),
                "actions",
                lambda idx: f"action of episode {idx[0]}, cluster_{idx[1]}",
            )[..., 0]
            return self.interface.decode(codes)
        shape = (self.num_envs, self.num_agents, self.nvec.shape[0])
        a = action_array(actions, f"actions (shape {shape})")
        if a.shape != shape:
            raise ValueError(
                f"actions must have shape (num_envs, num_agents, len(nvec)) = {shape}, got {a.shape}"
            )
        return integer_actions(
            a,
            self.nvec,
            "actions",
            lambda idx: f"action of episode {idx[0]}, cluster_{idx[1]}: component {idx[2]}",
        )

    def close(self) -> None:
        """Nothing to release."""


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def vector_env(
    preset: str | EnvConfig = DEFAULT_PRESET, num_envs: int = 1, **overrides: Any
) -> EdgeSchedVectorEnv:
    """Create a vector env of ``num_envs`` episodes; see :class:`EdgeSchedVectorEnv`."""
    return EdgeSchedVectorEnv(preset, num_envs=num_envs, **overrides)


def _pick_true(mask: NDArray[np.bool_], u: NDArray[np.float64]) -> NDArray[np.int64]:
    """Index of a uniformly chosen True along the last axis (``u`` uniform in [0, 1)); 0 if none."""
    count = mask.sum(axis=-1)
    k = np.floor(u * count).astype(np.int64)
    picked: NDArray[np.int64] = np.argmax(np.cumsum(mask, axis=-1) > k[..., None], axis=-1)
    return picked


def random_feasible_actions(
    obs: dict[str, NDArray[Any]], rng: np.random.Generator, picks: int = 1
) -> NDArray[np.int64]:
    """A batched random feasible policy: ``(..., N, len(nvec))`` actions from batched observations.

    Each agent picks uniformly among the no-op and the pending positions whose task fits now
    (``alloc_mask``), then each resource's units uniformly among that task's feasible levels, so
    every pick is placeable (conflicts aside). In multi-task mode each of the ``K`` picks is drawn
    this way from the same observation (later picks may no longer fit and are skipped). A few
    numpy calls for the whole batch; works on any leading shape, including a single env's stacked
    ``(N, ...)`` observation. ``picks``: ``config.max_picks`` in multi-task mode, else 1.
    """
    alloc = obs["alloc_mask"].astype(bool)  # (..., N, P, R, L)
    lead = alloc.shape[:-3]
    p, r = alloc.shape[-3], alloc.shape[-2]
    width = 1 + r
    fits = alloc[..., 0, :].any(axis=-1)  # (..., N, P)
    choices = np.concatenate([fits, np.ones((*lead, 1), dtype=bool)], axis=-1)
    out = np.zeros((*lead, picks * width), dtype=np.int64)
    for k in range(picks):
        slot = _pick_true(choices, rng.random(lead))
        out[..., k * width] = slot
        chosen = np.take_along_axis(alloc, np.minimum(slot, p - 1)[..., None, None, None], axis=-3)[
            ..., 0, :, :
        ]
        u = rng.random((*lead, r))
        units = _pick_true(chosen, u)  # (..., N, R)
        units[slot == p] = 0
        out[..., k * width + 1 : (k + 1) * width] = units
    return out
