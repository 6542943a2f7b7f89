"""The role's mailbox as the rest of the runtime sees it, before and after the role exists.

The bus and the process supervisors start before the role (the role starts only once the RPCs
answer), so what they tell the role meanwhile is held here and handed over, in order, on
:meth:`RoleInbox.attach`. After :meth:`detach` (shutdown) messages are dropped.

What is held is bounded (:data:`MAX_HELD`): beyond it the oldest messages are dropped. Such an
overflow is never silent: its first drop is logged as a warning, and when it ends (the role is
attached, or the inbox detached) the overflow handler (:meth:`RoleInbox.set_overflow_handler`; the
bus logs ``inbox_overflow``) is called once with how many messages the episode dropped.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import pykka

from monerosim_actors.runtime.scheduler import Tellable

log = logging.getLogger(__name__)

MAX_HELD = 10_000
"""Messages held for a role that has not started yet; the oldest go first beyond this."""


class RoleInbox:
    """Thread-safe ``tell`` to the role actor, buffering until it is attached."""

    def __init__(self, max_held: int = MAX_HELD) -> None:
        self._lock = threading.Lock()
        self._ref: Tellable | None = None
        self._held: deque[Any] = deque(maxlen=max_held)
        self._closed = False
        self._dropped = 0
        """Messages dropped since the held queue last overflowed (0: no overflow going on)."""
        self._on_overflow: Callable[[int], None] | None = None

    def set_overflow_handler(self, handler: Callable[[int], None]) -> None:
        """Call ``handler(dropped)`` once per overflow, when it ends (on the thread that ends it,
        outside the inbox's lock)."""
        self._on_overflow = handler

    def tell(self, message: Any) -> None:
        with self._lock:
            if self._closed:
                return
            if self._ref is None:
                if len(self._held) == self._held.maxlen:
                    self._dropped += 1
                    if self._dropped == 1:
                        log.warning("the role has not started and %d messages are held: dropping the oldest",
                                    len(self._held))
                self._held.append(message)
                return
            ref = self._ref
        try:
            ref.tell(message)
        except pykka.ActorDeadError:
            log.debug("role is dead; %r dropped", type(message).__name__)

    def attach(self, ref: Tellable) -> None:
        """Hand the held messages to ``ref`` and tell it everything from now on."""
        with self._lock:
            for message in self._held:
                ref.tell(message)
            self._held.clear()
            self._ref = ref
            dropped, self._dropped = self._dropped, 0
        self._report(dropped)

    def detach(self) -> None:
        """Drop everything from now on (the role is stopping)."""
        with self._lock:
            self._ref = None
            self._closed = True
            self._held.clear()
            dropped, self._dropped = self._dropped, 0
        self._report(dropped)

    def _report(self, dropped: int) -> None:
        if dropped and self._on_overflow is not None:
            self._on_overflow(dropped)
