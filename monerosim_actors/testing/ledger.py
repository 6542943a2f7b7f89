"""A toy Monero ledger and fake daemon and wallet RPC clients over it, for role tests.

:class:`Ledger` models what the roles rely on: coinbase unlocks after 60 blocks, other outputs after
10, a transaction confirms in the next block, transfers fail with monero's "not enough (unlocked)
money" errors and spend inputs as monero's wallet picks them (one output that covers the payment if
there is one). Indexed, so that a bootstrap of 10,000 users runs in seconds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from monerosim_actors.errors import RpcResponseError
from monerosim_actors.runtime.rpc import (STATUS_CODE, Balance, GeneratedBlocks, NewAddress, Refreshed,
                                          TransferEntry, TransferResult)


XMR = 10**12
REWARD = 17_592_186_044_415  # ~17.59 XMR, regtest's reward at low heights
FEE = 30_000_000
RING_SIZE = 16
"""A transfer needs this many unlocked outputs on chain (its decoys), as monero does."""


@dataclass
class Output:
    address: str
    amount: int
    height: int | None  # None while the transaction is in the pool
    coinbase: bool
    txid: str
    spent: bool = False


class Ledger:
    """One chain shared by every fake node (propagation is instant). :meth:`warm_up` mines enough
    blocks elsewhere for transfers to find decoys and for coinbase to unlock."""

    def __init__(self) -> None:
        self.height = 1  # the genesis block
        self.outputs: list[Output] = []
        self.pool: list[str] = []
        self.hashes: list[str] = ["genesis"]
        self._ids = itertools.count(1)
        self.hold_back = 0
        """Blocks still to be mined without the pool's transactions (a relay delay)."""
        # indexes, so that an economy of 10,000 users stays fast: unspent outputs per address,
        # outputs per txid, outputs still in the pool
        self._unspent: dict[str, list[Output]] = {}
        self._by_txid: dict[str, list[Output]] = {}
        self._in_pool: list[Output] = []

    def _add(self, o: Output) -> None:
        self.outputs.append(o)
        self._unspent.setdefault(o.address, []).append(o)
        self._by_txid.setdefault(o.txid, []).append(o)
        if o.height is None:
            self._in_pool.append(o)

    def _mine(self, addresses: set[str]) -> list[Output]:
        """Unspent outputs of ``addresses``, in the order they were made."""
        if len(addresses) == 1:
            (a,) = addresses
            return list(self._unspent.get(a, ()))
        return [o for o in self.outputs if o.address in addresses and not o.spent]

    def by_txid(self, txid: str) -> list[Output]:
        return self._by_txid.get(txid, [])

    def mine(self, count: int, address: str) -> GeneratedBlocks:
        new = []
        for _ in range(count):
            h = self.height
            if self.hold_back:
                self.hold_back -= 1  # the miner's node has not received the pool's transactions yet
            else:
                for o in self._in_pool:
                    o.height = h
                self._in_pool.clear()
                self.pool.clear()
            self._add(Output(address, REWARD, h, True, f"cb{h}"))
            self.height += 1
            self.hashes.append(f"block{h}")
            new.append(f"block{h}")
        return GeneratedBlocks(self.height - 1, tuple(new))

    def warm_up(self) -> None:
        self.mine(60 + RING_SIZE, "elsewhere")

    def fund(self, address: str, amount: int, *, unlocked: bool = True) -> str:
        """Pay ``amount`` to ``address`` in one output from outside the network (as the controller's
        bootstrap pays a user) and mine it; ``unlocked``: also mine until it can be spent (10 blocks,
        and the coinbase outputs a transfer needs as decoys). Returns the transaction id."""
        txid = f"tx{next(self._ids)}"
        output = Output(address, amount, None, False, txid)
        self._add(output)
        self.pool.append(txid)
        while output.height is None:
            self.mine(1, "faucet")
        if unlocked:
            self.mine(10, "faucet")
            if sum(1 for _ in itertools.islice((o for o in self.outputs if self.unlocked(o)), RING_SIZE)) < RING_SIZE:
                self.warm_up()
        return txid

    def unlocked(self, o: Output) -> bool:
        if o.height is None:
            return False
        return o.height + (60 if o.coinbase else 10) <= self.height

    def _usable(self, outputs: list[Output]) -> list[Output]:
        """The unlocked ones of ``outputs`` (:meth:`unlocked`, inlined: 10,000-user tests call it often)."""
        h = self.height
        return [o for o in outputs if o.height is not None and o.height + (60 if o.coinbase else 10) <= h]

    def balance(self, addresses: set[str]) -> Balance:
        mine = self._mine(addresses)
        return Balance(sum(o.amount for o in mine), sum(o.amount for o in self._usable(mine)), 0)

    def transfer(self, addresses: set[str], change: str, dests: list[tuple[str, int]]) -> TransferResult:
        decoys = (o for o in self.outputs if self.unlocked(o))
        if sum(1 for _ in itertools.islice(decoys, RING_SIZE)) < RING_SIZE:
            raise RpcResponseError("transfer", -19, "not enough outputs to use")
        need = sum(a for _, a in dests) + FEE
        mine = self._mine(addresses)
        usable = self._usable(mine)
        if sum(o.amount for o in usable) < need:
            if sum(o.amount for o in mine) >= need:
                raise RpcResponseError("transfer", -37, "not enough unlocked money")
            raise RpcResponseError("transfer", -17, "not enough money")
        txid = f"tx{next(self._ids)}"
        # as monero's wallet2 (pick_preferred_rct_inputs): the oldest output that covers it alone,
        # else the oldest outputs until they cover it
        single = next((o for o in usable if o.amount >= need), None)
        got = 0
        for o in [single] if single is not None else usable:
            if got >= need:
                break
            o.spent = True
            got += o.amount
        for a in addresses:
            if a in self._unspent:
                self._unspent[a] = [o for o in self._unspent[a] if not o.spent]
        for address, amount in dests:
            self._add(Output(address, amount, None, False, txid))
        if got > need:
            self._add(Output(change, got - need, None, False, txid))
        self.pool.append(txid)
        return TransferResult(txid, FEE, sum(a for _, a in dests), "")


