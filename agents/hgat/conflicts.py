"""The paper's Bayes rule for conflicts, applied by the joint policy before ``env.step``.

When several agents of one episode select the same task in a round (single-task mode), agent
``i``'s claim has posterior

    post_i  ∝  p_i * softmax_j(c_j)_i,        c_i = min over resources with m_r > 0 of free_i,r / m_r

where ``p_i`` is the probability that agent ``i``'s policy gave to the position it chose and
``c_i`` the capacity ratio of its cluster for the task (how many minimum-size copies it could
host now; SPEC.md section 6). The winner is the argmax (exact ties drawn with the policy's RNG);
every loser's action becomes a no-op and is flagged, so that its allocation terms are dropped
from the PPO loss (its selection stays: it did choose the task). A task whose minimum request is
zero for every resource has ratio 0 on every cluster (the prior decides).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from edgesched_env.sim.kernels import capacity_ratio as kernel_capacity_ratio

__all__ = ["bayes_resolve", "capacity_ratio"]


def capacity_ratio(free_units: NDArray[np.int64], min_units: NDArray[np.int64]) -> NDArray[np.float64]:
    """``(...,)`` ``min_{r: m_r > 0} free_r / m_r`` (0 where every ``m_r`` is 0): the env's
    :func:`edgesched_env.sim.kernels.capacity_ratio` over any leading axes.

    Args:
        free_units: ``(..., R)`` free units of the cluster.
        min_units: ``(..., R)`` the task's minimum request.
    """
    free = np.asarray(free_units)
    r = free.shape[-1]
    flat_free = np.ascontiguousarray(free.reshape(-1, r), dtype=np.int64)
    flat_min = np.ascontiguousarray(np.asarray(min_units).reshape(-1, r), dtype=np.int64)
    ratio: NDArray[np.float64] = kernel_capacity_ratio(flat_free, flat_min).reshape(free.shape[:-1])
    return ratio


def bayes_resolve(
    actions: NDArray[np.int64],
    select_prob: NDArray[np.floating],
    pending_ids: NDArray[np.int64],
    free_units: NDArray[np.int64],
    min_units: NDArray[np.int64],
    rng: np.random.Generator | Sequence[np.random.Generator],
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Resolve same-task selections of one round with the Bayes rule.

    Args:
        actions: ``(G, N, 1 + R)`` single-task actions (position ``P`` = no-op).
        select_prob: ``(G, N)`` probability of each agent's chosen position.
        pending_ids: ``(G, N, P)`` task id per pending position (-1 empty).
        free_units: ``(G, N, R)`` free units per cluster.
        min_units: ``(G, N, P, R)`` minimum request of each position's task.
        rng: draws exact ties; a sequence gives one generator per episode (row ``g``), so that an
            episode's ties do not depend on its batch-mates.

    Returns:
        ``(executed, lost)``: the actions with every loser's turned into a no-op, and ``(G, N)``
        the losers.
    """
    g, n, p = pending_ids.shape
    slot = actions[..., 0]
    placing = slot < p
    task = np.where(
        placing, np.take_along_axis(pending_ids, np.minimum(slot, p - 1)[..., None], -1)[..., 0], -1
    )
    lost = np.zeros((g, n), dtype=bool)
    executed = actions
    # a task chosen twice in an episode shows as a repeated (episode, task) key
    key = np.where(placing, np.arange(g)[:, None] * (pending_ids.max() + 2) + task, -1)
    flat = key[placing]
    if flat.size == np.unique(flat).size:
        return executed, lost
    executed = actions.copy()
    vals, counts = np.unique(flat, return_counts=True)
    for k in vals[counts > 1].tolist():
        gi, agents = np.nonzero(key == k)
        ge = int(gi[0])
        pos = np.minimum(slot[ge, agents], p - 1)
        ratio = capacity_ratio(free_units[ge, agents], min_units[ge, agents, pos])
        w = np.exp(ratio - ratio.max())
        post = np.asarray(select_prob[ge, agents], dtype=np.float64) * (w / w.sum())
        best = np.flatnonzero(post == post.max())
        gen = rng if isinstance(rng, np.random.Generator) else rng[ge]
        winner = int(best[0]) if best.size == 1 else int(gen.choice(best))
        for j, a in enumerate(agents.tolist()):
            if j != winner:
                lost[ge, a] = True
                executed[ge, a] = 0
                executed[ge, a, 0] = p
    return executed, lost
