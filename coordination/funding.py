"""A role's initial balance, paid by the block controller's bootstrap as the regular users' is.

In a real run coins exist only where the pools mined them, and the controller's bootstrap is what
hands them out: it pays every host the plan lists as funded, each once it has asked with
``RequestFunds``. A custom role is on that list when its scenario entry says
``wallet_initial_balance: XMR`` (and runs a wallet); :class:`Funding` is the asking and the
answers, once, for every role::

    def __init__(self, ctx):
        super().__init__(ctx)
        self.funding = Funding(self)          # reads wallet_initial_balance from the role's params

    def setup(self) -> None:
        self.funding.start()                  # the wallet is open: ask, again until FundsSent

    def on_message(self, body, env) -> None:
        if self.funding.handle(body, env):    # FundsSent / BootstrapDone from the controller
            return
        ...

    def on_chain_advanced(self, msg) -> None:
        if self.funding.spendable(msg.height): ...

The funds arrive in ``outputs_per_user`` outputs (the regular users' key; at least 4), spendable
10 blocks after they are mined, from the block :attr:`FundsSent.unlock_height` on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monerosim_actors.coordination.messages import BootstrapDone, FundsSent, RequestFunds
from monerosim_actors.role import ATOMIC_PER_XMR, Envelope, EventName, Message

if TYPE_CHECKING:
    from monerosim_actors.role import RoleActor

__all__ = ["Funding"]

REQUEST_EVERY_S = 30.0
"""Real seconds between two ``RequestFunds`` until ``FundsSent`` (the controller may not be up)."""


class Funding:
    """The role's ``wallet_initial_balance`` (XMR, from its params), asked of the controller.

    Attributes:
        amount: atomic units asked for; 0 (no ``wallet_initial_balance``) asks for nothing.
        funded: the controller's ``FundsSent``, once it came.
        bootstrap_done: the controller said the bootstrap is over (and did not fail).
    """

    def __init__(self, actor: RoleActor, *, every_s: float = REQUEST_EVERY_S) -> None:
        self._actor = actor
        self._controller = actor.service_host("block_controller")
        self.amount = round(float(actor.params.get("wallet_initial_balance", 0)) * ATOMIC_PER_XMR)
        self.funded: FundsSent | None = None
        self.bootstrap_done = False
        self._request = actor.until_acknowledged(self._controller, self._message, every_s=every_s)

    def start(self) -> None:
        """Ask for the funds (call it once the wallet is open, e.g. in ``setup``); nothing if already
        funded or nothing is owed."""
        if self.amount > 0 and self.funded is None:
            self._request.start()

    def handle(self, body: Message, env: Envelope) -> bool:
        """Take the controller's ``FundsSent`` (logged as ``funds_received``) and ``BootstrapDone``
        (a failed one logged as ``bootstrap_failed``); True when ``body`` was one of them."""
        if env.src != self._controller:
            return False
        match body:
            case FundsSent():
                if self.funded is None:
                    self._actor.emit(EventName.FUNDS_RECEIVED, amount=body.amount, txid=body.txid,
                                     unlock_height=body.unlock_height)
                self.funded = body
                self._request.stop()
                return True
            case BootstrapDone(failed=reason):
                if reason:
                    self._actor.emit(EventName.BOOTSTRAP_FAILED, reason=reason, height=body.height)
                self.bootstrap_done = not reason
                return True
        return False

    def spendable(self, height: int) -> bool:
        """The funds can be spent on top of the block at ``height`` (the chain's top)."""
        return self.funded is not None and height >= self.funded.unlock_height

    def _message(self) -> RequestFunds:
        wallet = self._actor.ctx.wallet
        assert wallet is not None, f"{self._actor.role} asks for funds but runs no wallet"
        return RequestFunds(user_id=self._actor.ctx.config.host.agent_id, address=wallet.get_address(),
                            amount=self.amount)
