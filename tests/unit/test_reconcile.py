"""A user's payment whose outcome is unknown is reconciled with the wallet before any retry:
neither lost nor sent twice (the e2e fault tests do the same with real processes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monerosim_actors.actors.regular_user import RECONCILE_BLOCKS, RegularUser
from monerosim_actors.errors import RpcTimeout
from monerosim_actors.runtime.messages import ChainAdvanced, ProcessRestarted
from monerosim_actors.runtime.rpc import TransferEntry
from monerosim_actors import testing as role_fakes
from tests.unit.test_regular_user import _go


class Wallet:
    """Wraps the fake wallet: records transfers, can fail the call after (or instead of) sending,
    and lists what went out as ``get_transfers`` would."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str, int]] = []
        self.after_sending: list[Exception] = []
        self.instead: list[Exception] = []
        inner.transfer, self._transfer = self.transfer, inner.transfer
        inner.get_transfers = self.get_transfers

    def transfer(self, dests: list[tuple[str, int]], **kw: Any) -> Any:
        if self.instead:
            raise self.instead.pop(0)
        result = self._transfer(dests, **kw)
        self.sent.append((result.txid, *dests[0]))
        if self.after_sending:
            raise self.after_sending.pop(0)
        return result

    def get_transfers(self, **kw: Any) -> list[TransferEntry]:
        return [TransferEntry(txid, "out", amount, 10, 0, 0, 0, "", 0, False, ((address, amount),))
                for txid, address, amount in self.sent]


def _user(tmp_path: Path) -> tuple[role_fakes.FakeNet, RegularUser, Wallet]:
    net = role_fakes.FakeNet(data_dir=str(tmp_path))
    user = net.add(RegularUser, "user-0", "regular_user", dict(transaction_frequency=0.001, amount_min=0.1,
                                                               amount_max=0.2, wallet_initial_balance=0.0))
    wallet = Wallet(net.hosts["user-0"].wallet)
    net.start()
    net.ledger.mine(1, net.hosts["user-0"].wallet.get_address())
    net.ledger.warm_up()
    _go(net)
    net.run(until=1)
    return net, user, wallet


def _names(net: role_fakes.FakeNet, *names: str) -> list[dict[str, Any]]:
    return [dict(f, event=e) for _, e, f in net.events("user-0").lines if e in names]


def test_sent_although_the_call_failed_is_found_and_not_sent_again(tmp_path: Path) -> None:
    net, user, wallet = _user(tmp_path)
    wallet.after_sending.append(RpcTimeout("transfer", "connection reset"))
    user.pay()
    (failed,) = _names(net, "payment_failed")
    assert failed["reconcile"] is True
    user.on_receive(ProcessRestarted("wallet"))
    (rec,) = _names(net, "payment_reconciled")
    assert (rec["outcome"], rec["txid"]) == ("sent", wallet.sent[0][0])
    (sent,) = _names(net, "payment_sent")
    assert sent["reconciled"] is True and sent["payment_id"] == failed["payment_id"]
    for height in range(100, 100 + 2 * RECONCILE_BLOCKS):
        user.on_receive(ChainAdvanced(height, (), 0.0))
    assert len(wallet.sent) == 1 and len(_names(net, "payment_intent")) == 1


def test_not_sent_is_retried_only_after_enough_blocks_without_it(tmp_path: Path) -> None:
    net, user, wallet = _user(tmp_path)
    user.height = 50
    wallet.instead.append(RpcTimeout("transfer", "no answer"))
    user.pay()
    user.on_receive(ProcessRestarted("monerod"))
    for height in range(51, 50 + RECONCILE_BLOCKS):
        user.on_receive(ChainAdvanced(height, (), 0.0))
    assert not _names(net, "payment_reconciled") and not wallet.sent
    user.on_receive(ChainAdvanced(50 + RECONCILE_BLOCKS, (), 0.0))
    events = [e["event"] for e in _names(net, "payment_intent", "payment_failed", "payment_reconciled",
                                         "payment_sent")]
    assert events == ["payment_intent", "payment_failed", "payment_reconciled", "payment_intent", "payment_sent"]
    assert _names(net, "payment_reconciled")[0]["outcome"] == "not_sent"
    assert [e["attempt"] for e in _names(net, "payment_intent")] == [1, 2]
    assert len(wallet.sent) == 1


def test_a_restarted_host_reconciles_the_intent_its_earlier_run_left_open(tmp_path: Path) -> None:
    net, user, wallet = _user(tmp_path)
    real = wallet._transfer

    def crash(dests: list[tuple[str, int]], **kw: Any) -> Any:  # the host dies inside the call
        wallet.sent.append((real(dests, **kw).txid, *dests[0]))
        raise SystemExit
    wallet._transfer = crash
    wallet.inner.transfer = crash
    with pytest.raises(SystemExit):
        user.pay()
    # the host starts again: same data dir, the wallet remembers the transfer
    again, user2, wallet2 = _user(tmp_path)
    wallet2.sent = list(wallet.sent)
    user2.on_receive(ProcessRestarted("wallet"))
    (rec,) = _names(again, "payment_reconciled")
    assert rec["outcome"] == "sent" and rec["payment_id"] == "user-0:1"
    user2.pay()
    assert _names(again, "payment_intent")[-1]["payment_id"] == "user-0:2"  # ids are not reused


def test_a_transfer_the_daemon_rejected_is_retried_later() -> None:
    from monerosim_actors.actors.regular_user import classify
    from monerosim_actors.errors import RpcResponseError
    assert classify(RpcResponseError("transfer", -4, "transaction was rejected by daemon")) == \
        ("rejected_by_daemon", True)
