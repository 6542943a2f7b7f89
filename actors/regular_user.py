"""The regular user: a node and a wallet, paying marketplace vendors at random times.

The seed's user wakes every minute and pays with probability ``transaction_frequency``. This user
draws the time to its next payment from the equivalent continuous process instead (exponential gaps,
rate ``-ln(1 - p)`` per minute; see :func:`monerosim_actors.wait_time.per_minute_probability`), so it
sleeps until the payment is due rather than waking up every minute for nothing. Each payment goes to
a vendor address drawn uniformly from the directory's list, for an amount drawn uniformly from
``[amount_min, amount_max]`` XMR.

Life cycle:

1. open (or create) its wallet; ask the block controller for its initial balance (``RequestFunds``,
   re-sent every :attr:`RegularUser.request_retry_s` until ``FundsSent`` arrives) and the directory for
   vendors (``GetVendors``, with a back-off while the directory does not answer, and refreshed every
   :attr:`RegularUser.vendor_refresh_s`);
2. start paying once its unlocked balance covers ``wallet_initial_balance`` (checked on each new block
   after ``FundsSent``) or when the controller says ``BootstrapDone``, whichever comes first; a
   ``BootstrapDone`` that says the bootstrap failed is logged (``bootstrap_failed``) and starts nothing;
3. for each payment, log ``payment_intent`` BEFORE the transfer (so a crash in between can be
   reconciled), then ``payment_sent`` or ``payment_failed``. A payment that finds its funds locked
   (the bootstrap gave the user enough outputs for its rate, but a burst of payments can still find
   every output spent and the change not yet 10 blocks deep) waits for the unlock: on each new block
   (``ChainAdvanced``) the user reads its unlocked balance and tries again once it covers the
   payment (``retry_on: unlock``), or after :data:`UNLOCK_WAIT_BLOCKS` blocks whatever it says.
   Other passing failures (insufficient funds, a busy daemon, a rejected spend) are tried again after
   :attr:`RegularUser.retry_after_s` (``retry_on: timer``). Either way at most
   :attr:`RegularUser.payment_attempts` attempts, all under the same ``payment_id``.
4. a payment whose outcome is unknown (an RPC timeout, the wallet's daemon gone, the wallet or the
   whole host killed in the middle) is never retried blindly: it stays open, kept with the payment
   counter in a state file in the host's data dir (:mod:`monerosim_actors.role.state`), and is
   reconciled with the wallet's own outgoing transfers (``get_transfers`` out/pending, matched by
   destination and amount) after the wallet is reopened and on each new block. Found: it was sent
   (``payment_reconciled{outcome: sent}`` and ``payment_sent``). Not found once
   :data:`RECONCILE_BLOCKS` blocks have passed since the intent (a relayed transfer is in a block by
   then): it was not (``payment_reconciled{outcome: not_sent}``) and it is tried again. So a payment
   is neither lost nor sent twice.
"""

from __future__ import annotations

import logging
from typing import Any

from monerosim_actors.coordination.messages import (BootstrapDone, FundsSent, GetVendors, RequestFunds,
                                                    VendorList)
from monerosim_actors.role import (ATOMIC_PER_XMR, ChainAdvanced, Envelope, Message, ProcessRestarted,
                                   RoleActor, RpcConnectionError, RpcError, RpcResponseError, RpcTimeout,
                                   TransferEntry, per_minute_probability, task)
from monerosim_actors.role import state as role_state

RETRIABLE_CODES = {-3: "daemon_busy", -17: "insufficient_funds", -19: "not_enough_outs_to_mix",
                   -37: "locked_funds"}
"""monero-wallet-rpc error codes (wallet_rpc_server_error_codes.h) worth retrying later."""
UNKNOWN_OUTCOME_CODES = {-38: "no_daemon_connection"}
"""Error codes after which the transfer may or may not have been relayed."""
RECONCILE_BLOCKS = 3
"""Blocks after an intent without the transfer in the wallet before it counts as not sent."""
UNLOCK_WAIT_BLOCKS = 20
"""Blocks a payment waits for locked funds before it is tried again anyway (twice the lock: the
change it waits for is in a block and unlocked long before, unless its transfer never got mined)."""
FEE_MARGIN = 10**10
"""0.01 XMR: what an unlocked balance must hold beyond the amount before a waiting payment is tried
again (a user's fee in a quickstart run was 0.0018 to 0.0026 XMR)."""

logger = logging.getLogger(__name__)


