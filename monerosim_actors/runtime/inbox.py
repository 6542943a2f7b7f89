"""The role's mailbox as the rest of the runtime sees it, before and after the role exists.

The bus and the process supervisors start before the role (the role starts only once the RPCs
answer), so what they tell the role meanwhile is held here and handed over, in order, on
:meth:`RoleInbox.attach`. After :meth:`detach` (shutdown) messages are dropped.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

import pykka

from monerosim_actors.runtime.scheduler import Tellable

log = logging.getLogger(__name__)

MAX_HELD = 10_000
"""Messages held for a role that has not started yet; the oldest go first beyond this."""


class RoleInbox:
    """Thread-safe ``tell`` to the role actor, buffering until it is attached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ref: Tellable | None = None
        self._held: deque[Any] = deque(maxlen=MAX_HELD)
        self._closed = False

    def tell(self, message: Any) -> None:
        with self._lock:
            if self._closed:
                return
            if self._ref is None:
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

    def detach(self) -> None:
        """Drop everything from now on (the role is stopping)."""
        with self._lock:
            self._ref = None
            self._closed = True
            self._held.clear()
