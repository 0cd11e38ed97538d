"""TorchRL: a native batched multi-agent env over the batched simulator, multi-agent PPO on it, and
what it learned in ``edgesched bench``.

:class:`EdgeSchedTorchRLEnv` is a TorchRL ``EnvBase`` written directly over
:class:`~edgesched_env.vector.EdgeSchedVectorEnv` (not the generic PettingZoo wrapper): batch
size ``[E]``, one agent group ``"agents"`` of ``N`` clusters, in TorchRL's multi-agent layout:

================================ ================ ======================================================
key                              shape            content
================================ ================ ======================================================
``("agents", "observation")``    ``[E, N, F]``    the flat observation (``obs_layout="flat"``)
``("agents", "action_mask")``    ``[E, N, D]``    bool, the exact joint mask (``action_format="discrete"``)
``("agents", "action")``         ``[E, N]``       ``Categorical(D)``, masked by ``action_mask``
``("agents", "reward")``         ``[E, N, 1]``    the env's reward (``reward`` config: local or global)
``"done"``, ``"terminated"``,    ``[E, 1]``       episode end; ``truncated`` by ``max_slots`` /
``"truncated"``                                   ``max_cycles``
``"mean_jct"``                   ``[E, 1]``       the episode's mean JCT (slots) on its last step, else 0
================================ ================ ======================================================

Discrete actions with the exact mask are what TorchRL's ``MaskedCategorical`` takes; a partial
``reset`` (``"_reset"``) restarts only the episodes asked for, each continuing its own seeded
generator, so a collector's trajectories are the vector env's episodes bit for bit.

:func:`train_ppo` is TorchRL's multi-agent PPO recipe (``MultiAgentMLP`` actor with shared
parameters and a centralised critic, ``ClipPPOLoss``, ``GAE``, a ``Collector``), and
:func:`as_scheduler` plays a trained actor (masked argmax) in the bench.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents._optional import require_extra
from agents.integrations import LibraryScheduler
from edgesched_env.config import EnvConfig

__all__ = ["EdgeSchedTorchRLEnv", "TorchRLScheduler", "as_scheduler", "make_env", "train_ppo"]

_EXTRA = "torchrl"
OPTIONS = {"obs_layout": "flat", "action_format": "discrete"}


def _need(feature: str) -> None:
    """:class:`~agents._optional.MissingExtraError` naming ``[torchrl]`` unless it is installed."""
    require_extra(_EXTRA, f"torchrl.{feature}")


def _env_class() -> type:
    import torch
    from tensordict import TensorDict, TensorDictBase
    from torchrl.data import Binary, Categorical, Composite, Unbounded
    from torchrl.envs import EnvBase

    import edgesched_env

    class _Env(EnvBase):  # type: ignore[misc]
        """See :class:`EdgeSchedTorchRLEnv`."""

        def __init__(self, preset: str | EnvConfig, num_envs: int, **overrides: Any) -> None:
            self.venv = edgesched_env.vector_env(preset, num_envs=num_envs, **OPTIONS, **overrides)
            super().__init__(batch_size=torch.Size([num_envs]), device="cpu")
            e, n = num_envs, self.venv.num_agents
            f = int(self.venv.interface.flat_slices["alloc_mask"][0].stop)
            d = self.venv.interface.num_discrete
            self.num_agents = n
            self.observation_spec = Composite(
                agents=Composite(
                    observation=Unbounded(shape=(e, n, f), dtype=torch.float32),
                    action_mask=Binary(n=d, shape=(e, n, d), dtype=torch.bool),
                    shape=(e, n),
                ),
                mean_jct=Unbounded(shape=(e, 1), dtype=torch.float32),
                shape=(e,),
            )
            self.action_spec = Composite(
                agents=Composite(action=Categorical(n=d, shape=(e, n), dtype=torch.int64), shape=(e, n)),
                shape=(e,),
            )
            self.reward_spec = Composite(
                agents=Composite(reward=Unbounded(shape=(e, n, 1), dtype=torch.float32), shape=(e, n)),
                shape=(e,),
            )
            self.done_spec = Composite(
                done=Binary(n=1, shape=(e, 1), dtype=torch.bool),
                terminated=Binary(n=1, shape=(e, 1), dtype=torch.bool),
                truncated=Binary(n=1, shape=(e, 1), dtype=torch.bool),
                shape=(e,),
            )
            self._seed: int | None = None

        def _obs_td(self, obs: dict[str, NDArray], jct: NDArray[np.float64] | None = None) -> Any:
            e, n = self.batch_size[0], self.num_agents
            mask = torch.from_numpy(obs["action_mask"].view(np.bool_))  # 0/1 int8 -> bool, no copy
            self.action_spec["agents", "action"].update_mask(mask)
            return TensorDict(
                {
                    "agents": TensorDict(
                        {"observation": torch.as_tensor(obs["observation"]), "action_mask": mask},
                        batch_size=(e, n),
                    ),
                    "mean_jct": torch.as_tensor(
                        np.zeros((e, 1)) if jct is None else jct[:, None], dtype=torch.float32
                    ),
                },
                batch_size=(e,),
            )

        def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> Any:
            e = self.batch_size[0]
            rows = None
            if tensordict is not None and "_reset" in tensordict.keys():
                rows = tensordict.get("_reset").reshape(e).cpu().numpy().astype(bool)
            if rows is None or not self.venv._reset_done or rows.all():
                obs, _ = self.venv.reset(seed=self._seed)
                self._seed = None
            else:
                obs = self.venv.reset_episodes(np.flatnonzero(rows).tolist())
            out = self._obs_td(obs)
            zeros = torch.zeros((e, 1), dtype=torch.bool)
            out.update({"done": zeros, "terminated": zeros.clone(), "truncated": zeros.clone()})
            return out

        def _step(self, tensordict: TensorDictBase) -> Any:
            a = tensordict.get(("agents", "action")).cpu().numpy().astype(np.int64)
            obs, rew, te, tr, infos = self.venv.step(a)
            ended = te | tr
            jct = np.zeros(self.batch_size[0])
            if ended.any():
                jct[ended] = infos["metrics"]["mean_jct"][ended]
            out = self._obs_td(obs, jct)
            out.set(("agents", "reward"), torch.as_tensor(rew, dtype=torch.float32).unsqueeze(-1))
            out.set("terminated", torch.as_tensor(te).unsqueeze(-1))
            out.set("truncated", torch.as_tensor(tr).unsqueeze(-1))
            out.set("done", torch.as_tensor(ended).unsqueeze(-1))
            return out

        def _set_seed(self, seed: int | None) -> None:
            self._seed = None if seed is None else int(seed)

    return _Env


def EdgeSchedTorchRLEnv(
    preset: str | EnvConfig = "tapfinger-synthetic", num_envs: int = 8, **overrides: Any
) -> Any:
    """The native TorchRL env (see the module docstring); ``overrides``: config overrides."""
    _need("EdgeSchedTorchRLEnv")
    bad = sorted(set(overrides) & {"obs_layout", "action_format"})
    if bad:
        raise ValueError(
            f"the TorchRL env fixes {bad} (flat observations, discrete actions with the exact mask)"
        )
    return _env_class()(preset, num_envs, **overrides)


make_env = EdgeSchedTorchRLEnv


def _actor_critic(env: Any, hidden: int, depth: int) -> tuple[Any, Any]:
    import torch
    from tensordict.nn import TensorDictModule
    from torchrl.modules import MaskedCategorical, MultiAgentMLP, ProbabilisticActor

    n = env.num_agents
    f = env.observation_spec["agents", "observation"].shape[-1]
    d = env.action_spec["agents", "action"].space.n
    net = MultiAgentMLP(
        n_agent_inputs=f,
        n_agent_outputs=d,
        n_agents=n,
        centralized=False,
        share_params=True,
        depth=depth,
        num_cells=hidden,
        activation_class=torch.nn.Tanh,
    )
    logits = TensorDictModule(net, in_keys=[("agents", "observation")], out_keys=[("agents", "logits")])
    actor = ProbabilisticActor(
        module=logits,
        spec=env.full_action_spec["agents", "action"],
        in_keys={"logits": ("agents", "logits"), "mask": ("agents", "action_mask")},
        out_keys=[("agents", "action")],
        distribution_class=MaskedCategorical,
        return_log_prob=True,
        log_prob_key=("agents", "sample_log_prob"),
    )
    critic_net = MultiAgentMLP(
        n_agent_inputs=f,
        n_agent_outputs=1,
        n_agents=n,
        centralized=True,
        share_params=True,
        depth=depth,
        num_cells=hidden,
        activation_class=torch.nn.Tanh,
    )
    critic = TensorDictModule(
        critic_net, in_keys=[("agents", "observation")], out_keys=[("agents", "state_value")]
    )
    return actor, critic


def _collector(env: Any, policy: Any, **kwargs: Any) -> Any:
    """TorchRL's single-process collector: ``Collector`` (``SyncDataCollector`` before torchrl 0.11,
    which BenchMARL's pin allows), without the policy-transform registration torchrl 0.12 added."""
    import inspect

    import torchrl.collectors as c

    cls = getattr(c, "Collector", None) or c.SyncDataCollector
    if "auto_register_policy_transforms" in inspect.signature(cls.__init__).parameters:
        kwargs["auto_register_policy_transforms"] = False
    return cls(env, policy, device="cpu", **kwargs)


