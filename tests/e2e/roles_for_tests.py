"""Small roles for the runtime's tests: they log what they receive, and the echo pair talks on the bus.

Every role logs each runtime message it receives as ``role_got{type, ...}`` so tests can read the
host's ``events.jsonl`` to see what reached the role.
"""

from __future__ import annotations

import threading
from typing import Any

import pykka

from monerosim_actors.coordination.messages import GetVendors, VendorList
from monerosim_actors.wire import Ping
from monerosim_actors.runtime.context import HostContext
from monerosim_actors.runtime.messages import Delivered


class IdleRole(pykka.ThreadingActor):
    """Does nothing on its own; logs what the runtime tells it."""

    def __init__(self, ctx: HostContext) -> None:
        super().__init__()
        self.ctx = ctx

    def on_receive(self, message: Any) -> None:
        fields: dict[str, Any] = {"type": type(message).__name__}
        if isinstance(message, Delivered):
            fields.update(id=message.envelope.id, body_type=message.envelope.type, src=message.envelope.src)
            self.delivered(message)
        self.ctx.events.emit("role", "role_got", **fields)

    def delivered(self, message: Delivered) -> None:
        """Hook for subclasses."""


class EchoService(IdleRole):
    """Answers every ``GetVendors`` with a ``VendorList`` of the same request number."""

    def delivered(self, message: Delivered) -> None:
        body = message.envelope.body
        if isinstance(body, GetVendors):
            self.ctx.bus.send(message.envelope.src, VendorList(request=body.request, addresses=("a",)))


class EchoClient(IdleRole):
    """On start, pings the service named in ``params["service"]`` and asks it for vendors."""

    def on_start(self) -> None:
        service = self.ctx.params["service"]
        self.ctx.bus.send(service, Ping(seq=1, payload="hello"))
        self.ctx.bus.send(service, GetVendors(request=1))


class StuckRole(IdleRole):
    """Never finishes its first message: the host must still exit at the end."""

    def on_start(self) -> None:
        self.actor_ref.tell("block")

    def on_receive(self, message: Any) -> None:
        if message == "block":
            threading.Event().wait()
