"""The joint policy: graph building, the actor-critic and the Bayes conflict rule in one call.

Used the same way by the trainer (rollouts), the periodic evaluation and :class:`HGATScheduler`,
so the policy that is evaluated is the one that was trained.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from numpy.typing import NDArray

from agents.hgat.conflicts import bayes_resolve
from agents.hgat.graph import GraphBatch, GraphBuilder
from agents.hgat.model import ActOutput, HGATActorCritic
from edgesched_env.config import EnvConfig

__all__ = ["JointDecision", "JointPolicy"]


@dataclass
class JointDecision:
    """One round of ``G`` episodes.

    Attributes:
        actions: ``(G, N, A)`` int64, what the policy chose (stored for the PPO ratio).
        executed: ``(G, N, A)`` int64, what is sent to the env (Bayes losers turned into no-ops).
        lost: ``(G, N)`` bool, Bayes losers (their allocation terms leave the loss).
        out: the model's output (log-probabilities and values of ``actions``).
        graph: the graphs the decision was made on.
    """

    actions: NDArray[np.int64]
    executed: NDArray[np.int64]
    lost: NDArray[np.bool_]
    out: ActOutput
    graph: GraphBatch


class JointPolicy:
    """Decides every agent's action of a batch of rounds.

    Args:
        model: the actor-critic.
        config: the env config the observations come from.
        bayes: apply the Bayes conflict rule (single-task mode); ``False`` leaves conflicts to the
            env's rule (the ablation).
        seed: seeds the sampling generator and the tie-breaking RNG.
    """

    def __init__(self, model: HGATActorCritic, config: EnvConfig, bayes: bool = True, seed: int = 0) -> None:
        self.model = model
        self.config = config
        self.builder = GraphBuilder(config, actor_view=model.cfg.actor_view)
        self.bayes = bool(bayes) and config.mode == "single"
        self.seed(seed)

    def seed(self, seed: int | None, episode_seeds: Sequence[int] | None = None) -> None:
        """Re-seed the sampling generator and the tie RNG.

        ``episode_seeds``: one tie RNG per episode row, seeded like a single-episode policy seeded
        with that value, so that greedy decisions of episode ``g`` of a batch equal those of a
        batch of one (sampling draws from one batch-wide generator).
        """
        s = int(seed) if seed is not None else int(np.random.SeedSequence().generate_state(1)[0])
        self.generator = torch.Generator().manual_seed(s)
        self.rng = np.random.default_rng(s)
        self.episode_rngs = [np.random.default_rng(int(x)) for x in episode_seeds] if episode_seeds else None

    @torch.inference_mode()
    def decide(
        self,
        obs: dict[str, NDArray],
        pending_ids: NDArray[np.int64],
        mode: Literal["sample", "greedy"] = "sample",
        timing: dict[str, float] | None = None,
        with_value: bool = True,
        with_stats: bool = True,
        row_rngs: Sequence[np.random.Generator] | None = None,
        row_generators: Sequence[torch.Generator] | None = None,
    ) -> JointDecision:
        """Actions for batched observations ``(G, N, ...)`` and their pending task ids ``(G, N, P)``.

        ``timing``: when given, seconds spent are added to its ``"graph"`` and ``"forward"`` keys.
        ``with_value``, ``with_stats``: also run the critic / compute entropies and allocation
        log-probabilities (the trainer needs them; acting does not).
        ``row_rngs``, ``row_generators``: one tie RNG / one sampling generator per row, used
        instead of the policy's own (:class:`~agents.hgat.scheduler.HGATScheduler` on a vector
        env passes each episode's, so that row ``g`` decides as a batch of one with them would).
        """
        t0 = time.perf_counter()
        gb = self.builder.build(obs, pending_ids)
        t1 = time.perf_counter()
        out = self.model(
            gb,
            mode=mode,
            generator=self.generator if row_generators is None else row_generators,
            with_value=with_value,
            with_stats=with_stats,
        )
        if timing is not None:
            timing["graph"] = timing.get("graph", 0.0) + t1 - t0
            timing["forward"] = timing.get("forward", 0.0) + time.perf_counter() - t1
        actions = out.actions.numpy()
        if self.bayes:
            executed, lost = bayes_resolve(
                actions,
                out.select_prob.numpy(),
                np.asarray(pending_ids),
                gb.free_units.numpy(),
                gb.min_units.numpy(),
                row_rngs if row_rngs is not None else self.episode_rngs or self.rng,
            )
        else:
            executed, lost = actions, np.zeros(actions.shape[:2], dtype=bool)
        return JointDecision(actions=actions, executed=executed, lost=lost, out=out, graph=gb)
