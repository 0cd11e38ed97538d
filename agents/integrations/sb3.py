"""stable-baselines3 / sb3-contrib: MaskablePPO on the central view or one policy shared by every
cluster, and what it learned in ``edgesched bench``.

Two views, both served by the batched simulator:

* ``"central"``: ``edgesched/EdgeSchedCentral-v1`` (one joint action for all clusters, global
  reward), vectorised with :func:`central_vec_env` (gymnasium's vector env of the central view,
  adapted to SB3's ``VecEnv`` with the masks served).
* ``"shared"``: :class:`SharedPolicyVecEnv`, an SB3 ``VecEnv`` whose sub-environments are the
  ``E x N`` (episode, cluster) pairs of one :class:`~edgesched_env.vector.EdgeSchedVectorEnv`:
  parameter sharing, each cluster acting on its own observation with its own reward, every
  episode stepped together (same-step autoreset, SB3's convention).

Both serve ``action_masks`` through ``env_method`` as sb3-contrib's ``MaskablePPO`` asks, from
the env's ``mask`` option (``"strict"`` by default here: only tasks that fit now). Then::

    from agents.integrations import sb3
    model = sb3.train("tapfinger-synthetic", view="shared", total_timesteps=50_000, seed=0)
    sb3.save(model, "runs/sb3-shared", "tapfinger-synthetic", view="shared")
    # edgesched bench --schedulers all,sb3:runs/sb3-shared

:func:`as_scheduler` turns a trained model (or a saved directory) into a bench scheduler: it
writes each round's observation in the training format and plays the masked argmax. Saved
models are an edgesched checkpoint (safetensors + JSON, never pickle); the policy is rebuilt
from the bound env's spaces.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents._optional import require_extra
from agents.base import SchedulerBase
from agents.integrations import require
from edgesched_env.config import EnvConfig
from edgesched_env.interface import INTERFACE_KEYS, Interface, InterfaceOptions, pop_interface_options
from edgesched_env.observation import ObservationBuilder
from edgesched_env.presets import make_config

__all__ = [
    "SB3Scheduler",
    "SharedPolicyVecEnv",
    "as_scheduler",
    "central_vec_env",
    "hgat_policy_kwargs",
    "load",
    "mask_violations",
    "save",
    "train",
]

_EXTRA = "sb3"
VIEWS = ("central", "shared")
#: the interface options used unless given: the strict mask (a task that does not fit is masked).
DEFAULT_OPTIONS = {"mask": "strict"}


def _need(feature: str) -> None:
    """:class:`~agents._optional.MissingExtraError` naming ``[sb3]`` unless all of it is installed."""
    require_extra(_EXTRA, f"sb3.{feature}")


def _vec_env_base() -> type:
    return require("stable_baselines3.common.vec_env", _EXTRA).VecEnv  # type: ignore[no-any-return]


def _check_view(view: str) -> None:
    if view not in VIEWS:
        raise ValueError(f"view must be one of {list(VIEWS)}, got {view!r}")


def _make_shared_class() -> type:
    base = _vec_env_base()

    class _Shared(base):  # type: ignore[misc, valid-type]
        """See :class:`SharedPolicyVecEnv`."""

        def __init__(
            self, preset: str | EnvConfig, num_envs: int, options: dict[str, Any], overrides: Any
        ) -> None:
            import edgesched_env

            self.venv = edgesched_env.vector_env(
                preset, num_envs=num_envs, autoreset_mode="same_step", **options, **overrides
            )
            self.episodes = num_envs
            self.agents_per_episode = self.venv.num_agents
            self.render_mode = None
            self.mask_violations = 0
            """Actions stepped with a component outside the current mask (should stay 0)."""
            super().__init__(
                num_envs * self.venv.num_agents,
                self.venv.single_observation_space,
                self.venv.single_action_space,
            )
            self._actions: NDArray[np.int64] | None = None
            self._obs: dict[str, NDArray] | None = None
            self._ret = np.zeros((num_envs, self.venv.num_agents))
            self._len = np.zeros(num_envs, dtype=np.int64)
            self._t0 = time.perf_counter()

        def _flat(self, obs: dict[str, NDArray]) -> dict[str, NDArray]:
            n = self.num_envs
            return {k: v.reshape(n, *v.shape[2:]) for k, v in obs.items()}

        def reset(self) -> dict[str, NDArray]:
            seeds: list[Any] = list(getattr(self, "_seeds", None) or [None])
            seed = seeds[0]
            obs, _ = self.venv.reset(seed=seed)
            self._seeds = [None] * self.num_envs
            self._ret[:] = 0.0
            self._len[:] = 0
            self._obs = self._flat(obs)
            return self._obs

        def step_async(self, actions: NDArray[Any]) -> None:
            self._actions = np.asarray(actions)
            if self._obs is not None:
                a = self._actions.reshape(self.num_envs) if self.venv._discrete else self._actions
                nvec = np.array([self.venv.interface.num_discrete]) if self.venv._discrete else self.venv.nvec
                width = 1 + self.venv.config.num_resources
                self.mask_violations += count_violations(a, self._obs["action_mask"], nvec, width)

        def step_wait(self) -> tuple[dict[str, NDArray], NDArray, NDArray, list[dict[str, Any]]]:
            assert self._actions is not None, "step_async first"
            e, n = self.episodes, self.agents_per_episode
            a = self._actions.reshape(e, n) if self.venv._discrete else self._actions.reshape(e, n, -1)
            obs, rew, te, tr, infos = self.venv.step(a)
            self._ret += rew
            self._len += 1
            ended = te | tr
            dones = np.repeat(ended, n)
            out: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
            if ended.any():
                final = infos["final_obs"]
                # the episodes were reset in this step: their metrics are in the infos only
                jct = (
                    infos["metrics.mean_jct"] if "metrics.mean_jct" in infos else infos["metrics"]["mean_jct"]
                )
                for b in np.flatnonzero(ended).tolist():
                    for i in range(n):
                        info = out[b * n + i]
                        info["terminal_observation"] = {k: v[b, i] for k, v in final.items()}
                        info["TimeLimit.truncated"] = bool(tr[b] and not te[b])
                        info["episode"] = {
                            "r": float(self._ret[b, i]),
                            "l": int(self._len[b]),
                            "t": round(time.perf_counter() - self._t0, 6),
                        }
                        info["mean_jct"] = float(jct[b])
                    self._ret[b] = 0.0
                    self._len[b] = 0
            self._obs = self._flat(obs)
            return self._obs, rew.reshape(-1).astype(np.float32), dones, out

        def action_masks(self) -> NDArray[np.bool_]:
            """``(E * N, W)`` masks of the current observation."""
            assert self._obs is not None, "reset first"
            return self._obs["action_mask"].astype(bool)

        def close(self) -> None:
            self.venv.close()

        def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
            return [getattr(self, attr_name)] * len(self._indices(indices))

        def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
            raise AttributeError(f"SharedPolicyVecEnv has no settable per-env attribute {attr_name!r}")

        def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list[Any]:
            idx = self._indices(indices)
            if method_name == "action_masks":
                masks = self.action_masks()
                return [masks[i] for i in idx]
            raise AttributeError(f"SharedPolicyVecEnv sub-envs have no method {method_name!r}")

        def has_attr(self, attr_name: str) -> bool:
            return attr_name == "action_masks" or hasattr(self, attr_name)

        def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
            return [False] * len(self._indices(indices))

        def _indices(self, indices: Any) -> list[int]:
            if indices is None:
                return list(range(self.num_envs))
            if isinstance(indices, int):
                return [indices]
            return list(indices)

    return _Shared


def count_violations(
    actions: NDArray[Any], masks: NDArray[Any], nvec: NDArray[np.int64], pick_width: int
) -> int:
    """How many agent actions pick a masked choice that matters.

    ``actions`` ``(B, W)`` multi-discrete rows (the ``nvec`` of one agent, repeated per pick) with
    ``masks`` ``(B, sum(nvec))``, or ``(B,)`` joint discrete codes with ``masks`` ``(B, D)``. A
    multi-discrete pick's units matter only when it picks a task (slot < P): the no-op's units are
    ignored by the env, and its mask may well exclude level 0. ``pick_width``: ``1 + R``.
    """
    a = np.asarray(actions, dtype=np.int64)
    m = np.asarray(masks).astype(bool)
    rows = np.arange(m.shape[0])
    if a.ndim == 1:
        return int((~m[rows, a]).sum())
    offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
    bad = ~m[rows[:, None], a + offsets]  # (B, W)
    width = int(nvec.shape[0])
    # per pick: nvec repeats [P + 1, L_1, ..., L_R]; the slot component is each pick's first
    slot_nvec = int(nvec[0])
    per_pick = width // max(1, int((nvec == slot_nvec).sum())) if width else 1
    picks = bad.reshape(bad.shape[0], -1, per_pick)
    noop = a.reshape(a.shape[0], -1, per_pick)[..., 0] == slot_nvec - 1
    wrong = picks[..., 0] | (~noop & picks[..., 1:].any(-1))
    return int(wrong.any(-1).sum())


def SharedPolicyVecEnv(
    preset: str | EnvConfig = "tapfinger-synthetic", num_envs: int = 8, **overrides: Any
) -> Any:
    """An SB3 ``VecEnv`` of the ``num_envs x N`` (episode, cluster) pairs of one vector env.

    One policy for every cluster (parameter sharing): sub-env ``b * N + i`` is cluster ``i`` of
    episode ``b``, with its own observation, mask and reward (the env's ``reward``); an episode's
    clusters are done together. ``reset`` seeds episode ``b`` with ``seed + b`` (``VecEnv.seed``).
    ``infos`` at an episode's end carry ``terminal_observation``, ``episode`` (that cluster's
    return and the episode's rounds, for SB3's logger) and the episode's ``mean_jct`` (slots).
    ``overrides``: config overrides and interface options (default ``mask="strict"``).
    """
    _need("SharedPolicyVecEnv")
    options = {**DEFAULT_OPTIONS, **pop_interface_options(overrides)}
    return _make_shared_class()(preset, num_envs, options, overrides)


def central_vec_env(
    preset: str | EnvConfig = "tapfinger-synthetic", num_envs: int = 8, **overrides: Any
) -> Any:
    """SB3 ``VecEnv`` of ``num_envs`` central views (``DummyVecEnv``; each serves ``action_masks``)."""
    _need("central_vec_env")
    vec = require("stable_baselines3.common.vec_env", _EXTRA)
    import gymnasium as gym

    import edgesched_env  # noqa: F401  (registers the ids)

    kw = {**DEFAULT_OPTIONS, **overrides}
    fns = [
        lambda: MaskCheck(gym.make("edgesched/EdgeSchedCentral-v1", preset=preset, **kw))
        for _ in range(num_envs)
    ]
    return vec.DummyVecEnv(fns)


def _mask_check_class() -> type:
    import gymnasium as gym

    class _MaskCheck(gym.Wrapper):  # type: ignore[type-arg]
        """Counts the steps whose action picks a choice outside ``action_masks()``."""

        def __init__(self, env: Any) -> None:
            super().__init__(env)
            self.mask_violations = 0

        def action_masks(self) -> NDArray[np.bool_]:
            central: Any = self.env.unwrapped
            return central.action_masks()  # type: ignore[no-any-return]

        def step(self, action: Any) -> Any:
            central: Any = self.env.unwrapped
            n = len(central.agents)
            mask = central.action_masks().reshape(n, -1)
            sub = central._sub_nvec
            a = np.asarray(action, dtype=np.int64).reshape(n, -1)
            width = 1 + central.par.config.num_resources
            self.mask_violations += int(
                count_violations(a[:, 0] if sub.shape[0] == 1 else a, mask, sub, width) > 0
            )
            return self.env.step(action)

    return _MaskCheck


def MaskCheck(env: Any) -> Any:
    """Wrap a central env so that its ``mask_violations`` counts actions outside its mask."""
    return _mask_check_class()(env)


def make_vec_env(view: str, preset: str | EnvConfig, num_envs: int, **overrides: Any) -> Any:
    """The training ``VecEnv`` of ``view`` (see the module docstring)."""
    _check_view(view)
    if view == "shared":
        return SharedPolicyVecEnv(preset, num_envs, **overrides)
    return central_vec_env(preset, num_envs, **overrides)


def train(
    preset: str | EnvConfig = "tapfinger-synthetic",
    *,
    view: str = "shared",
    total_timesteps: int = 50_000,
    num_envs: int = 8,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    **ppo_kwargs: Any,
) -> Any:
    """Train sb3-contrib's ``MaskablePPO`` (``MultiInputPolicy``) on ``view`` and return the model.

    Training episodes are seeded ``1_000_000 + 1000 * seed + b`` (never the bench's seeds 0..999).
    ``ppo_kwargs`` go to ``MaskablePPO`` (``n_steps``, ``batch_size``, ``policy_kwargs``, ...).
    """
    _need("train")
    contrib = require("sb3_contrib", _EXTRA)
    env = make_vec_env(view, preset, num_envs, **(overrides or {}))
    env.seed(1_000_000 + 1000 * seed)
    kw = {"verbose": 0, "device": "cpu", "seed": seed, **ppo_kwargs}
    model = contrib.MaskablePPO("MultiInputPolicy", env, **kw)
    model.learn(total_timesteps=total_timesteps)
    model._edgesched = {
        "view": view,
        "options": _options_of(env),
        "policy_kwargs": kw.get("policy_kwargs") or {},
    }
    return model


def _options_of(env: Any) -> dict[str, str]:
    if hasattr(env, "venv") and hasattr(env.venv, "interface"):
        opts = env.venv.interface.options
    else:
        opts = env.envs[0].unwrapped.par.interface.options
    return {k: getattr(opts, k) for k in INTERFACE_KEYS}


def save(model: Any, path: str | Path, preset: str | EnvConfig, *, view: str | None = None) -> Path:
    """Write ``model``'s policy weights and how to rebuild it (an edgesched checkpoint, no pickle)."""
    _need("save")
    from agents.checkpoint import json_safe, save_checkpoint

    info = getattr(model, "_edgesched", None) or {}
    view = view or info.get("view")
    if view is None:
        raise ValueError("save: pass view= ('central' or 'shared') for a model not made by train()")
    _check_view(view)
    config = make_config(preset) if isinstance(preset, str) else preset
    meta = {
        "kind": "sb3",
        "algo": type(model).__name__,
        "view": view,
        "options": info.get("options", dict(DEFAULT_OPTIONS)),
        "policy_kwargs": json_safe(_kwargs_to_json(info.get("policy_kwargs", {}))),
        "trained_on": config.name,
        "env_config": json_safe(config),
        "num_clusters": config.num_clusters,
    }
    return save_checkpoint(path, {"policy": dict(model.policy.state_dict())}, meta)


def load(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(meta, policy state dict)`` of a saved model (checked, no pickle)."""
    _need("load")
    from agents.checkpoint import CheckpointCorruptedError, load_checkpoint

    ckpt = load_checkpoint(path)
    if ckpt.meta.get("kind") != "sb3":
        raise CheckpointCorruptedError(
            f"{path}: not an SB3 policy checkpoint (kind={ckpt.meta.get('kind')!r})"
        )
    return ckpt.meta, ckpt.tensors["policy"]


class SB3Scheduler(SchedulerBase):
    """A trained SB3 policy as a bench scheduler (deterministic: the masked argmax).

    Args:
        policy: an SB3 policy (``model.policy``), or ``None`` to rebuild it from ``state`` at bind.
        view: ``"central"`` or ``"shared"``, as trained.
        options: the interface options it was trained with.
        state, policy_kwargs: saved weights and the policy's keyword arguments (for ``policy=None``).
    """

    name = "sb3"
    #: played one episode at a time by :func:`agents.evaluate.evaluate` (a policy is not
    #: copied into one clone per episode of a vector env).
    batchable = False

    def __init__(
        self,
        policy: Any,
        view: str,
        options: dict[str, Any],
        state: dict[str, Any] | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        source: str = "",
    ) -> None:
        _need("SB3Scheduler")
        super().__init__()
        _check_view(view)
        self.policy = policy
        self.policy_view = view
        self.options = InterfaceOptions(
            **{**{k: v for k, v in options.items() if k in INTERFACE_KEYS}, "info_format": "nested"}
        )
        self._state = state
        self._policy_kwargs = _kwargs_from_json(policy_kwargs or {})
        self._source = source
        self.interface: Interface | None = None

    def bind(self, env: Any) -> None:
        super().bind(env)
        assert self.config is not None
        self.interface = Interface(ObservationBuilder(self.config), self.options)
        if self.policy is None:
            self.policy = self._rebuild()

    def _spaces(self) -> tuple[Any, Any]:
        from edgesched_env.spaces import MaskedMultiDiscrete

        assert self.interface is not None and self.config is not None
        obs_space, act_space = self.interface.observation_space, self.interface.action_space
        if self.policy_view == "shared":
            return obs_space, act_space
        from gymnasium import spaces

        n = self.config.num_clusters
        stacked: dict[str, Any] = {}
        for k, b in obs_space.spaces.items():
            assert isinstance(b, spaces.Box)
            lead = (n, *b.shape)
            stacked[k] = spaces.Box(
                np.broadcast_to(b.low, lead), np.broadcast_to(b.high, lead), dtype=b.dtype.type
            )
        sub = np.array([act_space.n]) if isinstance(act_space, spaces.Discrete) else act_space.nvec  # type: ignore[attr-defined]
        return spaces.Dict(stacked), MaskedMultiDiscrete(np.tile(sub, n))

    def _rebuild(self) -> Any:
        from agents.checkpoint import check_state_dict

        policies = require("sb3_contrib.common.maskable.policies", _EXTRA)
        obs_space, act_space = self._spaces()
        policy = policies.MaskableMultiInputActorCriticPolicy(
            obs_space, act_space, lambda _: 0.0, **self._policy_kwargs
        )
        assert self._state is not None
        check_state_dict(policy.state_dict(), self._state, source=self._source)
        policy.load_state_dict(self._state)
        policy.set_training_mode(False)
        return policy

    def act_agents(
        self, observations: dict[str, dict[str, NDArray]], infos: dict[str, dict[str, Any]]
    ) -> dict[str, NDArray[np.int64]]:
        assert self.interface is not None and self._env is not None
        env = getattr(self._env, "unwrapped", self._env)
        batch = env.last_obs_batch  # (1, N, ...) in the default layout, this round's
        obs = {k: v[0] for k, v in self.interface.observe(batch).items()}  # (N, ...)
        agents = list(observations)
        rows = [int(a.rsplit("_", 1)[1]) for a in agents]
        if self.policy_view == "shared":
            o = {k: v[rows] for k, v in obs.items()}
            acts, _ = self.policy.predict(o, deterministic=True, action_masks=o["action_mask"].astype(bool))
        else:
            o = {k: v[None] for k, v in obs.items()}
            flat, _ = self.policy.predict(
                o, deterministic=True, action_masks=obs["action_mask"].reshape(1, -1).astype(bool)
            )
            assert self.config is not None
            acts = np.asarray(flat).reshape(self.config.num_clusters, -1)[rows]
        acts = np.asarray(acts, dtype=np.int64)
        if self.options.action_format == "discrete":
            acts = self.interface.decode(acts.reshape(len(rows)))
        return {a: acts[i].reshape(-1) for i, a in enumerate(agents)}


def as_scheduler(model_or_path: Any, view: str | None = None) -> SB3Scheduler:
    """A bench scheduler from a model made by :func:`train` or a directory written by :func:`save`."""
    _need("as_scheduler")
    if isinstance(model_or_path, (str, Path)):
        meta, state = load(model_or_path)
        return SB3Scheduler(
            None,
            meta["view"],
            meta["options"],
            state=state,
            policy_kwargs=meta.get("policy_kwargs") or {},
            source=str(model_or_path),
        )
    info = getattr(model_or_path, "_edgesched", None) or {}
    view = view or info.get("view")
    if view is None:
        raise ValueError("as_scheduler: pass view= for a model not made by train()")
    return SB3Scheduler(model_or_path.policy, view, info.get("options", dict(DEFAULT_OPTIONS)))


def mask_violations(model_or_env: Any) -> int:
    """Steps (per cluster in the shared view) whose action picked a masked choice, so far."""
    env = model_or_env.get_env() if hasattr(model_or_env, "get_env") else model_or_env
    if hasattr(env, "mask_violations"):
        return int(env.mask_violations)
    return int(sum(env.get_attr("mask_violations")))


def _hgat_extractor_class() -> type:
    torch_layers = require("stable_baselines3.common.torch_layers", _EXTRA)
    import torch

    from agents.hgat.graph import GraphBuilder
    from agents.hgat.model import HGATActorCritic, ModelConfig

    class HGATFeaturesExtractor(torch_layers.BaseFeaturesExtractor):  # type: ignore[misc, name-defined]
        """The HGAT graph encoder as an SB3 features extractor for the central view.

        Input: the central view's dict observation (``obs_layout="dict"``), ``(B, N, ...)`` per
        key. Each cluster's pending slots become its own pending nodes (the ``own`` view: the
        observation carries no task ids to merge shared tasks by), the graph is encoded by the
        heterogeneous attention layers, and the features are every cluster's embedding and the
        hub's, concatenated: ``(B, (N + 1) * hidden)``.
        """

        def __init__(
            self, observation_space: Any, preset: str, hidden: int = 32, layers: int = 1, heads: int = 2
        ):
            config = make_config(preset)
            n = config.num_clusters
            super().__init__(observation_space, features_dim=(n + 1) * hidden)
            self.builder = GraphBuilder(config, actor_view="own")
            mcfg = ModelConfig(
                num_types=config.num_types,
                num_resources=config.num_resources,
                num_levels=max(config.num_levels),
                hidden=hidden,
                layers=layers,
                heads=heads,
                head_hidden=hidden,
                actor_view="own",
            )
            net = HGATActorCritic(mcfg)
            self.embed, self.convs, self.norms = net.embed, net.convs, net.norms  # the encoder only
            self._encode = net.encode
            self.n, self.hidden = n, hidden

        def forward(self, obs: dict[str, Any]) -> Any:
            mask = obs["pending_mask"] > 0.5  # (B, N, P)
            ids = torch.where(
                mask,
                torch.arange(mask.shape[-1]).expand_as(mask),
                torch.full_like(mask, -1, dtype=torch.long),
            )
            gb = self.builder.build({k: v for k, v in obs.items()}, ids.long())
            h = self._encode(gb)
            b = mask.shape[0]
            return torch.cat([h["cluster"].reshape(b, self.n * self.hidden), h["hub"]], dim=-1)

    return HGATFeaturesExtractor


def hgat_policy_kwargs(
    preset: str, hidden: int = 32, layers: int = 1, heads: int = 2, **extra: Any
) -> dict[str, Any]:
    """``policy_kwargs`` that put the HGAT encoder in front of MaskablePPO's heads (central view)."""
    _need("hgat_policy_kwargs")
    return {
        "features_extractor_class": _hgat_extractor_class(),
        "features_extractor_kwargs": {"preset": preset, "hidden": hidden, "layers": layers, "heads": heads},
        **extra,
    }


def _kwargs_to_json(kw: dict[str, Any]) -> dict[str, Any]:
    out = dict(kw)
    cls = out.pop("features_extractor_class", None)
    if cls is not None:
        if getattr(cls, "__name__", "") != "HGATFeaturesExtractor":
            raise ValueError(
                "save: only the HGAT features extractor (hgat_policy_kwargs) can be saved by name"
            )
        out["features_extractor"] = "hgat"
    return out


def _kwargs_from_json(kw: dict[str, Any]) -> dict[str, Any]:
    out = dict(kw)
    if out.pop("features_extractor", None) == "hgat":
        out["features_extractor_class"] = _hgat_extractor_class()
    return out
