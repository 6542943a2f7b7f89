"""The ``network.topology`` section: the graph hosts are placed on, and each role's ``region`` in it.

``switch`` is Shadow's built-in single node; ``gml`` reads a user's graph (relative to the scenario,
``.xz`` allowed) and checks what Shadow would refuse; ``regions`` builds the graph from named regions
and the links between them, which must connect them all. The result is a :class:`TopologySpec` with
the graph as GML text and the places a ``region`` key may name.
"""

from __future__ import annotations

import lzma
import os
from typing import Any, get_args

from monerosim_actors.vocabulary import TopologyKind
from monerosim_actors.scenario import topology
from monerosim_actors.scenario.checks import (Checker, bandwidth, boolean, number, one_of, region_name, seconds,
                                              string, suggest, type_name)
from monerosim_actors.scenario.model import Place, TopologySpec
from monerosim_actors.scenario.source import Path
from monerosim_actors.scenario.topology import Link, Region


def read_topology(chk: Checker, net: dict[str, Any] | None) -> TopologySpec | None:
    """``network.topology`` (Shadow's switch when absent); None when it is wrong."""
    path: Path = ("network", "topology")
    raw = (net or {}).get("topology") or {"type": "switch"}
    if not isinstance(raw, dict):
        chk.fail(path, f"must be a mapping with a 'type' ({', '.join(get_args(TopologyKind))}), "
                       f"got {type_name(raw)}")
        return None
    kind = chk.get(raw, path, "type", one_of(get_args(TopologyKind)), "switch")
    common = ("type", "host_bandwidth_down", "host_bandwidth_up")
    if kind == "switch":
        chk.mapping(raw, path, ("type",))
        return TopologySpec("switch", None, (Place("switch", 0, 1.0, False),), "1 Gbit", "1 Gbit", True)
    if kind == "gml":
        m = chk.mapping(raw, path, common + ("file", "use_shortest_path"), required=("file",))
        return _gml(chk, m, path)
    if kind == "regions":
        m = chk.mapping(raw, path, ("type", "regions", "links"), required=("regions",))
        return _regions(chk, m, path)
    return None


def _gml(chk: Checker, m: dict[str, Any] | None, path: Path) -> TopologySpec | None:
    file = chk.get(m, path, "file", string)
    down = chk.get(m, path, "host_bandwidth_down", bandwidth, "1 Gbit")
    up = chk.get(m, path, "host_bandwidth_up", bandwidth, "1 Gbit")
    shortest = chk.get(m, path, "use_shortest_path", boolean, True)
    if file is None:
        return None
    full = os.path.normpath(os.path.join(chk.base, file))
    try:
        if full.endswith(".xz"):
            with lzma.open(full, "rt", encoding="utf-8") as f:
                text = f.read()
        else:
            with open(full, encoding="utf-8") as f:
                text = f.read()
    except (OSError, lzma.LZMAError, ValueError) as e:  # ValueError: a NUL in the name, not UTF-8
        chk.fail(path + ("file",), f"cannot read the GML file {full}: {getattr(e, 'strerror', None) or e}")
        return None
    try:
        items = topology.parse_gml(text)
        summary = topology.check_graph(items)
    except topology.GmlError as e:
        chk.fail(path + ("file",), f"{full}: {e}")
        return None
    if shortest is False and not summary.complete:
        chk.fail(path + ("use_shortest_path",), "false needs a complete graph (an edge between every "
                                                "pair of nodes, self-loops included)")
    places = tuple(Place(str(n), n, 1.0, n not in summary.nodes_with_bandwidth) for n in summary.node_ids)
    return TopologySpec("gml", topology.dump_gml(items), places, down, up, bool(shortest))


