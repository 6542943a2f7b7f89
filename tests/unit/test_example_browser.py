"""The example custom role (``actors/example_browser.py``) tested with the installed harness, as
``docs/roles.md`` shows a role author doing: no monerod, no wallet, no sockets, fake time."""

from __future__ import annotations

from monerosim_actors.actors.example_browser import Browser, TipShared
from monerosim_actors.coordination.marketplace_directory import MarketplaceDirectory
from monerosim_actors.testing import FakeNet
from monerosim_actors.wire import Envelope, decode, encode

PEERS = ["browser-0", "browser-1"]


def _browsers() -> FakeNet:
    net = FakeNet()
    for name in PEERS:
        net.add(Browser, name, "browser", {"peers": PEERS, "wait_time": 10})
    net.add(MarketplaceDirectory, "marketplace-directory", "marketplace_directory", {}, node=False)
    net.start()
    return net


def test_browsers_tell_each_other_their_tip_with_their_own_message_type() -> None:
    net = _browsers()
    net.ledger.mine(5, "miner")
    net.run(until=300)
    shared = net.events("browser-1").named("tip_shared")
    assert shared, "browser-1 heard from browser-0"
    assert {e["peer"] for e in shared} == {"browser-0"}, "a browser never tells itself"
    assert shared[-1]["height"] == net.ledger.height - 1 and shared[-1]["behind"] == 0
    assert net.events("browser-0").named("browsed"), "the directory answered GetVendors"
    assert not net.all_events("msg_rejected")


def test_the_role_message_type_is_on_the_wire_once_its_module_is_imported() -> None:
    frame = encode(Envelope(id="browser-0:1", src="browser-0", dst="browser-1", sent_at=1.0,
                            body=TipShared(height=7)))
    assert decode(frame).body == TipShared(height=7)
