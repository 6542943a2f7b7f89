"""The bus between two in-process hosts on loopback: delivery, Ping/Pong, events, drops, monerod news."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
import zmq

from monerosim_actors.coordination.messages import GetVendors
from monerosim_actors.wire import Envelope, MAX_FRAME_BYTES, Ping, Pong, encode
from monerosim_actors.runtime.bus import Bus
from monerosim_actors.runtime.inbox import RoleInbox
from monerosim_actors.runtime.messages import ChainAdvanced, Delivered, TxpoolAdded
from tests.conftest import RecordingEvents
from tests.e2e.plans import host_config, host_plan, loopback, service

pytestmark = pytest.mark.e2e  # real sockets


class Mailbox:
    def __init__(self) -> None:
        self.q: queue.Queue[Any] = queue.Queue()

    def tell(self, message: Any) -> None:
        self.q.put(message)


@pytest.fixture
def pair() -> Iterator[tuple[Bus, RecordingEvents, Mailbox, Bus, RecordingEvents, Mailbox]]:
    svc_plan = host_plan("svc", loopback(1, 0), monerod=False, wallet=False, bus_port=5555)
    cli_plan = host_plan("cli", loopback(1, 1), monerod=False, wallet=False)
    services = {"svc": service(svc_plan)}
    made = []
    for plan in (svc_plan, cli_plan):
        events, box, inbox = RecordingEvents(), Mailbox(), RoleInbox()
        inbox.attach(box)
        bus = Bus(host_config(plan, services=services), events, inbox)
        bus.start()
        made.append((bus, events, box))
    yield (*made[0], *made[1])
    for bus, _, _ in made:
        bus.stop()


def test_request_reply_and_events(pair) -> None:
    svc, svc_ev, svc_box, cli, cli_ev, cli_box = pair
    mid = cli.send("svc", GetVendors(request=1))
    got = svc_box.q.get(timeout=5)
    assert isinstance(got, Delivered) and got.envelope.id == mid and got.envelope.body == GetVendors(1)
    sent = cli_ev.wait_for("msg_sent", id=mid)[0]
    recv = svc_ev.wait_for("msg_received", id=mid)[0]
    assert sent["type"] == recv["type"] == "get_vendors" and recv["sent_at"] == sent["sent_at"]
    assert recv["recv_at"] >= recv["sent_at"]
    assert mid.startswith("cli:")
    # the service answers through its ROUTER by host name
    reply = svc.send("cli", GetVendors(request=2))
    assert cli_box.q.get(timeout=5).envelope.id == reply


def test_ping_is_answered_by_the_bus(pair) -> None:
    svc, svc_ev, svc_box, cli, cli_ev, cli_box = pair
    cli.send("svc", Ping(seq=4, payload="x"))
    pong = cli_box.q.get(timeout=5)
    assert pong.envelope.body == Pong(seq=4, payload="x")
    assert svc_box.q.empty()  # the role never sees pings


def test_unroutable_and_no_route_are_logged(pair) -> None:
    svc, svc_ev, _, cli, cli_ev, _ = pair
    svc.send("nobody", Ping(seq=1, payload=""))
    assert svc_ev.wait_for("msg_dropped", reason="unroutable")[0]["peer"] == "nobody"
    cli.send("other-client", Ping(seq=1, payload=""))
    cli_ev.wait_for("msg_dropped", reason="no_route")


def _raw(**over: Any) -> bytes:
    env = {"v": 1, "type": "ping", "id": "raw:1", "src": "raw", "dst": "svc", "sent_at": 1.0,
           "body": {"seq": 1, "payload": "p"}}
    env.update(over)
    return msgpack.packb(env)


@pytest.mark.parametrize(("frames", "reason"), [
    ([b"\xc1garbage"], "undecodable"),
    ([_raw(v=9)], "wrong_version"),
    ([_raw(type="launch_missiles")], "unknown_type"),
    ([b"\x00" * (MAX_FRAME_BYTES + 1)], "oversized"),
    ([_raw(body={"seq": "one", "payload": "p"})], "bad_body"),
    ([_raw(dst="someone-else")], "wrong_dst"),
    ([_raw(src="impostor")], "src_mismatch"),
    ([_raw(), _raw()], "bad_frames"),
])
def test_malformed_frames_are_dropped_and_the_host_keeps_answering(pair, frames, reason) -> None:
    svc, svc_ev, svc_box, *_ = pair
    ctx = zmq.Context()
    raw = ctx.socket(zmq.DEALER)
    raw.setsockopt(zmq.IDENTITY, b"raw")
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(f"tcp://{loopback(1, 0)}:5555")
    try:
        raw.send_multipart(frames)
        dropped = svc_ev.wait_for("msg_dropped", reason=reason)[0]
        assert dropped["peer"] == "raw" and dropped["size"] == sum(map(len, frames))
        raw.send(encode(Envelope(id="raw:2", src="raw", dst="svc", sent_at=time.time(),
                                 body=Ping(seq=2, payload="alive"))))
        assert raw.poll(5000), "no Pong after a malformed frame"
        assert b"pong" in raw.recv()
    finally:
        raw.close()
        ctx.term()
    assert svc_box.q.empty()


def test_monerod_notifications() -> None:
    """A PUB socket where monerod's would be stands in for monerod."""
    plan = host_plan("node", loopback(1, 2), wallet=False)
    events, box, inbox = RecordingEvents(), Mailbox(), RoleInbox()
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind(f"tcp://{loopback(1, 2)}:18083")
    bus = Bus(host_config(plan), events, inbox)
    bus.start()
    try:
        chain = b'json-minimal-chain_main:' + json.dumps(
            {"first_height": 5, "first_prev_id": "p", "ids": ["a", "b"]}).encode()
        # the subscription reaches the PUB asynchronously: publish until the first one arrives
        inbox.attach(box)
        deadline = time.monotonic() + 5
        first = None
        while first is None and time.monotonic() < deadline:
            pub.send(chain)
            try:
                first = box.q.get(timeout=0.1)
            except queue.Empty:
                pass
        assert first == ChainAdvanced(height=6, hashes=("a", "b"), seen_at=first.seen_at)
        pub.send(b'json-minimal-txpool_add:[{"id": "t1", "blob_size": 1, "weight": 1, "fee": 2}]')
        pub.send(b'json-minimal-txpool_add:[{"id": "t1", "blob_size": 1, "weight": 1, "fee": 2}, '
                 b'{"id": "t2", "blob_size": 1, "weight": 1, "fee": 2}]')
        pub.send(b'json-minimal-chain_main:{"first_height": 7}')
        while not isinstance(msg := box.q.get(timeout=5), TxpoolAdded):
            pass
        assert msg.txids == ("t1",)
        events.wait_for("msg_dropped", reason="bad_notification", peer="monerod")
        seen = [(e["height"], e["hash"]) for e in events.items if e["event"] == "block_seen"]
        assert seen == [(5, "a"), (6, "b")]  # once per hash, however often it was published
        txs = [e["txid"] for e in events.items if e["event"] == "tx_seen"]
        assert txs == ["t1", "t2"], "once per transaction, however often the pool feed shows it"
    finally:
        bus.stop()
        pub.close()
        ctx.term()


