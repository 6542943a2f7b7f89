"""The marketplace directory: registrations replace, lists are complete and ordered, only marketplaces register."""

from __future__ import annotations

from monerosim_actors.coordination.marketplace_directory import MarketplaceDirectory
from monerosim_actors.coordination.messages import (GetVendors, RegisterVendors, VendorList,
                                                    VendorsRegistered, VendorsRequested)
from monerosim_actors.testing import FakeNet, deliver

MARKETS = [{"marketplace_id": "market_b", "host": "market-b"}, {"marketplace_id": "market_a", "host": "market-a"}]


def _net() -> FakeNet:
    net = FakeNet()
    net.add(MarketplaceDirectory, "marketplace-directory", "marketplace_directory",
            {"marketplaces": MARKETS, "users": ["user-0"]}, node=False)
    net.start()
    return net


def _answers(net: FakeNet, host: str) -> list[object]:
    return [e.body for e in net.sent if e.dst == host and not isinstance(e.body, VendorsRequested)]


def test_register_then_list_in_plan_order() -> None:
    net = _net()
    deliver(net, "market-a", "marketplace-directory", RegisterVendors(marketplace_id="market_a", addresses=("a1", "a2")))
    deliver(net, "market-b", "marketplace-directory", RegisterVendors(marketplace_id="market_b", addresses=("b1",)))
    deliver(net, "user-0", "marketplace-directory", GetVendors(request=7))
    net.run(until=1)
    assert _answers(net, "market-a") == [VendorsRegistered(marketplace_id="market_a", count=2)]
    assert _answers(net, "user-0") == [VendorList(request=7, addresses=("b1", "a1", "a2"))]
    assert [e["marketplace_id"] for e in net.events("marketplace-directory").named("vendors_registered")] == \
        ["market_a", "market_b"]


def test_re_registration_replaces() -> None:
    net = _net()
    deliver(net, "market-a", "marketplace-directory", RegisterVendors(marketplace_id="market_a", addresses=("a1", "a2")))
    deliver(net, "market-a", "marketplace-directory", RegisterVendors(marketplace_id="market_a", addresses=("a3",)))
    deliver(net, "someone", "marketplace-directory", GetVendors(request=1))
    net.run(until=1)
    assert _answers(net, "someone") == [VendorList(request=1, addresses=("a3",))]


def test_empty_list_before_any_registration() -> None:
    net = _net()
    deliver(net, "user-0", "marketplace-directory", GetVendors(request=1))
    net.run(until=1)
    assert _answers(net, "user-0") == [VendorList(request=1, addresses=())]


def test_only_planned_marketplaces_register_under_their_own_id() -> None:
    net = _net()
    deliver(net, "user-0", "marketplace-directory", RegisterVendors(marketplace_id="market_a", addresses=("evil",)))
    deliver(net, "market-b", "marketplace-directory", RegisterVendors(marketplace_id="market_a", addresses=("evil",)))
    deliver(net, "market-a", "marketplace-directory", VendorsRegistered(marketplace_id="market_a", count=1))
    deliver(net, "user-0", "marketplace-directory", GetVendors(request=2))
    net.run(until=1)
    rejected = net.events("marketplace-directory").named("msg_rejected")
    assert [(r["src"], r["reason"]) for r in rejected] == [("user-0", "not_a_planned_marketplace"),
                                                           ("market-b", "not_a_planned_marketplace"),
                                                           ("market-a", "unexpected_type")]
    assert _answers(net, "user-0") == [VendorList(request=2, addresses=())]


def test_a_restarted_directory_asks_the_marketplaces_to_register_again() -> None:
    from monerosim_actors.actors.marketplace import Marketplace
    net = FakeNet()
    net.add(Marketplace, "market-a", "marketplace", {"wallet_count": 2}, agent_id="market_a")
    net.start()
    net.run(until=1)
    directory = net.add(MarketplaceDirectory, "marketplace-directory", "marketplace_directory",
                        {"marketplaces": MARKETS, "users": []}, node=False)
    directory.on_start()
    net.run(until=1)
    assert [e.dst for e in net.sent if isinstance(e.body, VendorsRequested)] == ["market-b", "market-a"]
    assert directory.addresses() == ("market_a/1", "market_a/2")
