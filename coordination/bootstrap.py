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
4. ``pay_users``: transfers of at most :data:`~monerosim_actors.coordination.funding_plan.MAX_DESTINATIONS`
   destinations each, in plan order. Each user's balance is split over its ``outputs``
   (:func:`~monerosim_actors.coordination.funding_plan.outputs_for_rate`): a wallet with one
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

How many outputs each user gets, and how they are packed into transfers, is the funding plan
(:mod:`monerosim_actors.coordination.funding_plan`); ordering blocks, waiting for them and for the
funding transfers to be mined and unlocked is :mod:`monerosim_actors.coordination.bootstrap_mining`.
This module holds the steps; the controller supplies the I/O through
:class:`~monerosim_actors.coordination.bootstrap_mining.Ports`.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from monerosim_actors.coordination.bootstrap_mining import BootstrapMiner, Ports, RegisteredPool
from monerosim_actors.coordination.funding_plan import (FEE_RESERVE_PER_TX, MAX_DESTINATIONS, SPENDABLE_AGE_BLOCKS,
                                                        UserFunding, pack_transfers, split_amount, transfer_values)
from monerosim_actors.coordination.messages import BootstrapDone, FundsSent
from monerosim_actors.role import EventName, RpcError

logger = logging.getLogger(__name__)

COINBASE_UNLOCK_BLOCKS = 60
"""CRYPTONOTE_MINED_MONEY_UNLOCK_WINDOW."""
RING_SIZE = 16
"""Members of every ring: a transfer needs at least this many UNLOCKED outputs on chain (decoys)."""
RING_MARGIN_BLOCKS = 4
"""Unlocked coinbase outputs beyond the ring size, so decoy selection never runs short."""
MAX_TOP_UPS = 10
"""Extra 10-block rounds per step when unlocked funds still fall short."""


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
        self._on_done = on_done
        self.step = "idle"
        self.requests: dict[str, str] = {}
        """user_id -> address, from RequestFunds."""
        self._unrequested = {uid for uid, u in self.users.items() if u.amount > 0}
        """Users owed funds that have not asked yet (a set: each request is O(1), also for 10,000 users)."""
        funded = [u for u in self.users.values() if u.amount > 0]
        self._transfer_values = transfer_values(funded)
        """What each transfer pays when every expected user asks in time (atomic units)."""
        self.transfers = len(self._transfer_values)
        """Transfers the faucet makes when every expected user asks in time."""
        self.outputs_per_user = max((len(split_amount(u.amount, u.outputs)) for u in funded), default=0)
        """The most outputs any user gets (the users of one scenario all get the same)."""
        self.needed = sum(u.amount for u in funded) + self.transfers * FEE_RESERVE_PER_TX
        """What the faucet must hold: every expected user's amount plus a fee reserve per transfer."""
        self._owed: dict[str, list[int]] = {}
        """user_id -> the amounts of its outputs not paid yet (a user's outputs may span transfers)."""
        self.paid: dict[str, FundsSent] = {}
        self._mining = BootstrapMiner(ports, sync_timeout_s=sync_timeout_s, log=self._log, fail=self._fail)
        self._top_ups = 0
        self._users_timer: Any = None
        self._users_timed_out = False
        self._queue: deque[str] = deque()
        """user_ids to pay, in plan order; a user leaves it when its last output is paid."""
        self.finished = False
        self.height = 0
        self.failure = ""
        """Why the bootstrap failed, once it did (empty otherwise)."""

    # --- inputs ---------------------------------------------------------------------------------

    def start(self, pools: Sequence[RegisteredPool]) -> None:
        """Begin with the pools that registered (bootstrap miner: largest share first)."""
        self._mining.start(pools)
        self._users_timer = self._p.timeout(self.users_timeout_s, self._users_deadline)
        self._log("start", pools=[p.share.pool_id for p in self._mining.pools], users=len(self.users),
                  needed=self.needed, outputs_per_user=self.outputs_per_user, transfers=self.transfers)
        if self.needed == 0 or not any(u.amount > 0 for u in self.users.values()):
            self._finish()
        elif not self._mining.pools:
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
        self._mining.on_chain_advanced(blocks)

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
        self._mining.mine(count, lambda: self._fund_faucet(balance_before=balance, mined=count, blocks=blocks + count),
                          to=self.faucet_address)

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
        self._mining.mine(count, self._faucet_funded, to=self.faucet_address)

    def _faucet_funded(self) -> None:
        balance, _ = self._p.faucet_balance()
        self._log("faucet_funded", balance=balance, needed=self.needed)
        self._unlock_coinbase(COINBASE_UNLOCK_BLOCKS + RING_SIZE + RING_MARGIN_BLOCKS)

    def _unlock_coinbase(self, count: int) -> None:
        self.step = "unlock_coinbase"
        self._log("unlock_coinbase", count=count)
        self._mining.mine(count, self._check_unlocked)

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
                if self._mining.unconfirmed():
                    self._mining.confirm_and_unlock(self._pay_queue)  # the change is in transfers not yet mined
                elif self._top_up():
                    self._mining.mine(SPENDABLE_AGE_BLOCKS, self._pay_queue)
                return
            try:
                txid, fee = self._p.faucet_transfer(destinations)
            except RpcError as e:
                self._log("transfer_failed", error=str(e), users=users)
                if self._top_up():
                    self._mining.mine(SPENDABLE_AGE_BLOCKS, self._pay_queue)
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
            self._mining.txids.append(txid)
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
        unlock = self._mining.chain_height() + SPENDABLE_AGE_BLOCKS - 1
        for u in users:
            msg = FundsSent(amount=u.amount, txid=txid, unlock_height=unlock)
            self.paid[u.user_id] = msg
            self._p.emit(EventName.USER_FUNDED, user_id=u.user_id, amount=u.amount, txid=txid)
            self._p.send(u.host, msg)

    def _unlock_payments(self) -> None:
        """Mine until every funding transfer is in a block, then until its outputs unlock."""
        self.step = "unlock_payments"
        if not self._mining.txids:
            self._finish()
            return
        self._mining.confirm_and_unlock(self._finish)

    def _finish(self) -> None:
        self.step = "done"
        self.finished = True
        self.height = self._mining.chain_height() - 1  # the newest block's height, as block_seen counts
        self._p.emit(EventName.BOOTSTRAP_DONE, height=self.height, users_funded=len(self.paid), failed=self.failure)
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

    def _top_up(self) -> bool:
        """Count one more round of extra blocks; False (and the bootstrap fails) past the limit."""
        self._top_ups += 1
        if self._top_ups > MAX_TOP_UPS:
            self._fail("funds_never_unlocked")
            return False
        return True

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
        self._p.emit(EventName.BOOTSTRAP_STEP, step=step, **fields)
