"""MAPPO for the HGAT actor-critic: a typed config, the rollout arithmetic (GAE per agent, value
normalisation), pure loss functions and a CleanRL-style trainer over the vector env.

>>> from agents.mappo import TrainConfig, train          # doctest: +SKIP
>>> result = train(TrainConfig(preset="tapfinger-synthetic", budget_minutes=20), out_dir="runs/x")

Needs the ``agents`` extra; without it, importing this package raises
:class:`agents._optional.MissingExtraError` naming it.
"""

from agents._optional import require_extra

require_extra("agents", "agents.mappo")

from agents.mappo.config import TrainConfig  # noqa: E402
from agents.mappo.trainer import TrainResult, train  # noqa: E402

__all__ = ["TrainConfig", "TrainResult", "train"]
