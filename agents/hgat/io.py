"""Saving and loading an HGAT agent: weights in safetensors, configs and layout in JSON.

A saved agent is a checkpoint directory of :mod:`agents.checkpoint` whose ``meta`` holds
``kind = "hgat"``, ``model_config`` (:class:`~agents.hgat.model.ModelConfig`), ``env_config``
(the config it was trained on), ``feature_layout`` (:func:`edgesched_env.observation.feature_layout`),
``type_names`` and ``resource_names``, and optionally ``train_config`` and ``train_state``.

:func:`load_agent` refuses (``CheckpointMismatchError``, naming the key and both values) a
checkpoint whose feature layout, task types or resources differ from the env it is loaded for,
or whose per-agent heads (``shared_actor=False``) were built for another number of clusters. A
different preset with the same layout (e.g. more clusters) is allowed: the graph model does not
depend on the numbers of clusters and tasks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.checkpoint import (
    CheckpointCorruptedError,
    CheckpointMismatchError,
    check_state_dict,
    json_safe,
    load_checkpoint,
    save_checkpoint,
)
from agents.hgat.model import HGATActorCritic, ModelConfig
from edgesched_env.config import EnvConfig
from edgesched_env.observation import feature_layout

__all__ = ["env_signature", "load_agent", "save_agent"]


def env_signature(config: EnvConfig) -> dict[str, Any]:
    """What a model must agree with: feature layout, task types, resources, levels."""
    return {
        "feature_layout": json_safe(feature_layout(config)),
        "type_names": [t.name for t in config.workload.task_types],
        "resource_names": list(config.resource_names),
        "num_levels": max(config.num_levels),
    }


def save_agent(
    path: str | Path,
    model: HGATActorCritic,
    env_config: EnvConfig,
    *,
    extra_tensors: dict[str, dict[str, Any]] | None = None,
    meta: dict[str, Any] | None = None,
    created: str | None = None,
) -> Path:
    """Write ``model`` (and optional extra tensor groups, e.g. the optimizer) to ``path``."""
    doc: dict[str, Any] = {
        "kind": "hgat",
        "model_config": model.cfg.to_dict(),
        "env_config": json_safe(env_config),
        "trained_on": env_config.name,
        **env_signature(env_config),
    }
    doc.update(meta or {})
    tensors = {"model": dict(model.state_dict())}
    tensors.update(extra_tensors or {})
    return save_checkpoint(path, tensors, doc, created=created)


def load_agent(
    path: str | Path, env_config: EnvConfig | None = None, groups: tuple[str, ...] = ("model",)
) -> tuple[HGATActorCritic, dict[str, Any], dict[str, dict[str, Any]]]:
    """Load a saved agent; check it against ``env_config`` when given.

    Returns:
        ``(model, meta, tensors)``: the model in eval mode with its weights, the checkpoint's
        metadata and every tensor group loaded (``groups``).

    Raises:
        CheckpointNotFoundError, CheckpointCorruptedError: missing or damaged files.
        CheckpointMismatchError: incompatible with ``env_config`` or with the model code.
    """
    expect = env_signature(env_config) if env_config is not None else None
    ckpt = load_checkpoint(path, expect=expect, groups=groups)
    meta = ckpt.meta
    if meta.get("kind") != "hgat":
        raise CheckpointCorruptedError(f"{path}: not an HGAT agent checkpoint (kind={meta.get('kind')!r})")
    try:
        mcfg = ModelConfig.from_dict(meta["model_config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointCorruptedError(f"{path}: model_config is invalid: {exc}") from exc
    if env_config is not None and not mcfg.shared_actor and mcfg.num_agents != env_config.num_clusters:
        raise CheckpointMismatchError(
            f"{path}: model_config.num_agents: checkpoint has {mcfg.num_agents} per-agent heads, "
            f"this env has {env_config.num_clusters} clusters"
        )
    if env_config is not None and mcfg.max_picks != (env_config.num_picks):
        raise CheckpointMismatchError(
            f"{path}: model_config.max_picks: checkpoint has {mcfg.max_picks}, this env needs "
            f"{env_config.num_picks} (mode {env_config.mode!r})"
        )
    model = HGATActorCritic(mcfg)
    weights = ckpt.tensors["model"]
    check_state_dict(model.state_dict(), weights, source=str(path))
    model.load_state_dict(weights)
    model.eval()
    return model, meta, ckpt.tensors
