"""The HGAT actor-critic (heterogeneous graph attention, torch-geometric): graph building from the
padded observation arrays, the encoder, the pointer and allocation heads, the centralised critic,
the Bayes conflict resolver and :class:`HGATScheduler`.

Needs the ``agents`` extra (torch, torch-geometric, safetensors):
``pip install torch==2.13.0 'edgesched[agents]'``; without it, importing this package raises
:class:`agents._optional.MissingExtraError` naming the extra.
"""

from agents._optional import require_extra

require_extra("agents", "the HGAT agent (agents.hgat)")

from agents.hgat.graph import GraphBatch, GraphBuilder  # noqa: E402
from agents.hgat.io import load_agent, save_agent  # noqa: E402
from agents.hgat.model import NAMED_CONFIGS, HGATActorCritic, ModelConfig  # noqa: E402
from agents.hgat.policy import JointPolicy  # noqa: E402
from agents.hgat.scheduler import HGATScheduler  # noqa: E402

__all__ = [
    "NAMED_CONFIGS",
    "GraphBatch",
    "GraphBuilder",
    "HGATActorCritic",
    "HGATScheduler",
    "JointPolicy",
    "ModelConfig",
    "load_agent",
    "save_agent",
]