def _regions(chk: Checker, m: dict[str, Any] | None, path: Path) -> TopologySpec | None:
    if m is None:
        return None
    problems_before = len(chk.problems)
    rpath = path + ("regions",)
    items = m.get("regions")
    if not isinstance(items, list) or not items:
        chk.fail(rpath, "must be a non-empty list of regions (- name: ..., latency: ...)")
        return None
    regions: list[Region] = []
    for i, item in enumerate(items):
        p = rpath + (i,)
        r = chk.mapping(item, p, ("name", "bandwidth_down", "bandwidth_up", "latency", "packet_loss",
                                  "weight"), required=("name",))
        name = chk.agent_id(r["name"], p + ("name",)) if r and "name" in r else None
        if name is not None and any(x.name == name for x in regions):
            chk.fail(p + ("name",), f"duplicate region name {name!r}")
            name = None
        region = Region(
            name=name,  # type: ignore[arg-type]
            bandwidth_down=chk.get(r, p, "bandwidth_down", bandwidth, "1 Gbit"),
            bandwidth_up=chk.get(r, p, "bandwidth_up", bandwidth, "1 Gbit"),
            latency_s=chk.get(r, p, "latency", seconds(), 0.001),
            packet_loss=chk.get(r, p, "packet_loss", number(ge=0, le=1), 0.0),
            weight=chk.get(r, p, "weight", number(ge=0), 1.0))
        if name is not None:
            regions.append(region)
    links = _links(chk, m, path, {r.name for r in regions})
    if len(regions) != len(items) or links is None:
        return None
    if all(r.weight == 0 for r in regions):
        chk.fail(rpath, "every region has weight 0; at least one must take hosts")
    names = [r.name for r in regions]
    adjacent = {n: set() for n in names}
    for link in links:
        adjacent[link.a].add(link.b)
        adjacent[link.b].add(link.a)
    seen, todo = {names[0]}, [names[0]]
    while todo:
        for nxt in adjacent[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    cut = [n for n in names if n not in seen]
    if cut:
        chk.fail(path + ("links",), f"regions {', '.join(cut)} cannot be reached from {names[0]}: "
                                    "add links so that the regions form one connected graph")
    if len(chk.problems) > problems_before:
        return None
    places = tuple(Place(r.name, i, r.weight, False) for i, r in enumerate(regions))
    return TopologySpec("regions", topology.regions_gml(tuple(regions), tuple(links)), places,
                        "1 Gbit", "1 Gbit", True)


def _links(chk: Checker, m: dict[str, Any], path: Path, names: set[str]) -> list[Link] | None:
    lpath = path + ("links",)
    items = m.get("links") or []
    if not isinstance(items, list):
        chk.fail(lpath, f"must be a list of links (- between: [a, b], latency: ...), got {type_name(items)}")
        return None
    links: list[Link] = []
    seen: set[frozenset[str]] = set()
    ok = True
    for i, item in enumerate(items):
        p = lpath + (i,)
        lm = chk.mapping(item, p, ("between", "latency", "packet_loss"), required=("between", "latency"))
        latency = chk.get(lm, p, "latency", seconds())
        loss = chk.get(lm, p, "packet_loss", number(ge=0, le=1), 0.0)
        between = (lm or {}).get("between")
        if lm is not None and "between" in lm and not (
                isinstance(between, list) and len(between) == 2 and all(isinstance(b, str) for b in between)):
            chk.fail(p + ("between",), f"must be a list of two region names, got {between!r}")
            between = None
        elif isinstance(between, list):
            for j, b in enumerate(between):
                if b not in names:
                    chk.fail(p + ("between", j), f"no region {b!r}{suggest(b, names)}")
                    between = None
                    break
        if isinstance(between, list):
            if between[0] == between[1]:
                chk.fail(p + ("between",), "a region's internal latency is its own 'latency' key, not a link")
                between = None
            elif frozenset(between) in seen:
                chk.fail(p + ("between",), f"{between[0]} and {between[1]} are linked twice")
                between = None
        if between is None or latency is None or loss is None:
            ok = False
            continue
        seen.add(frozenset(between))
        links.append(Link(between[0], between[1], latency, loss))
    return links if ok else None


def read_region(chk: Checker, m: dict[str, Any] | None, path: Path, topo: TopologySpec | None) -> str | None:
    """``m``'s optional ``region``: a place of the topology (None when absent or the topology is bad)."""
    name = chk.get(m, path, "region", region_name, None)
    if name is None or topo is None:
        return None
    places = [p.name for p in topo.places]
    if topo.kind == "switch":
        chk.fail(path + ("region",), "regions need network.topology.type 'regions' or 'gml' "
                                     "(the switch has a single node)")
    elif name not in places:
        what = "region" if topo.kind == "regions" else "GML node id"
        chk.fail(path + ("region",), f"no {what} {name!r} in network.topology{suggest(name, places)}")
    return name
