"""The economy's bootstrap: before the block schedule starts, every user holds its initial balance.

Monero's rules shape the steps: a coinbase output unlocks 60 blocks after its block, any other output
10 blocks after; a transaction needs ring members (16 per input) that are already on chain. So:

1. ``fund_faucet``: ONE pool (the registered pool with the largest share; the next one if it fails)
   mines blocks to the controller's faucet wallet until its balance covers every expected user's
   initial balance plus a fee reserve. The block reward is read from the faucet's balance as blocks
   arrive (the first order is one block), never hard-coded. One pool mines the whole bootstrap, so
   bursts of blocks never race between nodes and fork.
   ``spread_faucet``: then up to 10 blocks more, so that each planned transfer can spend coinbase
   outputs of its own instead of waiting 10 blocks for the change of the one before.
2. ``unlock_coinbase``: the same pool mines 60 + 16 + 4 blocks to its own address: the faucet's
   coinbase unlocks after 60, and a ring of 16 needs 16 UNLOCKED outputs on chain as decoys (with
   only 60 blocks, the first transfer fails with "not enough outputs to use"); more blocks, 10 at a
   time, while the faucet's unlocked balance is still short.
3. ``await_users``: users send ``RequestFunds`` when their wallet is ready (they may have done so long
   before); the bootstrap waits for every expected user until ``registration_timeout_s`` after it
   began, then goes on with those present and logs the missing.
4. ``pay_users``: transfers of at most :data:`MAX_DESTINATIONS` destinations each, in plan order.
   Each user's balance is split over its ``outputs`` (:func:`outputs_for_rate`): a wallet with one
   output can pay only once per 10 blocks (its change is locked meanwhile), one with ``k`` outputs
   ``k`` times. A user's outputs share one transfer when they fit (more than
   :data:`MAX_DESTINATIONS` fill several). When the faucet's unlocked balance does not cover a
   transfer (its change is locked for 10 blocks), the transfers sent so far are mined first, a
   block at a time until they are in (as in step 5), then 10 blocks on top. Each user gets
   ``FundsSent`` once all its outputs are paid. The transfers are made in a loop, not by recursion,
   so any number of users can be paid.
5. ``unlock_payments``: blocks until every funding transfer is in a block (one at a time, a moment
   apart: monerod's Dandelion++ relay may hold a transfer back for seconds, and blocks mined without
   it do not count), then until its outputs are 10 blocks deep, so they are unlocked.
6. ``done``: ``BootstrapDone`` to every pool, user and marketplace; ``bootstrap_done`` is logged and the
   controller starts the schedule. A bootstrap that fails (``bootstrap_step{step: failed, reason}``)
   ends the same way, but its ``BootstrapDone`` and ``bootstrap_done`` carry ``failed`` = the reason,
   so users do not start paying on it (they still do once their own unlocked balance covers their
   initial balance).

Every step is logged as ``bootstrap_step{step, ...}``. The bootstrap never waits on the scheduler except
for timeouts: each step starts as soon as the previous one's blocks reached the controller's node.
A user whose request arrives after the payments is paid on arrival (transfers of its own).

How many outputs a user gets (:func:`outputs_for_rate`): a payment spends an output and its change
is locked until the payment is in a block and 10 blocks deep, which is on average
:data:`SPENDABLE_AGE_BLOCKS` block times (the wait for the next block, then 9 more). A user that pays
at rate ``r`` (``transaction_frequency`` p per minute is the Poisson rate ``-ln(1 - p)`` per minute)
makes on average ``m = r * 10 * block_time`` payments in that time. Its outputs are like the servers
of a queue: each payment holds one for a lock period, and a payment that finds none unlocked waits
for the next to unlock. The user gets the fewest outputs with which a payment has to wait with
probability at most 1% (:data:`WAIT_PROBABILITY`), by Erlang's C formula for ``m`` (payments per
lock period) and ``n`` outputs, at least :data:`MIN_OUTPUTS_PER_USER` and at most
:data:`MAX_OUTPUTS_PER_USER`: 10 outputs for the quickstart (``m`` = 3.5), 7 for the seed's example
(``m`` = 2.1). The scenario can set the number instead (``regular_users.config.outputs_per_user``).

The class holds the state machine only; the controller supplies the I/O through :class:`Ports`.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from monerosim_actors.coordination.messages import BootstrapDone, FundsSent
from monerosim_actors.role import (Message, RpcError, per_minute_probability_rate)
from monerosim_actors.coordination.schedule import PoolShare

logger = logging.getLogger(__name__)

COINBASE_UNLOCK_BLOCKS = 60
"""CRYPTONOTE_MINED_MONEY_UNLOCK_WINDOW."""
RING_SIZE = 16
"""Members of every ring: a transfer needs at least this many UNLOCKED outputs on chain (decoys)."""
RING_MARGIN_BLOCKS = 4
"""Unlocked coinbase outputs beyond the ring size, so decoy selection never runs short."""
SPENDABLE_AGE_BLOCKS = 10
"""CRYPTONOTE_DEFAULT_TX_SPENDABLE_AGE: blocks before a (non-coinbase) output can be spent."""
MAX_DESTINATIONS = 15
"""Destinations per faucet transfer (monero allows 16 outputs per transaction, change included)."""
FEE_RESERVE_PER_TX = 10**11
"""0.1 XMR kept per transfer for its fee; regtest fees are far below this."""
MAX_MINE_FAILURES = 6
"""Failed or timed-out bootstrap orders in a row (over all pools) before the bootstrap gives up."""
MAX_TOP_UPS = 10
"""Extra 10-block rounds per step when unlocked funds still fall short."""
CONFIRM_WAIT_S = 2.0
"""Real seconds before the first single block while funding transfers are not in a block yet; the
wait doubles each round up to :data:`CONFIRM_WAIT_MAX_S`."""
CONFIRM_WAIT_MAX_S = 32.0
MAX_CONFIRM_ROUNDS = 20
"""Single blocks mined waiting for the funding transfers before the bootstrap gives up: about 8.5
minutes in all, longer than monerod 0.18.0 holds a transaction it could not stem (its embargo, ~39 s
on average, then its pool's relay pass, every 2 minutes)."""
MIN_OUTPUTS_PER_USER = 4
"""The fewest outputs :func:`outputs_for_rate` gives a user, however slowly it pays."""
MAX_OUTPUTS_PER_USER = 1000
"""The most outputs a user gets (also the largest ``outputs_per_user`` a scenario may set)."""
WAIT_PROBABILITY = 0.01
"""With the outputs :func:`outputs_for_rate` gives, at most this share of a user's payments find
every output locked."""


def outputs_for_rate(transaction_frequency: float, block_time_s: float) -> int:
    """How many outputs a user paying with probability ``transaction_frequency`` per minute needs
    when blocks come every ``block_time_s`` seconds (the rule is in the module's docstring).

    >>> outputs_for_rate(0.5, 30)    # the quickstart: 3.5 payments per lock period on average
    10
    >>> outputs_for_rate(0.1, 120)   # the seed's example: 2.1
    7
    """
    load = per_minute_probability_rate(transaction_frequency) * SPENDABLE_AGE_BLOCKS * block_time_s
    for n in range(MIN_OUTPUTS_PER_USER, MAX_OUTPUTS_PER_USER):
        if erlang_c(n, load) <= WAIT_PROBABILITY:
            return n
    return MAX_OUTPUTS_PER_USER


def erlang_c(servers: int, load: float) -> float:
    """The probability that an arrival waits in a queue with ``servers`` servers and an offered
    ``load`` (arrival rate times holding time; M/M/n, Erlang's C formula), 1 when ``load >= servers``.
    Computed through Erlang's B formula by its recurrence, which never overflows."""
    if load <= 0:
        return 0.0
    if load >= servers:
        return 1.0
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return servers * b / (servers - load * (1 - b))


def split_amount(amount: int, outputs: int) -> list[int]:
    """``amount`` in ``outputs`` near-equal parts (the last takes the remainder), never a zero part."""
    k = max(1, min(outputs, amount))
    part = amount // k
    return [part] * (k - 1) + [amount - part * (k - 1)]


def pack_transfers(parts: Iterable[tuple[str, int]]) -> Iterator[list[tuple[str, int]]]:
    """Group users' outputs into transfers of at most :data:`MAX_DESTINATIONS` destinations.

    ``parts`` are ``(user_id, outputs)`` in paying order; each transfer is yielded as ``(user_id,
    outputs in this transfer)`` pairs. A user's outputs share one transfer when they fit in what is
    left of it, otherwise they start the next one; a user with more than :data:`MAX_DESTINATIONS`
    fills whole transfers and its remainder starts one that the next users join. Lazy: taking the
    first transfer reads only the users in it (and one more).
    """
    current: list[tuple[str, int]] = []
    room = MAX_DESTINATIONS
    for user_id, n in parts:
        if n > room and current:
            yield current
            current, room = [], MAX_DESTINATIONS
        while n > 0:
            take = min(n, room)
            current.append((user_id, take))
            room -= take
            n -= take
            if room == 0:
                yield current
                current, room = [], MAX_DESTINATIONS
    if current:
        yield current


@dataclass(frozen=True)
class UserFunding:
    """An expected user: who, where, how much (atomic units), in how many outputs."""

    user_id: str
    host: str
    amount: int
    outputs: int = MIN_OUTPUTS_PER_USER


def _transfer_values(users: Sequence[UserFunding]) -> list[int]:
    """What each transfer pays when ``users`` are paid in this order (:func:`pack_transfers`)."""
    owed = {u.user_id: split_amount(u.amount, u.outputs) for u in users}
    paid = dict.fromkeys(owed, 0)
    values = []
    for transfer in pack_transfers((uid, len(parts)) for uid, parts in owed.items()):
        value = 0
        for uid, n in transfer:
            value += sum(owed[uid][paid[uid]:paid[uid] + n])
            paid[uid] += n
        values.append(value)
    return values


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


class Bootstrap:
    """The bootstrap's state machine. Call :meth:`start` once, then feed it what happens.

    Args:
        ports: the controller's I/O.
        faucet_address: where the faucet's coinbase goes.
        users: the expected users, in plan order.
        notify_hosts: every host that gets ``BootstrapDone`` (pools, users, marketplaces).
        users_timeout_s: how long (from :meth:`start`) to wait for users' requests.
        sync_timeout_s: how long to wait for mined blocks to reach the controller's node.
        on_done: called once when the bootstrap is over (done or failed), with its final height.
    """

    def __init__(self, ports: Ports, *, faucet_address: str, users: Sequence[UserFunding],
                 notify_hosts: Sequence[str], users_timeout_s: float, sync_timeout_s: float,
                 on_done: Callable[[int], None]) -> None:
        self._p = ports
        self.faucet_address = faucet_address
        self.users = {u.user_id: u for u in users}
        self.notify_hosts = list(notify_hosts)
        self.users_timeout_s = users_timeout_s
        self.sync_timeout_s = sync_timeout_s
        self._on_done = on_done
        self.step = "idle"
        self.requests: dict[str, str] = {}
        """user_id -> address, from RequestFunds."""
        self._unrequested = {uid for uid, u in self.users.items() if u.amount > 0}
        """Users owed funds that have not asked yet (a set: each request is O(1), also for 10,000 users)."""
        funded = [u for u in self.users.values() if u.amount > 0]
        self._transfer_values = _transfer_values(funded)
        """What each transfer pays when every expected user asks in time (atomic units)."""
        self.transfers = len(self._transfer_values)
        """Transfers the faucet makes when every expected user asks in time."""
        self.outputs_per_user = max((len(split_amount(u.amount, u.outputs)) for u in funded), default=0)
        """The most outputs any user gets (the users of one scenario all get the same)."""
        self.needed = sum(u.amount for u in funded) + self.transfers * FEE_RESERVE_PER_TX
        """What the faucet must hold: every expected user's amount plus a fee reserve per transfer."""
        self._owed: dict[str, list[int]] = {}
        """user_id -> the amounts of its outputs not paid yet (a user's outputs may span transfers)."""
        self._confirmed: dict[str, int] = {}
        """txid -> height of the block holding it, once the faucet's wallet saw it there."""
        self.paid: dict[str, FundsSent] = {}
        self._pools: list[RegisteredPool] = []
        self._miner = 0
        self._failures = 0
        self._top_ups = 0
        self._users_timer: Any = None
        self._users_timed_out = False
        self._waiting_height: tuple[int, Callable[[], None], Any] | None = None
        self._notified_blocks = 0
        """Blocks in the controller node's chain as its last ``ChainAdvanced`` said."""
        self._queue: deque[str] = deque()
        """user_ids to pay, in plan order; a user leaves it when its last output is paid."""
        self._txids: list[str] = []
        self._confirm_rounds = 0
        self.finished = False
        self.height = 0
        self.failure = ""
        """Why the bootstrap failed, once it did (empty otherwise)."""

    # --- inputs ---------------------------------------------------------------------------------

    def start(self, pools: Sequence[RegisteredPool]) -> None:
        """Begin with the pools that registered (bootstrap miner: largest share first)."""
        self._pools = sorted(pools, key=lambda p: -p.share.hashrate_share)  # stable: plan order on ties
        self._users_timer = self._p.timeout(self.users_timeout_s, self._users_deadline)
        self._log("start", pools=[p.share.pool_id for p in self._pools], users=len(self.users),
                  needed=self.needed, outputs_per_user=self.outputs_per_user, transfers=self.transfers)
        if self.needed == 0 or not any(u.amount > 0 for u in self.users.values()):
            self._finish()
        elif not self._pools:
            self._fail("no_pools")
        else:
            self._fund_faucet(first=True)

    def on_funds_requested(self, user_id: str, address: str) -> None:
        """A listed user asked for its funds (again, perhaps: requests are idempotent)."""
        user = self.users[user_id]
        if user_id in self.paid:
            self._p.send(user.host, self.paid[user_id])
            if self.finished:
                self._p.send(user.host, self._done_message())
            return
        self.requests[user_id] = address
        self._unrequested.discard(user_id)
        if self.step == "await_users" and self._all_requested():
            self._pay_users()
        elif self.finished and user.amount > 0:
            self._pay_late(user)

    def on_chain_advanced(self, blocks: int) -> None:
        """The controller's node has ``blocks`` blocks now: a step waiting for them may go on."""
        self._notified_blocks = max(self._notified_blocks, blocks)
        if self._waiting_height is None:
            return
        target, then, timer = self._waiting_height
        if self._chain_height() >= target:
            self._waiting_height = None
            if timer is not None:
                timer.cancel()
            then()

    # --- steps ----------------------------------------------------------------------------------

    def _fund_faucet(self, first: bool = False, balance_before: int = 0, mined: int = 0, blocks: int = 0) -> None:
        """Mine to the faucet until it holds :attr:`needed` (``blocks``: faucet blocks so far, the
        last ``mined`` of them since its balance was ``balance_before``)."""
        self.step = "fund_faucet"
        balance, _ = self._p.faucet_balance()
        reward = (balance - balance_before) // mined if mined and balance > balance_before else 0
        if balance >= self.needed:
            self._spread_faucet(balance, reward, blocks)
            return
        if first or not reward:
            count = 1  # learn the block reward from the first block
        else:
            count = max(1, math.ceil((self.needed - balance) / reward))
        self._log("fund_faucet", balance=balance, needed=self.needed, count=count)
        self._mine(count, self.faucet_address,
                   lambda: self._fund_faucet(balance_before=balance, mined=count, blocks=blocks + count))

    def _spread_faucet(self, balance: int, reward: int, blocks: int) -> None:
        """A few more faucet blocks, so that each transfer can spend coinbase of its own.

        Every transfer leaves its change locked for 10 blocks; a faucet whose coinbase is in fewer
        outputs than the transfers need pays them one after the other, 10 blocks apart or more (the
        quickstart's first block pays 35 XMR in one output: its 3 transfers took 70 blocks). So the
        faucet gets as many coinbase outputs as the planned transfers need, each covered by whole
        outputs of the last reward, but at most :data:`SPENDABLE_AGE_BLOCKS` more blocks than its
        balance needs: a wait for change would cost as many.
        """
        wanted = sum(math.ceil((v + FEE_RESERVE_PER_TX) / reward) for v in self._transfer_values) if reward else 0
        count = min(wanted - blocks, SPENDABLE_AGE_BLOCKS)
        if count <= 0:
            self._faucet_funded()
            return
        self._log("spread_faucet", blocks=blocks, wanted=wanted, count=count)
        self._mine(count, self.faucet_address, self._faucet_funded)

    def _faucet_funded(self) -> None:
        balance, _ = self._p.faucet_balance()
        self._log("faucet_funded", balance=balance, needed=self.needed)
        self._unlock_coinbase(COINBASE_UNLOCK_BLOCKS + RING_SIZE + RING_MARGIN_BLOCKS)

    def _unlock_coinbase(self, count: int) -> None:
        self.step = "unlock_coinbase"
        self._log("unlock_coinbase", count=count)
        self._mine(count, self._pool().address, self._check_unlocked)

    def _check_unlocked(self) -> None:
        balance, unlocked = self._p.faucet_balance()
        self._log("faucet_unlocked", balance=balance, unlocked=unlocked, needed=self.needed)
        if unlocked >= self.needed:
            self._top_ups = 0
            self._await_users()
        elif self._top_up():
            self._unlock_coinbase(SPENDABLE_AGE_BLOCKS)

    def _await_users(self) -> None:
        self.step = "await_users"
        if self._all_requested() or self._users_timed_out:
            self._pay_users()
        else:
            self._log("await_users", requested=sorted(self.requests), missing=self._missing())

    def _users_deadline(self) -> None:
        self._users_timed_out = True
        if self.step == "await_users":
            self._pay_users()

    def _pay_users(self) -> None:
        self.step = "pay_users"
        if self._users_timer is not None:
            self._users_timer.cancel()
            self._users_timer = None
        missing = self._missing()
        if missing:
            self._log("users_missing", users=missing)
        self._queue = deque(uid for uid, u in self.users.items()
                            if uid in self.requests and uid not in self.paid and u.amount > 0)
        self._pay_queue()

    def _pay_queue(self) -> None:
        """Pay the queued users, one transfer after the other, then go on to unlock the payments.

        A loop, not a recursion (the bootstrap used to call itself once per transfer and died of
        ``RecursionError`` at about 3,000 users). It returns early only to wait for blocks (change
        locked, a failed transfer), and is called again when they are in.
        """
        while self._queue:
            transfer = next(pack_transfers((uid, len(self._owed_to(uid))) for uid in self._queue))
            destinations = [(self.requests[uid], amount) for uid, n in transfer for amount in self._owed[uid][:n]]
            total = sum(amount for _, amount in destinations)
            users = list(dict.fromkeys(uid for uid, _ in transfer))
            _, unlocked = self._p.faucet_balance()
            if unlocked < total + FEE_RESERVE_PER_TX:
                self._log("change_locked", unlocked=unlocked, batch_total=total)
                if any(t not in self._confirmed for t in self._txids):
                    self._confirm_and_unlock(self._pay_queue)  # the change is in transfers not yet mined
                elif self._top_up():
                    self._mine(SPENDABLE_AGE_BLOCKS, self._pool().address, self._pay_queue)
                return
            try:
                txid, fee = self._p.faucet_transfer(destinations)
            except RpcError as e:
                self._log("transfer_failed", error=str(e), users=users)
                if self._top_up():
                    self._mine(SPENDABLE_AGE_BLOCKS, self._pool().address, self._pay_queue)
                return
            self._top_ups = 0
            self._log("batch_paid", txid=txid, fee=fee, users=users, amount=total)
            done = []
            for uid, n in transfer:
                del self._owed[uid][:n]
                if not self._owed[uid]:
                    done.append(self.users[uid])
            for _ in done:
                self._queue.popleft()  # paid users are at the head of the queue, in order
            self._txids.append(txid)
            self._paid(done, txid)
        self._unlock_payments()

    def _owed_to(self, user_id: str) -> list[int]:
        """The output amounts still owed to ``user_id`` (all of them until its first transfer)."""
        if user_id not in self._owed:
            user = self.users[user_id]
            self._owed[user_id] = split_amount(user.amount, user.outputs)
        return self._owed[user_id]

    def _paid(self, users: Sequence[UserFunding], txid: str) -> None:
        """Tell ``users`` their funds are sent (their last outputs are in ``txid``)."""
        # mined at the earliest in the next block (height = blocks now), spendable 10 blocks later
        unlock = self._chain_height() + SPENDABLE_AGE_BLOCKS - 1
        for u in users:
            msg = FundsSent(amount=u.amount, txid=txid, unlock_height=unlock)
            self.paid[u.user_id] = msg
            self._p.emit("user_funded", user_id=u.user_id, amount=u.amount, txid=txid)
            self._p.send(u.host, msg)

    def _unlock_payments(self) -> None:
        """Mine until every funding transfer is in a block, then until its outputs unlock."""
        self.step = "unlock_payments"
        if not self._txids:
            self._finish()
            return
        self._confirm_and_unlock(self._finish)

    def _confirm_and_unlock(self, then: Callable[[], None]) -> None:
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
        waiting = [t for t in self._txids if t not in self._confirmed]
        if waiting:
            self._confirmed.update({t: h for t, h in self._p.tx_heights(waiting).items() if h is not None})
        unconfirmed = sorted(t for t in self._txids if t not in self._confirmed)
        if unconfirmed:
            self._confirm_rounds += 1
            if self._confirm_rounds > MAX_CONFIRM_ROUNDS:
                self._fail("payments_not_mined")
                return
            self._log("confirm_payments", unconfirmed=unconfirmed)
            wait = min(CONFIRM_WAIT_S * 2 ** (self._confirm_rounds - 1), CONFIRM_WAIT_MAX_S)
            self._p.timeout(wait, self._mine, 1, self._pool().address, lambda: self._confirm_and_unlock(then))
            return
        self._confirm_rounds = 0
        count = max(self._confirmed[t] for t in self._txids) + SPENDABLE_AGE_BLOCKS - self._chain_height()
        if count <= 0:
            then()
            return
        self._log("unlock_payments", count=count)
        self._mine(count, self._pool().address, then)

    def _finish(self) -> None:
        self.step = "done"
        self.finished = True
        self.height = self._chain_height() - 1  # the newest block's height, as block_seen counts
        self._p.emit("bootstrap_done", height=self.height, users_funded=len(self.paid), failed=self.failure)
        for host in self.notify_hosts:
            self._p.send(host, self._done_message())
        self._on_done(self.height)

    def _done_message(self) -> BootstrapDone:
        return BootstrapDone(height=self.height, failed=self.failure)

    def _pay_late(self, user: UserFunding) -> None:
        """A user whose request came after the bootstrap: its own transfer(s), no blocks mined for
        it. A failed transfer is logged; the user's next request tries again, for what is still owed."""
        owed = self._owed_to(user.user_id)
        txid = ""
        try:
            while owed:
                n = min(len(owed), MAX_DESTINATIONS)
                txid, fee = self._p.faucet_transfer([(self.requests[user.user_id], a) for a in owed[:n]])
                del owed[:n]
                self._log("late_user_paid", user=user.user_id, txid=txid, fee=fee)
        except RpcError as e:
            self._log("late_transfer_failed", user=user.user_id, error=str(e))
            return
        self._paid([user], txid)
        self._p.send(user.host, self._done_message())

    # --- helpers --------------------------------------------------------------------------------

    def _chain_height(self) -> int:
        """Blocks in the controller node's chain: ``get_height``, or what its last notification said
        if that is more. monerod publishes a new block on ZMQ a moment before ``get_height`` counts
        it; a step that asked in that moment waited for a block that had come (``sync_timeout``)."""
        return max(self._p.chain_height(), self._notified_blocks)

    def _mine(self, count: int, address: str, then: Callable[[], None]) -> None:
        """Order the current bootstrap pool to mine; go on once the blocks reached our node."""
        pool = self._pool()

        def done(height: int) -> None:
            self._failures = 0
            self._await_height(height + 1, then)

        def failed(reason: str) -> None:
            self._failures += 1
            self._log("mine_failed", pool_id=pool.share.pool_id, reason=reason)
            if self._failures >= MAX_MINE_FAILURES:
                self._fail("mining_failed")
                return
            self._miner = (self._miner + 1) % len(self._pools)
            self._mine(count, address if address == self.faucet_address else self._pool().address, then)

        self._p.mine(pool, count, address, done, failed)

    def _await_height(self, target: int, then: Callable[[], None]) -> None:
        if self._chain_height() >= target:
            then()
            return

        def timeout() -> None:
            if self._waiting_height is not None and self._waiting_height[0] == target:
                self._waiting_height = None
                self._log("sync_timeout", target=target, height=self._chain_height())
                then()

        self._waiting_height = (target, then, self._p.timeout(self.sync_timeout_s, timeout))

    def _top_up(self) -> bool:
        """Count one more round of extra blocks; False (and the bootstrap fails) past the limit."""
        self._top_ups += 1
        if self._top_ups > MAX_TOP_UPS:
            self._fail("funds_never_unlocked")
            return False
        return True

    def _pool(self) -> RegisteredPool:
        return self._pools[self._miner]

    def _all_requested(self) -> bool:
        return not self._unrequested

    def _missing(self) -> list[str]:
        return [uid for uid in self.users if uid in self._unrequested]

    def _fail(self, reason: str) -> None:
        self.failure = reason
        self._log("failed", reason=reason)
        logger.error("bootstrap failed: %s", reason)
        self._finish()

    def _log(self, step: str, **fields: Any) -> None:
        self._p.emit("bootstrap_step", step=step, **fields)
