"""A self-pipe that wakes a thread asleep in ``select``/``poll``: the one way our threads wait for work.

Nothing here polls (under Shadow every wake-up is a syscall in simulated time): the sleeping thread
blocks on the pipe's read end, alone (:meth:`Waker.sleep`) or beside other file descriptors (a ZeroMQ
poller registers :attr:`Waker.fileno`), and any other thread writes a byte to wake it. Signals can
wake it too: :meth:`Waker.catch_signals` hands the write end to ``signal.set_wakeup_fd``, so the C
signal handler writes the signal's number whichever thread the kernel delivered the signal to, and a
main thread asleep here wakes and runs the Python handler (asleep in a lock or an ``Event.wait`` it
would not).

Both ends are non-blocking: a full pipe (64 KiB of wake-ups nobody has read) already wakes the
sleeper, so a byte that does not fit is dropped instead of blocking the waker, and
``set_wakeup_fd`` requires it.
"""

from __future__ import annotations

import os
import select
import signal
import threading
from collections.abc import Callable

DRAIN_BYTES = 4096
"""Wake-up bytes read at once."""


class Waker:
    """A pipe one thread sleeps on and any thread (or a signal) writes to.

    :meth:`wake` may be called from any thread, also after :meth:`close` (it then does nothing),
    and from a Python signal handler: its lock is re-entrant, so a handler that interrupts the main
    thread inside :meth:`wake` or :meth:`close` does not deadlock.
    """

    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe()
        for fd in (self._read_fd, self._write_fd):
            os.set_blocking(fd, False)
        self._lock = threading.RLock()
        self._closed = False
        """Guarded by ``_lock``: no byte is written to a closed (and perhaps reused) descriptor."""

    @property
    def fileno(self) -> int:
        """The read end, for a poller that watches it beside other descriptors (then :meth:`drain`)."""
        return self._read_fd

    def wake(self) -> None:
        """Make the read end readable (until it is drained); thread-safe, never blocks."""
        with self._lock:
            if self._closed:
                return
            try:
                os.write(self._write_fd, b"w")
            except BlockingIOError:
                pass  # the pipe is full: the sleeper has wake-ups pending anyway

    def sleep(self, timeout: float | None = None) -> None:
        """Block until woken (or a caught signal arrives), or ``timeout`` seconds (None: no limit),
        then drain the pipe. Wake-ups from before the call end it at once."""
        if timeout is None or timeout > 0:
            select.select([self._read_fd], [], [], timeout)
        self.drain()

    def drain(self) -> None:
        """Read away every pending wake-up (the read end is then quiet until the next one).

        One read, usually: only a read that fills the buffer can have left bytes behind (the bus
        wakes its thread once per burst of sends, and under Shadow every syscall counts).
        """
        try:
            while len(os.read(self._read_fd, DRAIN_BYTES)) == DRAIN_BYTES:
                pass
        except BlockingIOError:
            pass  # nothing was pending (a sleep that timed out)

    def catch_signals(self) -> Callable[[], None]:
        """Let every signal Python catches wake this waker (``signal.set_wakeup_fd``; main thread only).

        Returns:
            what restores the descriptor signals woke before.
        """
        previous = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        return lambda: signal.set_wakeup_fd(previous)

    def close(self) -> None:
        """Close both ends; later :meth:`wake` calls do nothing. Nobody may be asleep on it."""
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._read_fd)
                os.close(self._write_fd)
