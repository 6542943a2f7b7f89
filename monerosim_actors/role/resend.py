"""Send until acknowledged: a message sent again on a timer until its answer arrives.

A role that registers with a service, asks it for something, or asks another host to register
cannot count on the first message arriving: the service may not be up yet, or restarted and not
reconnected (the bus drops what it cannot deliver). So it sends, waits, and sends again until the
answer comes. :class:`Resend` is that loop, once, for every role; a role gets one from
:meth:`monerosim_actors.role.RoleActor.until_acknowledged`, which also cancels it when the actor
stops::

    self._registration = self.until_acknowledged(controller, self._register_pool, every_s=10.0)
    self._registration.start()        # in setup(), and again when the service asks
    ...
    case PoolRegistered(accepted=True):
        self._registration.stop()      # acknowledged

The waits are :meth:`~monerosim_actors.role.RoleActor.timeout` waits: they wait on programs
starting, which a faster-paced scenario does not make faster. Nothing sleeps or polls: each wait is one
timer of the actor's scheduler, and the re-send runs in the actor's own thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from monerosim_actors.wire import Message

if TYPE_CHECKING:
    from monerosim_actors.role.actor import RoleActor

__all__ = ["Resend"]

logger = logging.getLogger(__name__)


class Resend:
    """One message to one host, sent by :meth:`start` and again after each wait until :meth:`stop`.

    Args:
        actor: the role that sends; its scheduler arms the waits and its thread runs the re-sends.
        dst: the host the message goes to.
        message: makes the message for each attempt, so it says what is true when it is sent (an
            address read again after a wallet restart, a new request number).
        every_s: seconds of the programs' own time between the first send and the first re-send.
        max_every_s: None: every wait is ``every_s``. A number: the wait doubles after each
            re-send, up to this many seconds (for a service that may stay silent for long).

    Raises:
        ValueError: ``every_s`` is not positive (a zero wait would re-send without pause).
    """

    def __init__(self, actor: RoleActor, dst: str, message: Callable[[], Message], *, every_s: float,
                 max_every_s: float | None = None) -> None:
        if every_s <= 0:
            raise ValueError(f"every_s must be > 0, got {every_s}")
        self._actor = actor
        self.dst = dst
        self._message = message
        self.every_s = float(every_s)
        self.max_every_s = None if max_every_s is None else float(max_every_s)
        self._wait = self.every_s
        self._timer: Any = None
        self._round = 0
        """Counts starts and stops: a timer that was already on its way when it was cancelled
        carries an old round and is ignored."""
        self.attempts = 0
        """Messages sent since the last :meth:`start`."""

    @property
    def pending(self) -> bool:
        """Whether it is waiting for the acknowledgement (started and not stopped)."""
        return self._timer is not None

    def start(self) -> None:
        """Send now and re-send until :meth:`stop`. A round still waiting is replaced by this one,
        so a service that asks again gets the message at once, and the waits begin again at
        ``every_s``."""
        self.stop()
        self._wait = self.every_s
        self.attempts = 0
        self._send()

    def stop(self) -> None:
        """Send no more: the acknowledgement arrived (or the answer is no longer wanted)."""
        self._round += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _send(self) -> None:
        # armed first: a message that cannot be made now (its builder raised: a wallet not answering
        # yet, say) or a send that raises is tried again at the next wait, like one the network lost;
        # the error itself goes on to the actor, which logs it (``actor_error``) or, for a bug, fails
        self._timer = self._actor.timeout(self._wait, self._due, self._round)
        body = self._message()
        self.attempts += 1
        if self.attempts > 1:
            logger.debug("%s: %s to %s not acknowledged, sent again (attempt %d)", self._actor.host, body.kind,
                         self.dst, self.attempts)
        self._actor.send(self.dst, body)

    def _due(self, round_: int) -> None:
        """The wait is over and no acknowledgement stopped this round: send again."""
        if round_ != self._round:
            return
        if self.max_every_s is not None:
            self._wait = min(self._wait * 2, self.max_every_s)
        self._send()
