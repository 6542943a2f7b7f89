"""GML parsing, checking and writing, and the GML of a generated regions topology."""

from __future__ import annotations

import pytest

from monerosim_actors.scenario.topology import GmlError, Link, Region, check_graph, dump_gml, parse_gml, regions_gml
from monerosim_actors.scenario.units import parse_time, shadow_time, shadow_time_str


def test_one_line_gml_is_rewritten_one_item_per_line() -> None:
    text = 'graph [ directed 0 node [ id 0 label "a b" host_bandwidth_up "1 Gbit" ] ' \
           'edge [ source 0 target 0 latency "5 ms" packet_loss 0.5 ] ]'
    out = dump_gml(parse_gml(text))
    assert out == ('graph [\n  directed 0\n  node [\n    id 0\n    label "a b"\n    host_bandwidth_up "1 Gbit"\n'
                   '  ]\n  edge [\n    source 0\n    target 0\n    latency "5 ms"\n    packet_loss 0.5\n  ]\n]\n')
    assert parse_gml(out) == parse_gml(text)


def test_summary_of_a_good_graph() -> None:
    items = parse_gml('graph [ node [ id 3 host_bandwidth_down "1 Gbit" host_bandwidth_up "1 Gbit" ] node [ id 1 ] '
                      'edge [ source 1 target 1 latency "1 ms" ] edge [ source 3 target 3 latency "1 ms" ] '
                      'edge [ source 1 target 3 latency "1 s" ] ]')
    summary = check_graph(items)
    assert summary.node_ids == (1, 3) and summary.nodes_with_bandwidth == {3} and summary.complete


@pytest.mark.parametrize(("text", "message"), [
    ("node [ id 0 ]", "exactly one 'graph"),
    ("graph [ ]", "no nodes"),
    ("graph [ node [ id x ] ]", "node without an integer id"),
    ("graph [ node [ id 0 ] node [ id 0 ] ]", "node id 0 appears twice"),
    ('graph [ node [ id 0 host_bandwidth_down "lots" ] ]', "is not a bandwidth"),
    ('graph [ node [ id 0 ] edge [ source 0 target 9 latency "1 ms" ] edge [ source 0 target 0 latency "1 ms" ] ]',
     "edges name nodes that do not exist: 9"),
    ('graph [ node [ id 0 ] edge [ source 0 target 0 latency "0 ms" ] ]', "latency must be > 0"),
    ('graph [ node [ id 0 ] edge [ source 0 target 0 latency "soon" ] ]', "is not a time"),
    ('graph [ node [ id 0 ] edge [ source 0 target 0 latency "1 ms" packet_loss x ] ]', "is not a number"),
    ("graph [ node [ id 0 ] ] ]", "closes nothing"),
    ("graph [ node [ id ] ]", "has no value"),
])
def test_bad_graphs(text: str, message: str) -> None:
    with pytest.raises(GmlError, match=message):
        check_graph(parse_gml(text))


def test_directed_graph_needs_both_directions_for_a_self_loop_but_is_connected_either_way() -> None:
    text = ('graph [ directed 1 node [ id 0 ] node [ id 1 ] edge [ source 0 target 0 latency "1 ms" ] '
            'edge [ source 1 target 1 latency "1 ms" ] edge [ source 0 target 1 latency "1 ms" ] ]')
    summary = check_graph(parse_gml(text))
    assert not summary.complete


def test_regions_gml() -> None:
    regions = (Region("eu", "100 Mbit", "50 Mbit", 0.005, 0.0, 1.0), Region("us", "1 Gbit", "1 Gbit", 0.0125, 0.00001, 1.0))
    text = regions_gml(regions, (Link("us", "eu", 0.04, 0.001),))
    items = parse_gml(text)
    summary = check_graph(items)
    assert summary.node_ids == (0, 1) and summary.nodes_with_bandwidth == {0, 1}
    assert 'label "us"' in text and 'latency "12500 us"' in text and "packet_loss 0.00001\n" in text
    assert "    source 1\n    target 0\n    latency \"40 ms\"\n    packet_loss 0.001\n" in text
    for line in text.splitlines():
        assert line.strip() == "]" or len(line.split(maxsplit=1)) == 2


def test_time_units() -> None:
    assert parse_time("1 h") == 3600 and parse_time("500 ms") == 0.5 and parse_time(7) == 7.0
    assert parse_time("2min") == 120
    for bad in ("1 fortnight", "-5 s", True, None, "ms"):
        with pytest.raises(ValueError):
            parse_time(bad)
    assert shadow_time(3720.0) == 3720 and shadow_time(1.5) == "1500 ms" and shadow_time(1e-6) == "1 us"
    assert shadow_time(1.000000001) == "1000000001 ns"
    assert shadow_time_str(2) == "2 s" and shadow_time_str(0.001) == "1 ms"
