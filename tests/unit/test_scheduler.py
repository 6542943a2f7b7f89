"""The scheduler tells messages at due times, in order, honours cancel and time_scale, and stops."""

from __future__ import annotations

import queue
import threading
import time

import pykka
import pytest

from monerosim_actors.runtime.scheduler import Scheduler


class Recorder:
    def __init__(self) -> None:
        self.got: queue.Queue[tuple[object, float]] = queue.Queue()

    def tell(self, message: object) -> None:
        self.got.put((message, time.monotonic()))


@pytest.fixture
def scheduler():
    s = Scheduler(time_scale=1.0)
    yield s
    s.stop()


def test_fires_in_due_order(scheduler: Scheduler) -> None:
    rec = Recorder()
    start = time.monotonic()
    scheduler.call_later(0.15, rec, "late")
    scheduler.call_later(0.05, rec, "early")
    first, t1 = rec.got.get(timeout=2)
    second, t2 = rec.got.get(timeout=2)
    assert (first, second) == ("early", "late")
    assert t1 - start >= 0.05 and t2 - start >= 0.15
    assert scheduler.pending() == 0


def test_cancel(scheduler: Scheduler) -> None:
    rec = Recorder()
    timer = scheduler.call_later(0.05, rec, "cancelled")
    scheduler.call_later(0.1, rec, "kept")
    timer.cancel()
    assert rec.got.get(timeout=2)[0] == "kept"
    assert rec.got.empty()


def test_time_scale_divides_scenario_delays_but_not_timeouts() -> None:
    s = Scheduler(time_scale=100.0)
    try:
        rec = Recorder()
        start = time.monotonic()
        s.call_later(10.0, rec, "scenario")        # 0.1 s real
        s.call_timeout(0.05, rec, "timeout")       # 0.05 s real, whatever the scale
        assert rec.got.get(timeout=2)[0] == "timeout"
        msg, when = rec.got.get(timeout=2)
        assert msg == "scenario" and when - start >= 0.09  # never early; how late depends on the load
    finally:
        s.stop()


def test_dead_actor_is_ignored(scheduler: Scheduler) -> None:
    got = threading.Event()

    class Echo(pykka.ThreadingActor):
        def on_receive(self, message: object) -> None:
            got.set()

    ref = Echo.start()
    ref.stop()
    scheduler.call_later(0.0, ref, "to the dead")
    rec = Recorder()
    scheduler.call_later(0.01, rec, "alive")  # the thread survived the dead ref
    assert rec.got.get(timeout=2)[0] == "alive"
    assert not got.is_set()


def test_stop_cancels_pending_and_refuses_new() -> None:
    s = Scheduler()
    rec = Recorder()
    s.call_later(0.05, rec, "never")
    s.stop()
    assert not s._thread.is_alive(), "stop() ends the timer thread: nothing can fire after it"
    assert s.call_later(0.0, rec, "after stop").cancelled
    assert rec.got.empty()
