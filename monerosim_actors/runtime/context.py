"""What a role actor receives: ``RoleClass.start(ctx)`` with a :class:`HostContext`.

The context is the role's whole view of its host: its config and parameters, seeded randomness, the
event log, the bus, the RPC clients of its own monerod and wallet (None when the host runs none), the
scheduler and the clock. Role tests build one with fakes (anything matching the protocols below).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from monerosim_actors.wire import Message
from monerosim_actors.plan.model import HostConfig
from monerosim_actors.runtime.clock import Clock, SystemClock
from monerosim_actors.runtime.rpc import DaemonRpc, WalletRpc
from monerosim_actors.runtime.scheduler import Tellable, Timer


class EventSink(Protocol):
    def emit(self, actor: str, event: str, **fields: Any) -> None: ...


@runtime_checkable
class DeferredEventSink(EventSink, Protocol):
    """An event sink that can buffer lines until :meth:`flush` (the bus's per-message lines)."""

    def emit_deferred(self, actor: str, event: str, **fields: Any) -> None: ...

    def flush(self) -> None: ...


class BusSender(Protocol):
    def send(self, dst_host: str, body: Message) -> str: ...


class TimerService(Protocol):
    """Timers in scenario seconds (``call_later``) and in the programs' own seconds (``call_timeout``,
    for timeouts and retries on work a faster scenario does not speed up)."""

    def call_later(self, delay_s: float, ref: Tellable, message: Any) -> Timer: ...

    def call_timeout(self, delay_s: float, ref: Tellable, message: Any) -> Timer: ...


@dataclass
class HostContext:
    """The host as a role sees it; every member is safe to use from the role's actor thread.

    Attributes:
        config: the host's whole config (``OUT/hosts/HOST.json``).
        events: ``emit(actor, event, **fields)`` writes one line to ``events.jsonl``; never blocks on
            an actor.
        bus: ``send(dst_host, body) -> message id``; thread-safe and non-blocking, logs ``msg_sent``.
        daemon: the host's monerod RPC, or None.
        wallet: the host's wallet RPC, or None.
        scheduler: ``call_later(delay_s, ref, message) -> Timer`` in scenario seconds, and
            ``call_timeout`` for timeouts on programs (see :class:`TimerService`).
        clock: ``now()``, i.e. ``time.time()`` (simulated under Shadow).
        data_dir: the host's data directory, where a role keeps what must survive a restart of
            the host; None (role tests with fakes) means: keep nothing on disk.
        on_actor_failed: ``(actor, what)``, called (from the actor's thread) when an actor of this
            host stopped for good (a bug; :class:`~monerosim_actors.behaviour.RoleActor` calls it
            once it logged ``actor_failed``): the runtime stops the host, which exits non-zero.
            None (role tests with fakes): nothing more happens.
    """

    config: HostConfig
    events: EventSink
    bus: BusSender
    daemon: DaemonRpc | None
    wallet: WalletRpc | None
    scheduler: TimerService
    clock: Clock = field(default_factory=SystemClock)
    data_dir: str | None = None
    on_actor_failed: Callable[[str, str], None] | None = None

    @property
    def host(self) -> str:
        """The host name (also its bus identity)."""
        return self.config.host.name

    @property
    def params(self) -> dict[str, Any]:
        """The role's parameters (defaults merged with the scenario's ``config``)."""
        return self.config.host.params

    def rng(self, name: str) -> random.Random:
        """A generator seeded with ``f"{seed}/{host}/{name}"``: the same stream on every run."""
        return random.Random(f"{self.config.host.seed}/{self.host}/{name}")
