"""The host's ZeroMQ sockets, owned by one thread; bytes in, bytes out, nothing about envelopes.

ZeroMQ sockets are not thread-safe: :meth:`Transport.start` creates, binds and connects them in the
caller's thread (so a taken port fails the start at once) and hands them to the transport thread,
which alone uses them from then on. That thread blocks in ``zmq.Poller.poll()``
without a timeout: it wakes only when a socket has input or another thread hands it a frame, which
it signals by writing one byte to a pipe the poller also watches (a :class:`Waker`, rather than an
``inproc://`` PAIR: the wake-up was a tenth of a round trip's critical path with a PAIR, see
``bench/bus_latency.py``; never ``ipc://``, which Shadow cannot do). An idle host's bus makes no
syscalls at all.

Sockets: a ROUTER bound on ``tcp://IP:bus_port`` when other hosts send to this one first
(ROUTER_MANDATORY, so an unknown peer is reported instead of silently dropped; ROUTER_HANDOVER, so a
restarted client with the same identity takes over its old route); one DEALER per service this host
talks to (identity = host name), connected at start, which ZeroMQ reconnects on its own and which
queues frames up to the high-water mark while the service is unreachable; one DEALER per *route* (a
host of a role this host's role talks to), connected on the first frame for it, so a host pays only
for the peers it really writes to (the first message to a route waits for the TCP and ZeroMQ
handshakes, a round trip or two of the path); and optionally a SUB on the host's own monerod
publisher. No TCP keep-alive options are set (Shadow refuses them).

Where a frame for ``peer`` goes: its DEALER if there is one (a service, or a route already used),
else a new DEALER if ``peer`` is a route, else the ROUTER if ``peer`` connected to it; otherwise it
is dropped as ``no_route`` (or ``unroutable``, when the ROUTER does not know ``peer``).

A frame's handler, a drop report or the end-of-batch work that raises is logged and the thread goes
on. Anything else that ends the thread before :meth:`Transport.stop` (a bug) is logged, the sockets
are closed, later sends only queue, and ``on_failed`` is called: the host cannot be left deaf.
"""

from __future__ import annotations

import errno
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import zmq

from monerosim_actors.runtime.waker import Waker

log = logging.getLogger(__name__)

RECONNECT_IVL_MS = 100
RECONNECT_IVL_MAX_MS = 5000
LINGER_MS = 1000
"""How long queued frames may still go out once the bus closes."""
SNDHWM = 10_000
MAX_MSG_BYTES = 1024 * 1024
"""ZeroMQ drops the connection of a peer sending more than this; up to it, frames reach the decoder
(which has its own, smaller limit and logs what it refuses)."""
READ_BATCH = 256
"""Frames read from one socket before looking at the others (fairness)."""

Source = Literal["router", "dealer", "sub"]


@dataclass(frozen=True, slots=True)
class Inbound:
    """Frames that arrived: ``peer`` is the ROUTER identity, the service's host name, or ``monerod``."""

    source: Source
    peer: str
    frames: list[bytes]


InboundHandler = Callable[[Inbound], None]
DropHandler = Callable[[str, str, str, int], None]
"""``(reason, detail, peer, size)`` of a frame that could not be sent."""
FailureHandler = Callable[[str], None]
"""``(what)``: the transport thread ended without being asked to, e.g. ``TypeError: ...``."""

