"""The HGAT actor-critic: a heterogeneous graph-attention encoder, the task pointer, the
resource-by-resource allocation decoder and a centralised critic.

Shapes: ``G`` graphs (episodes), ``N`` agents (clusters), ``P`` pending positions, ``R``
resources, ``L`` levels (units ``0 ... L - 1``), ``K`` picks per action (1 in single-task mode),
``H`` hidden width.

* **Encoder.** Per node type a linear embedding, then ``layers`` heterogeneous attention layers
  over the relations of :mod:`agents.hgat.graph`, each ``h <- LayerNorm(h + conv(h))`` (HAN's
  convolution aggregates neighbours only, so the residual is what keeps a node's own features).
  ``conv="han"`` (the paper's): :class:`GraphHANConv`, PyG's :class:`~torch_geometric.nn.HANConv`
  with its semantic (relation-level) attention averaged per graph instead of over the whole
  batch, so that a graph's embedding never depends on the other graphs in its batch (PyG's
  version would make the rollout policy and the policy of a PPO minibatch differ, and a batch of
  one in deployment differ from both). ``"hgt"``: :class:`~torch_geometric.nn.HGTConv`.
  ``"gatv2"``: one :class:`~torch_geometric.nn.GATv2Conv` per relation in a
  :class:`~torch_geometric.nn.HeteroConv` (sum over relations). None of them depends on ``N`` or
  on the number of tasks.
* **Pointer** (task selection, the paper's): additive attention of the agent's query
  ``[h_cluster, free/capacity]`` over the embeddings ``[h_task, delay]`` of its pending positions
  plus a learned stop (no-op) key; masked to the positions whose task fits now. Greedy decoding
  takes the mode of the two-stage reading of that distribution: place iff the total probability
  of placing exceeds 1/2, then the likeliest task (a plain argmax over the ``P + 1`` choices would
  idle whenever the no-op beats each task singly, even when placing is far likelier overall).
* **Allocation**: for the chosen task, resource by resource, logits over ``L`` levels from
  ``[context, one-hot(r), levels already chosen / max]``, masked exactly by ``alloc_mask`` (and by
  what earlier picks of the same action used, in multi-task mode). The last resource never
  allows an all-zero allocation. So a pick is never infeasible, clipped or empty.
* **Multi-task mode**: ``K`` picks decoded in sequence, position by position for all agents at
  once (as the env applies them); after each, the agent's free units drop by the chosen
  allocation, the tasks that no longer fit and every task claimed by any agent's earlier pick are
  masked, and a stop ends the agent's sequence (the remaining picks are no-ops, with no
  probability mass). Two agents choosing one task at the same position are left to the env's
  conflict rule (the Bayes rule is applied to single-task rounds).
* **Critic**: centralised (MAPPO): per agent, ``[h_cluster, mean over the graph's clusters,
  h_hub]`` -> MLP -> a *linear* scalar (value-normalised units; see
  :class:`agents.mappo.buffer.RunningNorm`). The graph of an episode holds every cluster, every
  pending task and every running task: the global state.
* Actor heads are shared by all agents (identity from the agent's own cluster node); with
  ``shared_actor=False`` each agent index has its own pointer and allocation heads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GATv2Conv, HANConv, HeteroConv, HGTConv
from torch_geometric.utils import scatter, softmax

from agents.hgat.graph import (
    EDGE_TYPES,
    NODE_TYPES,
    FusedRelations,
    GraphBatch,
    fuse_relations,
    node_feature_dims,
)
from edgesched_env._names import unknown_name_error
from edgesched_env.config import plain_fields

__all__ = ["NAMED_CONFIGS", "ActOutput", "GraphHANConv", "HGATActorCritic", "ModelConfig"]

_NEG = -1e9  # logit of a masked choice (finite: keeps entropies free of NaN)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of :class:`HGATActorCritic` (JSON-serialisable; stored in checkpoints).

    Attributes:
        num_types: ``K`` task types of the env (feature width).
        num_resources: ``R``.
        num_levels: ``L = max(num_levels)`` of the env.
        conv: ``"han"`` (paper), ``"hgt"`` or ``"gatv2"``.
        hidden: ``H``, width of every node embedding.
        layers: number of graph-attention layers.
        heads: attention heads (``hidden`` must be divisible by it).
        head_hidden: width of the pointer / allocation / critic MLPs.
        shared_actor: one set of actor heads for all agents; ``False``: one per agent index.
        num_agents: required when ``shared_actor`` is ``False``.
        max_picks: ``K`` (1 in single-task mode).
        stop_bias_init: initial offset of the stop (no-op) logit.
        encoder: ``"graph"`` (the attention layers) or ``"mlp"`` (ablation "no graph network":
            each layer is a per-node ``Linear + tanh`` with the same residual and LayerNorm, so no
            node sees any other; the hub keeps its input, the mean of the cluster features).
        task_choice: ``"pointer"`` (the paper's attention over the pending tasks), ``"uniform"``
            (ablation "no pointer": every fitting task equally likely, sampled even in greedy
            decoding) or ``"fifo"`` (ablation "vanilla DRL": the fitting task that has waited
            longest). In the two ablations only *whether* to place is learned (the stop logit
            against the tasks' fixed logits 0); the allocation decoder is unchanged.
        actor_view: ``"global"`` (the paper's: one graph of every agent's pending tasks) or
            ``"own"`` (ablation "decentralised actor"): a task in several clusters' slots is one
            node per cluster, and the hub receives no messages, so an agent's embedding is built
            from its own observation only (its cluster, pending and running tasks, and the mean
            cluster features every agent observes). The critic stays centralised (mean over all
            agents' embeddings).
    """

    num_types: int
    num_resources: int
    num_levels: int
    conv: Literal["han", "hgt", "gatv2"] = "han"
    hidden: int = 64
    layers: int = 2
    heads: int = 4
    head_hidden: int = 64
    shared_actor: bool = True
    num_agents: int | None = None
    max_picks: int = 1
    stop_bias_init: float = -2.0
    encoder: Literal["graph", "mlp"] = "graph"
    task_choice: Literal["pointer", "uniform", "fifo"] = "pointer"
    actor_view: Literal["global", "own"] = "global"

    def __post_init__(self) -> None:
        plain_fields(self)  # numpy scalars as Python numbers
        for name, allowed in (
            ("conv", ("han", "hgt", "gatv2")),
            ("encoder", ("graph", "mlp")),
            ("task_choice", ("pointer", "uniform", "fifo")),
            ("actor_view", ("global", "own")),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"ModelConfig.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        ints = ("num_types", "num_resources", "num_levels", "hidden", "layers", "heads", "head_hidden")
        for name in (*ints, "max_picks"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"ModelConfig.{name} must be a positive int, got {v!r}")
        if self.hidden % self.heads:
            raise ValueError(f"ModelConfig.hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        if not isinstance(self.shared_actor, bool):
            raise ValueError(f"ModelConfig.shared_actor must be true or false, got {self.shared_actor!r}")
        n = self.num_agents
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            raise ValueError(f"ModelConfig.num_agents must be a positive int or None, got {n!r}")
        if not self.shared_actor and not self.num_agents:
            raise ValueError("ModelConfig.num_agents is required when shared_actor is False")
        b = self.stop_bias_init
        if not isinstance(b, (int, float)) or isinstance(b, bool) or not math.isfinite(b):
            raise ValueError(f"ModelConfig.stop_bias_init must be a finite number, got {b!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error that names them."""
        check_known_fields(cls, d)
        return cls(**d)


def check_known_fields(cls: type, d: dict[str, Any], owner: str | None = None) -> None:
    """Raise ``ValueError`` naming the keys of ``d`` that are not fields of dataclass ``cls``
    (``owner``: where the keys came from, for the message)."""
    known = {f.name for f in fields(cls)}
    extra = sorted(set(d) - known)
    if extra:
        where = f" in {owner}" if owner else ""
        raise unknown_name_error(f"{cls.__name__} keys{where}", extra, known)


#: Named architectures: ``paper`` is the paper's size (8 layers, hidden 256, 4 heads); ``cpu``
#: (the default) is sized for training on a 2-core CPU.
NAMED_CONFIGS: dict[str, dict[str, Any]] = {
    "cpu": {"hidden": 64, "layers": 2, "heads": 4, "head_hidden": 64},
    "paper": {"hidden": 256, "layers": 8, "heads": 4, "head_hidden": 256},
    "tiny": {"hidden": 32, "layers": 1, "heads": 2, "head_hidden": 32},
}


class GraphHANConv(HANConv):
    """:class:`~torch_geometric.nn.HANConv` with per-graph semantic attention, all relations fused.

    Same parameters and the same node-level attention as the parent (per relation: LeakyReLU of
    ``a_src . x_j + a_dst . x_i``, softmax over the destination's in-edges of that relation, sum of
    the weighted projected sources, ReLU), and the same relation-level ("semantic") attention,
    except that PyG averages the relation scores over every destination node of the *batch* while
    here they are averaged over the nodes of each *graph* (``batch_dict``), so a graph's output
    does not depend on its batch-mates. For a batch of one graph both agree (tested).

    The forward pass handles every relation in one gather / softmax / scatter over the union of
    the edges (grouped by destination and relation) instead of one ``propagate`` per relation:
    about six times fewer kernel launches, which is what a small graph's latency is made of.
    """

    def forward(  # type: ignore[override]
        self,
        x_dict: dict[str, Tensor],
        edge_index_dict: dict[tuple[str, str, str], Tensor],
        batch_dict: dict[str, Tensor],
        num_graphs: int,
        fused: FusedRelations | None = None,
    ) -> dict[str, Tensor]:
        heads, dim = self.heads, self.out_channels // self.heads
        types = list(x_dict)
        if fused is None:
            fused = fuse_relations({t: x_dict[t].shape[0] for t in types}, edge_index_dict)
        base, into = fused.base, fused.into
        total, buckets, rels = fused.total, fused.buckets, fused.rels
        src, dst, rel, bucket = fused.src, fused.dst, fused.rel, fused.bucket
        proj = torch.cat([self.proj[t](x_dict[t]) for t in types]).view(total, heads, dim)
        a_src = torch.cat([self.lin_src["__".join(et)] for et in rels])  # (rel, H, D)
        a_dst = torch.cat([self.lin_dst["__".join(et)] for et in rels])
        # per node and relation first (nodes x relations is far smaller than edges x H x D)
        s_src = torch.einsum("nhd,rhd->nrh", proj, a_src)  # (nodes, rel, H)
        s_dst = torch.einsum("nhd,rhd->nrh", proj, a_dst)
        x_j = proj[src]  # (E, H, D)
        alpha = s_src[src, rel] + s_dst[dst, rel]  # (E, H)
        alpha = F.leaky_relu(alpha, self.negative_slope)
        alpha = softmax(alpha, bucket, num_nodes=buckets)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        msg = (x_j * alpha.unsqueeze(-1)).view(-1, heads * dim)
        agg = F.relu(scatter(msg, bucket, dim=0, dim_size=buckets, reduce="sum"))
        result: dict[str, Tensor] = {}
        for t in types:
            k = len(into[t])
            if k == 0:
                continue
            n_t = x_dict[t].shape[0]
            block = agg[base[t] : base[t] + n_t * k].view(n_t, k, heads * dim)
            if k == 1:
                result[t] = block[:, 0]
                continue
            node_score = (self.q * torch.tanh(self.k_lin(block))).sum(-1)  # (n, k)
            graph_score = scatter(node_score, batch_dict[t], dim=0, dim_size=num_graphs, reduce="mean")
            attn = torch.softmax(graph_score, dim=1)[batch_dict[t]]  # (n, k)
            result[t] = (attn.unsqueeze(-1) * block).sum(1)
        return result


def _mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inp, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, out)
    )


class _ActorHeads(nn.Module):
    """Pointer and allocation heads of one agent (or of all agents when shared)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        h, hh, r = cfg.hidden, cfg.head_hidden, cfg.num_resources
        self.query = nn.Linear(h + r, hh)
        self.key = nn.Linear(h + 1, hh, bias=False)
        self.stop_key = nn.Parameter(torch.zeros(hh))
        # a learned offset of the stop logit, initialised below 0 so that the untrained policy is
        # work-conserving-leaning (places a fitting task more often than it idles)
        self.stop_bias = nn.Parameter(torch.full((1,), cfg.stop_bias_init))
        self.score = nn.Linear(hh, 1, bias=False)
        self.context = nn.Sequential(nn.Linear(2 * h + 1 + r, hh), nn.Tanh())
        self.levels = _mlp(hh + 2 * r, hh, cfg.num_levels)

    def slot_logits(self, h_agent: Tensor, free_frac: Tensor, h_slots: Tensor, delay: Tensor) -> Tensor:
        """``(..., P + 1)`` unmasked logits over the pending positions and the stop token."""
        q = self.query(torch.cat([h_agent, free_frac], -1)).unsqueeze(-2)  # (..., 1, hh)
        k = self.key(torch.cat([h_slots, delay.unsqueeze(-1)], -1))  # (..., P, hh)
        s = self.score(torch.tanh(q + k)).squeeze(-1)  # (..., P)
        stop = self.score(torch.tanh(q.squeeze(-2) + self.stop_key)) + self.stop_bias  # (..., 1)
        return torch.cat([s, stop], -1)

    def context_of(self, hc: Tensor, h_task: Tensor, delay: Tensor, free_frac: Tensor) -> Tensor:
        """``(..., hh)`` decoding context of the chosen task."""
        return self.context(torch.cat([hc, h_task, delay, free_frac], -1))

    def level_logits(self, ctx: Tensor, r_onehot: Tensor, prev: Tensor) -> Tensor:
        """``(..., L)`` unmasked logits of one resource's units."""
        return self.levels(torch.cat([ctx, r_onehot, prev], -1))


@dataclass
class ActOutput:
    """What one policy pass returns (``K = 1`` in single-task mode).

    Attributes:
        actions: ``(G, N, K * (1 + R))`` int64, env actions (position ``P`` = stop / no-op).
        logp_slot: ``(G, N)`` log-probability of the positions chosen (summed over picks).
        logp_alloc: ``(G, N)`` log-probability of the units chosen (summed over resources, picks).
        entropy: ``(G, N)`` entropy of the position choices plus of the allocations decoded.
        value: ``(G, N)`` critic output (normalised units).
        select_prob: ``(G, N)`` probability of the first pick's position (for the Bayes resolver).
    """

    actions: Tensor
    logp_slot: Tensor
    logp_alloc: Tensor
    entropy: Tensor
    value: Tensor
    select_prob: Tensor


def _masked(logits: Tensor, mask: Tensor) -> Tensor:
    return logits.masked_fill(~mask, _NEG)


#: a torch RNG for the whole batch, or one per graph (row ``g`` of the batch draws from ``[g]``)
Generators = torch.Generator | Sequence[torch.Generator] | None


def _choose(logits: Tensor, mode: str, generator: Generators) -> Tensor:
    """Argmax (greedy) or a Gumbel-max sample from the (masked) logits ``(G, ...)``, seeded by
    ``generator`` (a sequence: graph ``g``'s noise is drawn from its own ``generator[g]``, as a
    batch of one would draw it)."""
    if mode == "greedy":
        return logits.argmax(-1)
    if generator is None or isinstance(generator, torch.Generator):
        u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype)
    else:
        one = (1, *logits.shape[1:])
        u = torch.cat([torch.rand(one, generator=gen, dtype=logits.dtype) for gen in generator])
    u = u.clamp_(1e-20, 1.0)
    return (logits - torch.log(-torch.log(u))).argmax(-1)


