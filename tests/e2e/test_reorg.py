"""A real monerod switching branches: what its chain_main feed says, and what the runtime logs.

Two offline regtest nodes mine apart: node a one block, node b two on the same genesis. b's blocks
are then handed to a (``submit_block``): the first is an alternative block of equal work (a keeps
its tip, and its feed says nothing), the second makes b's branch longer, so a switches to it. a's
runtime must log ``chain_reorganized`` (height 1, one block dropped) from the feed alone, and
``block_seen`` with each block's parent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import requests

from monerosim_actors.events.read import read_events
from monerosim_actors.runtime.system import HostSystem
from tests.e2e.conftest import wait_for_event
from tests.e2e.plans import host_plan, loopback

pytestmark = pytest.mark.e2e

ADDRESS = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"


def _rpc(system: HostSystem, method: str, params: Any) -> dict[str, Any]:
    """A JSON-RPC call the runtime's client has no method for (only this test hands blocks over)."""
    assert system.daemon is not None
    answer = requests.post(f"{system.daemon.url}/json_rpc", timeout=60,
                           json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
    assert "error" not in answer, answer
    return answer["result"]


def test_a_node_that_switches_branch_logs_the_reorganisation(start_host: Callable[..., HostSystem]) -> None:
    a = start_host(host_plan("reorg-a", loopback(26, 0), wallet=False))
    b = start_host(host_plan("reorg-b", loopback(26, 1), wallet=False))
    assert a.daemon is not None and b.daemon is not None
    a_events = os.path.join(a.data_dir, "events.jsonl")
    genesis = a.daemon.get_block_header_by_height(0).hash
    _, (a1,) = a.daemon.generateblocks(1, ADDRESS)
    wait_for_event(a_events, "block_seen", hash=a1)
    assert a.daemon.get_block_header_by_hash(a1).prev_hash == genesis
    _, (b1, b2) = b.daemon.generateblocks(2, ADDRESS)
    for block in (b1, b2):
        _rpc(a, "submit_block", [_rpc(b, "get_block", {"hash": block})["blob"]])
    (reorg,) = wait_for_event(a_events, "chain_reorganized")
    assert {k: reorg[k] for k in ("height", "depth", "top_before", "dropped", "hash")} == {
        "height": 1, "depth": 1, "top_before": 1, "dropped": [a1], "hash": b1}
    wait_for_event(a_events, "block_seen", hash=b2)
    seen = [(e["height"], e["hash"], e["prev"]) for e in read_events(a_events) if e["event"] == "block_seen"]
    assert seen == [(1, a1, genesis), (1, b1, genesis), (2, b2, b1)]
