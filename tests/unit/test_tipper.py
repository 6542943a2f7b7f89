"""The tipper, a role outside the package written from ``docs/roles.md`` alone
(``tests/outside_roles/tipper.py``), tested as its author would: with the installed harness, funded
and mined by the harness, its messages encoded, decoded and routed as the real bus does."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from monerosim_actors.actors.marketplace import Marketplace
from monerosim_actors.coordination.marketplace_directory import MarketplaceDirectory
from monerosim_actors.coordination.messages import FundsSent
from monerosim_actors.testing import XMR, FakeNet, deliver

OUTSIDE = Path(__file__).resolve().parents[1] / "outside_roles"
TIPPERS = ["tipper-0", "tipper-1", "tipper-2"]


@pytest.fixture(scope="module")
def tipper() -> ModuleType:
    sys.path.insert(0, str(OUTSIDE))
    try:
        import tipper
    finally:
        sys.path.remove(str(OUTSIDE))
    return tipper


def _economy(tipper: ModuleType, *, talks_to: tuple[str, ...] = ("tipper",)) -> FakeNet:
    net = FakeNet()
    net.ledger.warm_up()
    net.add(MarketplaceDirectory, "marketplace-directory", "marketplace_directory",
            {"marketplaces": [{"marketplace_id": "marketplace_0", "host": "marketplace-0"}]}, node=False)
    net.add(Marketplace, "marketplace-0", "marketplace", {"wallet_count": 3})
    for name in TIPPERS:
        net.add(tipper.Tipper, name, "tipper", {"wait_time": 60, "wallet_initial_balance": 2}, talks_to=talks_to)
    net.start()
    for name in TIPPERS:  # what the controller's bootstrap does in a real run
        txid = net.fund(name, 2)
        deliver(net, "block-controller", name, FundsSent(amount=2 * XMR, txid=txid, unlock_height=net.ledger.height - 1))
    return net


def test_tippers_tip_vendors_and_tell_each_other(tipper: ModuleType) -> None:
    net = _economy(tipper)
    net.run(until=30)
    assert all(net.events(n).named("funds_received") for n in TIPPERS)
    net.mine(1)  # a block: the tippers see their funds spendable and start
    net.run(until=1200)
    sent = net.all_events("tip_sent")
    heard = net.all_events("tip_heard")
    assert {h for h, _ in sent} == set(TIPPERS), "every tipper tipped"
    assert len(heard) == 2 * len(sent), "each tip is heard by the two other tippers"
    assert {e["vendor"] for _, e in sent} <= set(net.hosts["marketplace-0"].actor.vendors)
    assert not net.all_events("msg_dropped") and not net.all_events("msg_rejected")


def test_without_talks_to_the_first_tip_fails_loudly(tipper: ModuleType) -> None:
    net = _economy(tipper, talks_to=())
    net.run(until=30)
    net.mine(1)
    with pytest.raises(ValueError, match="talks_to"):
        net.run(until=1200)
