"""An example of a user-defined role, to copy: a shopper who browses the directory, pings the
controller and tells other browsers the newest block it has seen.

It shows the whole declarative layer (see ``docs/roles.md``): defaults as class attributes that the
scenario's ``config`` overrides, a wait-time distribution, weighted tasks, bus messages with their
answers, a message type of its own (:class:`TipShared`), a chain hook, and events. It needs neither a
wallet nor funds, so it runs with ``monerod: true, wallet: false`` (it follows the chain) or with no
process at all. Its test, written with the installed harness, is ``tests/unit/test_example_browser.py``.

Use it from a scenario (``configs/custom_role.yaml``)::

    network:
      agents:
        custom:
          - name: browser
            class: monerosim_actors.actors.example_browser:Browser   # or a name registered in monerosim_actors.roles
            count: 2
            monerod: true
            wallet: false
            config:
              wait_time: {exponential: {mean_s: 30}}
              task_weights: {browse: 3, ping_controller: 1, share_tip: 1}
            talks_to: [browser]       # the browsers' hosts listen, and each knows the others'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monerosim_actors.coordination.messages import GetVendors, VendorList
from monerosim_actors.role import ChainAdvanced, Envelope, Message, RoleActor, exponential, task
from monerosim_actors.wire import Ping, Pong


@dataclass(frozen=True, slots=True)
class TipShared(Message, kind="browser_tip_shared"):
    """The newest block a browser has seen, told to another browser. Defining the class registers
    the wire type; every host of a run that has browsers loads this module (the plan's
    ``message_modules``), so any host can decode it."""

    height: int


class Browser(RoleActor):
    """Browses vendor lists (weight 3), measures its round trip to the block controller (weight 1) and
    shares its chain tip with the other browsers (weight 1)."""

    wait_time = exponential(mean_s=60)
    start_after_s = 10.0
    greeting = "hello"
    """A free parameter: ``config: {greeting: ...}`` in the scenario replaces it."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.requests = 0
        self.pings: dict[int, float] = {}
        self.tip = 0

    @task(3)
    def browse(self) -> None:
        """Ask the directory for the vendors; the answer arrives later in :meth:`on_message`."""
        self.requests += 1
        self.send(self.service_host("marketplace_directory"), GetVendors(request=self.requests))

    @task(1)
    def ping_controller(self) -> None:
        """The controller's bus answers Ping itself; the round trip is logged on the Pong."""
        seq = len(self.pings) + 1
        self.pings[seq] = self.ctx.clock.now()
        self.send(self.service_host("block_controller"), Ping(seq=seq, payload=self.greeting))

    @task(1)
    def share_tip(self) -> None:
        """Tell every other browser the newest block this one has seen (the scenario says
        ``talks_to: [browser]``, so the plan gave this host their addresses)."""
        for peer in self.hosts_of("browser"):
            self.send(peer, TipShared(height=self.tip))

    def on_message(self, body: Message, env: Envelope) -> None:
        match body:
            case VendorList(request=request, addresses=addresses):
                self.emit("browsed", request=request, vendors=len(addresses))
            case Pong(seq=seq) if seq in self.pings:
                rtt_ms = (self.ctx.clock.now() - self.pings.pop(seq)) * 1000
                self.emit("controller_rtt", seq=seq, rtt_ms=round(rtt_ms, 3))
            case TipShared(height=height):
                self.emit("tip_shared", peer=env.src, height=height, behind=self.tip - height)
            case _:
                self.reject(env, "unexpected_message")

    def on_chain_advanced(self, msg: ChainAdvanced) -> None:
        self.tip = msg.height
        self.emit("tip_seen", height=msg.height)
