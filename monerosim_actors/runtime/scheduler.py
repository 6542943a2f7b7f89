"""Timers for actors: ``call_later(delay, ref, message)`` tells ``message`` to ``ref`` when due.

One thread per host waits on a condition until the earliest due time (or, with no timer pending,
until a timer is added), so an idle host makes no wake-ups at all; it never polls. Delays given in
scenario seconds are divided by the host's ``time_scale``; the runtime's own back-offs (restarts)
are real seconds and pass ``scaled=False``. Under Shadow ``time.monotonic`` is simulated time, and a
thread blocked in ``Condition.wait`` lets the simulation advance.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Any, Protocol

import pykka

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
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.time_scale = time_scale
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_later(self, delay_s: float, ref: Tellable, message: Any, *, scaled: bool = True) -> Timer:
        """Tell ``message`` to ``ref`` after ``delay_s`` seconds.

        Args:
            delay_s: scenario seconds (divided by ``time_scale``), or real seconds with ``scaled=False``;
                negative delays count as 0.
            ref: the actor to tell; if it is dead by then the message is dropped quietly.
            message: any object the actor understands.
            scaled: whether ``delay_s`` is in scenario seconds.
        """
        real = max(0.0, delay_s) / (self.time_scale if scaled else 1.0)
        timer = Timer(time.monotonic() + real, ref, message)
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
