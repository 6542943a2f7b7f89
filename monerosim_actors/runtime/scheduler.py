"""Timers for actors: ``call_later(delay, ref, message)`` tells ``message`` to ``ref`` when due.

One thread per host waits on a condition until the earliest due time (or, with no timer pending,
until a timer is added), so an idle host makes no wake-ups at all; it never polls. Under Shadow
``time.monotonic`` is simulated time, and a thread blocked in ``Condition.wait`` lets the simulation
advance.

Two kinds of delay, and this is the one place that knows how each maps to the host's clock:

- :meth:`Scheduler.call_later`: scenario seconds (block intervals, payment waits), divided by the
  run's time scale K (:mod:`monerosim_actors.runtime.clock`; 1 under Shadow).
- :meth:`Scheduler.call_timeout`: seconds of the programs' own time, never divided: timeouts and
  retries that wait on work a faster scenario does not speed up (a program starting, monerod mining,
  a message answered, a restart's back-off).

Neither caller sees K.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Any, Protocol

import pykka

from monerosim_actors.runtime.clock import clock_seconds

log = logging.getLogger(__name__)


class Tellable(Protocol):
    """What a timer tells: a ``pykka.ActorRef`` (or a test double with ``tell``)."""

    def tell(self, message: Any) -> None: ...


class Timer:
    """A pending ``tell``; :meth:`cancel` stops it if it has not fired yet."""

    __slots__ = ("due", "ref", "message", "cancelled")

    def __init__(self, due: float, ref: Tellable, message: Any) -> None:
        self.due = due
        """``time.monotonic()`` at which the message is told."""
        self.ref = ref
        self.message = message
        self.cancelled = False

    def cancel(self) -> None:
        """Do not tell the message (a no-op once it has fired). Safe from any thread."""
        self.cancelled = True


class Scheduler:
    """Tells actors messages at due times from one waiting thread (started on construction)."""

    def __init__(self, time_scale: float = 1.0, *, name: str = "scheduler") -> None:
        """Args:
            time_scale: K, scenario seconds per second of the host's clock (the runtime reads it from
                its environment: :func:`monerosim_actors.runtime.clock.time_scale_from`).
            name: the waiting thread's name.
        """
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self._time_scale = time_scale
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_later(self, delay_s: float, ref: Tellable, message: Any) -> Timer:
        """Tell ``message`` to ``ref`` after ``delay_s`` scenario seconds.

        Args:
            delay_s: scenario seconds; negative delays count as 0.
            ref: the actor to tell; if it is dead by then the message is dropped quietly.
            message: any object the actor understands.
        """
        return self._add(clock_seconds(max(0.0, delay_s), self._time_scale), ref, message)

    def call_timeout(self, delay_s: float, ref: Tellable, message: Any) -> Timer:
        """Tell ``message`` to ``ref`` after ``delay_s`` seconds of the programs' own time: for a
        timeout or retry on work that a faster scenario does not make faster. Arguments as
        :meth:`call_later`."""
        return self._add(max(0.0, delay_s), ref, message)

    def _add(self, delay_s: float, ref: Tellable, message: Any) -> Timer:
        timer = Timer(time.monotonic() + delay_s, ref, message)
        with self._cond:
            if self._stopped:
                timer.cancelled = True
                return timer
            heapq.heappush(self._heap, (timer.due, next(self._seq), timer))
            if self._heap[0][2] is timer:
                self._cond.notify()
        return timer

    def pending(self) -> int:
        """Timers neither fired nor cancelled (for tests and diagnostics)."""
        with self._cond:
            return sum(1 for _, _, t in self._heap if not t.cancelled)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel every pending timer and end the thread."""
        with self._cond:
            self._stopped = True
            for _, _, timer in self._heap:
                timer.cancelled = True
            self._heap.clear()
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    while self._heap and self._heap[0][2].cancelled:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _, _, timer = heapq.heappop(self._heap)
            self._fire(timer)

    @staticmethod
    def _fire(timer: Timer) -> None:
        if timer.cancelled:
            return
        timer.cancelled = True
        try:
            timer.ref.tell(timer.message)
        except pykka.ActorDeadError:
            log.debug("timer message %r for a stopped actor dropped", timer.message)