def classify(error: RpcError) -> tuple[str, bool]:
    """A short reason for a failed transfer, and whether trying again later may succeed."""
    if isinstance(error, RpcTimeout):
        return "rpc_timeout", False
    if isinstance(error, RpcConnectionError):
        return "rpc_connection_error", False
    if isinstance(error, RpcResponseError):
        text = error.rpc_message.lower()
        if "unlocked" in text:
            return "locked_funds", True
        if "not enough money" in text:
            return "insufficient_funds", True
        if "rejected by daemon" in text:  # e.g. a double spend of an output whose spend is still in the pool
            return "rejected_by_daemon", True
        if error.code in RETRIABLE_CODES:
            return RETRIABLE_CODES[error.code], True
        if error.code in UNKNOWN_OUTCOME_CODES:
            return UNKNOWN_OUTCOME_CODES[error.code], False
        return f"rpc_error_{error.code}", False
    return type(error).__name__, False


def outcome_unknown(error: RpcError) -> bool:
    """Whether the transfer may have been relayed although the call failed."""
    return isinstance(error, (RpcTimeout, RpcConnectionError)) or (
        isinstance(error, RpcResponseError) and error.code in UNKNOWN_OUTCOME_CODES)


def matches(entry: TransferEntry, amount: int, recipient: str) -> bool:
    """Whether an outgoing transfer of this wallet is the payment of ``amount`` to ``recipient``."""
    if entry.type not in ("out", "pending"):
        return False
    if entry.destinations:
        return (recipient, amount) in entry.destinations
    return entry.amount == amount  # found on chain without its destinations: amounts are random


