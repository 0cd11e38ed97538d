""":class:`HGATScheduler`: a trained HGAT agent behind the one ``Scheduler`` interface.

>>> from agents.hgat import HGATScheduler                       # doctest: +SKIP
>>> from agents.evaluate import evaluate                        # doctest: +SKIP
>>> evaluate(HGATScheduler("runs/synth/best"), "tapfinger-synthetic", seeds=range(10))  # doctest: +SKIP

In the bench: ``edgesched bench --schedulers optimus-np,hgat:runs/synth/best`` (the decision mode
the training run selected), ``hgat-greedy:PATH`` or ``hgat-sample:PATH`` (sampling, seeded per
episode); the bare ``hgat`` (``hgat-greedy``, ``hgat-sample``) is the shipped checkpoint of the
env's preset (:mod:`agents.pretrained`), ``HGATScheduler.pretrained(preset)`` in code.
Conflicts: the paper's Bayes rule before ``step`` when the agent was trained with it (the
default), else the env's capacity rule.

On a vector env each episode is played by its own clone (one batch-of-one forward pass per
episode and round, its own generator and tie RNG), so that it plays as it would alone: a forward
pass over a batch of episodes is not bit-identical to batch-of-one passes (float32 sums in
another order, about 1e-7 in a selection probability), enough to flip a near-tie greedy argmax.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from agents.base import Actions, Observations, SchedulerBase, Seeds
from agents.hgat.io import load_agent
from agents.hgat.model import HGATActorCritic
from agents.hgat.policy import JointPolicy

__all__ = ["HGATScheduler"]


class HGATScheduler(SchedulerBase):
    """Decides every agent's action with a trained :class:`~agents.hgat.model.HGATActorCritic`.

    Args:
        checkpoint: a checkpoint directory written by the trainer (``runs/x/best``), or ``None``:
            the shipped checkpoint of the preset the scheduler is bound to (``config.name``),
            resolved in :meth:`bind`.
        mode: ``"greedy"`` (the distribution's two-stage mode), ``"sample"``, or ``None``: the mode
            the training run selected on its selection seeds (``decision_mode``; else greedy).
        bayes: the Bayes conflict rule; ``None`` takes the training run's choice.

    On a vector env each episode is decided by its own per-episode clone (a batch of one), as on
    a ParallelEnv. ``batch_act = True`` opts in to one forward pass over every agent of every
    episode (:meth:`act_batch`): much faster, with each row's own seeded generators, but a
    batched CPU matmul is not bit-identical to a batch of one, so a near-tied choice (e.g. two
    identical pending tasks) may go the other way than in the per-episode run.
    """

    #: off by default: the batched forward is not bit-identical to the per-episode one (above)
    batch_act = False

    def __init__(
        self,
        checkpoint: str | Path | None,
        mode: Literal["greedy", "sample"] | None = None,
        bayes: bool | None = None,
    ) -> None:
        super().__init__()
        if mode not in (None, "greedy", "sample"):
            raise ValueError(f"HGATScheduler mode must be 'greedy', 'sample' or None, got {mode!r}")
        self.checkpoint: Path | None = None if checkpoint is None else Path(checkpoint)
        self._mode = mode
        self.mode: str = mode or "greedy"
        self._bayes = bayes
        tag = f"hgat{'-' + mode if mode else ''}"
        self.name = tag if checkpoint is None else f"{tag}:{checkpoint}"
        self.policy: JointPolicy | None = None
        self.meta: dict[str, Any] = {}
        self._model: HGATActorCritic | None = None  # from_model: an in-memory model, no checkpoint

    @classmethod
    def from_model(
        cls,
        model: HGATActorCritic,
        mode: Literal["greedy", "sample"] = "greedy",
        bayes: bool = True,
        name: str = "hgat",
    ) -> HGATScheduler:
        """A scheduler playing an in-memory ``model`` (the trainer's, during model selection) in
        ``mode``, with the Bayes conflict rule when ``bayes``; no checkpoint is read. The model
        is used as it is (put it in eval mode first)."""
        sched = cls(None, mode=mode, bayes=bayes)
        sched._model = model
        sched.name = name
        return sched

    @classmethod
    def pretrained(
        cls, preset: str, mode: Literal["greedy", "sample"] | None = None, bayes: bool | None = None
    ) -> HGATScheduler:
        """The shipped checkpoint of ``preset`` (:func:`agents.pretrained.checkpoint_path`).

        Raises:
            agents.pretrained.PretrainedNotFoundError: none is shipped for ``preset``.
        """
        from agents.pretrained import checkpoint_path

        sched = cls(checkpoint_path(preset), mode=mode, bayes=bayes)
        sched.name = f"hgat{'-' + mode if mode else ''}"
        return sched

    def bind(self, env: Any) -> None:
        """Load the checkpoint (the preset's shipped one if none was given) and check it against
        the env's config."""
        self.policy = None  # not copied into a vector env's clones: each builds its own
        super().bind(env)
        assert self.config is not None
        if self._model is not None:
            model = self._model
        else:
            if self.checkpoint is None:
                from agents.pretrained import checkpoint_path

                self.checkpoint = checkpoint_path(self.config.name)
            model, self.meta, _ = load_agent(self.checkpoint, self.config)
        if self._mode is None:
            self.mode = str(self.meta.get("decision_mode", "greedy"))
        trained_bayes = bool(self.meta.get("train_config", {}).get("bayes", True))
        bayes = trained_bayes if self._bayes is None else self._bayes
        self.policy = JointPolicy(model, self.config, bayes=bayes, seed=0)

    def reset(self, seed: Seeds = None) -> None:
        """Seed the sampling generator and the tie RNG (on a vector env: each episode's clone
        with that episode's seed)."""
        super().reset(seed)
        if self.policy is not None:
            self.policy.seed(self._seed)

    def act_agents(self, observations: Observations, infos: dict[str, dict[str, Any]]) -> Actions:
        """One batch-of-one forward pass for all agents of the round."""
        if self.policy is None or self.view is None:
            raise RuntimeError("HGATScheduler: bind(env) before act()")
        agents = list(observations)
        first = observations[agents[0]]
        obs = {k: np.stack([observations[a][k] for a in agents])[None] for k in first}
        ids = self.view.pending[None].copy()
        dec = self.policy.decide(obs, ids, mode=self.mode, with_value=False, with_stats=False)  # type: ignore[arg-type]
        return {a: dec.executed[0, i] for i, a in enumerate(agents)}

    def act_batch(
        self, observations: dict[str, NDArray], infos: Mapping[str, Any], rows: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """One forward pass for every agent of the vector env's episodes ``rows`` ``(B, N, A)``.

        Row ``i`` draws its samples and its Bayes ties from its per-episode clone's policy
        generators (seeded as on the clone path), so each row decides as a batch of one would.
        """
        if self.policy is None:
            raise RuntimeError("HGATScheduler: bind(env) before act()")
        policies: list[JointPolicy] = []
        for i in rows.tolist():
            clone = self._clones[i]
            assert isinstance(clone, HGATScheduler) and clone.policy is not None, "bind(env) first"
            policies.append(clone.policy)
        ids = self._env.pending_task_ids()[rows]  # (B, N, P), as each clone's view.pending
        dec = self.policy.decide(
            observations,
            ids,
            mode=self.mode,  # type: ignore[arg-type]
            with_value=False,
            with_stats=False,
            row_rngs=[p.rng for p in policies],
            row_generators=[p.generator for p in policies],
        )
        return dec.executed
