"""The single-agent Gymnasium view: one joint action for all clusters, global reward.

``gymnasium.make("edgesched/EdgeSchedCentral-v1", preset=...)`` after ``import edgesched_env``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from edgesched_env.config import EnvConfig
from edgesched_env.interface import OUTCOME_KEYS
from edgesched_env.parallel_env import EdgeSchedParallelEnv, check_seed
from edgesched_env.presets import DEFAULT_PRESET
from edgesched_env.render import RENDER_MODES
from edgesched_env.spaces import MaskedMultiDiscrete, action_array

__all__ = ["CentralEdgeSchedEnv"]


class CentralEdgeSchedEnv(gym.Env):
    """EdgeSchedCentral-v1: the parallel env seen by one centralised controller.

    **Observation.** A ``Dict`` with the keys of the per-agent observation, each stacked over
    agents (leading axis ``N``: ``clusters (N, N, 2R+4)``, ``pending (N, P, K+R+3)``, ...,
    ``action_mask (N, sum(nvec))``).

    **Action.** ``MaskedMultiDiscrete`` of the agents' ``nvec`` concatenated in agent order.
    :meth:`action_masks` returns the flat mask (length ``N * sum(nvec)``) that sb3-contrib's
    MaskablePPO asks for.

    **Reward.** Always ``"global"``: ``-(tasks in the system)`` at each slot end, 0 in other
    rounds; the undiscounted return is minus the episode's total JCT (slots).

    **Termination / truncation.** As the parallel env; ``info["metrics"]`` at the end.

    **Arguments.** As :class:`~edgesched_env.parallel_env.EdgeSchedParallelEnv`; ``reward`` is
    fixed to ``"global"``. The interface options (:mod:`edgesched_env.interface`) apply per
    agent: ``obs_layout`` gives each key stacked over agents (``observation (N, F)``,
    ``action_mask (N, W)``); ``mask="strict"`` and ``action_format="discrete"`` (the action is
    then ``MultiDiscrete([D] * N)``, one exact joint choice per cluster) change
    :meth:`action_masks`; ``info_format="flat"`` gives the same keys on reset and every step
    (agent 0's flat info, the outcome keys stacked over agents ``(N, ...)``).

    **Version history.** v0: initial release. v1: the exact int64 observation keys (as the
    parallel env's v1); ``version=0`` (``edgesched/EdgeSchedCentral-v0``) is deprecated.
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": 4}

    def __init__(
        self, preset: str | EnvConfig = DEFAULT_PRESET, render_mode: str | None = None, **overrides: Any
    ) -> None:
        if overrides.get("reward", "global") != "global":
            raise ValueError(f"the central view always uses reward='global', got {overrides['reward']!r}")
        overrides["reward"] = "global"
        self.par = EdgeSchedParallelEnv(preset, render_mode=render_mode, **overrides)
        self.render_mode = render_mode
        self.agents = list(self.par.possible_agents)
        n = len(self.agents)
        sub = self.par.interface.observation_space
        self._discrete = self.par.interface.options.action_format == "discrete"
        self._flat_info = self.par.interface.options.info_format == "flat"
        stacked: dict[str, spaces.Space[Any]] = {}
        for k, box in sub.spaces.items():
            assert isinstance(box, spaces.Box)
            stacked[k] = spaces.Box(
                np.broadcast_to(box.low, (n, *box.shape)),
                np.broadcast_to(box.high, (n, *box.shape)),
                dtype=box.dtype.type,
            )
        self.observation_space: spaces.Dict = spaces.Dict(stacked)
        self._sub_nvec = (
            np.array([self.par.interface.num_discrete], dtype=np.int64)
            if self._discrete
            else self.par.builder.nvec
        )
        self.action_space = MaskedMultiDiscrete(np.tile(self._sub_nvec, n))
        self._last_obs: dict[str, NDArray[Any]] | None = None

    def _stacked(self) -> dict[str, NDArray[Any]]:
        """The parallel env's already stacked ``(N, ...)`` arrays of the latest observation."""
        batch = self.par.last_obs_formatted  # formatted once, by the parallel env's step
        assert batch is not None
        return {k: batch[k][0] for k in self.observation_space.spaces}

    def _central_info(self, infos: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Flat info format: agent 0's info, with the per-agent keys stacked over agents."""
        first = dict(infos[self.agents[0]])
        for k in (*OUTCOME_KEYS, "pending_task_ids"):
            first[k] = np.stack([np.asarray(infos[a][k]) for a in self.agents])
        return first

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
        """Start an episode (the seed fixes it whole)."""
        seed = check_seed(seed)
        super().reset(seed=seed)
        _, infos = self.par.reset(seed=seed, options=options)
        self._last_obs = self._stacked()
        return self._last_obs, self._central_info(infos) if self._flat_info else {}

    def step(self, action: Any) -> tuple[dict[str, NDArray[Any]], float, bool, bool, dict[str, Any]]:
        """Apply the joint action (one round), return the global reward."""
        width = self._sub_nvec.shape[0]
        a = action_array(action, f"joint action (shape ({len(self.agents) * width},))")
        if a.shape != (len(self.agents) * width,):
            raise ValueError(f"joint action must have shape ({len(self.agents) * width},), got {a.shape}")
        acts = {ag: a[i * width : (i + 1) * width] for i, ag in enumerate(self.agents)}
        _, rew, terms, truncs, infos = self.par.step(acts)
        self._last_obs = self._stacked()
        first = infos[self.agents[0]]
        info: dict[str, Any]
        if self._flat_info:
            info = self._central_info(infos)
        else:
            info = {"slot": first["slot"], "slot_end": first["slot_end"], "agents": infos}
            if "metrics" in first:
                info["metrics"] = first["metrics"]
                info["truncated_by"] = first["truncated_by"]
        return (
            self._last_obs,
            float(rew[self.agents[0]]),
            bool(terms[self.agents[0]]),
            bool(truncs[self.agents[0]]),
            info,
        )

    def action_masks(self) -> NDArray[np.bool_]:
        """Flat boolean mask over the joint action's components (MaskablePPO convention)."""
        if self._last_obs is None:
            raise RuntimeError("action_masks() called before reset()")
        return self._last_obs["action_mask"].reshape(-1).astype(bool)

    def render(self) -> Any:
        """As the parallel env's ``render``."""
        return self.par.render()

    @property
    def sim_view(self) -> Any:
        """The read-only simulator view (see :class:`edgesched_env.sim.view.SimView`)."""
        return self.par.view


class CentralEdgeSchedVectorEnv(gym.vector.VectorEnv):
    """EdgeSchedCentral-v1 as a real vector env: ``E`` central views on the batched simulator.

    ``gymnasium.make_vec("edgesched/EdgeSchedCentral-v1", num_envs=E,
    vectorization_mode="vector_entry_point")``.
    Observations are the central view's dict with a leading ``E`` axis (``(E, N, ...)``),
    actions ``(E, N * len(nvec))``, rewards the global reward ``(E,)``. :meth:`action_masks` gives
    ``(E, N * sum(nvec))`` booleans. Autoreset: gymnasium's ``NEXT_STEP`` mode (see
    :mod:`edgesched_env.vector`); episode ``i`` of ``reset(seed=s)`` equals the central env reset
    with ``s + i``.
    """

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, preset: str | EnvConfig = DEFAULT_PRESET, **overrides: Any) -> None:
        from edgesched_env.vector import EdgeSchedVectorEnv

        if overrides.get("reward", "global") != "global":
            raise ValueError(f"the central view always uses reward='global', got {overrides['reward']!r}")
        overrides["reward"] = "global"
        overrides.pop("render_mode", None)
        self.venv = EdgeSchedVectorEnv(preset, num_envs=num_envs, **overrides)
        self.num_envs = num_envs
        n = self.venv.num_agents
        sub = self.venv.single_observation_space
        self.single_observation_space = spaces.Dict(
            {
                k: spaces.Box(
                    np.broadcast_to(b.low, (n, *b.shape)),
                    np.broadcast_to(b.high, (n, *b.shape)),
                    dtype=b.dtype.type,
                )
                for k, b in sub.spaces.items()
                if isinstance(b, spaces.Box)
            }
        )
        self._discrete = self.venv.interface.options.action_format == "discrete"
        sub_nvec = (
            np.array([self.venv.interface.num_discrete], dtype=np.int64) if self._discrete else self.venv.nvec
        )
        self.single_action_space = MaskedMultiDiscrete(np.tile(sub_nvec, n))
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self._width = sub_nvec.shape[0]
        self._last_obs: dict[str, NDArray[Any]] | None = None

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
        """Start every episode (episode ``i`` seeded ``seed + i``)."""
        obs, infos = self.venv.reset(seed=seed, options=options)
        self._last_obs = obs
        return obs, infos

    def step(
        self, actions: Any
    ) -> tuple[
        dict[str, NDArray[Any]], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]
    ]:
        """Apply each episode's joint action ``(E, N * len(nvec))``."""
        e, n = self.num_envs, self.venv.num_agents
        a = action_array(actions, f"joint actions (shape {(e, n * self._width)})")
        if a.shape != (e, n * self._width):
            raise ValueError(f"joint actions must have shape {(e, n * self._width)}, got {a.shape}")
        a = a.reshape(e, n) if self._discrete else a.reshape(e, n, self._width)
        obs, rew, terms, truncs, infos = self.venv.step(a)
        self._last_obs = obs
        return obs, rew[:, 0].copy(), terms, truncs, infos

    def action_masks(self) -> NDArray[np.bool_]:
        """``(E, N * sum(nvec))`` flat boolean masks (MaskablePPO convention, per episode)."""
        if self._last_obs is None:
            raise RuntimeError("action_masks() called before reset()")
        return self._last_obs["action_mask"].reshape(self.num_envs, -1).astype(bool)
