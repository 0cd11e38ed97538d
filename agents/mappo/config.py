"""The typed training config of the MAPPO trainer, and the seed policy.

**Seeds.** Three disjoint sets, so that no evaluation seed is ever trained on or selected on:

* training episodes: the vector env is reset with ``TRAIN_SEED_BASE + 1000 * seed`` (episode ``i``
  of the batch gets that plus ``i``; later episodes continue each episode's own generator);
* model selection (periodic evaluation, keep-best): ``selection_seeds``, default
  ``900000 ... 900004``;
* test: ``edgesched eval`` and ``edgesched bench`` use seeds ``0 ... 9`` (the bench's default),
  never seen by the trainer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from agents.hgat.model import NAMED_CONFIGS, ModelConfig, check_known_fields
from edgesched_env._names import unknown_name_error
from edgesched_env.config import _check_int, _check_real, plain_fields
from edgesched_env.rewards import REWARDS

__all__ = ["SELECTION_SEEDS", "TEST_SEEDS", "TRAIN_SEED_BASE", "TrainConfig"]

TRAIN_SEED_BASE = 1_000_000
SELECTION_SEEDS: tuple[int, ...] = tuple(range(900_000, 900_005))
TEST_SEEDS: tuple[int, ...] = tuple(range(10))


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (stored in every checkpoint).

    Attributes:
        preset: env preset name.
        env_overrides: config overrides for the training and selection envs (``num_tasks=...``).
        profile: a profile CSV to train on instead of ``preset`` (``profile_config(profile,
            **profile_options)``; the path is stored as given).
        profile_options: keyword arguments of :func:`~edgesched_env.presets.profile_config`.
        reward: ``"env"`` (the preset's), ``"local"`` or ``"global"`` (SPEC.md section 7).
        seed: training seed (weights init, sampling, the training episodes).
        num_envs: ``E`` episodes stepped together.
        rollout_rounds: decision rounds per episode per iteration (``T``).
        total_rounds: stop after this many env rounds (``T * E`` per iteration), or ``None``.
        budget_minutes: stop when this wall time is spent (minutes), or ``None``.
        arch: a name of :data:`agents.hgat.model.NAMED_CONFIGS`.
        model_overrides: :class:`~agents.hgat.model.ModelConfig` fields over ``arch``.
        lr, lr_final: Adam learning rate, annealed linearly to ``lr_final`` over the run (the run's
            progress is the larger of the rounds and the wall-time fractions spent).
        gamma, gae_lambda: per slot (see :mod:`agents.mappo.buffer`).
        epochs, minibatches: PPO update passes and minibatches per pass.
        clip, vf_clip: policy ratio clip; value clip in normalised units (``None``: off).
        vf_coef, ent_coef: loss weights.
        max_grad_norm: gradient clipping (global L2 norm).
        norm_adv: normalise advantages per minibatch.
        target_kl: stop an update's epochs early once the approximate KL exceeds it (``None``: off).
        bayes: the Bayes conflict rule in the joint policy (``False``: the env's rule).
        eval_every: evaluate on ``selection_seeds`` every this many iterations (and at the end).
        selection_seeds: model-selection episodes (never trained on, never used for testing).
        selection_modes: decision modes evaluated on them; the best (checkpoint, mode) pair is kept
            and the mode stored in the checkpoint (``decision_mode``) for :class:`HGATScheduler`.
        threads: torch intra-op threads (the same seed and thread count give the same weights).
    """

    preset: str = "tapfinger-synthetic"
    env_overrides: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None
    profile_options: dict[str, Any] = field(default_factory=dict)
    reward: Literal["env", "local", "global"] = "env"
    seed: int = 0
    num_envs: int = 16
    rollout_rounds: int = 64
    total_rounds: int | None = None
    budget_minutes: float | None = None
    arch: str = "cpu"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    lr: float = 3e-4
    lr_final: float = 3e-5
    gamma: float = 0.95
    gae_lambda: float = 0.95
    epochs: int = 4
    minibatches: int = 4
    clip: float = 0.2
    vf_clip: float | None = None
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    max_grad_norm: float = 0.5
    norm_adv: bool = True
    target_kl: float | None = None
    bayes: bool = True
    eval_every: int = 10
    selection_seeds: tuple[int, ...] = SELECTION_SEEDS
    selection_modes: tuple[str, ...] = ("greedy", "sample")
    threads: int = 1

    def __post_init__(self) -> None:
        plain_fields(self)  # numpy scalars as Python numbers (also inside the override dicts)
        if self.total_rounds is None and self.budget_minutes is None:
            raise ValueError("TrainConfig: set total_rounds or budget_minutes (or both)")
        if self.reward != "env" and self.reward not in REWARDS:  # the env's rewards, by name
            choices = " or ".join(repr(r) for r in ("env", *REWARDS))
            raise ValueError(f"TrainConfig.reward must be {choices}, got {self.reward!r}")
        if not isinstance(self.preset, str) or not self.preset:
            raise ValueError(f"TrainConfig.preset must be a preset name, got {self.preset!r}")
        if self.profile is not None and not isinstance(self.profile, str):
            raise ValueError(f"TrainConfig.profile must be a file path or None, got {self.profile!r}")
        if not isinstance(self.arch, str) or self.arch not in NAMED_CONFIGS:
            raise unknown_name_error("TrainConfig.arch", self.arch, NAMED_CONFIGS)
        for name in ("env_overrides", "profile_options", "model_overrides"):
            v = getattr(self, name)
            if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
                raise ValueError(f"TrainConfig.{name} must be a dict of named options, got {v!r}")
        check_known_fields(ModelConfig, self.model_overrides, owner="TrainConfig.model_overrides")
        for name in ("num_envs", "rollout_rounds", "epochs", "minibatches", "eval_every", "threads"):
            _check_int("TrainConfig", name, getattr(self, name), 1)
        _check_int("TrainConfig", "seed", self.seed, 0)
        if self.total_rounds is not None:
            _check_int("TrainConfig", "total_rounds", self.total_rounds, 1)
        if self.budget_minutes is not None:
            _check_real("TrainConfig", "budget_minutes", self.budget_minutes, 0.0, open_low=True)
        for name, lo, hi in (("gamma", 0, 1), ("gae_lambda", 0, 1), ("clip", 0, 1)):
            _check_real("TrainConfig", name, getattr(self, name), lo, hi, open_low=True)
        for name in ("lr", "lr_final", "max_grad_norm"):
            _check_real("TrainConfig", name, getattr(self, name), 0.0, open_low=True)
        for name in ("vf_coef", "ent_coef"):
            _check_real("TrainConfig", name, getattr(self, name), 0.0)
        for name in ("vf_clip", "target_kl"):
            if getattr(self, name) is not None:
                _check_real("TrainConfig", name, getattr(self, name), 0.0, open_low=True)
        for name in ("norm_adv", "bayes"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"TrainConfig.{name} must be true or false, got {getattr(self, name)!r}")
        if self.minibatches > self.num_envs * self.rollout_rounds:
            raise ValueError("TrainConfig.minibatches exceeds the samples of an iteration")
        seeds = self.selection_seeds
        if not isinstance(seeds, (tuple, list)) or not seeds:
            raise ValueError(f"TrainConfig.selection_seeds must be a non-empty list of seeds, got {seeds!r}")
        for s in seeds:
            _check_int("TrainConfig", "selection_seeds[]", s, 0)
        overlap = set(self.selection_seeds) & set(TEST_SEEDS)
        if overlap:
            raise ValueError(f"TrainConfig.selection_seeds overlap the test seeds {sorted(overlap)}")
        object.__setattr__(self, "selection_seeds", tuple(int(s) for s in self.selection_seeds))
        modes = self.selection_modes
        ok = isinstance(modes, (tuple, list)) and modes and all(m in ("greedy", "sample") for m in modes)
        if not ok:
            raise ValueError(
                f"TrainConfig.selection_modes must be a non-empty subset of greedy, sample: {modes!r}"
            )
        object.__setattr__(self, "selection_modes", tuple(modes))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        d = asdict(self)
        d["selection_seeds"] = list(self.selection_seeds)
        d["selection_modes"] = list(self.selection_modes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error that names them."""
        check_known_fields(cls, d)
        d = dict(d)
        for key in ("selection_seeds", "selection_modes"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)

    @property
    def train_seed(self) -> int:
        """The vector env's reset seed for the training episodes."""
        return TRAIN_SEED_BASE + 1000 * self.seed
