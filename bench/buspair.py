"""Two hosts' buses in one process, as the runtime uses them, and the raw pyzmq pair they are held to.

The project's side: a service host (ROUTER on ``tcp://127.70.N.1:PORT``) and a client host (a DEALER
to it), each a real :class:`~monerosim_actors.runtime.bus.Bus` with its own transport thread, its own
:class:`~monerosim_actors.runtime.events.EventLog` writing ``events.jsonl`` (logging is ON, as in
production) and a pykka role actor behind its :class:`~monerosim_actors.runtime.inbox.RoleInbox`.
A message therefore goes actor -> bus -> tcp -> bus -> service actor and back.

The baseline: a DEALER and a ROUTER of plain pyzmq on ``tcp://127.70.N.2:PORT`` exchanging the same
msgpack envelopes, one thread on each end, nothing else.
"""

from __future__ import annotations

import queue
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pykka
import zmq

from monerosim_actors.wire import Envelope, Message, encode
from monerosim_actors.plan.model import (PLAN_VERSION, Binaries, ConsensusPlan, HostConfig, HostPlan,
                                   ServiceAddress)
from monerosim_actors.runtime.bus import Bus
from monerosim_actors.runtime.events import EventLog
from monerosim_actors.runtime.inbox import RoleInbox

PORT = 5555
SERVICE = "bench-service"
CLIENT = "bench-client"
ADDRESS = "4" + "A" * 94
"""A stand-in Monero address: 95 characters, the size of a real one."""


def host_plan(name: str, ip: str, bus_port: int | None, role_class: str = "bench.null_role:NullRole") -> HostPlan:
    """A host without monerod or wallet (the bus alone)."""
    return HostPlan(name=name, agent_id=name.replace("-", "_"), role="bench", role_class=role_class,
                    ip=ip, network_node_id=0, start_time_s=0.0, seed=0, params={}, monerod=None,
                    wallet=None, bus_port=bus_port, processes=())


def host_config(host: HostPlan, services: dict[str, ServiceAddress]) -> HostConfig:
    return HostConfig(version=PLAN_VERSION, host=host, duration_s=3600.0,
                      launch_mode="runtime", consensus=ConsensusPlan(block_time_s=120.0, difficulty=1),
                      binaries=Binaries(python="python3", monerod="monerod", wallet_rpc="monero-wallet-rpc"),
                      services=services)


class BusPair:
    """A service host and client host(s), each with a bus, an event log and a role actor.

    ``service_role`` and ``client_role`` are pykka actor classes started with ``(bus, **kwargs)``.
    """

    def __init__(self, net: int, service_role: type[pykka.ThreadingActor],
                 client_role: type[pykka.ThreadingActor], clients: tuple[str, ...] = (CLIENT,),
                 **role_kwargs: Any) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-bus-")
        svc = host_plan(SERVICE, f"127.70.{net}.1", PORT)
        services = {"bench_service": ServiceAddress(host=SERVICE, ip=svc.ip, port=PORT)}
        hosts = [(svc, service_role)] + [(host_plan(name, f"127.70.{net}.{10 + i}", None), client_role)
                                         for i, name in enumerate(clients)]
        self.logs: list[EventLog] = []
        self.buses: list[Bus] = []
        self.actors: list[pykka.ActorRef[Any]] = []
        for plan, role in hosts:
            events = EventLog(str(Path(self._tmp.name) / f"{plan.name}.jsonl"), plan.name)
            inbox = RoleInbox()
            bus = Bus(host_config(plan, services), events, inbox)
            bus.start()
            ref = role.start(bus, **role_kwargs)
            inbox.attach(ref)
            self.logs.append(events)
            self.buses.append(bus)
            self.actors.append(ref)

    @property
    def service(self) -> pykka.ActorRef[Any]:
        return self.actors[0]

    @property
    def client(self) -> pykka.ActorRef[Any]:
        """The first client's role actor."""
        return self.actors[1]

    def dropped(self) -> int:
        """``msg_dropped`` lines in both event logs (a valid run has none)."""
        total = 0
        for log in self.logs:
            with open(log.path, encoding="utf-8") as f:
                total += sum('"msg_dropped"' in line for line in f)
        return total

    def close(self) -> None:
        for ref in self.actors:
            ref.stop()
        for bus in self.buses:
            bus.stop()
        for log in self.logs:
            log.close()
        self._tmp.cleanup()


def envelope_map(body: Message, src: str, dst: str, seq: int, sent_at: float) -> dict[str, Any]:
    """The envelope as the raw baseline sends it: the same map the bus encodes."""
    return msgpack.unpackb(encode(Envelope(id=f"{src}:{seq}", src=src, dst=dst, sent_at=sent_at,
                                           body=body)))


