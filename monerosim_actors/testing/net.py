"""An in-process network of role actors, driven in fake time (see :mod:`monerosim_actors.testing`).

:class:`FakeNet` holds role actors (constructed, never started as threads) and drives them itself:
bus messages, timers and chain notifications are delivered by calling ``on_receive`` in the order of
a fake clock, so a whole economy runs deterministically and instantly.
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from monerosim_actors.plan.model import PLAN_VERSION, Binaries, ConsensusPlan, HostConfig, HostPlan, ServiceAddress
from monerosim_actors.runtime.context import HostContext
from monerosim_actors.runtime.events import RESERVED
from monerosim_actors.runtime.messages import ChainAdvanced, Delivered, TxpoolAdded
from monerosim_actors.testing.ledger import FakeDaemon, FakeWallet, Ledger
from monerosim_actors.wire import Envelope, Message


@dataclass
class FakeTimer:
    due: float
    host: str
    message: Any
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class FakeClock:
    t: float = 1_000_000.0

    def now(self) -> float:
        return self.t


class Recorder:
    """Events of one host: ``(actor, event, fields)``, and when (fake clock) each was emitted."""

    def __init__(self, clock: FakeClock) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []
        self.times: list[float] = []
        self._clock = clock

    def emit(self, actor: str, event: str, **fields: Any) -> None:
        clash = [k for k in fields if k in RESERVED]
        assert not clash, f"event {event}: reserved field(s) {clash}"
        self.lines.append((actor, event, fields))
        self.times.append(self._clock.now())

    def named(self, event: str) -> list[dict[str, Any]]:
        return [f for _, e, f in self.lines if e == event]

    def timed(self, event: str) -> list[float]:
        return [t for t, (_, e, _) in zip(self.times, self.lines, strict=True) if e == event]


def host_plan(name: str, role: str, params: dict[str, Any], *, agent_id: str | None = None,
              seed: int = 42) -> HostPlan:
    return HostPlan(name=name, agent_id=agent_id or name.replace("-", "_"), role=role, role_class="x:Y",
                    ip="127.0.0.1", network_node_id=0, start_time_s=0.0, seed=seed, params=params,
                    monerod=None, wallet=None, bus_port=None, processes=())


SERVICES = {"block_controller": ServiceAddress("block-controller", "127.0.0.1", 5555),
            "marketplace_directory": ServiceAddress("marketplace-directory", "127.0.0.2", 5555)}


@dataclass
class _Host:
    actor: Any
    events: Recorder
    daemon: FakeDaemon | None
    wallet: FakeWallet | None


class FakeNet:
    """Role actors on fake hosts, driven in fake time; messages take ``latency`` seconds."""

    def __init__(self, latency: float = 0.01, *, data_dir: str | None = None) -> None:
        """``data_dir``: each host keeps its role state in ``data_dir/HOST`` (a new FakeNet on the
        same folder is the same hosts started again); None: roles keep no state."""
        self.data_dir = data_dir
        self.ledger = Ledger()
        self.clock = FakeClock()
        self.latency = latency
        self.hosts: dict[str, _Host] = {}
        self._queue: list[tuple[float, int, str, Any]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self.sent: list[Envelope] = []
        self.dropped: list[Envelope] = []
        self.chain_seen = self.ledger.height
        self.pool_seen = 0

    def add(self, cls: type, name: str, role: str, params: dict[str, Any], *, node: bool = True,
            agent_id: str | None = None, seed: int = 42) -> Any:
        """Construct role ``cls`` on a fake host ``name`` with scenario ``params``; with ``node``
        the host has a fake monerod and wallet on the shared ledger. Returns the actor."""
        config = HostConfig(version=PLAN_VERSION, host=host_plan(name, role, params, agent_id=agent_id, seed=seed),
                            duration_s=3600.0, launch_mode="runtime",
                            consensus=ConsensusPlan(block_time_s=120.0, difficulty=1),
                            binaries=Binaries("python3", "monerod", "monero-wallet-rpc"), services=SERVICES)
        events = Recorder(self.clock)
        daemon = FakeDaemon(self.ledger) if node else None
        wallet = FakeWallet(self.ledger) if node else None
        data_dir = None if self.data_dir is None else os.path.join(self.data_dir, name)
        if data_dir is not None:
            os.makedirs(data_dir, exist_ok=True)
        ctx = HostContext(config=config, events=events, bus=_Bus(self, name), daemon=daemon,  # type: ignore[arg-type]
                          wallet=wallet, scheduler=_Scheduler(self, name), clock=self.clock,  # type: ignore[arg-type]
                          data_dir=data_dir)
        actor = cls(ctx)
        self.hosts[name] = _Host(actor, events, daemon, wallet)
        return actor

    def start(self) -> None:
        """Start every actor added (its ``on_start``: wallet open, ``setup``, first task)."""
        for h in self.hosts.values():
            h.actor.on_start()

    def at(self, due: float, host: str, message: Any) -> None:
        heapq.heappush(self._queue, (due, next(self._seq), host, message))

    def run(self, until: float | None = None, *, max_steps: int = 200_000,
            stop: Callable[[], bool] | None = None) -> None:
        """Deliver everything due, in time order, until ``until`` (fake seconds from now) or quiet."""
        end = None if until is None else self.clock.t + until
        for _ in range(max_steps):
            self._notify_node_news()
            if stop is not None and stop():
                return
            while self._queue and isinstance(self._queue[0][3], FakeTimer) and self._queue[0][3].cancelled:
                heapq.heappop(self._queue)
            if not self._queue or (end is not None and self._queue[0][0] > end):
                if end is not None:
                    self.clock.t = max(self.clock.t, end)
                return
            due, _, host, message = heapq.heappop(self._queue)
            self.clock.t = max(self.clock.t, due)
            if isinstance(message, FakeTimer):
                message.cancelled = True
                message = message.message
            if host in self.hosts:
                self.hosts[host].actor.on_receive(message)
        raise AssertionError("the fake network did not settle")

    def _notify_node_news(self) -> None:
        """Every node learns new blocks and pool transactions at once (one shared ledger)."""
        if self.ledger.height > self.chain_seen:
            n = self.ledger.height - self.chain_seen
            msg = ChainAdvanced(self.ledger.height - 1, tuple(self.ledger.hashes[-n:]), self.clock.t)
            self.chain_seen = self.ledger.height
            for name, h in self.hosts.items():
                if h.daemon is not None:
                    self.at(self.clock.t + self.latency, name, msg)
        pool = tuple(self.ledger.pool)
        if len(pool) > self.pool_seen:
            msg2 = TxpoolAdded(pool[self.pool_seen:], self.clock.t)
            for name, h in self.hosts.items():
                if h.daemon is not None:
                    self.at(self.clock.t + self.latency, name, msg2)
        self.pool_seen = len(pool)

    def events(self, host: str) -> Recorder:
        return self.hosts[host].events

    def all_events(self, event: str) -> list[tuple[str, dict[str, Any]]]:
        return [(name, f) for name, h in self.hosts.items() for _, e, f in h.events.lines if e == event]


@dataclass
class _Bus:
    net: FakeNet
    host: str

    def send(self, dst_host: str, body: Message) -> str:
        env = Envelope(id=f"{self.host}:{next(self.net._ids)}", src=self.host, dst=dst_host,
                       sent_at=self.net.clock.t, body=body)
        self.net.sent.append(env)
        if dst_host in self.net.hosts:
            self.net.at(self.net.clock.t + self.net.latency, dst_host, Delivered(env))
        else:
            self.net.dropped.append(env)
        return env.id


@dataclass
class _Scheduler:
    net: FakeNet
    host: str
    timers: list[FakeTimer] = field(default_factory=list)

    def call_later(self, delay_s: float, ref: Any, message: Any) -> FakeTimer:
        timer = FakeTimer(self.net.clock.t + max(0.0, delay_s), self.host, message)
        self.timers.append(timer)
        self.net.at(timer.due, self.host, timer)
        return timer

    def call_timeout(self, delay_s: float, ref: Any, message: Any) -> FakeTimer:
        """The fake network runs at the scenario's pace: a timeout is a timer like any other."""
        return self.call_later(delay_s, ref, message)


def deliver(net: FakeNet, src: str, dst: str, body: Message) -> None:
    """Inject a message as if ``src`` had sent it (for authorization tests)."""
    _Bus(net, src).send(dst, body)
