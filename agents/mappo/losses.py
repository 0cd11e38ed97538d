"""PPO's loss terms as pure functions of tensors (unit-tested on known inputs).

Every function takes a ``weight`` tensor of the same shape as its inputs (1 for a sample that
counts, 0 for padding such as the autoreset round) and returns weighted means.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["clipped_policy_loss", "entropy_bonus", "explained_variance", "normalize_advantages", "value_loss"]


def _wmean(x: Tensor, weight: Tensor) -> Tensor:
    return (x * weight).sum() / weight.sum().clamp_min(1.0)


def normalize_advantages(adv: Tensor, weight: Tensor, eps: float = 1e-8) -> Tensor:
    """``(adv - mean) / (std + eps)`` over the weighted samples."""
    mean = _wmean(adv, weight)
    var = _wmean((adv - mean) ** 2, weight)
    return (adv - mean) / (var.sqrt() + eps)


def clipped_policy_loss(
    logp_new: Tensor, logp_old: Tensor, adv: Tensor, weight: Tensor, clip: float
) -> tuple[Tensor, Tensor, Tensor]:
    """PPO's clipped surrogate (to minimise), the clip fraction and the approximate KL.

    ``loss = mean(max(-A r, -A clip(r, 1 - c, 1 + c)))`` with ``r = exp(logp_new - logp_old)``;
    ``approx_kl = mean((r - 1) - log r)`` (Schulman's low-variance estimator).
    """
    log_ratio = logp_new - logp_old
    ratio = log_ratio.exp()
    loss = _wmean(torch.maximum(-adv * ratio, -adv * ratio.clamp(1.0 - clip, 1.0 + clip)), weight)
    with torch.no_grad():
        clip_frac = _wmean(((ratio - 1.0).abs() > clip).float(), weight)
        approx_kl = _wmean((ratio - 1.0) - log_ratio, weight)
    return loss, clip_frac, approx_kl


def value_loss(
    v_new: Tensor, v_old: Tensor, target: Tensor, weight: Tensor, clip: float | None = None
) -> Tensor:
    """``0.5 * mean((v - target)^2)``; with ``clip``, PPO2's pessimistic clipped-value variant."""
    err = (v_new - target) ** 2
    if clip is not None:
        v_clip = v_old + (v_new - v_old).clamp(-clip, clip)
        err = torch.maximum(err, (v_clip - target) ** 2)
    return 0.5 * _wmean(err, weight)


def entropy_bonus(entropy: Tensor, weight: Tensor) -> Tensor:
    """Weighted mean entropy (the trainer subtracts ``ent_coef`` times it)."""
    return _wmean(entropy, weight)


def explained_variance(pred: Tensor, target: Tensor, weight: Tensor) -> float:
    """``1 - Var(target - pred) / Var(target)`` over the weighted samples (NaN if Var(target) = 0)."""

    def var(x: Tensor) -> Tensor:
        m = _wmean(x, weight)
        return _wmean((x - m) ** 2, weight)

    vt = var(target)
    if float(vt) == 0.0:
        return float("nan")
    return float(1.0 - var(target - pred) / vt)