class Transport:
    """One thread owning every ZeroMQ socket of a host."""

    def __init__(self, *, identity: str, on_inbound: InboundHandler, on_drop: DropHandler,
                 bind: str | None = None, services: dict[str, str] | None = None,
                 routes: dict[str, str] | None = None, subscribe: str | None = None, topics: tuple[bytes, ...] = (),
                 after_batch: Callable[[], None] | None = None,
                 on_failed: FailureHandler | None = None) -> None:
        """
        Args:
            identity: this host's name, the DEALER identity.
            on_inbound: called on the transport thread for every message that arrives.
            on_drop: called (on the transport thread) for every frame that cannot be sent.
            bind: ROUTER endpoint (``tcp://IP:PORT``) when the host offers a service.
            services: service host name -> ROUTER endpoint to connect a DEALER to at start.
            routes: host name -> ROUTER endpoint of a host this one may write to first; its DEALER
                is connected on the first frame for it.
            subscribe: a PUB endpoint to read ``topics`` from (the host's monerod).
            after_batch: called on the transport thread after each round of reading and sending,
                before it sleeps again (the bus flushes its event lines there).
            on_failed: called once, on the dying transport thread, when the thread ends without
                :meth:`stop` (an unexpected exception); the sockets are closed by then.
        """
        self.identity = identity
        self._on_inbound = on_inbound
        self._on_drop = on_drop
        self._bind = bind
        self._services = dict(services or {})
        self._routes = dict(routes or {})
        self._subscribe = subscribe
        self._topics = topics
        self._after_batch = after_batch
        self._on_failed = on_failed
        self._ctx = zmq.Context()
        self._outbox: deque[tuple[str, bytes, str]] = deque()
        self._wake_lock = threading.Lock()
        self._asleep = True
        """The transport thread is in (or about to enter) ``poll()`` and no wake-up byte is on its way
        (guarded by ``_wake_lock``): a sender must write one. Writing it clears the flag, so a burst
        of sends writes one byte; while the thread runs its loop it sees new frames without one."""
        self._waker = Waker()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._router: zmq.Socket | None = None
        self._dealers: dict[str, zmq.Socket] = {}
        self._sub: zmq.Socket | None = None
        self._poller = zmq.Poller()
        self._readers: dict[zmq.Socket, tuple[Source, str]] = {}
        """Every socket the thread reads, with where its frames come from (transport thread only
        once it runs: a route's DEALER joins when it is connected)."""

    def start(self) -> None:
        """Create, bind and connect the sockets, then start the thread.

        Raises:
            zmq.ZMQError: the ROUTER cannot bind (address taken, not local, ...).
        """
        try:
            if self._bind:
                self._router = self._socket(zmq.ROUTER)
                self._router.setsockopt(zmq.ROUTER_MANDATORY, 1)
                self._router.setsockopt(zmq.ROUTER_HANDOVER, 1)
                self._router.bind(self._bind)
                self._read_from(self._router, "router", "")
            for host, endpoint in self._services.items():
                self._connect(host, endpoint)
            if self._subscribe:
                self._sub = self._socket(zmq.SUB)
                self._sub.setsockopt(zmq.LINGER, 0)  # only its subscriptions could be pending
                for topic in self._topics:
                    self._sub.setsockopt(zmq.SUBSCRIBE, topic)
                self._sub.connect(self._subscribe)
                self._read_from(self._sub, "sub", "monerod")
        except zmq.ZMQError:
            self._close_all()
            self._waker.close()
            self._ctx.term()
            raise
        self._thread = threading.Thread(target=self._run, name=f"bus-{self.identity}", daemon=True)
        self._thread.start()

    def _connect(self, host: str, endpoint: str) -> zmq.Socket:
        """A DEALER to ``host``'s ROUTER, read by the thread from now on."""
        dealer = self._socket(zmq.DEALER)
        dealer.setsockopt(zmq.IDENTITY, self.identity.encode())
        dealer.setsockopt(zmq.SNDHWM, SNDHWM)
        dealer.connect(endpoint)
        self._dealers[host] = dealer
        self._read_from(dealer, "dealer", host)
        return dealer

    def _read_from(self, sock: zmq.Socket, source: Source, peer: str) -> None:
        self._readers[sock] = (source, peer)
        self._poller.register(sock, zmq.POLLIN)

    def _socket(self, kind: int) -> zmq.Socket:
        s = self._ctx.socket(kind)
        s.setsockopt(zmq.LINGER, LINGER_MS)
        s.setsockopt(zmq.RECONNECT_IVL, RECONNECT_IVL_MS)
        s.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_IVL_MAX_MS)
        s.setsockopt(zmq.MAXMSGSIZE, MAX_MSG_BYTES)
        return s

    def send(self, peer: str, frame: bytes, ref: str = "") -> None:
        """Queue ``frame`` for ``peer`` (a service host or a ROUTER identity); thread-safe, non-blocking.

        ``ref`` (the message id) is passed back in the drop report when the frame cannot be sent.
        """
        self._outbox.append((peer, frame, ref))
        if threading.current_thread() is not self._thread:
            self._wake()

    def _wake(self) -> None:
        """Wake the transport thread if it sleeps and nobody woke it yet.

        A thread that is awake looks at the outbox again before it sleeps, so a burst of sends
        writes one byte, not one per frame.
        """
        with self._wake_lock:
            if self._asleep:
                self._asleep = False
                self._waker.wake()

    def stop(self, timeout: float = 5.0) -> None:
        """Send what is queued (within the linger time), close every socket, end the thread."""
        self._stopping = True
        if self._thread is None:
            self._waker.close()
        else:
            self._wake()
            self._thread.join(timeout)  # the thread closes the waker as it ends
        if self._thread is None or not self._thread.is_alive():
            self._ctx.term()

    # --- the transport thread -------------------------------------------------------------------

    def _run(self) -> None:
        self._poller.register(self._waker.fileno, zmq.POLLIN)
        failure = "the thread ended"
        try:
            while True:
                ready = dict(self._poller.poll())
                with self._wake_lock:
                    self._asleep = False
                if self._waker.fileno in ready:
                    self._waker.drain()
                for sock, (source, peer) in list(self._readers.items()):
                    if sock in ready:
                        self._read(sock, source, peer)
                while True:
                    self._flush()
                    if self._after_batch is not None:
                        try:
                            self._after_batch()
                        except Exception:  # as for a frame's handler: logged, the bus goes on
                            log.exception("the end-of-batch work of %s failed", self.identity)
                    if self._stopping:
                        return
                    if self._may_sleep():
                        break
        except BaseException as e:  # a bug here must not leave the host deaf without a trace
            log.exception("bus thread of %s failed", self.identity)
            failure = f"{type(e).__name__}: {e}"
        finally:
            self._close_all()
            self._waker.close()  # a send now only queues
            if not self._stopping:
                self._report_failure(failure)

    def _report_failure(self, what: str) -> None:
        if self._on_failed is None:
            return
        try:
            self._on_failed(what)
        except Exception:
            log.exception("reporting the failure of the bus thread of %s failed", self.identity)

    def _may_sleep(self) -> bool:
        """Go to sleep, unless a frame was queued since the outbox was sent or a stop was asked for.

        Under the wake lock, so that a sender either sees the thread asleep (and wakes it) or
        queued its frame before this look at the outbox.
        """
        with self._wake_lock:
            if self._outbox or self._stopping:
                return False
            self._asleep = True
            return True

    def _read(self, sock: zmq.Socket, source: Source, peer: str) -> None:
        """Read up to ``READ_BATCH`` frames; ``sock`` was reported readable."""
        for _ in range(READ_BATCH):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if source == "router":
                peer = frames[0].decode("utf-8", "backslashreplace")
                frames = frames[1:]
            try:
                self._on_inbound(Inbound(source, peer, frames))
            except Exception:
                log.exception("handling a frame from %s failed", peer)
            if not sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                return  # cheaper than the exception another recv would raise

    def _flush(self) -> None:
        while self._outbox:
            peer, frame, ref = self._outbox.popleft()
            try:
                self._send_now(peer, frame)
            except zmq.ZMQError as e:
                reason = {errno.EHOSTUNREACH: "unroutable", errno.EAGAIN: "queue_full"}.get(e.errno, "send_failed")
                self._report_drop(reason, f"{ref} to {peer}: {e}", peer, len(frame))
            except LookupError:
                self._report_drop("no_route", f"{ref}: {peer} is neither a service, nor a host of a role this "
                                              f"one talks to, nor connected to this host", peer, len(frame))

    def _send_now(self, peer: str, frame: bytes) -> None:
        dealer = self._dealers.get(peer)
        if dealer is None and peer in self._routes:
            dealer = self._connect(peer, self._routes[peer])
        if dealer is not None:
            dealer.send(frame, zmq.NOBLOCK)
        elif self._router is not None:
            self._router.send_multipart([peer.encode(), frame], zmq.NOBLOCK)
        else:
            raise LookupError(peer)

    def _report_drop(self, reason: str, detail: str, peer: str, size: int) -> None:
        try:
            self._on_drop(reason, detail, peer, size)
        except Exception:
            log.exception("reporting a dropped frame failed")

    def _close_all(self) -> None:
        for sock in [self._router, self._sub, *self._dealers.values()]:
            if sock is not None:
                sock.close()
        self._router = self._sub = None
        self._dealers = {}
        self._readers = {}
