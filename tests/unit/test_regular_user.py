"""The regular user: payment timing (KS), amounts and recipients, intent before transfer, retries, vendors."""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

from monerosim_actors.actors.regular_user import UNLOCK_WAIT_BLOCKS, RegularUser, classify, outcome_unknown
from monerosim_actors.coordination.messages import (BootstrapDone, FundsSent, GetVendors, RequestFunds,
                                                    VendorList)
from monerosim_actors.errors import RpcConnectionError, RpcResponseError, RpcTimeout
from monerosim_actors.testing import XMR, FakeNet, deliver

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
    assert [(f["reason"], f["attempt"], f["will_retry"], f["retry_on"]) for f in failed] == [
        ("insufficient_funds", 1, True, "timer"), ("insufficient_funds", 2, True, "timer"),
        ("insufficient_funds", 3, False, "")]
    assert len({f["payment_id"] for f in failed}) == 1
    wallet = net.hosts["user-0"].wallet
    assert wallet is not None
    wallet.fail_transfers.append(RpcTimeout("transfer", "no answer"))
    user.pay()
    last = net.events("user-0").named("payment_failed")[-1]
    assert (last["reason"], last["will_retry"]) == ("rpc_timeout", False)


def _funded_user(outputs: int, **params: Any) -> tuple[FakeNet, RegularUser]:
    """A user holding ``outputs`` unlocked outputs of 1 XMR, paying 0.2-0.3 XMR only when told."""
    net, user = _user(transaction_frequency=0.0, amount_min=0.2, amount_max=0.3, **params)
    net.ledger.mine(1, "faucet/0")
    net.ledger.warm_up()
    net.ledger.transfer({"faucet/0"}, "faucet/0", [("user_0/0", XMR)] * outputs)
    net.ledger.mine(10, "elsewhere")
    _go(net)
    net.run(until=1)
    return net, user


def _mine(net: FakeNet, blocks: int) -> None:
    net.ledger.mine(blocks, "elsewhere")
    net.run(until=1)


def test_locked_funds_wait_for_the_unlock_not_for_a_timer() -> None:
    """One output: the second payment finds the change locked. It is not tried every
    ``retry_after_s`` while no block comes, but on the block that unlocks the change."""
    net, user = _funded_user(1, retry_after_s=15)
    ev = net.events("user-0")
    user.pay()
    user.pay()
    (failed,) = ev.named("payment_failed")
    assert (failed["reason"], failed["attempt"], failed["will_retry"], failed["retry_on"]) == (
        "locked_funds", 1, True, "unlock")
    net.run(until=600)  # no block: nothing to try again for
    assert len(ev.named("payment_intent")) == 2
    _mine(net, 9)  # the first payment is in a block; its change is 9 deep, still locked
    assert len(ev.named("payment_intent")) == 2 and user.waiting
    _mine(net, 1)  # 10 deep: unlocked, and the waiting payment goes out at once
    sent = ev.named("payment_sent")
    assert [(s["payment_id"], s["attempt"]) for s in sent] == [("user-0:1", 1), ("user-0:2", 2)]
    assert ev.named("payment_intent")[-1] == {"payment_id": "user-0:2", "amount": failed["amount"],
                                              "recipient": failed["recipient"], "attempt": 2}
    assert not user.waiting


def test_waiting_payments_go_out_in_order_as_far_as_the_unlocked_funds_reach() -> None:
    net, user = _funded_user(2)
    for _ in range(5):
        user.pay()
    ev = net.events("user-0")
    assert [f["payment_id"] for f in ev.named("payment_failed")] == ["user-0:3", "user-0:4", "user-0:5"]
    _mine(net, 10)  # the two changes (about 0.75 XMR each) unlock: they pay :3 and :4, :5 waits on
    assert [s["payment_id"] for s in ev.named("payment_sent")] == [f"user-0:{i}" for i in range(1, 5)]
    assert [p["payment_id"] for p in user.waiting] == ["user-0:5"]


def test_a_payment_waits_at_most_unlock_wait_blocks() -> None:
    """The change it waits for never unlocks (its transfer stays in the pool): after
    UNLOCK_WAIT_BLOCKS blocks the payment is tried anyway, fails again, and waits again."""
    net, user = _funded_user(1)
    user.pay()
    net.ledger.hold_back = 10**6  # nothing leaves the pool any more
    user.pay()
    ev = net.events("user-0")
    _mine(net, UNLOCK_WAIT_BLOCKS - 1)
    assert len(ev.named("payment_failed")) == 1
    _mine(net, 1)
    failed = ev.named("payment_failed")
    assert [(f["payment_id"], f["attempt"], f["retry_on"]) for f in failed] == [
        ("user-0:2", 1, "unlock"), ("user-0:2", 2, "unlock")]


def test_a_waiting_payment_the_balance_cannot_cover_is_tried_at_once() -> None:
    """Waiting would not help when the whole balance, locked or not, is short of the payment."""
    net, user = _funded_user(1, payment_attempts=2)
    user.pay()
    wallet = net.hosts["user-0"].wallet
    assert wallet is not None
    wallet.fail_transfers.append(RpcResponseError("transfer", -37, "not enough unlocked money"))
    user.amount_min = user.amount_max = 5.0
    user.pay()
    _mine(net, 1)
    failed = net.events("user-0").named("payment_failed")
    assert [(f["reason"], f["attempt"], f["will_retry"]) for f in failed] == [
        ("locked_funds", 1, True), ("insufficient_funds", 2, False)]
    assert not user.waiting


def test_classify() -> None:
    assert classify(RpcResponseError("transfer", -37, "not enough unlocked money")) == ("locked_funds", True)
    assert classify(RpcResponseError("transfer", -17, "not enough money")) == ("insufficient_funds", True)
    assert classify(RpcResponseError("transfer", -19, "not enough outputs for specified ring size")) == \
        ("not_enough_outs_to_mix", True)
    assert classify(RpcResponseError("transfer", -2, "wrong address")) == ("rpc_error_-2", False)
    assert classify(RpcTimeout("transfer", "x")) == ("rpc_timeout", False)


def test_a_dropped_connection_is_not_a_timeout_and_its_outcome_is_unknown() -> None:
    error = RpcConnectionError("transfer", "connection reset")
    assert classify(error) == ("rpc_connection_error", False)
    assert outcome_unknown(error) and outcome_unknown(RpcTimeout("transfer", "x"))
    assert not outcome_unknown(RpcResponseError("transfer", -2, "wrong address"))


def test_a_failed_bootstrap_does_not_start_payments() -> None:
    net, user = _user(wallet_initial_balance=1.0)
    request = [e.body for e in net.sent if isinstance(e.body, GetVendors)][-1]
    deliver(net, DIR, "user-0", VendorList(request=request.request, addresses=VENDORS))
    deliver(net, CTRL, "user-0", BootstrapDone(height=80, failed="mining_failed"))
    net.run(until=300)
    ev = net.events("user-0")
    assert ev.named("bootstrap_failed") == [{"reason": "mining_failed", "height": 80}]
    assert not ev.named("payments_started") and not ev.named("payment_intent")


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
