"""An in-process network of role actors, driven in fake time (see :mod:`monerosim_actors.testing`).

:class:`FakeNet` holds role actors (constructed, never started as threads) and drives them itself:
bus messages, timers and chain notifications are delivered by calling ``on_receive`` in the order of
a fake clock, so a whole economy runs deterministically and instantly.

Its bus promises no more than the real one (:mod:`monerosim_actors.runtime.bus`): every message is
encoded and decoded by the wire codec (what the decoder refuses is logged as ``msg_dropped`` on the
receiving host and never reaches its role), a message goes only where the real bus can route it (a
service; a host of a role in the sender's ``talks_to``; a host that connected to the sender), else it
is logged as ``msg_dropped`` on the sending host, and ``Ping`` is answered by the bus, not the role.
Every host logs ``msg_sent`` and ``msg_received`` as a real host does.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from monerosim_actors.errors import ProtocolError
from monerosim_actors.events.names import EventName
from monerosim_actors.plan.model import PLAN_VERSION, Binaries, ConsensusPlan, HostConfig, HostPlan, ServiceAddress
from monerosim_actors.runtime.context import HostContext
from monerosim_actors.runtime.events import RESERVED
from monerosim_actors.runtime.messages import ChainAdvanced, Delivered, TxpoolAdded
from monerosim_actors.testing.ledger import XMR, FakeDaemon, FakeWallet, Ledger
from monerosim_actors.wire import Envelope, Message, Ping, Pong, decode, encode


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
              seed: int = 42, talks_to: tuple[str, ...] = ()) -> HostPlan:
    return HostPlan(name=name, agent_id=agent_id or name.replace("-", "_"), role=role, role_class="x:Y",
                    ip="127.0.0.1", network_node_id=0, start_time_s=0.0, seed=seed, params=params,
                    monerod=None, wallet=None, bus_port=None, processes=(), talks_to=talks_to)


SERVICES = {"block_controller": ServiceAddress("block-controller", "127.0.0.1", 5555),
            "marketplace_directory": ServiceAddress("marketplace-directory", "127.0.0.2", 5555)}
SERVICE_HOSTS = frozenset(s.host for s in SERVICES.values())
"""Every host connects to both services at start: they can write to anyone, anyone can write to them."""
BUS_ACTOR = "bus"


@dataclass
class _Host:
    actor: Any
    events: Recorder
    daemon: FakeDaemon | None
    wallet: FakeWallet | None
    ctx: HostContext
    connected: set[str] = field(default_factory=set)
    """Hosts whose DEALER reached this host's ROUTER (they wrote to it over a route of theirs)."""
    listens: bool = False
    """The host has a ROUTER: a service, or a host of a role that some role talks to."""


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
        """Every message a role sent, routable or not."""
        self.dropped: list[Envelope] = []
        """Messages that could not reach their destination (no route, or a service not added)."""
        self.chain_seen = self.ledger.height
        self.pool_seen = 0

    def add(self, cls: type, name: str, role: str, params: dict[str, Any], *, node: bool = True,
            agent_id: str | None = None, seed: int = 42, talks_to: tuple[str, ...] = ()) -> Any:
        """Construct role ``cls`` on a fake host ``name`` with scenario ``params``; with ``node``
        the host has a fake monerod and wallet on the shared ledger; ``talks_to`` is the scenario's
        key of the same name (the roles whose hosts this one may write to first; their hosts are
        its contacts once :meth:`start` is called). Returns the actor."""
        plan = host_plan(name, role, params, agent_id=agent_id, seed=seed, talks_to=tuple(talks_to))
        config = HostConfig(version=PLAN_VERSION, host=plan,
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
        self.hosts[name] = _Host(actor, events, daemon, wallet, ctx)
        return actor

    def start(self) -> None:
        """Give each host its contacts (as the plan does), then start every actor added (its
        ``on_start``: wallet open, ``setup``, first task)."""
        listening = {role for h in self.hosts.values() for role in h.ctx.config.host.talks_to}
        for name, h in self.hosts.items():
            config = h.ctx.config
            h.listens = name in SERVICE_HOSTS or config.host.role in listening
            h.ctx.config = dataclasses.replace(config, contacts={
                role: tuple(ServiceAddress(other, "127.0.0.1", 5555) for other, o in self.hosts.items()
                            if other != name and o.ctx.config.host.role == role and role in listening)
                for role in config.host.talks_to})
        for h in self.hosts.values():
            h.actor.on_start()

    def mine(self, count: int, to: str = "miner") -> list[str]:
        """Mine ``count`` blocks (to the address ``to``); every host with a node learns of them.
        Returns their hashes."""
        return list(self.ledger.mine(count, to).hashes)

    def fund(self, host: str, xmr: float, *, unlocked: bool = True) -> str:
        """Give ``host``'s wallet ``xmr`` in one output, as the controller's bootstrap funds a user;
        ``unlocked``: mine the blocks that make it spendable. Returns the funding transaction id."""
        wallet = self.hosts[host].wallet
        assert wallet is not None, f"{host} has no wallet (add it with node=True)"
        return self.ledger.fund(wallet.get_address(), round(xmr * XMR), unlocked=unlocked)

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
            if isinstance(message, _Frame):
                self._arrive(host, message)
            elif host in self.hosts:
                self.hosts[host].actor.on_receive(message)
        raise AssertionError("the fake network did not settle")

    def _send(self, src: str, dst: str, body: Message, *, routed: bool = True) -> str:
        """What the real bus's ``send`` does: stamp, encode (an unencodable body raises here, in the
        sender, as it does there), log ``msg_sent``, then route or drop."""
        env = Envelope(id=f"{src}:{next(self._ids)}", src=src, dst=dst, sent_at=self.clock.t, body=body)
        frame = encode(env)
        self.sent.append(env)
        sender = self.hosts.get(src)
        if sender is not None:
            sender.events.emit(BUS_ACTOR, EventName.MSG_SENT, id=env.id, type=env.type, src=src, dst=dst,
                               sent_at=env.sent_at)
        refused = self._refusal(src, dst) if routed else None
        if refused is not None:
            self.dropped.append(env)
            if sender is not None:
                sender.events.emit(BUS_ACTOR, EventName.MSG_DROPPED, reason=refused,
                                   detail=f"{env.id} to {dst}", peer=dst, size=len(frame))
        elif dst in self.hosts:
            self.at(self.clock.t + self.latency, dst, _Frame(src, frame))
        else:
            self.dropped.append(env)  # a service that was not added: the real DEALER queues it forever
        return env.id

    def _refusal(self, src: str, dst: str) -> str | None:
        """Why the real bus of ``src`` could not send to ``dst`` now (``no_route``: no socket leads
        there; ``unroutable``: its ROUTER does not know ``dst``), or None when it could."""
        if dst in SERVICE_HOSTS or src in SERVICE_HOSTS:
            return None  # every host connects a DEALER to each service at start
        sender = self.hosts.get(src)
        if sender is None:
            return "no_route"
        if any(a.host == dst for addresses in sender.ctx.config.contacts.values() for a in addresses):
            self.hosts[dst].connected.add(src)  # the route's DEALER connects to dst's ROUTER
            return None
        if dst in sender.connected:
            return None
        return "unroutable" if sender.listens else "no_route"

    def _arrive(self, dst: str, frame: _Frame) -> None:
        """What the real bus does with a frame: decode it (or drop it, logged), log ``msg_received``,
        answer a ``Ping`` itself, hand anything else to the role."""
        host = self.hosts[dst]
        try:
            env = decode(frame.data)
        except ProtocolError as e:
            host.events.emit(BUS_ACTOR, EventName.MSG_DROPPED, reason=e.reason, detail=e.detail[:300],
                             peer=frame.src, size=len(frame.data))
            return
        host.events.emit(BUS_ACTOR, EventName.MSG_RECEIVED, id=env.id, type=env.type, src=env.src, dst=env.dst,
                         sent_at=env.sent_at, recv_at=self.clock.t)
        if isinstance(env.body, Ping):
            self._send(dst, env.src, Pong(seq=env.body.seq, payload=env.body.payload))
        else:
            host.actor.on_receive(Delivered(env))

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


@dataclass(frozen=True)
class _Frame:
    """A frame on its way: who sent it (the connection's peer) and its bytes."""

    src: str
    data: bytes


@dataclass
class _Bus:
    net: FakeNet
    host: str

    def send(self, dst_host: str, body: Message) -> str:
        return self.net._send(self.host, dst_host, body)


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
    """Inject a message as if ``src`` had a route to ``dst`` and sent it (for authorization tests:
    what a role does with a message from a host that should not write to it). It is encoded,
    decoded and logged as any other; only the routing check is skipped."""
    net._send(src, dst, body, routed=False)