class RegularUser(RoleActor):
    """The regular user role (``regular_user``).

    Parameters: ``transaction_frequency`` (probability per minute), ``wallet_initial_balance``,
    ``amount_min``, ``amount_max`` (XMR).
    """

    transaction_frequency: float = 0.1
    wallet_initial_balance: float = 10.0
    amount_min: float = 0.1
    amount_max: float = 2.0
    autostart_tasks = False
    request_retry_s: float = 30.0
    """Re-send ``RequestFunds`` this often until ``FundsSent`` (real seconds, like the vendor waits:
    they wait on services starting, which a shorter scenario does not speed up)."""
    vendor_refresh_s: float = 300.0
    vendor_timeout_s: float = 10.0
    """First wait for a ``VendorList``; doubled on each miss up to :attr:`vendor_timeout_max_s`."""
    vendor_timeout_max_s: float = 120.0
    retry_after_s: float = 60.0
    payment_attempts: int = 5

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.wait_time = per_minute_probability(float(self.transaction_frequency))
        if not 0 <= float(self.amount_min) <= float(self.amount_max):
            raise ValueError(f"amount range [{self.amount_min}, {self.amount_max}] is empty or negative")
        self.user_id = str(ctx.config.host.agent_id)
        self.initial = round(float(self.wallet_initial_balance) * ATOMIC_PER_XMR)
        self.address = ""
        self.vendors: tuple[str, ...] = ()
        self.funded: FundsSent | None = None
        self.payments = 0
        self._vendor_request = 0
        self._vendor_wait = float(self.vendor_timeout_s)
        self._vendor_timer: Any = None
        self._request_timer: Any = None
        self._bootstrap_done = False
        saved = role_state.load(ctx.data_dir, self.role)
        self.payments = int(saved.get("payments", 0))
        self.open: dict[str, dict[str, Any]] = dict(saved.get("open", {}))
        """payment_id -> {amount, recipient, attempt, height, unknown}: intents not settled yet."""
        self.matched: set[str] = set(saved.get("matched", ()))
        """txids already matched to a payment (never matched to a second one)."""
        self.waiting: list[dict[str, Any]] = list(saved.get("waiting", ()))
        """Payments waiting for locked funds: {payment_id, amount, recipient, attempt (the next one),
        since (the height when it failed)}; tried again on a later block (kept in the state file)."""
        self.height = 0
        """The node's chain height, from ChainAdvanced."""

    # --- lifecycle ------------------------------------------------------------------------------

    def wallet_name(self) -> str:
        return self.user_id

    def on_wallet_open(self) -> None:
        assert self.ctx.wallet is not None
        self.address = self.ctx.wallet.get_address()

    def setup(self) -> None:
        if self.ctx.daemon is not None:
            self.height = max(self.height, self.ctx.daemon.get_height() - 1)
        for payment_id in self.open:  # left open by an earlier run of this host: the outcome is unknown
            self.open[payment_id]["unknown"] = True
        self._reconcile()
        self._ask_vendors()
        if self._balance_covered():
            self._start_paying("balance")
        elif self._bootstrap_done:  # it arrived while the wallet was still opening
            self._start_paying("bootstrap_done")
        else:
            self._request_funds()

    def teardown(self) -> None:
        for t in (self._vendor_timer, self._request_timer):
            if t is not None:
                t.cancel()

    def on_process_restarted(self, msg: ProcessRestarted) -> None:
        self._reconcile()

    # --- funding --------------------------------------------------------------------------------

    def _request_funds(self) -> None:
        self._request_timer = None
        if self.funded is not None or self.initial <= 0:
            return
        self.send(self.service_host("block_controller"),
                  RequestFunds(user_id=self.user_id, address=self.address, amount=self.initial))
        self._request_timer = self.timeout(self.request_retry_s, self._request_funds)

    def _balance_covered(self) -> bool:
        if self.initial <= 0:
            return False
        assert self.ctx.wallet is not None
        self.ctx.wallet.refresh()
        return self.ctx.wallet.get_balance().unlocked_balance >= self.initial

    def _start_paying(self, why: str) -> None:
        if self.tasks_running or self.wait_time is None:
            return
        self.emit("payments_started", reason=why)
        self.start_tasks()

    def on_chain_advanced(self, msg: ChainAdvanced) -> None:
        self.height = max(self.height, msg.height)
        if self.ready and any(p.get("unknown") for p in self.open.values()):
            self._reconcile()
        if self.ready and self.waiting:
            self._retry_unlocked()
        if self.ready and self.funded is not None and not self.tasks_running and self._balance_covered():
            self._start_paying("balance")

    # --- messages -------------------------------------------------------------------------------

    def on_message(self, body: Message, env: Envelope) -> None:
        controller = self.service_host("block_controller")
        match body:
            case FundsSent() if env.src == controller:
                if self.funded is None:
                    self.emit("funds_received", amount=body.amount, txid=body.txid, unlock_height=body.unlock_height)
                self.funded = body
                if self._request_timer is not None:
                    self._request_timer.cancel()
                    self._request_timer = None
            case BootstrapDone(failed=reason) if env.src == controller and reason:
                logger.warning("%s: the bootstrap failed (%s); paying only once funded", self.user_id, reason)
                self.emit("bootstrap_failed", reason=reason, height=body.height)
            case BootstrapDone() if env.src == controller:
                self._bootstrap_done = True
                if self.ready:
                    assert self.ctx.wallet is not None
                    self.ctx.wallet.refresh()  # see the funds before the first payment
                    self._start_paying("bootstrap_done")
            case VendorList() if env.src == self.service_host("marketplace_directory"):
                self._got_vendors(body)
            case _:
                self.reject(env, "unexpected_message")

    # --- vendors --------------------------------------------------------------------------------

    def _ask_vendors(self) -> None:
        if self._vendor_timer is not None:
            self._vendor_timer.cancel()
        self._vendor_request += 1
        self.send(self.service_host("marketplace_directory"), GetVendors(request=self._vendor_request))
        self._vendor_timer = self.timeout(self._vendor_wait, self._vendors_missed, self._vendor_request)

    def _vendors_missed(self, request: int) -> None:
        if request != self._vendor_request:
            return
        self._vendor_wait = min(self._vendor_wait * 2, float(self.vendor_timeout_max_s))
        self._ask_vendors()

    def _got_vendors(self, body: VendorList) -> None:
        self.vendors = tuple(body.addresses)
        if body.request != self._vendor_request:
            return
        if self._vendor_timer is not None:
            self._vendor_timer.cancel()
        self._vendor_wait = float(self.vendor_timeout_s)
        # an empty list (marketplaces not registered yet) is asked again soon, a full one later
        refresh = self.vendor_refresh_s if self.vendors else self._vendor_wait
        self._vendor_timer = self.after(refresh, self._ask_vendors)

    # --- paying ---------------------------------------------------------------------------------

    @task
    def pay(self) -> None:
        """Pay a random vendor a random amount."""
        self.payments += 1
        self._save()
        payment_id = f"{self.host}:{self.payments}"
        if not self.vendors:
            self.emit("payment_failed", payment_id=payment_id, reason="no_vendors", amount=0, recipient="",
                      attempt=1, will_retry=False, retry_on="")
            return
        recipient = self.rng.choice(self.vendors)
        amount = round(self.rng.uniform(float(self.amount_min), float(self.amount_max)) * ATOMIC_PER_XMR)
        self._attempt(payment_id, amount, recipient, 1)

    def _attempt(self, payment_id: str, amount: int, recipient: str, attempt: int) -> None:
        assert self.ctx.wallet is not None
        self.open[payment_id] = {"amount": amount, "recipient": recipient, "attempt": attempt,
                                 "height": self.height, "unknown": False}
        self._save()  # before the transfer: a crash in the call leaves the intent on disk
        self.emit("payment_intent", payment_id=payment_id, amount=amount, recipient=recipient, attempt=attempt)
        try:
            result = self.ctx.wallet.transfer([(recipient, amount)])
        except RpcError as e:
            reason, retriable = classify(e)
            unknown = outcome_unknown(e)
            retry = retriable and attempt < int(self.payment_attempts)
            retry_on = ("unlock" if reason == "locked_funds" else "timer") if retry else ""
            self.emit("payment_failed", payment_id=payment_id, reason=reason, amount=amount, recipient=recipient,
                      attempt=attempt, will_retry=retry, retry_on=retry_on, error=str(e), reconcile=unknown)
            if unknown:
                self.open[payment_id]["unknown"] = True
            else:
                del self.open[payment_id]
            if retry_on == "unlock":
                logger.info("%s: payment %s (attempt %d) waits for locked funds to unlock: %s",
                            self.host, payment_id, attempt, e)
                self.waiting.append({"payment_id": payment_id, "amount": amount, "recipient": recipient,
                                     "attempt": attempt + 1, "since": self.height})
            elif retry:
                logger.info("%s: payment %s (attempt %d) failed (%s), tried again in %g s",
                            self.host, payment_id, attempt, reason, self.retry_after_s)
                self.after(self.retry_after_s, self._attempt, payment_id, amount, recipient, attempt + 1)
            self._save()
            return
        self._settled(payment_id, result.txid)
        self.emit("payment_sent", payment_id=payment_id, txid=result.txid, amount=amount, recipient=recipient,
                  fee=result.fee, attempt=attempt)
        self._store_wallet()

    def _retry_unlocked(self) -> None:
        """On a new block: try again each waiting payment that the unlocked balance now covers, that
        no amount of waiting would help (the balance, locked or not, is short), or that waited
        :data:`UNLOCK_WAIT_BLOCKS` blocks. The others wait on, in order."""
        wallet = self.ctx.wallet
        assert wallet is not None
        wallet.refresh()
        balance = wallet.get_balance()
        for p in list(self.waiting):
            need = int(p["amount"]) + FEE_MARGIN
            if (balance.unlocked_balance >= need or balance.balance < need
                    or self.height >= int(p["since"]) + UNLOCK_WAIT_BLOCKS):
                self.waiting.remove(p)
                self._attempt(str(p["payment_id"]), int(p["amount"]), str(p["recipient"]), int(p["attempt"]))
                balance = wallet.get_balance()  # one that failed again waits behind the others

    def _store_wallet(self) -> None:
        """Write the wallet's cache after each payment: a wallet process killed later then still knows
        the spends it made that are not in a block yet, instead of offering the same outputs again (which
        its node rejects as double spends until those transfers are mined)."""
        assert self.ctx.wallet is not None
        try:
            self.ctx.wallet.store()
        except RpcError as e:
            self.emit("actor_error", where="store", error_type=type(e).__name__, error=str(e))

    def _settled(self, payment_id: str, txid: str) -> None:
        self.open.pop(payment_id, None)
        self.matched.add(txid)
        self._save()

    def _save(self) -> None:
        role_state.save(self.ctx.data_dir, self.role, {"payments": self.payments, "open": self.open,
                                                       "matched": sorted(self.matched), "waiting": self.waiting})

    # --- reconciliation ---------------------------------------------------------------------------

    def _reconcile(self) -> None:
        """Settle every payment whose outcome is unknown against the wallet's outgoing transfers."""
        pending = {pid: p for pid, p in self.open.items() if p.get("unknown")}
        if not pending:
            return
        wallet = self.ctx.wallet
        assert wallet is not None
        wallet.refresh()
        entries = [e for e in wallet.get_transfers(in_=False, out=True, pending=True, pool=False)
                   if e.txid not in self.matched]
        for payment_id, p in pending.items():
            amount, recipient, attempt = int(p["amount"]), str(p["recipient"]), int(p["attempt"])
            found = next((e for e in entries if matches(e, amount, recipient)), None)
            if found is not None:
                entries.remove(found)
                self._settled(payment_id, found.txid)
                self.emit("payment_reconciled", payment_id=payment_id, outcome="sent", txid=found.txid)
                self.emit("payment_sent", payment_id=payment_id, txid=found.txid, amount=amount,
                          recipient=recipient, fee=found.fee, attempt=attempt, reconciled=True)
            elif self.height >= int(p["height"]) + RECONCILE_BLOCKS:
                del self.open[payment_id]
                self._save()
                retry = attempt < int(self.payment_attempts)
                self.emit("payment_reconciled", payment_id=payment_id, outcome="not_sent", txid="",
                          will_retry=retry)
                if retry:
                    self._attempt(payment_id, amount, recipient, attempt + 1)
