"""The latency of the network path between two hosts, as Shadow routes it, from the plan alone.

A host sits at its graph node (``network_node_id``). Shadow gives two hosts on one node that node's
self-loop edge; between two nodes it takes the path of least latency (Dijkstra over edge latencies)
or, with ``use_shortest_path: false``, the direct edge. Edges go both ways unless the graph says
``directed 1``. The graph is the plan's GML text (the text ``gen`` wrote to ``network.gml``), or
Shadow's built-in ``1_gbit_switch``. Latencies are summed as integer nanoseconds, as Shadow does,
so a path's latency is exact.

Under the local backend the hosts talk over loopback (127.x), where nothing models a latency: every
path is 0 there, and a message's whole latency is the runtime's own time.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

from monerosim_actors.plan.model import NetworkPlan, Plan
from monerosim_actors.vocabulary import Backend
from monerosim_actors.scenario.topology import GmlItems, parse_gml
from monerosim_actors.scenario.units import parse_time

ONE_GBIT_SWITCH_GML = """graph [
  directed 0
  node [
    id 0
    host_bandwidth_up "1 Gbit"
    host_bandwidth_down "1 Gbit"
  ]
  edge [
    source 0
    target 0
    latency "1 ms"
    packet_loss 0.0
  ]
]
"""
"""Shadow's built-in ``1_gbit_switch`` graph, as its configuration spec gives it: one node whose
self-loop has 1 ms of latency."""

Edges = dict[int, dict[int, int]]
"""node -> neighbour -> latency in ns of the fastest edge between them."""


def backend(plan: Plan) -> Backend:
    """Which backend ran the plan: ``local`` plans address hosts on loopback, Shadow's do not."""
    return "local" if plan.addressing == "loopback" else "shadow"


def graph_edges(network: NetworkPlan) -> Edges:
    """The edges of the plan's graph in ns, each one both ways unless the graph is directed."""
    items = parse_gml(network.gml if network.gml is not None else ONE_GBIT_SWITCH_GML)
    graph: GmlItems = next(v for k, v in items if k == "graph" and isinstance(v, list))
    directed = any(k == "directed" and v == "1" for k, v in graph)
    edges: Edges = {}
    for key, value in graph:
        if key != "edge" or not isinstance(value, list):
            continue
        attrs = {k: v for k, v in value if isinstance(v, str)}
        source, target = int(attrs["source"]), int(attrs["target"])
        latency = round(parse_time(attrs["latency"]) * 1e9)
        for a, b in [(source, target)] if directed else [(source, target), (target, source)]:
            old = edges.setdefault(a, {}).get(b)
            edges[a][b] = latency if old is None else min(old, latency)
    return edges


def path_latencies_ns(edges: Edges, pairs: Iterable[tuple[int, int]], *,
                      shortest: bool = True) -> dict[tuple[int, int], int]:
    """The latency (ns) Shadow gives each (source node, destination node) pair.

    A pair with no path (a graph Shadow would refuse) is left out. Each shortest path is searched
    from the end that more of the pairs share: forward from the source or backward (over the
    edges reversed) from the destination. Bus messages all have a service at one end, so a run
    costs about one search per service node, not one per host's node.
    """
    unique = set(pairs)
    direct = [(a, b) for a, b in unique if a == b or not shortest]
    out = {(a, b): edges[a][b] for a, b in direct if b in edges.get(a, {})}
    searched = [(a, b) for a, b in unique if a != b and shortest]
    partners_of_source = Counter(a for a, _ in searched)
    partners_of_target = Counter(b for _, b in searched)
    reverse: Edges = {}
    for a, neighbours in edges.items():
        for b, latency in neighbours.items():
            reverse.setdefault(b, {})[a] = latency
    forward: dict[int, dict[int, int]] = {}
    backward: dict[int, dict[int, int]] = {}
    for a, b in searched:
        if partners_of_source[a] >= partners_of_target[b]:
            if a not in forward:
                forward[a] = _dijkstra(edges, a)
            found = forward[a].get(b)
        else:
            if b not in backward:
                backward[b] = _dijkstra(reverse, b)
            found = backward[b].get(a)
        if found is not None:
            out[(a, b)] = found
    return out


def _dijkstra(edges: Edges, source: int) -> dict[int, int]:
    """Least latency from ``source`` to every node it reaches (itself at 0)."""
    best = {source: 0}
    todo = [(0, source)]
    while todo:
        dist, node = heapq.heappop(todo)
        if dist > best[node]:
            continue
        for nxt, latency in edges.get(node, {}).items():
            new = dist + latency
            if nxt not in best or new < best[nxt]:
                best[nxt] = new
                heapq.heappush(todo, (new, nxt))
    return best


def host_path_ms(plan: Plan, src: pd.Series, dst: pd.Series) -> pd.Series:
    """The path latency (ms) between each (src, dst) host pair; empty for a host the plan does not
    know, 0 for every known pair under the local backend."""
    node = {h.name: h.network_node_id for h in plan.hosts}
    src_node, dst_node = src.map(node), dst.map(node)
    known = src_node.notna() & dst_node.notna()
    out = pd.Series(np.nan, index=src.index, dtype="float64")
    if backend(plan) == "local":
        out[known] = 0.0
        return out
    pairs = pd.DataFrame({"a": src_node[known].astype("int64"), "b": dst_node[known].astype("int64")})
    unique = pairs.drop_duplicates()
    latency = path_latencies_ns(graph_edges(plan.network), zip(unique["a"], unique["b"]),
                                shortest=plan.network.use_shortest_path)
    unique = unique.assign(ns=[latency.get(pair, np.nan) for pair in zip(unique["a"], unique["b"])])
    out[known] = pairs.merge(unique, on=["a", "b"], how="left")["ns"].to_numpy() / 1e6
    return out.round(6)


def faster_than_path(messages: pd.DataFrame) -> pd.DataFrame:
    """Delivered messages whose latency is below the path latency between their hosts.

    Under Shadow none may be: a packet cannot arrive before its path's latency has passed. (Not a
    law of the local backend, whose paths are 0.) For end-to-end tests:
    ``assert faster_than_path(run.messages).empty``.
    """
    return messages[messages["latency_ms"] < messages["path_ms"]]
