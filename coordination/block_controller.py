"""The block controller: the registry of pools, the economy's bootstrap, then the block schedule.

It runs on its own host (monerod + the faucet wallet) behind a ROUTER socket. In order:

1. **registration**: it asks every pool the plan expects to register (``RegistrationRequested``, again
   every :attr:`BlockController.reregister_every_s` while some are missing, so a restarted controller
   recovers its registry), and waits until all have sent ``RegisterPool`` or
   ``registration_timeout_s`` has passed; then it goes on with those present and logs the missing.
2. **bootstrap**: :mod:`monerosim_actors.coordination.bootstrap` funds every user from the faucet.
3. **schedule**: :mod:`monerosim_actors.coordination.schedule` draws the interval and the miner of each next block from
   the controller's seeded RNG, among the EXPECTED pools by planned share, so the sequence of choices
   never depends on message timing. A chosen pool that is not registered is logged as
   ``mine_skipped``; one that does not answer within ``mine_timeout_s`` as ``mine_timeout``; the
   schedule goes on either way.

A restarted controller (its host killed and started again) does not bootstrap again: it keeps a
small state file in its data dir (:mod:`monerosim_actors.role.state`: the bootstrap's end, the next
order number, how many blocks the schedule has drawn). After its pools re-register it logs
``controller_resumed`` and goes on with the schedule where the draws left off; the blocks that fell
due while it was down are not mined (the analysis reports the gap).

Timeouts (``registration_timeout_s``, ``mine_timeout_s`` and the bootstrap's waits) wait on programs
starting and mining, which a faster-paced scenario does not speed up, so they are
:meth:`~monerosim_actors.role.RoleActor.timeout` waits (the programs' own seconds); block intervals
are scenario seconds (:meth:`~monerosim_actors.role.RoleActor.after`).

Authorization: ``RegisterPool`` is accepted only from the hosts the ``pools`` parameter lists (with
their own pool id), ``RequestFunds`` only from the listed users, answers to a mine order only from the
pool it went to; anything else is logged as ``msg_rejected`` and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from monerosim_actors.coordination.bootstrap import Bootstrap
from monerosim_actors.coordination.bootstrap_mining import RegisteredPool
from monerosim_actors.coordination.funding_plan import (MAX_OUTPUTS_PER_USER, MIN_OUTPUTS_PER_USER, UserFunding,
                                                        outputs_for_rate)
from monerosim_actors.coordination.messages import (BlocksMined, MineBlocks, MineFailed, PoolRegistered,
                                                    RegisterPool, RegistrationRequested, RequestFunds)
from monerosim_actors.role import (ATOMIC_PER_XMR, ChainAdvanced, Envelope, EventName, Message, RoleActor)
from monerosim_actors.coordination.schedule import BlockSchedule, PoolShare
from monerosim_actors.role import state as role_state

logger = logging.getLogger(__name__)


@dataclass
class _Order:
    order: int
    pool: RegisteredPool
    count: int
    phase: str
    sent_at: float
    on_done: Callable[[int], None]
    on_fail: Callable[[str], None]
    timer: Any = None


class BlockController(RoleActor):
    """The block controller role (``block_controller``).

    Parameters (from the plan): ``pools`` ``[{pool_id, host, hashrate_share}]``, ``users``
    ``[{user_id, host, wallet_initial_balance, transaction_frequency}]`` (XMR; probability per minute),
    ``marketplaces`` ``[{marketplace_id, host}]``, ``registration_timeout_s``, ``mine_timeout_s``,
    ``schedule`` (``exponential`` | ``fixed``), ``block_time_s``, ``outputs_per_user`` (optional).
    """

    registration_timeout_s: float = 120.0
    mine_timeout_s: float = 60.0
    schedule: str = "exponential"
    block_time_s: float = 120.0
    reregister_every_s: float = 10.0
    """While pools are missing, ask them again this often (real seconds: it waits on pools starting)."""
    faucet_wallet: str = "faucet"
    """File name of the controller's faucet wallet."""
    outputs_per_user: int | None = None
    """Outputs each user's initial balance is split into; None: enough for the user's rate of
    payments (:func:`monerosim_actors.coordination.funding_plan.outputs_for_rate` of its ``transaction_frequency`` and
    ``block_time_s``; :data:`~monerosim_actors.coordination.funding_plan.MIN_OUTPUTS_PER_USER` for a user without one)."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.expected = [PoolShare(str(p["pool_id"]), str(p["host"]), float(p["hashrate_share"]))
                         for p in self.params.get("pools", ())]
        self._pool_by_host = {p.host: p for p in self.expected}
        self.users = [UserFunding(str(u["user_id"]), str(u["host"]),
                                  round(float(u["wallet_initial_balance"]) * ATOMIC_PER_XMR), self._outputs(u))
                      for u in self.params.get("users", ())]
        self._user_by_host = {u.host: u for u in self.users}
        self.marketplace_hosts = [str(m["host"]) for m in self.params.get("marketplaces", ())]
        self.registered: dict[str, RegisteredPool] = {}
        self.phase = "registration"
        self._orders: dict[int, _Order] = {}
        self._expired: dict[int, _Order] = {}
        self._next_order = 1
        self._deadline: Any = None
        self._registration_requests = {
            p.pool_id: self.until_acknowledged(p.host, RegistrationRequested, every_s=float(self.reregister_every_s))
            for p in self.expected}
        """A ``RegistrationRequested`` per expected pool, re-sent until it registers or registration closes."""
        self._next_block: Any = None
        self.block_schedule = (BlockSchedule(self.expected, self.rng, schedule=self.schedule,  # type: ignore[arg-type]
                                             block_time_s=float(self.block_time_s))
                               if self.expected else None)
        notify = [p.host for p in self.expected] + [u.host for u in self.users] + self.marketplace_hosts
        # it collects users' requests from the start; it runs once registration closes
        self.bootstrap = Bootstrap(self._Ports(self), faucet_address="", users=self.users,
                                   notify_hosts=notify, users_timeout_s=float(self.registration_timeout_s),
                                   sync_timeout_s=float(self.mine_timeout_s), on_done=self._bootstrap_done)
        self.faucet_address = ""
        saved = role_state.load(ctx.data_dir, self.role)
        self._next_order = int(saved.get("next_order", 1))
        self._blocks_drawn = 0
        self.resumed_height: int | None = saved.get("bootstrap_height")
        """The height the bootstrap ended at in an earlier run of this host, else None."""
        if self.resumed_height is not None:
            self.bootstrap.finished = True
            self.bootstrap.height = self.resumed_height
            for _ in range(int(saved.get("blocks_drawn", 0))):  # the same draws as if it had not stopped
                self._draw_block()

    def _outputs(self, user: dict[str, Any]) -> int:
        """How many outputs the bootstrap pays ``user`` (an entry of the ``users`` parameter)."""
        if self.outputs_per_user is not None:
            return max(1, min(int(self.outputs_per_user), MAX_OUTPUTS_PER_USER))
        if "transaction_frequency" not in user:
            return MIN_OUTPUTS_PER_USER
        return outputs_for_rate(float(user["transaction_frequency"]), float(self.block_time_s))

    def _save(self) -> None:
        role_state.save(self.ctx.data_dir, self.role, {
            "bootstrap_height": self.bootstrap.height if self.bootstrap.finished else None,
            "next_order": self._next_order, "blocks_drawn": self._blocks_drawn})

    # --- lifecycle ------------------------------------------------------------------------------

    def wallet_name(self) -> str:
        return self.faucet_wallet

    def on_wallet_open(self) -> None:
        assert self.ctx.wallet is not None
        self.faucet_address = self.ctx.wallet.get_address()

    def setup(self) -> None:
        self.bootstrap.faucet_address = self.faucet_address
        self._deadline = self.timeout(float(self.registration_timeout_s), self._registration_deadline)
        self._request_registrations()
        if len(self.registered) == len(self.expected):  # every pool registered while the faucet opened
            self._close_registration()

    def teardown(self) -> None:
        for t in (self._deadline, self._next_block):
            if t is not None:
                t.cancel()
        for o in self._orders.values():
            if o.timer is not None:
                o.timer.cancel()

    # --- messages -------------------------------------------------------------------------------

    def on_message(self, body: Message, env: Envelope) -> None:
        match body:
            case RegisterPool():
                self._on_register(body, env)
            case RequestFunds():
                self._on_request_funds(body, env)
            case BlocksMined():
                self._on_answer(env, body.order, lambda o: self._completed(o, body, env))
            case MineFailed():
                self._on_answer(env, body.order, lambda o: self._failed(o, body.reason))
            case _:
                self.reject(env, "unexpected_type")

    def on_chain_advanced(self, msg: ChainAdvanced) -> None:
        if not self.bootstrap.finished:
            self.bootstrap.on_chain_advanced(msg.height + 1)

    def _on_register(self, body: RegisterPool, env: Envelope) -> None:
        planned = self._pool_by_host.get(env.src)
        if planned is None or planned.pool_id != body.pool_id:
            self.reject(env, "not_a_planned_pool")
            self.send(env.src, PoolRegistered(pool_id=body.pool_id, accepted=False, reason="not_a_planned_pool"))
            return
        first = body.pool_id not in self.registered
        self.registered[body.pool_id] = RegisteredPool(planned, body.address)
        self._registration_requests[body.pool_id].stop()
        self.emit(EventName.POOL_REGISTERED, pool_id=body.pool_id, pool_host=env.src,
                  hashrate_share=planned.hashrate_share, again=not first)
        self.send(env.src, PoolRegistered(pool_id=body.pool_id, accepted=True, reason=""))
        if self.phase == "registration" and self.faucet_address and len(self.registered) == len(self.expected):
            self._close_registration()

    def _on_request_funds(self, body: RequestFunds, env: Envelope) -> None:
        user = self._user_by_host.get(env.src)
        if user is None or user.user_id != body.user_id:
            self.reject(env, "not_a_planned_user")
            return
        if body.amount != user.amount:
            logger.info("%s asked for %d, the plan gives it %d", user.user_id, body.amount, user.amount)
        self.bootstrap.on_funds_requested(user.user_id, body.address)

    # --- registration ---------------------------------------------------------------------------

    def _request_registrations(self) -> None:
        for pool in self.expected:
            if pool.pool_id not in self.registered:
                self._registration_requests[pool.pool_id].start()

    def _registration_deadline(self) -> None:
        if self.phase == "registration":
            self._close_registration()

    def _close_registration(self) -> None:
        self.phase = "bootstrap"
        if self._deadline is not None:
            self._deadline.cancel()
        for request in self._registration_requests.values():
            request.stop()
        missing = [p.pool_id for p in self.expected if p.pool_id not in self.registered]
        self.emit(EventName.REGISTRATION_CLOSED, registered=[p.pool_id for p in self.expected
                                                     if p.pool_id in self.registered], missing=missing)
        if self.resumed_height is not None:
            self.emit(EventName.CONTROLLER_RESUMED, bootstrap_height=self.resumed_height, next_order=self._next_order,
                      blocks_drawn=self._blocks_drawn)
            self._bootstrap_done(self.resumed_height)
            return
        self.bootstrap.start([self.registered[p.pool_id] for p in self.expected if p.pool_id in self.registered])

    # --- the schedule ---------------------------------------------------------------------------

    def _bootstrap_done(self, height: int) -> None:
        self.phase = "schedule"
        self._schedule_next()

    def _draw_block(self) -> tuple[float, PoolShare]:
        assert self.block_schedule is not None
        self._blocks_drawn += 1
        return self.block_schedule.next_block()

    def _schedule_next(self) -> None:
        if self.block_schedule is None:
            return
        interval, pool = self._draw_block()
        self._save()
        self._next_block = self.after(interval, self._mine_scheduled, pool)

    def _mine_scheduled(self, pool: PoolShare) -> None:
        self._schedule_next()  # the next block is due whatever happens to this one
        registered = self.registered.get(pool.pool_id)
        if registered is None:
            self.emit(EventName.MINE_SKIPPED, pool_id=pool.pool_id, pool_host=pool.host, reason="unregistered")
            return
        self.order_mining(registered, 1, registered.address, "schedule", lambda h: None, lambda r: None)

    # --- mine orders ----------------------------------------------------------------------------

    def order_mining(self, pool: RegisteredPool, count: int, address: str, phase: str,
                     on_done: Callable[[int], None], on_fail: Callable[[str], None]) -> int:
        """Send a ``MineBlocks`` order; exactly one of the callbacks runs (answer, failure or timeout)."""
        n = self._next_order
        self._next_order += 1
        self._save()
        order = _Order(n, pool, count, phase, self.ctx.clock.now(), on_done, on_fail)
        self._orders[n] = order
        self.send(pool.share.host, MineBlocks(order=n, count=count, address=address, phase=phase))
        self.emit(EventName.MINE_ORDERED, order=n, pool_id=pool.share.pool_id, pool_host=pool.share.host, count=count,
                  phase=phase)
        timeout = float(self.mine_timeout_s) * max(1.0, count / 10)
        order.timer = self.timeout(timeout, self._order_timeout, n)
        return n

    def _on_answer(self, env: Envelope, n: int, handle: Callable[[_Order], None]) -> None:
        order = self._orders.get(n) or self._expired.get(n)
        if order is None or order.pool.share.host != env.src:
            self.reject(env, "unknown_order")
            return
        handle(order)

    def _completed(self, order: _Order, body: BlocksMined, env: Envelope) -> None:
        late = order.order in self._expired
        self._expired.pop(order.order, None)
        self._orders.pop(order.order, None)
        if order.timer is not None:
            order.timer.cancel()
        self.emit(EventName.MINE_COMPLETED, order=order.order, pool_id=order.pool.share.pool_id, height=body.height,
                  hashes=list(body.hashes), elapsed_ms=body.elapsed_ms, phase=order.phase,
                  round_trip_ms=round((self.ctx.clock.now() - order.sent_at) * 1000, 3), late=late)
        if not late:
            order.on_done(body.height)

    def _failed(self, order: _Order, reason: str) -> None:
        if order.order in self._expired:
            self._expired.pop(order.order)
            return
        self._orders.pop(order.order, None)
        if order.timer is not None:
            order.timer.cancel()
        self.emit(EventName.MINE_FAILED, order=order.order, pool_id=order.pool.share.pool_id, reason=reason,
                  phase=order.phase)
        order.on_fail(reason)

    def _order_timeout(self, n: int) -> None:
        order = self._orders.pop(n, None)
        if order is None:
            return
        self._expired[n] = order
        self.emit(EventName.MINE_TIMEOUT, order=n, pool_id=order.pool.share.pool_id, phase=order.phase)
        order.on_fail("timeout")

    class _Ports:
        """The bootstrap's view of the controller (see :class:`monerosim_actors.coordination.bootstrap_mining.Ports`)."""

        def __init__(self, controller: BlockController) -> None:
            self._c = controller

        def mine(self, pool: RegisteredPool, count: int, address: str,
                 on_done: Callable[[int], None], on_fail: Callable[[str], None]) -> None:
            self._c.order_mining(pool, count, address, "bootstrap", on_done, on_fail)

        def chain_height(self) -> int:
            assert self._c.ctx.daemon is not None
            return self._c.ctx.daemon.get_height()

        def faucet_balance(self) -> tuple[int, int]:
            wallet = self._c.ctx.wallet
            assert wallet is not None
            wallet.refresh()
            b = wallet.get_balance()
            return b.balance, b.unlocked_balance

        def faucet_transfer(self, destinations: Sequence[tuple[str, int]]) -> tuple[str, int]:
            assert self._c.ctx.wallet is not None
            r = self._c.ctx.wallet.transfer(list(destinations))
            return r.txid, r.fee

        def tx_heights(self, txids: Sequence[str]) -> dict[str, int | None]:
            wallet = self._c.ctx.wallet
            assert wallet is not None
            wallet.refresh()
            heights = {txid: wallet.get_transfer_by_txid(txid).height for txid in txids}
            return {txid: h if h > 0 else None for txid, h in heights.items()}

        def send(self, host: str, body: Message) -> Any:
            return self._c.send(host, body)

        def emit(self, event: str, **fields: Any) -> None:
            self._c.emit(event, **fields)

        def timeout(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Any:
            return self._c.timeout(delay_s, fn, *args)
