"""MAPPO for the HGAT actor-critic: a typed config, the rollout arithmetic (GAE per agent, value
normalisation), pure loss functions and a CleanRL-style trainer over the vector env.

>>> from agents.mappo import TrainConfig, train          # doctest: +SKIP
>>> result = train(TrainConfig(preset="tapfinger-synthetic", budget_minutes=20), out_dir="runs/x")
"""

from agents.mappo.config import TrainConfig
from agents.mappo.trainer import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
