"""The HGAT actor-critic (heterogeneous graph attention, torch-geometric): graph building from the
padded observation arrays, the encoder, the pointer and allocation heads, the centralised critic,
the Bayes conflict resolver and :class:`HGATScheduler`.

Needs the ``agents`` extra (torch, torch-geometric): ``pip install torch==2.13.0 'edgesched[agents]'``.
"""

from agents.hgat.graph import GraphBatch, GraphBuilder
from agents.hgat.io import load_agent, save_agent
from agents.hgat.model import NAMED_CONFIGS, HGATActorCritic, ModelConfig
from agents.hgat.policy import JointPolicy
from agents.hgat.scheduler import HGATScheduler

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
