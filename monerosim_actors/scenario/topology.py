"""The simulated network as GML: a user's graph checked and rewritten, or one generated from regions.

Shadow's GML parser takes one item per line and needs a connected graph in which every node has a
self-loop (hosts on one node talk over it), so a user's file is parsed, checked for exactly what
Shadow refuses, and written back one item per line. A ``regions`` topology becomes one node per
region (its bandwidth on the node, its internal latency on the self-loop) and one edge per link,
in the spirit of ethshadow's locations x reliabilities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monerosim_actors.scenario.units import is_bandwidth, parse_time, shadow_time_str

_TOKEN = re.compile(r'"[^"]*"|\[|\]|[^\s\[\]"]+')


class GmlError(ValueError):
    """A GML text Shadow would refuse; the message says why."""


GmlItems = list[tuple[str, "str | GmlItems"]]
"""A GML block: ``(key, value)`` pairs in file order; a value is a string or a nested block."""


@dataclass(frozen=True)
class GraphSummary:
    """What the planner needs to know of a checked graph."""

    node_ids: tuple[int, ...]
    """Sorted."""
    nodes_with_bandwidth: frozenset[int]
    """Nodes that carry both ``host_bandwidth_down`` and ``host_bandwidth_up``."""
    complete: bool
    """Whether every ordered pair of nodes (self-loops included) has an edge."""


def parse_gml(text: str) -> GmlItems:
    """Parse GML into nested items, values unquoted.

    Raises:
        GmlError: unbalanced brackets or a key without a value.
    """
    tokens = _TOKEN.findall(text)
    pos = 0

    def block(depth: int) -> GmlItems:
        nonlocal pos
        items: GmlItems = []
        while pos < len(tokens):
            key = tokens[pos]
            pos += 1
            if key == "]":
                if depth == 0:
                    raise GmlError("a ']' closes nothing")
                return items
            if key == "[" or key.startswith('"'):
                raise GmlError(f"expected a key, found {key!r}")
            if pos >= len(tokens):
                raise GmlError(f"key {key!r} has no value")
            value = tokens[pos]
            pos += 1
            if value == "[":
                items.append((key, block(depth + 1)))
            elif value == "]":
                raise GmlError(f"key {key!r} has no value")
            else:
                items.append((key, value[1:-1] if value.startswith('"') else value))
        if depth:
            raise GmlError("a '[' is never closed")
        return items

    return block(0)


def dump_gml(items: GmlItems, indent: int = 0) -> str:
    """GML text with one item per line, as Shadow's parser needs."""
    pad = "  " * indent
    out = []
    for key, value in items:
        if isinstance(value, list):
            out.append(f"{pad}{key} [\n{dump_gml(value, indent + 1)}{pad}]\n")
        elif _is_number(value):
            out.append(f"{pad}{key} {value}\n")
        else:
            out.append(f'{pad}{key} "{value}"\n')
    return "".join(out)


