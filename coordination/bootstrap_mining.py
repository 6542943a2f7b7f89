"""The bootstrap's blocks: mine them with one pool (the next when it fails), wait until they reach the
controller's node, and mine the funding transfers into blocks and deep enough to unlock.

:class:`BootstrapMiner` is the part of :class:`monerosim_actors.coordination.bootstrap.Bootstrap`
that waits on the chain. Every order goes to the current bootstrap pool; after
:data:`MAX_MINE_FAILURES` failed or timed-out orders in a row (over all pools) the bootstrap fails,
before that the next pool takes over the same order. An order is done once its newest block is in
the controller node's chain (``ChainAdvanced`` or ``get_height``), or after ``sync_timeout_s``
(``sync_timeout``) whatever the chain says.

Funding transfers reach the pool's node only after monerod relayed them, so blocks mined right after
a transfer may not hold it: :meth:`BootstrapMiner.confirm_and_unlock` mines one block at a time,
a doubling wait apart, until the faucet's wallet sees every transfer in a block, then enough blocks
for the youngest one's outputs to unlock.

The controller supplies the I/O through :class:`Ports`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from monerosim_actors.coordination.funding_plan import SPENDABLE_AGE_BLOCKS
from monerosim_actors.coordination.schedule import PoolShare
from monerosim_actors.role import Message

MAX_MINE_FAILURES = 6
"""Failed or timed-out bootstrap orders in a row (over all pools) before the bootstrap gives up."""
CONFIRM_WAIT_S = 2.0
"""Real seconds before the first single block while funding transfers are not in a block yet; the
wait doubles each round up to :data:`CONFIRM_WAIT_MAX_S`."""
CONFIRM_WAIT_MAX_S = 32.0
MAX_CONFIRM_ROUNDS = 20
"""Single blocks mined waiting for the funding transfers before the bootstrap gives up: about 8.5
minutes in all, longer than monerod 0.18.0 holds a transaction it could not stem (its embargo, ~39 s
on average, then its pool's relay pass, every 2 minutes)."""


@dataclass(frozen=True)
class RegisteredPool:
    share: PoolShare
    address: str


class Ports(Protocol):
    """What the bootstrap needs from the controller (the real one, or a fake in tests)."""

    def mine(self, pool: RegisteredPool, count: int, address: str,
             on_done: Callable[[int], None], on_fail: Callable[[str], None]) -> None:
        """Order ``pool`` to mine; exactly one of the callbacks runs later: ``on_done`` with the
        height of the newest block mined, or ``on_fail`` with a reason (``timeout``)."""

    def chain_height(self) -> int:
        """Blocks in the controller node's chain (``get_height``)."""

    def faucet_balance(self) -> tuple[int, int]:
        """The faucet wallet's (balance, unlocked balance), after a refresh."""

    def faucet_transfer(self, destinations: Sequence[tuple[str, int]]) -> tuple[str, int]:
        """Pay ``(address, amount)`` pairs in one transaction; returns (txid, fee)."""

    def tx_heights(self, txids: Sequence[str]) -> dict[str, int | None]:
        """Height of the block holding each of the faucet's transfers ``txids`` (one wallet refresh
        for all), None while it is not in one."""

    def send(self, host: str, body: Message) -> Any:
        """Send a bus message."""

    def emit(self, event: str, **fields: Any) -> None:
        """Record an event."""

    def timeout(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Any:
        """Call ``fn(*args)`` later in the controller's thread; returns a cancellable timer. The
        bootstrap's waits are on programs (see :meth:`monerosim_actors.role.RoleActor.timeout`)."""


class BootstrapMiner:
    """Orders the bootstrap's blocks and waits for them (see the module's docstring).

    Args:
        ports: the controller's I/O.
        sync_timeout_s: how long to wait for mined blocks to reach the controller's node.
        log: logs a ``bootstrap_step`` (the step, then its fields).
        fail: ends the bootstrap with a reason (``mining_failed``, ``payments_not_mined``).
    """

    def __init__(self, ports: Ports, *, sync_timeout_s: float, log: Callable[..., None],
                 fail: Callable[[str], None]) -> None:
        self._p = ports
        self.sync_timeout_s = sync_timeout_s
        self._log = log
        self._fail = fail
        self.pools: list[RegisteredPool] = []
        """The registered pools, bootstrap miner first."""
        self._miner = 0
        self._failures = 0
        self._waiting_height: tuple[int, Callable[[], None], Any] | None = None
        self._notified_blocks = 0
        """Blocks in the controller node's chain as its last ``ChainAdvanced`` said."""
        self.txids: list[str] = []
        """The funding transfers sent so far, which :meth:`confirm_and_unlock` mines and unlocks."""
        self._confirmed: dict[str, int] = {}
        """txid -> height of the block holding it, once the faucet's wallet saw it there."""
        self._confirm_rounds = 0

    def start(self, pools: Sequence[RegisteredPool]) -> None:
        """Mine with these pools: the largest share first, the next when it fails."""
        self.pools = sorted(pools, key=lambda p: -p.share.hashrate_share)  # stable: plan order on ties

    @property
    def pool(self) -> RegisteredPool:
        """The pool that mines now."""
        return self.pools[self._miner]

    def on_chain_advanced(self, blocks: int) -> None:
        """The controller's node has ``blocks`` blocks now: a step waiting for them may go on."""
        self._notified_blocks = max(self._notified_blocks, blocks)
        if self._waiting_height is None:
            return
        target, then, timer = self._waiting_height
        if self.chain_height() >= target:
            self._waiting_height = None
            if timer is not None:
                timer.cancel()
            then()

    def chain_height(self) -> int:
        """Blocks in the controller node's chain: ``get_height``, or what its last notification said
        if that is more. monerod publishes a new block on ZMQ a moment before ``get_height`` counts
        it; a step that asked in that moment waited for a block that had come (``sync_timeout``)."""
        return max(self._p.chain_height(), self._notified_blocks)

    def mine(self, count: int, then: Callable[[], None], *, to: str | None = None) -> None:
        """Order the current bootstrap pool to mine ``count`` blocks to ``to`` (None: the mining
        pool's own address); call ``then`` once the blocks reached our node."""
        pool = self.pool

        def done(height: int) -> None:
            self._failures = 0
            self._await_height(height + 1, then)

        def failed(reason: str) -> None:
            self._failures += 1
            self._log("mine_failed", pool_id=pool.share.pool_id, reason=reason)
            if self._failures >= MAX_MINE_FAILURES:
                self._fail("mining_failed")
                return
            self._miner = (self._miner + 1) % len(self.pools)
            self.mine(count, then, to=to)

        self._p.mine(pool, count, pool.address if to is None else to, done, failed)

    def _await_height(self, target: int, then: Callable[[], None]) -> None:
        if self.chain_height() >= target:
            then()
            return

        def timeout() -> None:
            if self._waiting_height is not None and self._waiting_height[0] == target:
                self._waiting_height = None
                self._log("sync_timeout", target=target, height=self.chain_height())
                then()

        self._waiting_height = (target, then, self._p.timeout(self.sync_timeout_s, timeout))

    def unconfirmed(self) -> bool:
        """Whether some transfer was not yet seen in a block (when :meth:`confirm_and_unlock` last looked)."""
        return any(t not in self._confirmed for t in self.txids)

    def confirm_and_unlock(self, then: Callable[[], None]) -> None:
        """Mine until every transfer sent so far is in a block, then until the youngest one's outputs
        (the users' and the faucet's change) unlock; then ``then``.

        A transfer reaches the mining pool's node only after monerod relayed it, so blocks mined right
        after the transfer may not hold it: Dandelion++ stems delay it by seconds at random, and a
        node whose outgoing peers look behind it (their heights are learnt at handshakes and timed
        syncs, so right after a burst of blocks) cannot stem it at all ("Unable to send
        transaction(s) via Dandelion++ stem"); monerod 0.18.0 then holds it until its embargo ends.
        Mining 10 blocks at once for locked change would mine them all without it. So this mines
        one block at a time, :data:`CONFIRM_WAIT_S` apart, until the faucet's wallet sees every
        transfer confirmed, waiting longer each round (:data:`CONFIRM_WAIT_S` doubling).
        """
        waiting = [t for t in self.txids if t not in self._confirmed]
        if waiting:
            self._confirmed.update({t: h for t, h in self._p.tx_heights(waiting).items() if h is not None})
        unconfirmed = sorted(t for t in self.txids if t not in self._confirmed)
        if unconfirmed:
            self._confirm_rounds += 1
            if self._confirm_rounds > MAX_CONFIRM_ROUNDS:
                self._fail("payments_not_mined")
                return
            self._log("confirm_payments", unconfirmed=unconfirmed)
            wait = min(CONFIRM_WAIT_S * 2 ** (self._confirm_rounds - 1), CONFIRM_WAIT_MAX_S)
            self._p.timeout(wait, self.mine, 1, lambda: self.confirm_and_unlock(then))
            return
        self._confirm_rounds = 0
        count = max(self._confirmed[t] for t in self.txids) + SPENDABLE_AGE_BLOCKS - self.chain_height()
        if count <= 0:
            then()
            return
        self._log("unlock_payments", count=count)
        self.mine(count, then)
