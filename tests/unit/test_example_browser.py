"""The example custom role (``actors/example_browser.py``) tested with the installed harness, as
``docs/roles.md`` shows a role author doing: no monerod, no wallet, no sockets, fake time."""

from __future__ import annotations

import pytest

from monerosim_actors.actors.example_browser import Browser, TipShared
from monerosim_actors.coordination.marketplace_directory import MarketplaceDirectory
from monerosim_actors.testing import FakeNet
from monerosim_actors.wire import Envelope, decode, encode

PEERS = ["browser-0", "browser-1"]


def _browsers(talks_to: tuple[str, ...] = ("browser",)) -> FakeNet:
    net = FakeNet()
    for name in PEERS:
        net.add(Browser, name, "browser", {"wait_time": 10}, talks_to=talks_to)
    net.add(MarketplaceDirectory, "marketplace-directory", "marketplace_directory", {}, node=False)
    net.start()
    return net


def test_browsers_tell_each_other_their_tip_with_their_own_message_type() -> None:
    net = _browsers()
    net.mine(5)
    net.run(until=300)
    shared = net.events("browser-1").named("tip_shared")
    assert shared, "browser-1 heard from browser-0"
    assert {e["peer"] for e in shared} == {"browser-0"}, "a browser never tells itself"
    assert shared[-1]["height"] == net.ledger.height - 1 and shared[-1]["behind"] == 0
    assert net.events("browser-0").named("browsed"), "the directory answered GetVendors"
    assert not net.all_events("msg_rejected") and not net.all_events("msg_dropped")
    received = [e for e in net.events("browser-1").named("msg_received") if e["type"] == "browser_tip_shared"]
    assert received and all(e["src"] == "browser-0" for e in received), "logged as the real bus logs it"


def test_a_browser_whose_role_does_not_talk_to_browsers_cannot_reach_them() -> None:
    """The harness refuses what the real bus refuses: without ``talks_to`` the role has no contacts."""
    net = _browsers(talks_to=())
    with pytest.raises(ValueError, match="talks_to"):
        net.hosts["browser-0"].actor.hosts_of("browser")


def test_a_message_to_a_host_the_role_has_no_route_to_is_dropped_as_the_real_bus_drops_it() -> None:
    net = _browsers(talks_to=())
    net.hosts["browser-0"].actor.send("browser-1", TipShared(height=1))
    net.run(until=10)
    assert not net.events("browser-1").named("msg_received")
    (drop,) = net.events("browser-0").named("msg_dropped")
    assert (drop["reason"], drop["peer"]) == ("no_route", "browser-1")


def test_the_role_message_type_is_on_the_wire_once_its_module_is_imported() -> None:
    frame = encode(Envelope(id="browser-0:1", src="browser-0", dst="browser-1", sent_at=1.0,
                            body=TipShared(height=7)))
    assert decode(frame).body == TipShared(height=7)
