"""RLlib (new API stack): an env creator, the action-masking module spec for PPO, and the bench.

RLlib pins gymnasium 1.2.2, so it lives in its own environment (``make test`` builds
``.venv-pinned`` with ``pip install torch==2.13.0 'edgesched[rllib]'`` and runs ``tests/rllib``
there). :class:`EdgeSchedRLlibEnv` is a ``MultiAgentEnv`` over the parallel env with the layout
RLlib's action-masking module reads (``obs_layout="rllib"``: ``{"observations": Box(F,),
"action_mask": float32}``) and one ``Discrete`` action per cluster with the exact mask
(``action_format="discrete"``)::

    from agents.integrations import rllib
    config = rllib.ppo_config("tapfinger-synthetic", num_env_runners=2)   # one shared policy
    algo = config.build_algo()
    for _ in range(10):
        algo.train()
    # run_bench(..., instances={"rllib-ppo": rllib.as_scheduler(algo)})

At scale, ``num_env_runners`` remote env runners collect on a Ray cluster (``ray.init(address=...)``
before ``build_algo``); see docs/integrations.md. Training episodes are seeded ``seed_offset +
s`` (default offset 1 000 000) for the seeds ``s`` RLlib's env runners draw, so that the bench's
seeds are never trained on. With ``strict_masks`` (default on) an action outside its mask raises
in the env runner, so a training run that completes had no mask violation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents._optional import require_extra
from agents.integrations import LibraryScheduler

require_extra("rllib", "agents.integrations.rllib")

from ray.rllib.env.multi_agent_env import MultiAgentEnv  # noqa: E402

__all__ = ["ENV_NAME", "EdgeSchedRLlibEnv", "RLlibScheduler", "as_scheduler", "ppo_config", "register"]

ENV_NAME = "edgesched"
OPTIONS = {"obs_layout": "rllib", "action_format": "discrete"}
POLICY = "shared"


class MaskViolationError(ValueError):
    """An action picked a choice its mask excludes (``strict_masks``)."""


class EdgeSchedRLlibEnv(MultiAgentEnv):  # type: ignore[misc]
    """The parallel env as an RLlib ``MultiAgentEnv`` (every cluster an agent).

    ``config`` keys: ``preset`` (default ``"tapfinger-synthetic"``), ``overrides`` (env config
    overrides), ``seed_offset`` (default 1 000 000), ``strict_masks`` (default ``True``).
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        import edgesched_env

        super().__init__()
        cfg = dict(config or {})
        self.par = edgesched_env.parallel_env(
            cfg.get("preset", "tapfinger-synthetic"), **OPTIONS, **dict(cfg.get("overrides") or {})
        )
        self.seed_offset = int(cfg.get("seed_offset", 1_000_000))
        self.strict_masks = bool(cfg.get("strict_masks", True))
        names: list[str] = list(self.par.possible_agents)
        self.possible_agents = list(names)
        self.agents = list(names)
        self.observation_spaces = {a: self.par.observation_space(a) for a in names}
        self.action_spaces = {a: self.par.action_space(a) for a in names}
        self._obs: dict[str, dict[str, NDArray]] = {}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        obs, infos = self.par.reset(seed=None if seed is None else self.seed_offset + int(seed))
        self.agents = list(self.par.agents)
        self._obs = obs
        return obs, infos

    def step(self, action_dict: dict[Any, Any]) -> Any:
        acts = {a: int(np.asarray(action_dict[a]).reshape(())) for a in self.par.agents}
        if self.strict_masks:
            bad = [a for a, c in acts.items() if not self._obs[a]["action_mask"][c]]
            if bad:
                raise MaskViolationError(f"actions of {bad} are outside their action_mask")
        obs, rew, terms, truncs, infos = self.par.step(acts)
        self._obs = obs
        terms["__all__"] = all(terms.values())
        truncs["__all__"] = all(truncs.values())
        self.agents = list(self.par.agents)
        return obs, rew, terms, truncs, infos


def register() -> str:
    """Register the env creator with Ray Tune under :data:`ENV_NAME`; returns the name."""
    from ray.tune.registry import register_env

    register_env(ENV_NAME, lambda cfg: EdgeSchedRLlibEnv(dict(cfg)))
    return ENV_NAME


def module_spec(hidden: tuple[int, ...] = (64, 64)) -> Any:
    """The multi-RLModule spec: one shared PPO module that masks its logits by ``action_mask``."""
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.examples.rl_modules.classes.action_masking_rlm import ActionMaskingTorchRLModule

    spec = RLModuleSpec(
        module_class=ActionMaskingTorchRLModule,
        model_config={"head_fcnet_hiddens": list(hidden), "fcnet_hiddens": list(hidden)},
    )
    return MultiRLModuleSpec(rl_module_specs={POLICY: spec})


def ppo_config(
    preset: str = "tapfinger-synthetic",
    *,
    overrides: dict[str, Any] | None = None,
    num_env_runners: int = 2,
    train_batch_size: int = 2000,
    minibatch_size: int = 250,
    num_epochs: int = 4,
    hidden: tuple[int, ...] = (64, 64),
    seed: int = 0,
) -> Any:
    """PPO on the new API stack, one policy shared by every cluster, masks applied."""
    from ray.rllib.algorithms.ppo import PPOConfig

    register()
    return (
        PPOConfig()
        # RLlib's own env check steps unmasked samples, which strict_masks refuses; the env passes
        # that check with strict_masks=False (tests/rllib), so it is not repeated in every runner
        .environment(
            ENV_NAME,
            env_config={"preset": preset, "overrides": dict(overrides or {})},
            disable_env_checking=True,
        )
        .multi_agent(policies={POLICY}, policy_mapping_fn=lambda agent_id, *args, **kwargs: POLICY)
        .rl_module(rl_module_spec=module_spec(hidden))
        .env_runners(num_env_runners=num_env_runners)
        .training(
            train_batch_size_per_learner=train_batch_size,
            minibatch_size=minibatch_size,
            num_epochs=num_epochs,
        )
        .debugging(seed=seed)
    )


class RLlibScheduler(LibraryScheduler):
    """A trained RLlib module (the shared policy) as a bench scheduler: the masked argmax."""

    name = "rllib"
    options = OPTIONS

    def __init__(self, module: Any) -> None:
        super().__init__()
        self.module = module

    def act_agents(
        self, observations: dict[str, dict[str, NDArray]], infos: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        import torch
        from ray.rllib.core.columns import Columns

        obs = self.observe()
        batch = {
            Columns.OBS: {
                "observations": torch.as_tensor(obs["observations"][0]),
                "action_mask": torch.as_tensor(obs["action_mask"][0]),
            }
        }
        with torch.no_grad():
            out = self.module.forward_inference(batch)
        return self.to_actions(out[Columns.ACTION_DIST_INPUTS].argmax(-1).numpy(), observations)


def as_scheduler(algo_or_module: Any) -> RLlibScheduler:
    """A bench scheduler from a built ``Algorithm`` (its shared module) or an RLModule."""
    module = algo_or_module.get_module(POLICY) if hasattr(algo_or_module, "get_module") else algo_or_module
    return RLlibScheduler(module)
