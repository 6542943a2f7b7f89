"""Stopping what a supervisor started: SIGTERM, a bounded wait, SIGKILL; the one way it is done.

Four places stop processes: the host runtime stops monerod and the wallet
(:mod:`monerosim_actors.runtime.process`) and the leftovers of an earlier run of its host
(:mod:`monerosim_actors.runtime.pidfile`); the local backend stops the host runtimes and the
monerods and wallets a dead runtime left behind (:mod:`monerosim_actors.backends.groups`). They all
call :func:`terminate`, with anything that can be signalled and waited for (:class:`Stoppable`):

- a :class:`~monerosim_actors.runtime.child.Child` (our own child): its whole process group, and
  only while the group's id is still its own (the leader is not reaped yet);
- a :class:`Held` process (not our child): a pidfd of it, checked to be the right process after it
  was opened, so a signal reaches that process and no other, even if its pid is reused meanwhile.

No signal is ever sent to a bare pid or group id read earlier: once a process is reaped its number
can be given to an unrelated process, and SIGKILL would reach that one.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

KILL_WAIT_S = 10.0
"""How long to wait for an exit after SIGKILL (it cannot be ignored; only a process stuck in the
kernel takes longer)."""


class Stoppable(Protocol):
    """Something :func:`terminate` can stop."""

    def signal(self, sig: int) -> bool:
        """Send ``sig`` to it if it still runs; False when it is gone (nothing was sent)."""
        ...

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds until it has exited; True once it has."""
        ...


S = TypeVar("S", bound=Stoppable)


def wait_all(targets: Sequence[Stoppable], deadline: float) -> None:
    """Block until every target has exited or the ``time.monotonic()`` deadline has passed."""
    for target in targets:
        target.wait(max(0.0, deadline - time.monotonic()))


def terminate(targets: Sequence[S], term_timeout_s: float, *, kill_wait_s: float = KILL_WAIT_S,
         wait: Callable[[Sequence[S], float], None] = wait_all) -> list[S]:
    """SIGTERM every target that still runs, wait up to ``term_timeout_s`` for all of them together,
    SIGKILL those still running, wait up to ``kill_wait_s`` for them.

    Args:
        wait: how to wait for targets until a ``time.monotonic()`` deadline (:func:`wait_all`; the
            local backend's also judges each exit as it comes and gives up on a second Ctrl-C).

    Returns:
        the targets that had to be killed.
    """
    running = [t for t in targets if t.signal(signal.SIGTERM)]
    wait(running, time.monotonic() + term_timeout_s)
    stubborn = [t for t in running if not t.wait(0) and t.signal(signal.SIGKILL)]
    wait(stubborn, time.monotonic() + kill_wait_s)
    return stubborn


class Held:
    """A process that is not our child, held by a pidfd (see the module docstring); close it after use."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self._fd = fd

    @classmethod
    def open(cls, pid: int, is_it: Callable[[], bool]) -> Held | None:
        """Hold ``pid`` if it runs and ``is_it()`` says, once it is held, that it is the process meant.

        Checking after the pidfd is open is what makes it safe: had the pid been reused before,
        the check reads the newcomer and fails.

        Raises:
            OSError: pidfds are not available (Linux before 5.3; Shadow does not emulate them).
        """
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return None
        if not is_it():
            os.close(fd)
            return None
        return cls(pid, fd)

    def signal(self, sig: int) -> bool:
        try:
            signal.pidfd_send_signal(self._fd, sig)
        except ProcessLookupError:
            return False
        return True

    def wait(self, timeout: float) -> bool:
        return bool(select.select([self._fd], [], [], timeout)[0])

    def close(self) -> None:
        os.close(self._fd)
