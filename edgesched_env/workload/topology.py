"""The edge network: clusters joined by links with a latency and a bandwidth.

A task originates at a **home** cluster with an input data size ``S`` (MB). Placing it on cluster
``n`` delays its first progress by the transfer of its data from home, in whole slots:

.. code-block:: text

    transfer_s(h, n)  = latency_s(path) + S * 8 / bandwidth_mbps(path)     (0 when n == h)
    delay_slots(h, n) = ceil(transfer_s(h, n) / slot_seconds)

where the path is the minimum-latency route from ``h`` to ``n`` (ties: fewer hops, then lower
cluster index), its latency the sum of its links' latencies and its bandwidth the smallest link
bandwidth on it (the bottleneck). Visibility ``"topology"`` shows a task to the clusters within
``visibility_hops`` hops (fewest-hop distance) and, if set, ``visibility_latency_ms`` of its home.

The topology is part of the config (fixed for every episode); only the homes and data sizes are
drawn per episode, from the env RNG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Link",
    "Topology",
    "random_geometric_topology",
    "ring_topology",
    "star_topology",
]


@dataclass(frozen=True)
class Link:
    """An undirected link.

    Attributes:
        a, b: cluster indices.
        latency_ms: one-way latency (ms).
        bandwidth_mbps: bandwidth (Mbit/s).
    """

    a: int
    b: int
    latency_ms: float
    bandwidth_mbps: float

    def __post_init__(self) -> None:
        if self.a == self.b or min(self.a, self.b) < 0:
            raise ValueError(f"Link({self.a}, {self.b}) must join two different clusters >= 0")
        if not (math.isfinite(self.latency_ms) and self.latency_ms >= 0):
            raise ValueError(f"Link({self.a}, {self.b}).latency_ms must be >= 0, got {self.latency_ms!r}")
        if not (math.isfinite(self.bandwidth_mbps) and self.bandwidth_mbps > 0):
            raise ValueError(
                f"Link({self.a}, {self.b}).bandwidth_mbps must be > 0, got {self.bandwidth_mbps!r}"
            )


@dataclass(frozen=True)
class Topology:
    """Clusters and links of an edge network (must be connected).

    Attributes:
        num_clusters: ``N``.
        links: the links (at most one per pair).
        slot_seconds: seconds per slot, for converting transfer times into slots.
        name: a label (``"star"``, ``"ring"``, ``"random-geometric"``, ...).
    """

    num_clusters: int
    links: tuple[Link, ...]
    slot_seconds: float = 60.0
    name: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "links", tuple(self.links))
        if self.num_clusters < 1:
            raise ValueError(f"Topology.num_clusters must be >= 1, got {self.num_clusters}")
        if not (math.isfinite(self.slot_seconds) and self.slot_seconds > 0):
            raise ValueError(f"Topology.slot_seconds must be > 0, got {self.slot_seconds!r}")
        seen = set()
        for link in self.links:
            if max(link.a, link.b) >= self.num_clusters:
                raise ValueError(f"Topology link ({link.a}, {link.b}) names a cluster >= {self.num_clusters}")
            pair = (min(link.a, link.b), max(link.a, link.b))
            if pair in seen:
                raise ValueError(f"Topology has two links between clusters {pair}")
            seen.add(pair)
        if not np.isfinite(self.hops).all():
            raise ValueError("Topology must be connected (some clusters cannot reach each other)")

    # ----------------------------------------------------------------------- derived tables
    def _adjacency(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        n = self.num_clusters
        lat = np.full((n, n), np.inf)
        bw = np.zeros((n, n))
        np.fill_diagonal(lat, 0.0)
        for link in self.links:
            for i, j in ((link.a, link.b), (link.b, link.a)):
                lat[i, j] = link.latency_ms
                bw[i, j] = link.bandwidth_mbps
        return lat, bw

    @property
    def hops(self) -> NDArray[np.float64]:
        """``(N, N)`` fewest-hop distance (``inf`` if unreachable)."""
        return self._routes()[0]

    @property
    def latency_ms(self) -> NDArray[np.float64]:
        """``(N, N)`` latency of the minimum-latency path (ms)."""
        return self._routes()[1]

    @property
    def bandwidth_mbps(self) -> NDArray[np.float64]:
        """``(N, N)`` bottleneck bandwidth on the minimum-latency path (``inf`` on the diagonal)."""
        return self._routes()[2]

    def _routes(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        cached: Any = self.__dict__.get("_route_cache")
        if cached is not None:
            return cached  # type: ignore[no-any-return]  # tuple of arrays cached below
        n = self.num_clusters
        lat, bw = self._adjacency()
        edge = np.isfinite(lat) & ~np.eye(n, dtype=bool)
        hops = np.full((n, n), np.inf)
        path_lat = np.full((n, n), np.inf)
        path_hops = np.full((n, n), np.inf)
        path_bw = np.zeros((n, n))
        for src in range(n):
            # BFS for hop counts.
            hops[src, src] = 0
            frontier = [src]
            while frontier:
                nxt = []
                for u in frontier:
                    for v in np.flatnonzero(edge[u]):
                        if not np.isfinite(hops[src, v]):
                            hops[src, v] = hops[src, u] + 1
                            nxt.append(int(v))
                frontier = nxt
            # Dijkstra on (latency, hops, index) for routes.
            done = np.zeros(n, dtype=bool)
            path_lat[src, src], path_hops[src, src], path_bw[src, src] = 0.0, 0.0, np.inf
            for _ in range(n):
                cand = np.flatnonzero(~done & np.isfinite(path_lat[src]))
                if cand.shape[0] == 0:
                    break
                order = np.lexsort((cand, path_hops[src, cand], path_lat[src, cand]))
                u = int(cand[order[0]])
                done[u] = True
                for v in np.flatnonzero(edge[u] & ~done):
                    key = (path_lat[src, u] + lat[u, v], path_hops[src, u] + 1)
                    if key < (path_lat[src, v], path_hops[src, v]):
                        path_lat[src, v], path_hops[src, v] = key
                        path_bw[src, v] = min(path_bw[src, u], bw[u, v])
        result = (hops, path_lat, path_bw)
        object.__setattr__(self, "_route_cache", result)
        return result

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_route_cache", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def transfer_seconds(self, home: NDArray[np.int64], size_mb: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(T, N)`` seconds to move each task's input from its home to each cluster (0 at home)."""
        _h, lat, bw = self._routes()
        secs = lat[home] / 1000.0 + size_mb[:, None] * 8.0 / bw[home]
        secs[np.arange(home.shape[0]), home] = 0.0
        return secs

    def delay_slots(self, home: NDArray[np.int64], size_mb: NDArray[np.float64]) -> NDArray[np.int64]:
        """``(T, N)`` transfer delay in whole slots, ``ceil(transfer_s / slot_seconds)``."""
        return np.ceil(self.transfer_seconds(home, size_mb) / self.slot_seconds).astype(np.int64)

    def within(
        self, home: NDArray[np.int64], max_hops: int | None, max_latency_ms: float | None
    ) -> NDArray[np.bool_]:
        """``(T, N)`` clusters within the hop and latency radius of each home (home included)."""
        hops, lat, _bw = self._routes()
        vis = np.ones((home.shape[0], self.num_clusters), dtype=bool)
        if max_hops is not None:
            vis &= hops[home] <= max_hops
        if max_latency_ms is not None:
            vis &= lat[home] <= max_latency_ms
        vis[np.arange(home.shape[0]), home] = True
        return vis


