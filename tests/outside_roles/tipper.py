"""A role that lives outside monerosim-actors, written from ``docs/roles.md`` alone: a tipper.

Every few minutes it tips a random vendor (a small transfer to an address from the marketplace
directory) and tells the other tippers (``talks_to: [tipper]``) what it tipped. It is funded by the
controller's bootstrap (``wallet_initial_balance`` in its scenario entry). Its scenario is
``tests/outside_roles/tippers.yaml``; the module is found through ``PYTHONPATH``, as a researcher's own
role would be. Tested with the harness (``tests/unit/test_tipper.py``), in a local run
(``tests/e2e/test_outside_role.py``) and under Shadow (``tests/shadow/test_outside_role_under_shadow.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monerosim_actors.coordination.funding import Funding
from monerosim_actors.coordination.messages import GetVendors, VendorList
from monerosim_actors.role import (ATOMIC_PER_XMR, ChainAdvanced, Envelope, Message, RoleActor, RpcError,
                                   exponential, task)


@dataclass(frozen=True, slots=True)
class TipSent(Message, kind="tipper_tip_sent"):
    """A tipper tells the others what it tipped: ``amount`` atomic units in transaction ``txid``."""

    amount: int
    txid: str


class Tipper(RoleActor):
    """Tips a random vendor every ``wait_time`` (weight 1) once its funds are spendable, and tells
    every other tipper."""

    wait_time = exponential(mean_s=120)
    tip_xmr: float = 0.05
    """The size of each tip, in XMR."""
    autostart_tasks = False

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.funding = Funding(self)
        self.vendors: tuple[str, ...] = ()
        self._lookup = self.until_acknowledged(self.service_host("marketplace_directory"), self._ask_vendors,
                                               every_s=10.0, max_every_s=120.0)

    def wallet_name(self) -> str:
        return self.host

    def setup(self) -> None:
        self.funding.start()
        self._lookup.start()

    def _ask_vendors(self) -> GetVendors:
        return GetVendors(request=1)

    @task
    def tip(self) -> None:
        """Pay a random vendor, then tell the other tippers."""
        if not self.vendors:
            return
        vendor = self.rng.choice(self.vendors)
        amount = round(self.tip_xmr * ATOMIC_PER_XMR)
        assert self.ctx.wallet is not None
        try:
            sent = self.ctx.wallet.transfer([(vendor, amount)])
        except RpcError as e:  # locked funds, say: the next tip may find them unlocked
            self.emit("tip_failed", error=str(e)[:200])
            return
        self.emit("tip_sent", amount=amount, txid=sent.txid, vendor=vendor)
        for peer in self.hosts_of("tipper"):
            self.send(peer, TipSent(amount=amount, txid=sent.txid))

    def on_message(self, body: Message, env: Envelope) -> None:
        if self.funding.handle(body, env):
            return
        match body:
            case VendorList(addresses=addresses) if env.src == self.service_host("marketplace_directory"):
                self._lookup.stop()
                if not addresses:  # no marketplace registered yet: ask again later
                    self.after(60.0, self._lookup.start)
                self.vendors = addresses
            case TipSent(amount=amount, txid=txid):
                self.emit("tip_heard", peer=env.src, amount=amount, txid=txid)
            case _:
                self.reject(env, "unexpected_message")

    def on_chain_advanced(self, msg: ChainAdvanced) -> None:
        if self.ready and not self.tasks_running and self.funding.spendable(msg.height):
            self.start_tasks()