class FakeDaemon:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.busy = 0
        """Answer this many generateblocks calls with BUSY first."""
        self.calls: list[tuple[int, str]] = []

    def get_height(self) -> int:
        return self.ledger.height

    def generateblocks(self, count: int, wallet_address: str) -> GeneratedBlocks:
        self.calls.append((count, wallet_address))
        if self.busy:
            self.busy -= 1
            raise RpcResponseError("generateblocks", STATUS_CODE, "BUSY")
        return self.ledger.mine(count, wallet_address)


class FakeWallet:
    """A wallet on the ledger: its files are names, its addresses ``NAME/INDEX``."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.files: dict[str, list[str]] = {}
        self.open: str | None = None
        self.fail_transfers: list[RpcResponseError] = []

    def create_wallet(self, filename: str, password: str = "", language: str = "English") -> None:
        if filename in self.files:
            raise RpcResponseError("create_wallet", -21, "Cannot create wallet. Already exists.")
        self.files[filename] = [f"{filename}/0"]
        self.open = filename

    def open_wallet(self, filename: str, password: str = "") -> None:
        if filename not in self.files:
            raise RpcResponseError("open_wallet", -1, "Failed to open wallet")
        self.open = filename

    def _addresses(self) -> list[str]:
        assert self.open is not None
        return self.files[self.open]

    def get_address(self, account_index: int = 0) -> str:
        return self._addresses()[0]

    def get_addresses(self, account_index: int = 0) -> dict[int, str]:
        return dict(enumerate(self._addresses()))

    def create_address(self, account_index: int = 0, label: str = "", count: int = 1) -> NewAddress:
        addrs = self._addresses()
        first = len(addrs)
        addrs.extend(f"{self.open}/{i}" for i in range(first, first + count))
        return NewAddress(addrs[first], first)

    def refresh(self, start_height: int | None = None) -> Refreshed:
        return Refreshed(0, False)

    def get_balance(self, account_index: int = 0) -> Balance:
        return self.ledger.balance(set(self._addresses()))

    def transfer(self, destinations: list[tuple[str, int]], **kw: Any) -> TransferResult:
        if self.fail_transfers:
            raise self.fail_transfers.pop(0)
        return self.ledger.transfer(set(self._addresses()), self._addresses()[0], list(destinations))

    def store(self, *, timeout: float | None = None) -> None:
        """The fake keeps everything in memory."""

    def get_transfer_by_txid(self, txid: str, account_index: int = 0) -> TransferEntry:
        outputs = self.ledger.by_txid(txid)
        if not outputs:
            raise RpcResponseError("get_transfer_by_txid", -8, "Transaction not found.")
        height = outputs[0].height
        return TransferEntry(txid, "out" if height else "pending", 0, FEE, height or 0, 0, 0, "", 0, False)

    def get_transfers(self, *, in_: bool = True, out: bool = True, pending: bool = True, pool: bool = True,
                      failed: bool = False, account_index: int = 0,
                      min_height: int | None = None) -> list[TransferEntry]:
        mine = set(self._addresses())
        out_list = []
        for o in self.ledger.outputs:
            if o.address not in mine or o.coinbase:
                continue
            if o.height is None and pool:
                out_list.append(TransferEntry(o.txid, "pool", o.amount, 0, 0, 0, 0, o.address, 0, False))
            elif o.height is not None and in_ and (min_height is None or o.height > min_height):
                out_list.append(TransferEntry(o.txid, "in", o.amount, 0, o.height, 1, 0, o.address, 0, False))
        return out_list