class RawPair:
    """Plain pyzmq: a ROUTER served by one thread and a DEALER used by the caller's thread.

    ``on_request(router, identity, frame)`` runs on the server thread for every frame.
    """

    def __init__(self, net: int, on_request: Callable[[zmq.Socket, bytes, bytes], None]) -> None:
        self.ctx = zmq.Context()
        endpoint = f"tcp://127.70.{net}.2:{PORT}"
        self._router = self.ctx.socket(zmq.ROUTER)
        self._router.bind(endpoint)
        self._stop_tx = self.ctx.socket(zmq.PAIR)
        self._stop_rx = self.ctx.socket(zmq.PAIR)
        self._stop_rx.bind(f"inproc://raw-stop-{net}")
        self._stop_tx.connect(f"inproc://raw-stop-{net}")
        self.dealer = self.ctx.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.IDENTITY, CLIENT.encode())
        self.dealer.connect(endpoint)
        self._on_request = on_request
        self._thread = threading.Thread(target=self._serve, name="raw-router", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._stop_rx, zmq.POLLIN)
        while True:
            ready = dict(poller.poll())
            if self._stop_rx in ready:
                break
            identity, frame = self._router.recv_multipart()
            self._on_request(self._router, identity, frame)
        self._router.close(0)
        self._stop_rx.close(0)

    def close(self) -> None:
        self._stop_tx.send(b"")
        self._thread.join()
        self._stop_tx.close(0)
        self.dealer.close(0)
        self.ctx.term()


class HandoffPair:
    """The bus's thread layout with none of its work: the floor any such design is held to.

    Each end has a socket thread (the only user of its socket, woken by an ``inproc://`` PAIR when
    there is something to send, as the transport is) and an actor thread behind a ``queue.Queue`` (as
    a pykka actor is): a round trip crosses the same four extra thread hand-offs as the bus's (client
    actor -> socket thread, socket thread -> service actor -> socket thread, socket thread -> client
    actor), but nothing is validated, logged or wrapped in an envelope object. The service actor
    unpacks and packs the frame as the raw baseline's server does.
    """

    def __init__(self, net: int) -> None:
        self.ctx = zmq.Context()
        endpoint = f"tcp://127.70.{net}.3:{PORT}"
        router = self.ctx.socket(zmq.ROUTER)
        router.bind(endpoint)
        dealer = self.ctx.socket(zmq.DEALER)
        dealer.connect(endpoint)
        self.replies: queue.Queue[bytes] = queue.Queue()
        self._service = _SocketThread(self.ctx, router, f"handoff-{net}-service", self._serve)
        self._client = _SocketThread(self.ctx, dealer, f"handoff-{net}-client", self._reply)
        self._service_actor: queue.Queue[Any] = queue.Queue()
        self._actor = threading.Thread(target=self._service_loop, name="handoff-actor", daemon=True)
        self._actor.start()

    def send(self, frame: bytes) -> None:
        """Called by the client's actor thread (the caller)."""
        self._client.send((frame,))

    def _reply(self, frames: list[bytes]) -> None:
        self.replies.put(frames[0])

    def _serve(self, frames: list[bytes]) -> None:
        self._service_actor.put(frames)

    def _service_loop(self) -> None:
        while (frames := self._service_actor.get()) is not None:
            identity, frame = frames
            self._service.send((identity, msgpack.packb(msgpack.unpackb(frame, raw=False), use_bin_type=True)))

    def close(self) -> None:
        self._service_actor.put(None)
        self._actor.join()
        self._client.close()
        self._service.close()
        self.ctx.term()


class _SocketThread:
    """One socket used by one thread, which wakes on input or on a PAIR nudge to send its outbox."""

    def __init__(self, ctx: zmq.Context, sock: zmq.Socket, name: str, deliver: Callable[[list[bytes]], None]) -> None:
        self._sock = sock
        self._deliver = deliver
        self._outbox: deque[tuple[bytes, ...] | None] = deque()
        self._wake_rx = ctx.socket(zmq.PAIR)
        self._wake_rx.bind(f"inproc://{name}")
        self._wake_tx = ctx.socket(zmq.PAIR)
        self._wake_tx.connect(f"inproc://{name}")
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def send(self, frames: tuple[bytes, ...] | None) -> None:
        self._outbox.append(frames)
        with self._lock:
            self._wake_tx.send(b"")

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        poller.register(self._wake_rx, zmq.POLLIN)
        while True:
            ready = dict(poller.poll())
            if self._wake_rx in ready:
                self._wake_rx.recv()
                while self._outbox:
                    frames = self._outbox.popleft()
                    if frames is None:
                        self._sock.close(0)
                        self._wake_rx.close(0)
                        return
                    self._sock.send_multipart(list(frames))
            if self._sock in ready:
                self._deliver(self._sock.recv_multipart())

    def close(self) -> None:
        self.send(None)
        self._thread.join()
        with self._lock:
            self._wake_tx.close(0)
