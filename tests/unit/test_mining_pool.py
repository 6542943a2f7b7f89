"""The mining pool: mines on order, retries BUSY, answers only the controller, re-registers on request."""

from __future__ import annotations

import pytest

from monerosim_actors.actors.mining_pool import BUSY_RETRY_DELAYS_S, MiningPool
from monerosim_actors.coordination.messages import (BlocksMined, MineBlocks, MineFailed, PoolRegistered,
                                                    RegisterPool, RegistrationRequested)
from monerosim_actors.errors import RpcResponseError
from monerosim_actors.role.wallet import open_or_create
from monerosim_actors.testing import FakeNet, FakeWallet, Ledger, deliver

CTRL = "block-controller"


def _net() -> tuple[FakeNet, MiningPool]:
    net = FakeNet()
    pool = net.add(MiningPool, "pool-alpha", "mining_pool", {"pool_id": "pool_alpha", "hashrate_share": 0.4})
    net.start()
    return net, pool


def _to_controller(net: FakeNet) -> list[object]:
    return [e.body for e in net.sent if e.dst == CTRL]


def test_registers_with_its_own_wallet_address_and_retries_until_acknowledged() -> None:
    net, pool = _net()
    net.run(until=25)
    regs = [b for b in _to_controller(net) if isinstance(b, RegisterPool)]
    assert len(regs) == 3  # at 0, 10 and 20 s: no controller answered
    assert regs[0] == RegisterPool(pool_id="pool_alpha", hashrate_share=0.4, address="pool_alpha/0")
    deliver(net, CTRL, "pool-alpha", PoolRegistered(pool_id="pool_alpha", accepted=True, reason=""))
    net.run(until=100)
    assert len([b for b in _to_controller(net) if isinstance(b, RegisterPool)]) == 3


def test_reregisters_when_asked() -> None:
    net, pool = _net()
    deliver(net, CTRL, "pool-alpha", PoolRegistered(pool_id="pool_alpha", accepted=True, reason=""))
    net.run(until=1)
    deliver(net, CTRL, "pool-alpha", RegistrationRequested())
    net.run(until=1)
    assert len([b for b in _to_controller(net) if isinstance(b, RegisterPool)]) == 2


def test_wallet_is_reopened_not_recreated() -> None:
    net, pool = _net()
    wallet = net.hosts["pool-alpha"].wallet
    assert wallet is not None and list(wallet.files) == ["pool_alpha"]
    pool.setup()
    assert list(wallet.files) == ["pool_alpha"] and pool.address == "pool_alpha/0"


def test_mines_on_order_and_reports_each_block() -> None:
    net, pool = _net()
    deliver(net, CTRL, "pool-alpha", MineBlocks(order=4, count=3, address="faucet/0", phase="bootstrap"))
    net.run(until=1)
    mined = net.events("pool-alpha").named("block_mined")
    assert [(m["height"], m["hash"], m["prev"], m["order"], m["phase"]) for m in mined] == [
        (1, "block1", "genesis", 4, "bootstrap"), (2, "block2", "block1", 4, "bootstrap"),
        (3, "block3", "block2", 4, "bootstrap")]
    (answer,) = [b for b in _to_controller(net) if isinstance(b, BlocksMined)]
    assert (answer.order, answer.height, answer.hashes) == (4, 3, ("block1", "block2", "block3"))
    assert sum(o.amount for o in net.ledger.outputs if o.address == "faucet/0") > 0


def test_busy_node_is_retried_with_back_off() -> None:
    net, pool = _net()
    daemon = net.hosts["pool-alpha"].daemon
    assert daemon is not None
    daemon.busy = 2
    t0 = net.clock.t
    deliver(net, CTRL, "pool-alpha", MineBlocks(order=1, count=1, address="x", phase="schedule"))
    net.run(stop=lambda: any(isinstance(b, BlocksMined) for b in _to_controller(net)))
    assert len(daemon.calls) == 3
    assert net.clock.t - t0 >= BUSY_RETRY_DELAYS_S[0] + BUSY_RETRY_DELAYS_S[1]


def test_busy_for_too_long_fails_the_order() -> None:
    net, pool = _net()
    daemon = net.hosts["pool-alpha"].daemon
    assert daemon is not None
    daemon.busy = 100
    deliver(net, CTRL, "pool-alpha", MineBlocks(order=9, count=1, address="x", phase="schedule"))
    net.run(until=60)
    assert [b for b in _to_controller(net) if isinstance(b, MineFailed)] == [MineFailed(order=9, reason="BUSY")]
    assert len(daemon.calls) == len(BUSY_RETRY_DELAYS_S) + 1


def test_orders_only_from_the_block_controller() -> None:
    net, pool = _net()
    deliver(net, "user-0", "pool-alpha", MineBlocks(order=1, count=1, address="thief", phase="schedule"))
    net.run(until=1)
    assert net.ledger.height == 1
    rejected = net.events("pool-alpha").named("msg_rejected")
    assert [(r["src"], r["type"], r["reason"]) for r in rejected] == [("user-0", "mine_blocks", "not_the_block_controller")]


def test_a_large_order_is_mined_in_calls_of_a_few_blocks() -> None:
    net, pool = _net()
    deliver(net, CTRL, "pool-alpha", MineBlocks(order=2, count=12, address="faucet/0", phase="bootstrap"))
    net.run(until=1)
    daemon = net.hosts["pool-alpha"].daemon
    assert daemon is not None and [c for c, _ in daemon.calls] == [5, 5, 2]
    (answer,) = [b for b in _to_controller(net) if isinstance(b, BlocksMined)]
    assert answer.height == 12 and len(answer.hashes) == 12
    assert [m["height"] for m in net.events("pool-alpha").named("block_mined")] == list(range(1, 13))


def test_open_or_create_creates_first_and_opens_an_existing_wallet() -> None:
    wallet = FakeWallet(Ledger())
    assert open_or_create(wallet, "w") is True  # type: ignore[arg-type]
    assert open_or_create(wallet, "w") is False and wallet.open == "w"  # type: ignore[arg-type]

    def broken(filename: str, password: str = "", language: str = "English") -> None:
        raise RpcResponseError("create_wallet", -1, "no wallet dir")
    wallet.create_wallet = broken  # type: ignore[method-assign]
    with pytest.raises(RpcResponseError):
        open_or_create(wallet, "other")  # type: ignore[arg-type]


def test_a_block_whose_parent_the_node_cannot_give_is_logged_without_one() -> None:
    net, pool = _net()
    daemon = net.hosts["pool-alpha"].daemon
    assert daemon is not None

    def refuse(block_hash: str) -> None:
        raise RpcResponseError("get_block_header_by_hash", -5, "no such block")

    daemon.get_block_header_by_hash = refuse  # type: ignore[method-assign]
    deliver(net, CTRL, "pool-alpha", MineBlocks(order=1, count=1, address="faucet/0", phase="schedule"))
    net.run(until=1)
    (mined,) = net.events("pool-alpha").named("block_mined")
    assert (mined["hash"], mined["prev"]) == ("block1", "")
    assert [b for b in _to_controller(net) if isinstance(b, BlocksMined)]
