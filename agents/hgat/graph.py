"""Heterogeneous graphs for a whole batch of episodes, built from the padded observation arrays.

One graph per episode (the paper's *global* graph), never a per-sample ``HeteroData``: every
tensor of a :class:`GraphBatch` is computed with a handful of vectorised torch ops over the
batched observation of :meth:`edgesched_env.observation.ObservationBuilder.batch` (leading axes
``(G, N)``) and the pending task ids of the same round.

Node types (features read by name through :func:`edgesched_env.observation.feature_layout`):

=========== ================================= ==========================================================
type        one node per                      features
=========== ================================= ==========================================================
``cluster`` cluster (agent) of each episode   free/capacity, capacity/max capacity (R each), pending /
                                              P, queue / P, running / M (``2R+3``; the is-self flag
                                              is dropped: the agent *is* its cluster node)
``pending`` distinct task in any pending      type one-hot (K), min request / max units (R), waiting
            slot of the episode (a task seen  time / time_scale, clusters that see it / N
            by several clusters is one node)  (``K+R+2``; the per-cluster transfer delay is a
                                              feature of the cluster-task pair, used by the actor)
``running`` task running on a cluster         type one-hot (K), units / max units (R), age (``K+R+1``)
``hub``     episode                           mean of the episode's cluster features (``2R+3``)
=========== ================================= ==========================================================

Relations, both directions: ``cluster -offers-> pending`` (the task is in the cluster's pending
slots; queued tasks are only counted in the cluster features), ``cluster -hosts-> running``,
``cluster -joins-> hub``, and their reverses ``pending -offered_by-> cluster``,
``running -runs_on-> cluster``, ``hub -links-> cluster``.

Besides the graph, a :class:`GraphBatch` carries what the actor needs per (episode, agent,
pending position): the pending node of each position, which positions can be placed now, the
transfer delay, ``alloc_mask`` and the exact units (min request, free) used by the conflict
resolver and the multi-task decoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from edgesched_env.config import EnvConfig
from edgesched_env.observation import block_widths, feature_layout

__all__ = [
    "EDGE_TYPES",
    "NODE_TYPES",
    "FusedRelations",
    "GraphBatch",
    "GraphBuilder",
    "fuse_relations",
    "node_feature_dims",
]

NODE_TYPES: tuple[str, ...] = ("cluster", "pending", "running", "hub")
EDGE_TYPES: tuple[tuple[str, str, str], ...] = (
    ("cluster", "offers", "pending"),
    ("pending", "offered_by", "cluster"),
    ("cluster", "hosts", "running"),
    ("running", "runs_on", "cluster"),
    ("cluster", "joins", "hub"),
    ("hub", "links", "cluster"),
)


def node_feature_dims(num_types: int, num_resources: int) -> dict[str, int]:
    """Input feature width of each node type for ``K`` task types and ``R`` resources."""
    w = block_widths(num_types, num_resources, in_state=True)  # without is_self and delay
    return {"cluster": w["clusters"], "pending": w["pending"], "running": w["running"], "hub": w["clusters"]}


@dataclass
class FusedRelations:
    """Every relation's edges in one index space (computed once per batch, used by every layer).

    Nodes of type ``t`` are rows ``offset[t] ... offset[t] + n_t`` of the concatenation of all
    node types (in ``x`` order). An edge's *bucket* is (its destination node, its relation among
    the ``k_t`` relations into that node type): type ``t`` owns buckets ``base[t] ... base[t] +
    n_t * k_t``. Attention is normalised per bucket, as HAN normalises per relation.
    """

    rels: list[tuple[str, str, str]]
    offset: dict[str, int]
    base: dict[str, int]
    into: dict[str, list[tuple[str, str, str]]]
    total: int
    buckets: int
    src: Tensor
    dst: Tensor
    rel: Tensor
    bucket: Tensor


def fuse_relations(
    num_nodes: Mapping[str, int], edge_index: Mapping[tuple[str, str, str], Tensor]
) -> FusedRelations:
    """The :class:`FusedRelations` of a heterogeneous graph (node types in ``num_nodes`` order)."""
    types = list(num_nodes)
    rels = list(edge_index)
    into = {t: [et for et in rels if et[2] == t] for t in types}
    offset: dict[str, int] = {}
    base: dict[str, int] = {}
    total = buckets = 0
    for t in types:
        offset[t], base[t] = total, buckets
        total += num_nodes[t]
        buckets += num_nodes[t] * len(into[t])
    src = torch.cat([edge_index[et][0] + offset[et[0]] for et in rels])
    dst = torch.cat([edge_index[et][1] + offset[et[2]] for et in rels])
    bucket = torch.cat(
        [base[et[2]] + edge_index[et][1] * len(into[et[2]]) + into[et[2]].index(et) for et in rels]
    )
    rel = torch.cat(
        [torch.full((edge_index[et].shape[1],), i, dtype=torch.int64) for i, et in enumerate(rels)]
    )
    return FusedRelations(rels, offset, base, into, total, buckets, src, dst, rel, bucket)


@dataclass
class GraphBatch:
    """``G`` episode graphs of ``N`` clusters, ``P`` pending positions, ``R`` resources, ``L`` levels.

    Attributes:
        x: node features per node type, ``(num_nodes_t, F_t)`` float32.
        edge_index: per relation, ``(2, E_rel)`` int64 (source row, destination row).
        batch: per node type, ``(num_nodes_t,)`` int64 graph index of every node.
        num_graphs: ``G``.
        num_clusters: ``N`` (cluster node of agent ``i`` in graph ``g`` is row ``g * N + i``).
        slot_node: ``(G, N, P)`` int64, pending node row of each pending position (0 where empty).
        slot_mask: ``(G, N, P)`` bool, the position holds a task.
        placeable: ``(G, N, P)`` bool, the task fits on the agent's cluster now.
        delay: ``(G, N, P)`` float32, transfer delay of the task to the agent / time_scale.
        alloc_mask: ``(G, N, P, R, L)`` bool, exact feasible units per resource.
        min_units: ``(G, N, P, R)`` int64, the task's minimum request (units).
        free_units: ``(G, N, R)`` int64, free units of every cluster.
        capacity_units: ``(G, N, R)`` int64, capacity of every cluster.
        max_units: ``(R,)`` int64, the per-task maximum ``L_r - 1``.
        waiting: ``(G, N, P)`` float32, the task's waiting time / time_scale (0 where empty; the
            ``fifo`` task choice reads it).
        fused: the relations in one index space (:func:`fuse_relations`), for the HAN layers.
        attn_batch, attn_groups: the groups over which the HAN layers average their relation-level
            (semantic) attention, and how many; ``None``: the graphs (``batch``, ``G``). The
            ``own`` view groups by agent, so that one agent's nodes do not weigh another's
            relations.
    """

    x: dict[str, Tensor]
    edge_index: dict[tuple[str, str, str], Tensor]
    batch: dict[str, Tensor]
    num_graphs: int
    num_clusters: int
    slot_node: Tensor
    slot_mask: Tensor
    placeable: Tensor
    delay: Tensor
    alloc_mask: Tensor
    min_units: Tensor
    free_units: Tensor
    capacity_units: Tensor
    max_units: Tensor
    waiting: Tensor
    fused: FusedRelations | None = None
    attn_batch: dict[str, Tensor] | None = None
    attn_groups: int | None = None

    def num_nodes(self) -> dict[str, int]:
        """Number of nodes of each type."""
        return {t: int(v.shape[0]) for t, v in self.x.items()}

    def num_edges(self) -> dict[tuple[str, str, str], int]:
        """Number of edges of each relation."""
        return {e: int(v.shape[1]) for e, v in self.edge_index.items()}


class GraphBuilder:
    """Turns batched observations of one env config into a :class:`GraphBatch`.

    Args:
        config: the env config the observations come from (capacities give exact free units).
        actor_view: ``"global"``: one pending node per distinct task of an episode, and every
            relation. ``"own"`` (the decentralised-actor ablation): one pending node per
            (cluster, task), and no ``cluster -joins-> hub`` edges (the relation is kept, empty),
            so that no message carries one agent's observation to another's nodes.
    """

    def __init__(self, config: EnvConfig, actor_view: str = "global") -> None:
        if actor_view not in ("global", "own"):
            raise ValueError(f"actor_view must be 'global' or 'own', got {actor_view!r}")
        self.actor_view = actor_view
        self.config = config
        lay = feature_layout(config)
        self.layout = lay
        self.n = config.num_clusters
        self.r = config.num_resources
        self.k = config.num_types
        cl, pe = lay["clusters"], lay["pending"]
        # the cluster features without is_self, the pending features without delay: both layouts
        # put those last, so the node features are a prefix of the observation rows
        self._f_cluster = cl["is_self"].start
        self._f_pending = pe["delay"].start
        if cl["is_self"].stop != cl["is_self"].start + 1 or pe["delay"].stop != pe["delay"].start + 1:
            raise ValueError("feature layout changed: is_self and delay must be single trailing features")
        self._free = cl["free"]
        self._min = pe["min_request"]
        self._delay = pe["delay"].start
        self._waiting = pe["waiting"].start
        self.capacity = torch.as_tensor(np.array([c.capacity for c in config.clusters]), dtype=torch.float64)
        self.max_units = torch.as_tensor(np.array(config.num_levels) - 1, dtype=torch.int64)
        dims = node_feature_dims(self.k, self.r)
        assert dims["cluster"] == self._f_cluster and dims["pending"] == self._f_pending

    def build(self, obs: Mapping[str, NDArray | Tensor], pending_ids: NDArray | Tensor) -> GraphBatch:
        """The graphs of a batch of rounds.

        Args:
            obs: batched observation arrays with leading axes ``(G, N)`` (``clusters``, ``pending``,
                ``pending_mask``, ``running``, ``running_mask``, ``alloc_mask``).
            pending_ids: ``(G, N, P)`` task id in every pending position of the same round (-1 empty).
        """
        t = {k: torch.as_tensor(obs[k]) for k in ("clusters", "pending", "running", "running_mask")}
        alloc = torch.as_tensor(obs["alloc_mask"]).bool()
        ids = torch.as_tensor(pending_ids).long()
        g, n, p = ids.shape
        dev = alloc.device
        cluster_row = torch.arange(g * n, device=dev).view(g, n)
        graph_of = torch.arange(g, device=dev)

        # clusters: every agent's block holds all clusters; row 0 is as good as any
        x_cluster = t["clusters"][:, 0, :, : self._f_cluster].reshape(g * n, -1).float()
        x_hub = x_cluster.view(g, n, -1).mean(dim=1)

        # pending: one node per distinct (episode, task id); (episode, cluster, task id) when "own"
        occupied = ids >= 0
        span = int(ids.max().item()) + 2 if ids.numel() else 1
        own = self.actor_view == "own"
        owner = cluster_row.view(g, n, 1) if own else graph_of.view(g, 1, 1)
        key = owner * span + ids
        uniq, inv = torch.unique(key[occupied], return_inverse=True)
        x_pending = torch.zeros((uniq.shape[0], self._f_pending), dtype=torch.float32, device=dev)
        x_pending[inv] = t["pending"][occupied][:, : self._f_pending].float()
        slot_node = torch.zeros((g, n, p), dtype=torch.int64, device=dev)
        slot_node[occupied] = inv
        offer_src = cluster_row.unsqueeze(-1).expand(g, n, p)[occupied]

        # running tasks
        run_mask = t["running_mask"].bool()
        x_running = t["running"][run_mask].float()
        m = run_mask.shape[-1]
        host_src = cluster_row.unsqueeze(-1).expand(g, n, m)[run_mask]
        run_dst = torch.arange(x_running.shape[0], device=dev)

        hub_of_cluster = graph_of.repeat_interleave(n)
        all_clusters = torch.arange(g * n, device=dev)
        edges = {
            EDGE_TYPES[0]: torch.stack([offer_src, inv]),
            EDGE_TYPES[1]: torch.stack([inv, offer_src]),
            EDGE_TYPES[2]: torch.stack([host_src, run_dst]),
            EDGE_TYPES[3]: torch.stack([run_dst, host_src]),
            EDGE_TYPES[4]: (
                torch.zeros((2, 0), dtype=torch.int64, device=dev)
                if own
                else torch.stack([all_clusters, hub_of_cluster])
            ),
            EDGE_TYPES[5]: torch.stack([hub_of_cluster, all_clusters]),
        }
        batch = {
            "cluster": hub_of_cluster,
            "pending": torch.div(uniq, span * (n if own else 1), rounding_mode="floor"),
            "running": graph_of.view(g, 1, 1).expand(g, n, m)[run_mask],
            "hub": graph_of,
        }
        free_frac = t["clusters"][:, 0, :, self._free].double()  # (G, N, R)
        free_units = torch.round(free_frac * self.capacity.to(dev)).long()
        min_units = torch.round(t["pending"][..., self._min].double() * self.max_units.to(dev)).long()
        x = {"cluster": x_cluster, "pending": x_pending, "running": x_running, "hub": x_hub}
        attn_batch = None
        if own:  # semantic attention per agent: every node with the cluster row of its owner
            attn_batch = {
                "cluster": all_clusters,
                "pending": torch.div(uniq, span, rounding_mode="floor"),
                "running": host_src,
                "hub": graph_of * n,
            }
        return GraphBatch(
            x=x,
            edge_index=edges,
            batch=batch,
            num_graphs=g,
            num_clusters=n,
            slot_node=slot_node,
            slot_mask=occupied,
            placeable=alloc[..., 0, :].any(dim=-1),
            delay=t["pending"][..., self._delay].float(),
            alloc_mask=alloc,
            min_units=min_units,
            free_units=free_units,
            capacity_units=self.capacity.to(dev).long().expand(g, n, self.r),
            max_units=self.max_units.to(dev),
            waiting=t["pending"][..., self._waiting].float(),
            fused=fuse_relations({k: v.shape[0] for k, v in x.items()}, edges),
            attn_batch=attn_batch,
            attn_groups=g * n if own else None,
        )
