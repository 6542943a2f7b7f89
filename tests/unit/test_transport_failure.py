"""A transport thread that dies of a bug says so (``on_failed``) and leaves the host able to stop:
later sends only queue (no wake-up byte into a closed pipe), and ``stop`` returns."""

from __future__ import annotations

import threading

import pytest
import zmq

from monerosim_actors.runtime.transport import Transport

WAIT_S = 30.0


def _transport(failed: list[str], done: threading.Event) -> Transport:
    def on_failed(what: str) -> None:
        failed.append(what)
        done.set()

    # a DEALER to a service nobody runs: ZeroMQ queues for it, nothing touches the network
    return Transport(identity="cli", on_inbound=lambda m: None, on_drop=lambda *a: None,
                     services={"svc": "tcp://127.0.0.1:9"}, on_failed=on_failed)


def test_a_bug_while_sending_is_reported_and_later_sends_only_queue() -> None:
    failed: list[str] = []
    done = threading.Event()
    transport = _transport(failed, done)
    transport.start()
    try:
        transport.send("svc", 12345)  # type: ignore[arg-type]  # a caller's bug: not bytes
        assert done.wait(WAIT_S), "on_failed was not called"
        assert len(failed) == 1 and failed[0].startswith("TypeError: ")
        transport.send("svc", b"after")
    finally:
        transport.stop()
    assert len(failed) == 1


def test_a_bug_while_asleep_is_reported_and_a_send_does_not_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    """The thread dies with the wake-up flag still saying "asleep": a sender must not write the
    wake-up byte into the pipe whose read end the dying thread closed (BrokenPipeError)."""
    def broken_poll(self: zmq.Poller, timeout: float | None = None) -> list[tuple[object, int]]:
        raise zmq.ZMQError(zmq.EFAULT, "injected")

    monkeypatch.setattr(zmq.Poller, "poll", broken_poll)
    failed: list[str] = []
    done = threading.Event()
    transport = _transport(failed, done)
    transport.start()
    try:
        assert done.wait(WAIT_S), "on_failed was not called"
        assert failed == ["ZMQError: injected"]
        transport.send("svc", b"after")  # raised BrokenPipeError in the sender's thread
    finally:
        transport.stop()


def test_a_stop_is_no_failure() -> None:
    failed: list[str] = []
    transport = _transport(failed, threading.Event())
    transport.start()
    transport.send("svc", b"x")
    transport.stop()
    assert failed == []