def test_role_messages_wait_for_the_role() -> None:
    inbox, box = RoleInbox(), Mailbox()
    inbox.tell("early")
    inbox.attach(box)
    inbox.tell("late")
    assert [box.q.get_nowait(), box.q.get_nowait()] == ["early", "late"]
    inbox.detach()
    inbox.tell("after")
    assert box.q.empty()


def test_bind_failure_raises_at_start() -> None:
    plan = host_plan("svc2", loopback(1, 3), monerod=False, wallet=False, bus_port=5555)
    first = Bus(host_config(plan), RecordingEvents(), RoleInbox())
    first.start()
    try:
        with pytest.raises(zmq.ZMQError):
            Bus(host_config(plan), RecordingEvents(), RoleInbox()).start()
    finally:
        first.stop()


def test_a_lost_service_is_reconnected() -> None:
    """The service goes away and comes back on the same address: the client's DEALER reconnects,
    and what was sent while it was away is delivered once it is back."""
    svc_plan = host_plan("svc3", loopback(1, 4), monerod=False, wallet=False, bus_port=5555)
    cli_plan = host_plan("cli3", loopback(1, 5), monerod=False, wallet=False)
    services = {"svc": service(svc_plan)}

    def start(plan):
        events, box, inbox = RecordingEvents(), Mailbox(), RoleInbox()
        inbox.attach(box)
        bus = Bus(host_config(plan, services=services), events, inbox)
        bus.start()
        return bus, box

    cli, cli_box = start(cli_plan)
    svc, svc_box = start(svc_plan)
    try:
        cli.send("svc3", GetVendors(request=1))
        assert svc_box.q.get(timeout=5).envelope.body == GetVendors(1)
        svc.stop()
        cli.send("svc3", GetVendors(request=2))  # queued in the DEALER while the service is away
        svc, svc_box = start(svc_plan)
        assert svc_box.q.get(timeout=10).envelope.body == GetVendors(2)
        svc.send("cli3", Ping(seq=1, payload=""))  # the new ROUTER routes to the client, which answers
        assert svc_box.q.get(timeout=5).envelope.body == Pong(seq=1, payload="")
    finally:
        cli.stop()
        svc.stop()


def test_a_role_host_reaches_a_contact_over_a_route_opened_by_its_first_message() -> None:
    """Two role hosts, neither a service: the talker has the listener as a contact (``talks_to``), its
    first message opens the connection, and the answer comes back over it."""
    import dataclasses

    listener_plan = host_plan("tipper-1", loopback(1, 2), monerod=False, wallet=False, bus_port=5555)
    talker_plan = host_plan("tipper-0", loopback(1, 3), monerod=False, wallet=False)
    talker_config = dataclasses.replace(host_config(talker_plan), contacts={"tipper": (service(listener_plan),)})
    made = []
    for config in (host_config(listener_plan), talker_config):
        events, box, inbox = RecordingEvents(), Mailbox(), RoleInbox()
        inbox.attach(box)
        bus = Bus(config, events, inbox)
        bus.start()
        made.append((bus, events, box))
    (listener, listener_ev, listener_box), (talker, talker_ev, talker_box) = made
    try:
        mid = talker.send("tipper-1", GetVendors(request=1))
        got = listener_box.q.get(timeout=5)
        assert got.envelope.id == mid and got.envelope.src == "tipper-0"
        reply = listener.send("tipper-0", GetVendors(request=2))
        assert talker_box.q.get(timeout=5).envelope.id == reply
        listener.send("tipper-9", GetVendors(request=3))  # never wrote to it
        assert listener_ev.wait_for("msg_dropped", reason="unroutable")[0]["peer"] == "tipper-9"
    finally:
        for bus, _, _ in made:
            bus.stop()
