"""A public node with more wallets than its monerod accepts RPC connections is named at plan time."""

from __future__ import annotations

from pathlib import Path

import pytest

from monerosim_actors.plan.capacity import crowded_public_nodes, rpc_max_connections
from monerosim_actors.plan.model import Plan
from monerosim_actors.plan.planner import build_plan

from scenario_helpers import base_doc, load_doc


def _plan(tmp_path: Path, users: int, public_nodes: int, monerod_args: list[str] | None = None) -> Plan:
    doc = base_doc()
    doc["network"]["agents"]["regular_users"] = {"count": users, "config": {"node": "remote",
                                                                           "remote_node": "round_robin"}}
    doc["network"]["agents"]["public_nodes"] = {"count": public_nodes}
    if monerod_args:
        doc["monero"]["monerod_args"] = monerod_args
    return build_plan(load_doc(tmp_path, doc), out_dir="/out")


def test_a_public_node_with_more_wallets_than_rpc_connections_is_named(tmp_path: Path) -> None:
    notes = crowded_public_nodes(_plan(tmp_path, users=200, public_nodes=2))
    assert len(notes) == 2
    assert notes[0].startswith("public-node-0 serves 100 wallets, but its monerod accepts 100 RPC connections")
    assert "2 wallets will get no answer" in notes[0] and "monero.monerod_args" in notes[0]


def test_public_nodes_within_their_limit_give_no_note(tmp_path: Path) -> None:
    assert crowded_public_nodes(_plan(tmp_path, users=196, public_nodes=2)) == []
    assert crowded_public_nodes(_plan(tmp_path, users=200, public_nodes=2,
                                      monerod_args=["--rpc-max-connections", "200"])) == []


@pytest.mark.parametrize(("args", "limit"), [
    ((), 100),
    (("--rpc-max-connections", "250"), 250),
    (("--rpc-max-connections=30",), 30),
    (("--offline", "--rpc-max-connections", "5", "--rpc-max-connections=7"), 7),
    (("--rpc-max-connections-per-public-ip", "9"), 100),
])
def test_the_limit_is_read_as_monerod_reads_its_arguments(args: tuple[str, ...], limit: int) -> None:
    assert rpc_max_connections(args) == limit
