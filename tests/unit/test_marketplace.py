"""The marketplace: vendors as subaddresses, registration until acknowledged, payments seen and confirmed."""

from __future__ import annotations

from monerosim_actors.actors.marketplace import Marketplace
from monerosim_actors.coordination.messages import RegisterVendors, VendorsRegistered
from monerosim_actors.runtime.messages import ChainAdvanced
from monerosim_actors.testing import XMR, FakeNet, deliver

DIR = "marketplace-directory"


def _net(count: int = 3) -> tuple[FakeNet, Marketplace]:
    net = FakeNet()
    market = net.add(Marketplace, "marketplace-0", "marketplace", {"wallet_count": count})
    net.start()
    return net, market


def _registrations(net: FakeNet) -> list[RegisterVendors]:
    return [e.body for e in net.sent if isinstance(e.body, RegisterVendors)]


def test_vendors_are_subaddresses_registered_until_acknowledged() -> None:
    net, market = _net(3)
    assert market.vendors == {"marketplace_0/1": 1, "marketplace_0/2": 2, "marketplace_0/3": 3}
    net.run(until=25)
    regs = _registrations(net)
    assert len(regs) == 3
    assert regs[0] == RegisterVendors(marketplace_id="marketplace_0",
                                      addresses=("marketplace_0/1", "marketplace_0/2", "marketplace_0/3"))
    deliver(net, DIR, "marketplace-0", VendorsRegistered(marketplace_id="marketplace_0", count=3))
    net.run(until=100)
    assert len(_registrations(net)) == 3
    assert net.events("marketplace-0").named("vendors_registered") == [{"marketplace_id": "marketplace_0", "count": 3}]


def test_reopened_wallet_keeps_its_vendors() -> None:
    net, market = _net(3)
    wallet = net.hosts["marketplace-0"].wallet
    assert wallet is not None
    before = dict(market.vendors)
    market.setup()
    assert market.vendors == before and len(wallet.files["marketplace_0"]) == 4


def _pay(net: FakeNet, address: str, amount: int) -> str:
    net.ledger.mine(1, "payer/0")
    net.ledger.warm_up()
    return net.ledger.transfer({"payer/0"}, "payer/0", [(address, amount)]).txid


def test_payment_received_in_pool_then_confirmed_in_block() -> None:
    net, market = _net(3)
    txid = _pay(net, "marketplace_0/2", 2 * XMR)
    net.run(until=1)
    ev = net.events("marketplace-0")
    assert ev.named("payment_received") == [{"txid": txid, "amount": 2 * XMR, "address": "marketplace_0/2", "vendor": 2}]
    assert ev.named("payment_confirmed") == []
    net.ledger.mine(1, "miner/0")
    net.run(until=1)
    assert ev.named("payment_confirmed") == [{"txid": txid, "amount": 2 * XMR, "address": "marketplace_0/2",
                                              "vendor": 2, "height": net.ledger.height - 1}]
    net.ledger.mine(5, "miner/0")
    net.run(until=1)
    assert len(ev.named("payment_received")) == len(ev.named("payment_confirmed")) == 1


def test_a_payment_first_seen_in_a_block_is_received_then_confirmed() -> None:
    net, market = _net(2)
    net.ledger.mine(1, "payer/0")
    net.ledger.warm_up()
    net.run(until=1)
    txid = net.ledger.transfer({"payer/0"}, "payer/0", [("marketplace_0/1", XMR)]).txid
    net.ledger.mine(1, "miner/0")
    net.pool_seen = len(net.ledger.pool)  # the pool notification was missed
    market.on_chain_advanced(ChainAdvanced(net.ledger.height - 1, ("x",), 0.0))
    names = [e for _, e, _ in net.events("marketplace-0").lines if e.startswith("payment_")]
    assert names == ["payment_received", "payment_confirmed"]
    assert net.events("marketplace-0").named("payment_confirmed")[0]["txid"] == txid


def test_payments_to_other_addresses_are_ignored() -> None:
    net, market = _net(2)
    _pay(net, "someone_else/0", XMR)
    net.ledger.mine(1, "miner/0")
    net.run(until=1)
    assert net.events("marketplace-0").named("payment_received") == []


def test_only_the_directory_acknowledges() -> None:
    net, market = _net(1)
    deliver(net, "user-0", "marketplace-0", VendorsRegistered(marketplace_id="marketplace_0", count=1))
    net.run(until=1)
    assert not market.registered
    assert net.events("marketplace-0").named("msg_rejected")[0]["src"] == "user-0"