def star_topology(
    num_clusters: int, *, latency_ms: float = 5.0, bandwidth_mbps: float = 1000.0, slot_seconds: float = 60.0
) -> Topology:
    """Cluster 0 is the hub; every other cluster has one link to it."""
    links = tuple(Link(0, i, latency_ms, bandwidth_mbps) for i in range(1, num_clusters))
    return Topology(num_clusters, links, slot_seconds, "star")


def ring_topology(
    num_clusters: int, *, latency_ms: float = 5.0, bandwidth_mbps: float = 1000.0, slot_seconds: float = 60.0
) -> Topology:
    """Cluster ``i`` is linked to ``i + 1`` (mod ``N``)."""
    if num_clusters < 3:
        links = tuple(Link(0, 1, latency_ms, bandwidth_mbps) for _ in range(num_clusters - 1))
    else:
        links = tuple(
            Link(i, (i + 1) % num_clusters, latency_ms, bandwidth_mbps) for i in range(num_clusters)
        )
    return Topology(num_clusters, links, slot_seconds, "ring")


def random_geometric_topology(
    num_clusters: int,
    *,
    radius: float = 0.45,
    seed: int = 0,
    ms_per_unit: float = 20.0,
    base_latency_ms: float = 1.0,
    bandwidth_mbps: tuple[float, float] = (100.0, 1000.0),
    slot_seconds: float = 60.0,
) -> Topology:
    """Clusters at uniform random points of the unit square, linked when closer than ``radius``.

    The positions and bandwidths come from ``numpy.random.default_rng(seed)`` (a config-time
    seed, not the episode's RNG: the network is fixed, like a real one). Link latency is
    ``base_latency_ms + ms_per_unit * distance``; bandwidth is drawn log-uniformly in
    ``bandwidth_mbps``. If the radius leaves the graph disconnected, the shortest links of a
    minimum spanning tree are added, so every cluster is reachable.
    """
    rng = np.random.default_rng(seed)
    pos = rng.random((num_clusters, 2))
    lo, hi = np.log(bandwidth_mbps[0]), np.log(bandwidth_mbps[1])
    dist = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(axis=-1))
    bw = np.exp(rng.uniform(lo, hi, size=(num_clusters, num_clusters)))
    pairs = {(i, j) for i in range(num_clusters) for j in range(i + 1, num_clusters) if dist[i, j] <= radius}
    # Prim's minimum spanning tree on distance: guarantees connectivity.
    in_tree = {0}
    while len(in_tree) < num_clusters:
        best = min(
            ((dist[i, j], i, j) for i in in_tree for j in range(num_clusters) if j not in in_tree),
        )
        _d, i, j = best
        pairs.add((min(i, j), max(i, j)))
        in_tree.add(j)
    links = tuple(
        Link(i, j, round(base_latency_ms + ms_per_unit * float(dist[i, j]), 3), round(float(bw[i, j]), 1))
        for i, j in sorted(pairs)
    )
    return Topology(num_clusters, links, slot_seconds, "random-geometric")
