"""The regular user: payment timing (KS), amounts and recipients, intent before transfer, retries, vendors."""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

from actors.regular_user import RegularUser, classify
from coordination.protocol import BootstrapDone, FundsSent, GetVendors, RequestFunds, VendorList
from monerosim_actors.errors import RpcResponseError, RpcTimeout
from tests.unit.role_fakes import XMR, FakeNet, deliver

CTRL, DIR = "block-controller", "marketplace-directory"
VENDORS = ("m/1", "m/2", "m/3")


def _user(**params: Any) -> tuple[FakeNet, RegularUser]:
    net = FakeNet()
    p: dict[str, Any] = dict(transaction_frequency=0.5, wallet_initial_balance=0.0, amount_min=0.1, amount_max=2.0)
    p.update(params)
    user = net.add(RegularUser, "user-0", "regular_user", p)
    net.start()
    return net, user


def _go(net: FakeNet, vendors: tuple[str, ...] = VENDORS) -> None:
    request = [e.body for e in net.sent if isinstance(e.body, GetVendors)][-1]
    deliver(net, DIR, "user-0", VendorList(request=request.request, addresses=vendors))
    deliver(net, CTRL, "user-0", BootstrapDone(height=80))


def test_payment_intervals_match_the_configured_rate() -> None:
    p = 0.5
    net, user = _user(transaction_frequency=p, payment_attempts=1, vendor_refresh_s=1e9)
    _go(net)
    net.run(stop=lambda: user.payments >= 10_001)
    times = net.events("user-0").timed("payment_intent")
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) >= 10_000
    rate = -math.log(1 - p) / 60
    assert stats.kstest(gaps, stats.expon(scale=1 / rate).cdf).pvalue > 0.01
    # and the test can tell: the naive rate p/60 is rejected
    assert stats.kstest(gaps, stats.expon(scale=60 / p).cdf).pvalue < 0.01


def test_amounts_and_recipients() -> None:
    net, user = _user(amount_min=0.2, amount_max=0.7, payment_attempts=1, vendor_refresh_s=1e9)
    _go(net)
    net.run(stop=lambda: user.payments >= 3000)
    intents = net.events("user-0").named("payment_intent")
    amounts = [i["amount"] for i in intents]
    assert all(isinstance(a, int) and 0.2 * XMR <= a <= 0.7 * XMR for a in amounts)
    assert stats.kstest([a / XMR for a in amounts], stats.uniform(loc=0.2, scale=0.5).cdf).pvalue > 0.01
    counts = [sum(i["recipient"] == v for i in intents) for v in VENDORS]
    assert stats.chisquare(counts).pvalue > 0.01
    assert len({i["payment_id"] for i in intents}) == len(intents)


def test_intent_is_logged_before_the_transfer_then_sent() -> None:
    net, user = _user()
    wallet = net.hosts["user-0"].wallet
    assert wallet is not None
    net.ledger.mine(1, wallet.get_address())
    net.ledger.warm_up()
    seen: list[str] = []
    real = wallet.transfer

    def spy(dests: list[tuple[str, int]], **kw: Any) -> Any:
        seen.append(net.events("user-0").lines[-1][1])
        return real(dests, **kw)
    wallet.transfer = spy  # type: ignore[method-assign]
    _go(net)
    net.run(stop=lambda: bool(net.events("user-0").named("payment_sent")))
    assert seen == ["payment_intent"]
    (sent,) = net.events("user-0").named("payment_sent")
    (intent,) = net.events("user-0").named("payment_intent")
    assert sent["payment_id"] == intent["payment_id"] and sent["amount"] == intent["amount"]
    assert sent["txid"].startswith("tx") and sent["fee"] > 0 and sent["recipient"] in VENDORS