def train_ppo(
    preset: str | EnvConfig = "tapfinger-synthetic",
    *,
    total_frames: int = 20_000,
    frames_per_batch: int = 1000,
    num_envs: int = 8,
    epochs: int = 4,
    minibatch: int = 250,
    lr: float = 3e-4,
    hidden: int = 64,
    depth: int = 2,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """TorchRL's multi-agent PPO (MAPPO: shared actor, centralised critic) on the native env.

    Training episodes are seeded ``1_000_000 + 1000 * seed + b``. A frame is one env step of all
    ``num_envs`` episodes' ``[E]`` batch entries (TorchRL's count). Returns ``{"actor", "critic",
    "env", "frames", "mask_violations", "episodes"}``; ``mask_violations`` counts collected
    actions outside their mask (0 expected: ``MaskedCategorical`` only samples inside it).
    """
    _need("train_ppo")
    import torch
    from torchrl.data import LazyTensorStorage, ReplayBuffer, SamplerWithoutReplacement
    from torchrl.objectives import ClipPPOLoss, ValueEstimators

    torch.manual_seed(seed)
    env = EdgeSchedTorchRLEnv(preset, num_envs, **(overrides or {}))
    env.set_seed(1_000_000 + 1000 * seed)
    actor, critic = _actor_critic(env, hidden, depth)
    collector = _collector(env, actor, frames_per_batch=frames_per_batch, total_frames=total_frames)
    buffer = ReplayBuffer(
        storage=LazyTensorStorage(frames_per_batch), sampler=SamplerWithoutReplacement(), batch_size=minibatch
    )
    loss = ClipPPOLoss(
        actor_network=actor,
        critic_network=critic,
        clip_epsilon=0.2,
        entropy_coeff=0.01,
        normalize_advantage=False,
    )
    loss.set_keys(
        reward=("agents", "reward"),
        action=("agents", "action"),
        sample_log_prob=("agents", "sample_log_prob"),
        value=("agents", "state_value"),
        done=("agents", "done"),
        terminated=("agents", "terminated"),
    )
    loss.make_value_estimator(ValueEstimators.GAE, gamma=0.95, lmbda=0.95)
    optim = torch.optim.Adam(loss.parameters(), lr)
    frames = violations = episodes = 0
    n = env.num_agents
    for batch in collector:
        # the agent-level done keys the multi-agent loss reads (the env's are per episode)
        nxt = batch.get("next")
        for key in ("done", "terminated"):
            nxt.set(("agents", key), nxt.get(key).unsqueeze(-1).expand(*nxt.get(key).shape[:-1], n, 1))
        acts = batch.get(("agents", "action"))
        mask = batch.get(("agents", "action_mask"))
        violations += int((~mask.gather(-1, acts.unsqueeze(-1))).sum())
        episodes += int(nxt.get("done").sum())
        with torch.no_grad():
            loss.value_estimator(
                batch, params=loss.critic_network_params, target_params=loss.target_critic_network_params
            )
        buffer.extend(batch.reshape(-1))
        for _ in range(epochs):
            for _ in range(max(1, frames_per_batch // minibatch)):
                sample = buffer.sample()
                parts = loss(sample)
                total = parts["loss_objective"] + parts["loss_critic"] + parts["loss_entropy"]
                optim.zero_grad()
                total.backward()
                torch.nn.utils.clip_grad_norm_(loss.parameters(), 1.0)
                optim.step()
        collector.update_policy_weights_()
        frames += batch.numel()
    collector.shutdown()
    return {
        "actor": actor,
        "critic": critic,
        "env": env,
        "frames": frames,
        "mask_violations": violations,
        "episodes": episodes,
    }


class TorchRLScheduler(LibraryScheduler):
    """A trained TorchRL actor (from :func:`train_ppo`) as a bench scheduler: the masked argmax."""

    name = "torchrl"
    options = OPTIONS

    def __init__(self, actor: Any) -> None:
        _need("TorchRLScheduler")
        super().__init__()
        self.actor = actor

    def act_agents(
        self, observations: dict[str, dict[str, NDArray]], infos: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        import torch
        from tensordict import TensorDict
        from torchrl.envs.utils import ExplorationType, set_exploration_type

        obs = self.observe()
        n = obs["observation"].shape[1]
        group = {
            "observation": torch.as_tensor(obs["observation"]),
            "action_mask": torch.from_numpy(obs["action_mask"].view(np.bool_)),
        }
        td = TensorDict({"agents": TensorDict(group, batch_size=(1, n))}, batch_size=(1,))
        with torch.no_grad(), set_exploration_type(ExplorationType.DETERMINISTIC):
            out = self.actor(td)
        return self.to_actions(out.get(("agents", "action"))[0].numpy(), observations)


def as_scheduler(actor_or_result: Any) -> TorchRLScheduler:
    """A bench scheduler from a TorchRL actor (or the dict :func:`train_ppo` returns)."""
    actor = actor_or_result["actor"] if isinstance(actor_or_result, dict) else actor_or_result
    return TorchRLScheduler(actor)
