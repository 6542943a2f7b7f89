"""Following a node's main chain from its chain_main notifications: new blocks with their parents,
and reorganisations (a notification that starts at or below the known top with another block)."""

from __future__ import annotations

import json

from monerosim_actors.runtime.bus import Bus
from monerosim_actors.runtime.chain_view import ChainView, NewBlock, Reorganization
from monerosim_actors.runtime.inbox import RoleInbox
from tests.conftest import RecordingEvents
from tests.e2e.plans import host_config, host_plan, loopback


def test_a_growing_chain_announces_each_block_once_with_its_parent() -> None:
    view = ChainView()
    assert view.advance(5, "p4", ("a5", "a6")) == ([NewBlock(5, "a5", "p4"), NewBlock(6, "a6", "a5")], None)
    assert view.advance(7, "a6", ("a7",)) == ([NewBlock(7, "a7", "a6")], None)


def test_a_notification_repeated_unchanged_is_no_reorganisation() -> None:
    view = ChainView()
    view.advance(5, "p4", ("a5", "a6"))
    assert view.advance(5, "p4", ("a5", "a6")) == ([], None)
    assert view.advance(5, "p4", ("a5",)) == ([], None)
    assert view.advance(7, "a6", ("a7",)) == ([NewBlock(7, "a7", "a6")], None)


def test_a_switch_of_branch_is_published_block_by_block_from_the_split() -> None:
    """monerod's switch_to_alternative_blockchain notifies each block of the new branch alone,
    from the split height up: the first one is the reorganisation, the rest extend the chain."""
    view = ChainView()
    view.advance(104, "a103", ("a104",))
    view.advance(105, "a104", ("a105",))
    new, reorg = view.advance(104, "a103", ("b104",))
    assert reorg == Reorganization(height=104, top_before=105, dropped=("a104", "a105"))
    assert reorg.depth == 2
    assert new == [NewBlock(104, "b104", "a103")]
    assert view.advance(105, "b104", ("b105",)) == ([NewBlock(105, "b105", "b104")], None)
    assert view.advance(106, "b105", ("b106",)) == ([NewBlock(106, "b106", "b105")], None)


def test_a_switch_back_to_a_branch_seen_before_is_a_reorganisation_without_new_blocks() -> None:
    view = ChainView()
    view.advance(10, "p", ("a10",))
    view.advance(10, "p", ("b10",))
    new, reorg = view.advance(10, "p", ("a10",))
    assert new == [] and reorg == Reorganization(height=10, top_before=10, dropped=("b10",))


def test_the_bus_logs_parents_and_reorganisations_of_its_own_node() -> None:
    plan = host_plan("node", loopback(26, 7), wallet=False)
    events = RecordingEvents()
    bus = Bus(host_config(plan), events, RoleInbox())

    def publish(first: int, prev: str, ids: list[str]) -> None:
        data = {"first_height": first, "first_prev_id": prev, "ids": ids}
        bus._on_notification([b"json-minimal-chain_main:" + json.dumps(data).encode()], 0.0)

    publish(104, "a103", ["a104"])
    publish(104, "a103", ["b104"])
    publish(105, "b104", ["b105"])
    seen = [(e["height"], e["hash"], e["prev"]) for e in events.items if e["event"] == "block_seen"]
    assert seen == [(104, "a104", "a103"), (104, "b104", "a103"), (105, "b105", "b104")]
    reorgs = [{k: e[k] for k in ("height", "depth", "top_before", "dropped", "hash")}
              for e in events.items if e["event"] == "chain_reorganized"]
    assert reorgs == [{"height": 104, "depth": 1, "top_before": 104, "dropped": ["a104"], "hash": "b104"}]