def _is_number(value: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", value) is not None


def check_graph(items: GmlItems) -> GraphSummary:
    """Check a parsed GML document the way Shadow does.

    Raises:
        GmlError: the first class of problem found, naming the nodes or edges at fault.
    """
    graphs = [v for k, v in items if k == "graph"]
    if len(graphs) != 1 or not isinstance(graphs[0], list):
        raise GmlError("expected exactly one 'graph [ ... ]' block")
    graph = graphs[0]
    directed = any(k == "directed" and v == "1" for k, v in graph)
    nodes: dict[int, bool] = {}
    edges: set[tuple[int, int]] = set()
    for key, value in graph:
        if key == "node" and isinstance(value, list):
            attrs = {k: v for k, v in value if isinstance(v, str)}
            node_id = _int(attrs.get("id"), "a node without an integer id")
            if node_id in nodes:
                raise GmlError(f"node id {node_id} appears twice")
            for bw in ("host_bandwidth_down", "host_bandwidth_up"):
                if bw in attrs and not is_bandwidth(attrs[bw]):
                    raise GmlError(f"node {node_id}: {bw} {attrs[bw]!r} is not a bandwidth like \"100 Mbit\"")
            nodes[node_id] = "host_bandwidth_down" in attrs and "host_bandwidth_up" in attrs
        elif key == "edge" and isinstance(value, list):
            attrs = {k: v for k, v in value if isinstance(v, str)}
            source = _int(attrs.get("source"), "an edge without an integer source")
            target = _int(attrs.get("target"), "an edge without an integer target")
            _check_edge(source, target, attrs)
            edges.add((source, target))
            if not directed:
                edges.add((target, source))
    if not nodes:
        raise GmlError("the graph has no nodes")
    unknown = sorted({n for e in edges for n in e if n not in nodes})
    if unknown:
        raise GmlError(f"edges name nodes that do not exist: {_ids(unknown)}")
    no_loop = [n for n in sorted(nodes) if (n, n) not in edges]
    if no_loop:
        raise GmlError(f"nodes without a self-loop edge (hosts on one node talk over it): {_ids(no_loop)}")
    unreachable = _unreachable(sorted(nodes), edges)
    if unreachable:
        raise GmlError(f"the graph is not connected: nodes {_ids(unreachable)} cannot be reached "
                       f"from node {min(nodes)}")
    complete = len(edges) == len(nodes) ** 2
    return GraphSummary(tuple(sorted(nodes)), frozenset(n for n, bw in nodes.items() if bw), complete)


def _check_edge(source: int, target: int, attrs: dict[str, str]) -> None:
    if "latency" not in attrs:
        raise GmlError(f"edge {source}-{target} has no latency (Shadow requires one)")
    try:
        latency = parse_time(attrs["latency"])
    except ValueError as e:
        raise GmlError(f"edge {source}-{target}: latency {e}") from None
    if latency <= 0:
        raise GmlError(f"edge {source}-{target}: latency must be > 0")
    if "packet_loss" in attrs:
        try:
            loss = float(attrs["packet_loss"])
        except ValueError:
            raise GmlError(f"edge {source}-{target}: packet_loss {attrs['packet_loss']!r} is not a number") from None
        if not 0.0 <= loss <= 1.0:
            raise GmlError(f"edge {source}-{target}: packet_loss must be within [0, 1], got {loss}")


def _int(value: str | None, what: str) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise GmlError(what) from None


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:10])
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


def _unreachable(nodes: list[int], edges: set[tuple[int, int]]) -> list[int]:
    """Nodes not reachable from the first one, edges taken as undirected."""
    adjacent: dict[int, set[int]] = {n: set() for n in nodes}
    for a, b in edges:
        adjacent[a].add(b)
        adjacent[b].add(a)
    seen = {nodes[0]}
    todo = [nodes[0]]
    while todo:
        for nxt in adjacent[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return [n for n in nodes if n not in seen]


@dataclass(frozen=True)
class Region:
    """One region of a generated topology: a GML node with its bandwidth and internal latency."""

    name: str
    bandwidth_down: str
    bandwidth_up: str
    latency_s: float
    """Latency between two hosts of this region (the node's self-loop)."""
    packet_loss: float
    weight: float
    """Relative share of the hosts placed here (when their role names no region)."""


@dataclass(frozen=True)
class Link:
    """A bidirectional edge between two regions."""

    a: str
    b: str
    latency_s: float
    packet_loss: float


def regions_gml(regions: tuple[Region, ...], links: tuple[Link, ...]) -> str:
    """The GML of a regions topology: node ``i`` is ``regions[i]``."""
    index = {r.name: i for i, r in enumerate(regions)}
    items: GmlItems = [("directed", "0")]
    for i, r in enumerate(regions):
        items.append(("node", [("id", str(i)), ("label", r.name),
                               ("host_bandwidth_down", r.bandwidth_down),
                               ("host_bandwidth_up", r.bandwidth_up)]))
    for i, r in enumerate(regions):
        items.append(("edge", _edge(i, i, r.latency_s, r.packet_loss)))
    for link in links:
        items.append(("edge", _edge(index[link.a], index[link.b], link.latency_s, link.packet_loss)))
    return dump_gml([("graph", items)])


def _edge(source: int, target: int, latency_s: float, loss: float) -> GmlItems:
    return [("source", str(source)), ("target", str(target)),
            ("latency", shadow_time_str(latency_s)), ("packet_loss", _decimal(loss))]


def _decimal(value: float) -> str:
    """A plain decimal (``0.001``, never ``1e-03``): GML readers differ on exponents."""
    text = f"{value:.9f}".rstrip("0")
    return text + "0" if text.endswith(".") else text
