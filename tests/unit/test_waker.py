"""The self-pipe waker that the host's main thread, the bus's transport thread and the local
backend sleep on: woken by threads, by signals, by a poller; never blocking whoever wakes it."""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import zmq

from monerosim_actors.runtime.waker import Waker


@pytest.fixture
def waker() -> Iterator[Waker]:
    w = Waker()
    yield w
    w.close()


def readable(w: Waker) -> bool:
    return bool(select.select([w.fileno], [], [], 0)[0])


def test_a_wake_before_the_sleep_ends_it_at_once_and_is_drained(waker: Waker) -> None:
    waker.wake()
    waker.wake()
    started = time.monotonic()
    waker.sleep(60)
    assert time.monotonic() - started < 30
    assert not readable(waker)


def test_another_thread_wakes_a_sleep_without_a_timeout(waker: Waker) -> None:
    done = threading.Event()

    def sleeper() -> None:
        waker.sleep()
        done.set()

    thread = threading.Thread(target=sleeper, daemon=True)
    thread.start()
    waker.wake()
    assert done.wait(60)


def test_a_full_pipe_never_blocks_the_waker_and_one_sleep_drains_it(waker: Waker) -> None:
    for _ in range(70_000):  # more bytes than a pipe holds (64 KiB)
        waker.wake()
    waker.sleep(0)
    assert not readable(waker)


def test_after_close_a_wake_does_nothing(waker: Waker) -> None:
    waker.close()
    waker.wake()
    waker.close()


def test_a_signal_handler_may_wake_it_while_the_main_thread_holds_its_lock(waker: Waker) -> None:
    # what a Python signal handler that calls wake() does when it interrupts wake() or close()
    def reenter() -> None:
        with waker._lock:
            waker.wake()

    thread = threading.Thread(target=reenter, daemon=True)  # a thread, so a deadlock fails, not hangs
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and readable(waker)


def test_a_caught_signal_wakes_the_sleeping_main_thread(waker: Waker) -> None:
    caught: list[int] = []
    old = signal.signal(signal.SIGUSR1, lambda signum, _frame: caught.append(signum))
    release = waker.catch_signals()
    try:
        # from another thread, as the kernel may deliver a signal to any thread of the process
        threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGUSR1)).start()
        waker.sleep(60)
        assert caught == [signal.SIGUSR1]
    finally:
        release()
        signal.signal(signal.SIGUSR1, old)
    assert signal.set_wakeup_fd(-1) == -1, "release() restored the descriptor from before"


def test_a_zmq_poller_sees_the_wake_up(waker: Waker) -> None:
    poller = zmq.Poller()
    poller.register(waker.fileno, zmq.POLLIN)
    assert dict(poller.poll(0)) == {}
    waker.wake()
    assert waker.fileno in dict(poller.poll(60_000))
    waker.drain()
    assert dict(poller.poll(0)) == {}


def test_draining_takes_one_read_unless_the_buffer_filled(waker: Waker, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        reads.append(fd)
        return real_read(fd, n)

    monkeypatch.setattr(os, "read", counting_read)
    waker.wake()
    waker.drain()
    assert len(reads) == 1, "a wake-up of the bus costs one read, not a second one that finds nothing"
    for _ in range(5000):
        waker.wake()
    waker.drain()
    assert not readable(waker)