def test_insufficient_funds_are_retried_later_a_timeout_is_not() -> None:
    net, user = _user(payment_attempts=3, retry_after_s=60, transaction_frequency=0.001)
    net.ledger.warm_up()
    _go(net)
    net.run(stop=lambda: len(net.events("user-0").named("payment_failed")) >= 3)
    failed = net.events("user-0").named("payment_failed")[:3]
    assert [(f["reason"], f["attempt"], f["will_retry"]) for f in failed] == [
        ("insufficient_funds", 1, True), ("insufficient_funds", 2, True), ("insufficient_funds", 3, False)]
    assert len({f["payment_id"] for f in failed}) == 1
    wallet = net.hosts["user-0"].wallet
    assert wallet is not None
    wallet.fail_transfers.append(RpcTimeout("transfer", "no answer"))
    user.pay()
    last = net.events("user-0").named("payment_failed")[-1]
    assert (last["reason"], last["will_retry"]) == ("rpc_timeout", False)


def test_classify() -> None:
    assert classify(RpcResponseError("transfer", -37, "not enough unlocked money")) == ("locked_funds", True)
    assert classify(RpcResponseError("transfer", -17, "not enough money")) == ("insufficient_funds", True)
    assert classify(RpcResponseError("transfer", -19, "not enough outputs for specified ring size")) == \
        ("not_enough_outs_to_mix", True)
    assert classify(RpcResponseError("transfer", -2, "wrong address")) == ("rpc_error_-2", False)
    assert classify(RpcTimeout("transfer", "x")) == ("rpc_timeout", False)


def test_no_vendors_is_a_failed_payment_not_a_crash() -> None:
    net, user = _user()
    user.pay()
    (failed,) = net.events("user-0").named("payment_failed")
    assert failed["reason"] == "no_vendors"


def test_asks_for_funds_until_they_are_sent_and_waits_for_them_to_unlock() -> None:
    net, user = _user(wallet_initial_balance=1.0)
    net.run(until=65)
    asks = [e.body for e in net.sent if isinstance(e.body, RequestFunds)]
    assert len(asks) == 3 and asks[0] == RequestFunds(user_id="user_0", address="user_0/0", amount=XMR)
    faucet = "faucet/0"
    net.ledger.mine(1, faucet)
    net.ledger.warm_up()
    net.ledger.transfer({faucet}, faucet, [("user_0/0", XMR)])
    deliver(net, CTRL, "user-0", FundsSent(amount=XMR, txid="tx1", unlock_height=70))
    net.run(until=100)
    assert len([e for e in net.sent if isinstance(e.body, RequestFunds)]) == 3
    assert net.events("user-0").named("funds_received") == [{"amount": XMR, "txid": "tx1", "unlock_height": 70}]
    assert not user.tasks_running
    net.ledger.mine(9, faucet)
    net.run(until=1)
    assert not user.tasks_running
    net.ledger.mine(1, faucet)
    net.run(until=1)
    assert user.tasks_running
    assert net.events("user-0").named("payments_started") == [{"reason": "balance"}]


def test_vendor_requests_back_off_while_the_directory_is_silent() -> None:
    net, user = _user(vendor_timeout_s=10, vendor_timeout_max_s=40)
    net.run(until=200)
    asks = [round(e.sent_at - net.sent[0].sent_at) for e in net.sent if isinstance(e.body, GetVendors)]
    assert asks == [0, 10, 30, 70, 110, 150, 190]


def test_vendor_list_is_refreshed() -> None:
    net, user = _user(vendor_refresh_s=300)
    _go(net, vendors=("a",))
    net.run(until=301)
    assert user.vendors == ("a",)
    assert len([e for e in net.sent if isinstance(e.body, GetVendors)]) == 2


def test_messages_from_strangers_are_rejected() -> None:
    net, user = _user()
    deliver(net, "user-1", "user-0", BootstrapDone(height=1))
    deliver(net, "user-1", "user-0", VendorList(request=1, addresses=("evil",)))
    net.run(until=1)
    assert len(net.events("user-0").named("msg_rejected")) == 2
    assert not user.tasks_running and user.vendors == ()