def _entropy(logp: Tensor) -> Tensor:
    return -(logp.exp() * logp).sum(-1)


class HGATActorCritic(nn.Module):
    """The learned agent: encoder, actor heads and critic (see the module docstring)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        dims = node_feature_dims(cfg.num_types, cfg.num_resources)
        self.embed = nn.ModuleDict({t: nn.Linear(dims[t], h) for t in NODE_TYPES})
        metadata = (list(NODE_TYPES), list(EDGE_TYPES))
        convs: list[nn.Module] = []
        for _ in range(cfg.layers):
            if cfg.encoder == "mlp":
                mlp = {t: nn.Sequential(nn.Linear(h, h), nn.Tanh()) for t in NODE_TYPES}
                convs.append(nn.ModuleDict(mlp))
            elif cfg.conv == "han":
                convs.append(GraphHANConv(h, h, metadata, heads=cfg.heads))
            elif cfg.conv == "hgt":
                convs.append(HGTConv(h, h, metadata, heads=cfg.heads))
            else:
                convs.append(
                    HeteroConv(
                        {
                            et: GATv2Conv((h, h), h // cfg.heads, heads=cfg.heads, add_self_loops=False)
                            for et in EDGE_TYPES
                        },
                        aggr="sum",
                    )
                )
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList(
            [nn.ModuleDict({t: nn.LayerNorm(h) for t in NODE_TYPES}) for _ in range(cfg.layers)]
        )
        n_heads = 1 if cfg.shared_actor else int(cfg.num_agents or 1)
        self.actor = nn.ModuleList([_ActorHeads(cfg) for _ in range(n_heads)])
        self.critic = _mlp(3 * h, cfg.head_hidden, 1)

    # ----------------------------------------------------------------------------- encoder
    def encode(self, gb: GraphBatch) -> dict[str, Tensor]:
        """Node embeddings ``(num_nodes_t, H)`` per node type."""
        h = {t: torch.tanh(self.embed[t](gb.x[t])) for t in NODE_TYPES}
        for conv, norm_layer in zip(self.convs, self.norms):
            norm: nn.ModuleDict = norm_layer  # type: ignore[assignment]
            if isinstance(conv, nn.ModuleDict):  # the MLP encoder: no messages
                out = {t: conv[t](h[t]) for t in NODE_TYPES}
            elif isinstance(conv, GraphHANConv):
                groups = gb.attn_batch if gb.attn_batch is not None else gb.batch
                count = gb.attn_groups if gb.attn_groups is not None else gb.num_graphs
                out = conv(h, gb.edge_index, groups, count, gb.fused)
            else:
                out = conv(h, gb.edge_index)
            h = {t: norm[t](h[t] + out[t]) if out.get(t) is not None else h[t] for t in NODE_TYPES}
        return h

    def value(self, gb: GraphBatch, h: dict[str, Tensor]) -> Tensor:
        """``(G, N)`` centralised value of every agent (normalised units)."""
        g, n = gb.num_graphs, gb.num_clusters
        hc = h["cluster"].view(g, n, -1)
        inp = torch.cat([hc, hc.mean(1, keepdim=True).expand_as(hc), h["hub"].unsqueeze(1).expand_as(hc)], -1)
        return self.critic(inp).squeeze(-1)

    # ------------------------------------------------------------------------------ policy
    def _heads_apply(self, fn: str, agent_axis_tensors: list[Tensor], n: int) -> Tensor:
        """Apply a head method; with per-agent heads, agent ``i`` (axis 1) uses head ``i``."""
        if len(self.actor) == 1:
            return getattr(self.actor[0], fn)(*agent_axis_tensors)
        outs = [getattr(self.actor[i], fn)(*[x[:, i] for x in agent_axis_tensors]) for i in range(n)]
        return torch.stack(outs, 1)

    def _slot_inputs(self, gb: GraphBatch, h: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """``(G, N, H)`` agent embeddings and ``(G, N, P, H)`` embeddings of their pending positions."""
        g, n = gb.num_graphs, gb.num_clusters
        hc = h["cluster"].view(g, n, -1)
        if h["pending"].shape[0]:
            return hc, h["pending"][gb.slot_node]
        return hc, hc.new_zeros((*gb.slot_node.shape, self.cfg.hidden))

    def _slot_log_probs(
        self, gb: GraphBatch, hc: Tensor, h_slots: Tensor, free_frac: Tensor, fits: Tensor
    ) -> Tensor:
        """``(G, N, P + 1)`` log-probabilities over the positions in ``fits`` and the stop token."""
        g, n = gb.num_graphs, gb.num_clusters
        logits = self._heads_apply("slot_logits", [hc, free_frac, h_slots, gb.delay], n)
        choice = self.cfg.task_choice
        if choice != "pointer":  # the ablations: fixed task logits, only the stop logit is learned
            fixed = torch.zeros_like(logits[..., :-1])
            if choice == "fifo":  # only the fitting task that has waited longest (ties: first position)
                wait = gb.waiting.masked_fill(~fits, -1.0)
                first = F.one_hot(wait.argmax(-1), fits.shape[-1]).bool()
                fits = fits & first
            logits = torch.cat([fixed, logits[..., -1:]], -1)
        ok = torch.cat([fits, torch.ones((g, n, 1), dtype=torch.bool)], -1)
        return torch.log_softmax(_masked(logits, ok), -1)

    def slot_log_probs(self, gb: GraphBatch) -> Tensor:
        """``(G, N, P + 1)`` log-probabilities of the first pick's position (last: stop / no-op)."""
        hc, h_slots = self._slot_inputs(gb, self.encode(gb))
        free_frac = (gb.free_units.double() / gb.capacity_units.double().clamp_min(1.0)).float()
        return self._slot_log_probs(gb, hc, h_slots, free_frac, gb.placeable)

    def forward(
        self,
        gb: GraphBatch,
        actions: Tensor | None = None,
        mode: Literal["sample", "greedy"] = "sample",
        generator: Generators = None,
        with_value: bool = True,
        with_stats: bool = True,
    ) -> ActOutput:
        """Decode actions (``actions is None``) or score given ``actions`` (teacher forcing).

        Args:
            gb: the graphs of ``G`` rounds.
            actions: ``(G, N, K * (1 + R))`` actions to evaluate, or ``None`` to choose them.
            mode: ``"sample"`` or ``"greedy"`` (when choosing).
            generator: torch RNG for sampling (deterministic given its seed), or one per graph.
            with_value: run the critic (acting alone does not need it; ``value`` is then zeros).
            with_stats: compute the entropies and the allocation log-probabilities (acting alone
                needs neither; they are then zeros). ``logp_slot`` and ``select_prob`` always are.
        """
        cfg = self.cfg
        h = self.encode(gb)
        g, n = gb.num_graphs, gb.num_clusters
        p, r = gb.slot_node.shape[-1], cfg.num_resources
        width = 1 + r
        hc, h_slots = self._slot_inputs(gb, h)
        cap_units = gb.capacity_units.double().clamp_min(1.0)
        rem_free = gb.free_units.clone()  # (G, N, R)
        picked = torch.zeros((g, n, p), dtype=torch.bool)
        taken = torch.zeros(gb.x["pending"].shape[0], dtype=torch.bool)  # claimed by any agent's pick
        stopped = torch.zeros((g, n), dtype=torch.bool)
        levels_idx = torch.arange(gb.alloc_mask.shape[-1])
        r_eye = torch.eye(r)
        max_units = gb.max_units.double().clamp_min(1.0)

        out_actions = torch.zeros((g, n, cfg.max_picks * width), dtype=torch.int64)
        logp_slot = hc.new_zeros((g, n))
        logp_alloc = hc.new_zeros((g, n))
        entropy = hc.new_zeros((g, n))
        select_prob = hc.new_zeros((g, n))
        for k in range(cfg.max_picks):
            if k == 0:
                fits = gb.placeable
            else:  # what the earlier picks of every agent left: the task, and room for it
                fits = gb.placeable & ~picked & (gb.min_units <= rem_free.unsqueeze(2)).all(-1)
                if taken.numel():
                    fits = fits & ~taken[gb.slot_node]
            fits = fits & ~stopped.unsqueeze(-1)
            free_frac = (rem_free.double() / cap_units).float()
            logp_all = self._slot_log_probs(gb, hc, h_slots, free_frac, fits)
            if actions is None and mode == "greedy":  # two-stage mode: place iff P(place) > 1/2
                idle = logp_all[..., -1] >= math.log(0.5)
                if cfg.task_choice == "uniform":  # a uniform choice has no mode: draw the task
                    slot = _choose(logp_all[..., :-1], "sample", generator).masked_fill(idle, p)
                else:
                    slot = logp_all[..., :-1].argmax(-1).masked_fill(idle, p)
            elif actions is None:
                slot = _choose(logp_all, mode, generator)
            else:
                slot = actions[..., k * width].long()
            lp = logp_all.gather(-1, slot.unsqueeze(-1)).squeeze(-1)
            live = ~stopped
            logp_slot = logp_slot + torch.where(live, lp, torch.zeros_like(lp))
            if with_stats:
                entropy = entropy + torch.where(live, _entropy(logp_all), torch.zeros_like(lp))
            if k == 0:
                select_prob = lp.exp()
            place = live & (slot < p)
            slot_c = slot.clamp(max=p - 1)
            take = slot_c.view(g, n, 1, 1).expand(g, n, 1, cfg.hidden)
            h_task = h_slots.gather(2, take).squeeze(2)
            delay = gb.delay.gather(2, slot_c.unsqueeze(-1))
            ctx = self._heads_apply("context_of", [hc, h_task, delay, free_frac], n)
            mask_all = gb.alloc_mask.gather(
                2, slot_c.view(g, n, 1, 1, 1).expand(g, n, 1, r, gb.alloc_mask.shape[-1])
            ).squeeze(2)  # (G, N, R, L)
            if k > 0:  # alloc_mask is exact for the first pick; later ones see what is left
                mask_all = mask_all & (levels_idx <= rem_free.unsqueeze(-1))
            prev = hc.new_zeros((g, n, r))
            units = torch.zeros((g, n, r), dtype=torch.int64)
            for j in range(r):
                mask_j = mask_all[:, :, j]
                if j == r - 1:  # no all-zero allocation: drop level 0 when all earlier units are 0
                    empty_so_far = (
                        (units[..., :j] == 0).all(-1) if j else torch.ones((g, n), dtype=torch.bool)
                    )
                    has_other = mask_j[..., 1:].any(-1)
                    drop0 = empty_so_far & has_other
                    mask_j = mask_j.clone()
                    mask_j[..., 0] &= ~drop0
                # rows that do not place: any level is fine (masked out of the loss below)
                mask_j = mask_j | ~place.unsqueeze(-1)
                lg = self._heads_apply("level_logits", [ctx, r_eye[j].expand(g, n, r), prev], n)
                lpl = torch.log_softmax(_masked(lg, mask_j), -1)
                if actions is None:
                    u_j = _choose(lpl, mode, generator)
                else:
                    u_j = actions[..., k * width + 1 + j].long()
                if with_stats:
                    lpu = lpl.gather(-1, u_j.unsqueeze(-1)).squeeze(-1)
                    logp_alloc = logp_alloc + torch.where(place, lpu, torch.zeros_like(lpu))
                    entropy = entropy + torch.where(place, _entropy(lpl), torch.zeros_like(lpu))
                u_j = u_j * place
                units[..., j] = u_j
                prev = prev.clone()
                prev[..., j] = (u_j.double() / max_units[j]).float()
            out_actions[..., k * width] = torch.where(live, slot, torch.full_like(slot, p))
            out_actions[..., k * width + 1 : (k + 1) * width] = units
            if k == cfg.max_picks - 1:
                break
            rem_free = rem_free - units
            picked = picked | (F.one_hot(slot, p + 1)[..., :p].bool() & place.unsqueeze(-1))
            stopped = stopped | (slot == p)
            if taken.numel():
                chosen = gb.slot_node.gather(2, slot_c.unsqueeze(-1)).squeeze(-1)
                taken = taken.clone()
                taken[chosen[place]] = True
        return ActOutput(
            actions=out_actions,
            logp_slot=logp_slot,
            logp_alloc=logp_alloc,
            entropy=entropy,
            value=self.value(gb, h) if with_value else hc.new_zeros((g, n)),
            select_prob=select_prob,
        )
