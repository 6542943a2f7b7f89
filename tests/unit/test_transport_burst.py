"""Sends from other threads while the transport thread is busy: nothing raises, nothing is lost,
nothing waits for a later wake-up.

Found by the bus throughput benchmark: every ``send`` from another thread used to put one wake-up
message into the inproc PAIR, whose high-water mark is 2000, so a role sending more than 2000 frames
while the transport thread was busy got ``zmq.Again`` from ``bus.send`` (and its actor died).
"""

from __future__ import annotations

import threading

import pytest

from monerosim_actors.runtime.transport import Inbound, Transport

pytestmark = pytest.mark.e2e  # real sockets on loopback

BURST = 5000


def test_burst_while_the_transport_thread_is_busy() -> None:
    got: list[Inbound] = []
    first, all_in = threading.Event(), threading.Event()
    busy, release = threading.Event(), threading.Event()

    def at_service(msg: Inbound) -> None:
        got.append(msg)
        first.set()
        if len(got) == BURST + 1:
            all_in.set()

    def at_client(msg: Inbound) -> None:  # holds the client's transport thread
        busy.set()
        release.wait(30)

    drops: list[tuple] = []
    service = Transport(identity="svc", on_inbound=at_service, on_drop=lambda *a: drops.append(a),
                        bind="tcp://127.70.200.1:5555")
    client = Transport(identity="cli", on_inbound=at_client, on_drop=lambda *a: drops.append(a),
                       services={"svc": "tcp://127.70.200.1:5555"})
    service.start()
    client.start()
    try:
        client.send("svc", b"hello")  # the ROUTER learns the client's identity
        assert first.wait(10)
        service.send("cli", b"block")
        assert busy.wait(10)
        for i in range(BURST):
            client.send("svc", str(i).encode())  # raised zmq.Again after 2000 before the fix
        release.set()
        assert all_in.wait(30), f"{len(got)} of {BURST + 1} frames arrived"
        assert [m.frames for m in got[1:]] == [[str(i).encode()] for i in range(BURST)]
        assert drops == []
    finally:
        release.set()
        client.stop()
        service.stop()


def test_a_frame_queued_while_the_transport_thread_is_awake_goes_out_without_a_wake_up() -> None:
    """The thread is held at the end of a round (awake, so a send writes no wake-up byte); once let
    go it must see the queued frame before it sleeps, not sleep on it."""
    got, arrived = [], threading.Event()
    held, release, holding = threading.Event(), threading.Event(), threading.Event()

    def at_service(msg: Inbound) -> None:
        got.append(msg.frames[0])
        arrived.set()

    def after_batch() -> None:
        if holding.is_set():
            holding.clear()
            held.set()
            release.wait(10)

    service = Transport(identity="svc", on_inbound=at_service, on_drop=lambda *a: None,
                        bind="tcp://127.70.202.1:5555")
    client = Transport(identity="cli", on_inbound=lambda m: None, on_drop=lambda *a: None,
                       services={"svc": "tcp://127.70.202.1:5555"}, after_batch=after_batch)
    service.start()
    client.start()
    try:
        holding.set()
        client.send("svc", b"first")  # wakes the thread, which then stops in after_batch
        assert held.wait(10) and arrived.wait(10)
        arrived.clear()
        client.send("svc", b"second")  # queued while the thread is awake
        release.set()
        assert arrived.wait(5), "the frame queued while the transport thread was awake never went out"
        assert got == [b"first", b"second"]
    finally:
        release.set()
        client.stop()
        service.stop()
