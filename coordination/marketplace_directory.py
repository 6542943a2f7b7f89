"""The marketplace directory: who sells, at which addresses. A service with no monerod and no wallet.

Marketplaces publish their vendor addresses with ``RegisterVendors`` (a new registration replaces the
marketplace's old entry) and get ``VendorsRegistered``; anyone may ask ``GetVendors`` and gets a
``VendorList`` with every current address, marketplaces in plan order and each marketplace's addresses
in the order it gave them, so the same registrations always give the same list. Only hosts the plan
names as marketplaces (under their own marketplace id) may register; anything else is logged as
``msg_rejected`` and dropped. When it starts it sends ``VendorsRequested`` to every planned
marketplace, so a restarted directory fills its registry again, and again every
:attr:`MarketplaceDirectory.rerequest_every_s` real seconds to those still missing: right after a
restart the marketplaces' connections have not come back yet and the bus drops the first requests
(at the very first start most marketplaces are not up yet either, and register on their own).
"""

from __future__ import annotations

from typing import Any

from monerosim_actors.coordination.messages import (GetVendors, RegisterVendors, VendorList,
                                                    VendorsRegistered, VendorsRequested)
from monerosim_actors.role import (Envelope, Message, RoleActor)


class MarketplaceDirectory(RoleActor):
    """The directory role (``marketplace_directory``). Parameters: ``marketplaces``
    ``[{marketplace_id, host}]`` (who may register), ``users`` (informational)."""

    rerequest_every_s: float = 10.0
    """Real seconds between ``VendorsRequested`` to planned marketplaces that have not registered."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        planned = [(str(m["marketplace_id"]), str(m["host"])) for m in self.params.get("marketplaces", ())]
        self._order = [mid for mid, _ in planned]
        self._id_by_host = {host: mid for mid, host in planned}
        self.registry: dict[str, tuple[str, ...]] = {}
        self._rerequest: Any = None

    def setup(self) -> None:
        self._request_vendors()

    def teardown(self) -> None:
        if self._rerequest is not None:
            self._rerequest.cancel()

    def _request_vendors(self) -> None:
        missing = [host for host, mid in self._id_by_host.items() if mid not in self.registry]
        for host in missing:
            self.send(host, VendorsRequested())
        self._rerequest = (self.timeout(float(self.rerequest_every_s), self._request_vendors)
                           if missing else None)

    def on_message(self, body: Message, env: Envelope) -> None:
        match body:
            case RegisterVendors():
                self._register(body, env)
            case GetVendors(request=request):
                self.send(env.src, VendorList(request=request, addresses=self.addresses()))
            case _:
                self.reject(env, "unexpected_type")

    def _register(self, body: RegisterVendors, env: Envelope) -> None:
        if self._id_by_host.get(env.src) != body.marketplace_id:
            self.reject(env, "not_a_planned_marketplace")
            return
        self.registry[body.marketplace_id] = tuple(body.addresses)
        self.emit("vendors_registered", marketplace_id=body.marketplace_id, count=len(body.addresses),
                  marketplace_host=env.src)
        self.send(env.src, VendorsRegistered(marketplace_id=body.marketplace_id, count=len(body.addresses)))

    def addresses(self) -> tuple[str, ...]:
        """Every registered address, marketplaces in plan order."""
        return tuple(a for mid in self._order for a in self.registry.get(mid, ()))
