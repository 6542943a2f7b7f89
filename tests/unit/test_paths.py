"""Path latencies between graph nodes and between hosts, as Shadow routes them."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monerosim_actors.analysis import faster_than_path, load_run
from monerosim_actors.analysis.paths import graph_edges, host_path_ms, path_latencies_ns
from monerosim_actors.plan.model import NetworkPlan, Plan
from monerosim_actors.scenario.topology import Link, Region, regions_gml

GOLDEN_RUN = Path(__file__).parents[1] / "golden" / "analysis" / "run"
MS = 1_000_000


def gml(directed: bool, edges: list[tuple[int, int, str]]) -> NetworkPlan:
    nodes = sorted({n for a, b, _ in edges for n in (a, b)})
    text = f"graph [\n  directed {int(directed)}\n"
    text += "".join(f"  node [\n    id {n}\n  ]\n" for n in nodes)
    text += "".join(f'  edge [\n    source {a}\n    target {b}\n    latency "{lat}"\n  ]\n'
                    for a, b, lat in edges)
    return NetworkPlan(kind="gml", gml=text + "]\n")


def all_pairs(edges: dict[int, dict[int, int]], shortest: bool = True) -> dict[tuple[int, int], int]:
    nodes = sorted(edges)
    return path_latencies_ns(edges, [(a, b) for a in nodes for b in nodes], shortest=shortest)


def test_the_built_in_switch_is_one_node_with_a_1_ms_self_loop() -> None:
    edges = graph_edges(NetworkPlan(kind="switch", gml=None))
    assert all_pairs(edges) == {(0, 0): 1 * MS}


# Three nodes whose direct edges are slower than a detour: 0-2 direct is 30 ms, over 1 it is 12.
TRIANGLE = [(0, 0, "2 ms"), (1, 1, "3 ms"), (2, 2, "4 ms"),
            (0, 1, "5 ms"), (1, 2, "7000 us"), (0, 2, "30 ms")]


def test_shortest_paths_take_the_detour_and_a_node_talks_to_itself_over_its_self_loop() -> None:
    paths = all_pairs(graph_edges(gml(False, TRIANGLE)))
    assert paths[(0, 2)] == paths[(2, 0)] == 12 * MS
    assert paths[(0, 1)] == paths[(1, 0)] == 5 * MS
    # not 0: Shadow gives hosts on one node the self-loop, never the empty path
    assert (paths[(0, 0)], paths[(1, 1)], paths[(2, 2)]) == (2 * MS, 3 * MS, 4 * MS)


def test_without_shortest_paths_the_direct_edge_is_taken() -> None:
    paths = all_pairs(graph_edges(gml(False, TRIANGLE)), shortest=False)
    assert paths[(0, 2)] == paths[(2, 0)] == 30 * MS
    assert paths[(1, 1)] == 3 * MS


def test_a_directed_graph_routes_each_way_on_its_own_edges() -> None:
    edges = graph_edges(gml(True, [(0, 0, "1 ms"), (1, 1, "1 ms"), (2, 2, "1 ms"),
                                   (0, 1, "3 ms"), (1, 0, "5 ms"), (1, 2, "4 ms"), (2, 0, "9 ms")]))
    paths = all_pairs(edges)
    assert (paths[(0, 1)], paths[(1, 0)]) == (3 * MS, 5 * MS)
    assert (paths[(0, 2)], paths[(2, 0)]) == (7 * MS, 9 * MS)
    assert paths[(2, 1)] == 12 * MS  # 2 -> 0 -> 1


@pytest.mark.parametrize("directed", [True, False])
def test_searching_back_from_a_shared_destination_finds_the_same_paths(directed: bool) -> None:
    rng = random.Random(7)
    nodes = range(8)
    edges = graph_edges(gml(directed, [(n, n, "1 ms") for n in nodes]
                            + [(a, b, f"{rng.randint(1, 50)} ms")
                               for a in nodes for b in nodes if a != b and rng.random() < 0.4]))
    one_by_one = {}
    for a in nodes:
        for b in nodes:
            one_by_one |= path_latencies_ns(edges, [(a, b)])
    to_each = {}  # many sources, one destination: searched backwards from it
    for b in nodes:
        to_each |= path_latencies_ns(edges, [(a, b) for a in nodes])
    from_each = {}  # one source, many destinations: searched forwards from it
    for a in nodes:
        from_each |= path_latencies_ns(edges, [(a, b) for b in nodes])
    assert to_each == from_each == one_by_one
    assert len(one_by_one) > 8


def test_of_two_edges_between_the_same_nodes_the_faster_counts() -> None:
    edges = graph_edges(gml(False, [(0, 0, "1 ms"), (1, 1, "1 ms"), (0, 1, "8 ms"), (1, 0, "6 ms")]))
    assert all_pairs(edges)[(0, 1)] == 6 * MS


def test_latencies_in_any_unit_are_exact_nanoseconds() -> None:
    edges = graph_edges(gml(False, [(0, 0, "1 s"), (1, 1, "1500 ns"), (0, 1, "0.25 ms")]))
    assert all_pairs(edges) == {(0, 0): 10**9, (1, 1): 1500, (0, 1): 250_000, (1, 0): 250_000}


def test_a_pair_without_a_path_is_left_out() -> None:
    edges = graph_edges(gml(True, [(0, 0, "1 ms"), (1, 1, "1 ms"), (0, 1, "2 ms")]))
    assert all_pairs(edges) == {(0, 0): MS, (1, 1): MS, (0, 1): 2 * MS}
    assert path_latencies_ns(edges, [(0, 1)], shortest=False) == {(0, 1): 2 * MS}


def test_a_regions_graph_as_gen_writes_it() -> None:
    regions = tuple(Region(name, "100 Mbit", "100 Mbit", latency, 0.0, 1.0)
                    for name, latency in (("eu", 0.005), ("na", 0.010), ("asia", 0.020)))
    links = (Link("eu", "na", 0.045, 0.0), Link("eu", "asia", 0.110, 0.002),
             Link("na", "asia", 0.090, 0.001))
    paths = all_pairs(graph_edges(NetworkPlan(kind="regions", gml=regions_gml(regions, links))))
    assert paths[(0, 2)] == 110 * MS  # the direct link beats 45 + 90
    assert paths[(2, 1)] == 90 * MS
    assert paths[(2, 2)] == 20 * MS


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_run(GOLDEN_RUN).plan


def test_hosts_get_the_path_between_their_nodes(plan: Plan) -> None:
    src = pd.Series(["pool-alpha", "user-0", "user-1", "stranger", "pool-beta"])
    dst = pd.Series(["block-controller", "marketplace-directory", "marketplace-directory",
                     "block-controller", "user-1"])
    out = host_path_ms(plan, src, dst)
    assert out.tolist()[:3] == [35.0, 5.0, 10.0]
    assert np.isnan(out[3])
    assert out[4] == 10.0  # both in asia: its self-loop


def test_under_the_local_backend_every_path_is_zero(plan: Plan) -> None:
    local = dataclasses.replace(plan, addressing="loopback")
    out = host_path_ms(local, pd.Series(["pool-alpha", "stranger"]),
                       pd.Series(["block-controller", "user-0"]))
    assert out[0] == 0.0 and np.isnan(out[1])


def test_faster_than_path_names_the_impossible_messages() -> None:
    messages = pd.DataFrame({"id": ["a", "b", "c", "d"], "latency_ms": [10.0, 9.999, np.nan, 12.0],
                             "path_ms": [10.0, 10.0, 10.0, np.nan]})
    assert faster_than_path(messages)["id"].tolist() == ["b"]
