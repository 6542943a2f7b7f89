"""Send until acknowledged (:mod:`monerosim_actors.role.resend`): the one re-send loop every role uses."""

from __future__ import annotations

from typing import Any

import pytest

from monerosim_actors.coordination.messages import GetVendors, VendorList
from monerosim_actors.role import Envelope, Message, Resend, RoleActor, RpcTimeout
from monerosim_actors.testing import FakeNet, deliver

DIR = "marketplace-directory"


class Asker(RoleActor):
    """Asks the directory for vendors until a ``VendorList`` answers its latest request."""

    every_s: float = 10.0
    max_every_s: float | None = None

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.request = 0
        self.asking = self.until_acknowledged(DIR, self._next_request, every_s=float(self.every_s),
                                              max_every_s=self.max_every_s)

    def _next_request(self) -> GetVendors:
        self.request += 1
        return GetVendors(request=self.request)

    def setup(self) -> None:
        self.asking.start()

    def on_message(self, body: Message, env: Envelope) -> None:
        match body:
            case VendorList(request=request) if request == self.request:
                self.asking.stop()


def _asker(**params: Any) -> tuple[FakeNet, Asker]:
    net = FakeNet()
    asker = net.add(Asker, "asker-0", "asker", params, node=False)
    net.start()
    return net, asker


def _asked_at(net: FakeNet) -> list[float]:
    """Fake seconds after the first ask at which each ask was sent."""
    asks = [e for e in net.sent if isinstance(e.body, GetVendors)]
    return [round(e.sent_at - asks[0].sent_at, 3) for e in asks]


def test_not_acknowledged_it_is_sent_again_every_interval() -> None:
    net, asker = _asker(every_s=10.0)
    net.run(until=45)
    assert _asked_at(net) == [0, 10, 20, 30, 40]
    assert [e.body.request for e in net.sent] == [1, 2, 3, 4, 5]  # a new message for each attempt
    assert asker.asking.pending and asker.asking.attempts == 5


def test_with_a_ceiling_the_wait_doubles_up_to_it() -> None:
    net, _ = _asker(every_s=10.0, max_every_s=40.0)
    net.run(until=200)
    assert _asked_at(net) == [0, 10, 30, 70, 110, 150, 190]


def test_acknowledged_it_stops() -> None:
    net, asker = _asker(every_s=10.0)
    net.run(until=15)
    deliver(net, DIR, "asker-0", VendorList(request=asker.request, addresses=()))
    net.run(until=100)
    assert _asked_at(net) == [0, 10]
    assert not asker.asking.pending


def test_an_answer_to_an_older_attempt_is_not_the_acknowledgement() -> None:
    net, asker = _asker(every_s=10.0)
    net.run(until=15)
    deliver(net, DIR, "asker-0", VendorList(request=1, addresses=()))
    net.run(until=10)
    assert _asked_at(net) == [0, 10, 20]


def test_start_again_sends_at_once_and_replaces_the_waiting_round() -> None:
    net, asker = _asker(every_s=10.0, max_every_s=40.0)
    net.run(until=35)  # asked at 0, 10, 30; the next wait is 40
    asker.asking.start()  # the service asks for it (or setup runs again)
    net.run(until=25)
    assert _asked_at(net) == [0, 10, 30, 35, 45]  # one loop, its waits from the start again


def test_a_timer_already_due_when_stopped_sends_nothing() -> None:
    net, asker = _asker(every_s=10.0)
    (timer,) = [t for t in net.hosts["asker-0"].actor.ctx.scheduler.timers if not t.cancelled]
    asker.asking.stop()
    asker.on_receive(timer.message)  # it had left the scheduler before the cancel
    net.run(until=100)
    assert _asked_at(net) == [0]


def test_stopping_the_actor_stops_it() -> None:
    net, asker = _asker(every_s=10.0)
    net.run(until=15)
    asker.on_stop()
    net.run(until=100)
    assert _asked_at(net) == [0, 10]
    assert all(t.cancelled for t in net.hosts["asker-0"].actor.ctx.scheduler.timers)


def test_the_interval_must_be_positive() -> None:
    net, asker = _asker()
    with pytest.raises(ValueError, match="every_s"):
        Resend(asker, DIR, GetVendors, every_s=0)


class FlakyAsker(Asker):
    """Its message builder works once, then fails twice (its wallet does not answer, say), then works."""

    calls = 0

    def _next_request(self) -> GetVendors:
        self.calls += 1
        if self.calls in (2, 3):
            raise RpcTimeout("get_address", 5.0)
        return super()._next_request()


def test_a_builder_that_fails_does_not_end_the_loop() -> None:
    net = FakeNet()
    asker = net.add(FlakyAsker, "asker-0", "asker", {"every_s": 10.0}, node=False)
    net.start()
    net.run(until=35)
    assert _asked_at(net) == [0, 30], "the waits at 10 and 20 s could not make the message; the one at 30 did"
    assert asker.asking.pending, "still waiting for the answer"
    errors = net.events("asker-0").named("actor_error")
    assert len(errors) == 2 and all(e["error_type"] == "RpcTimeout" for e in errors), "each failure logged"
    deliver(net, DIR, "asker-0", VendorList(request=2, addresses=()))
    net.run(until=30)
    assert not asker.asking.pending and len(_asked_at(net)) == 2
