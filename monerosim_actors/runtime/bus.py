"""The host's message bus: envelopes over the :class:`Transport`, every send and receipt logged.

``send(dst_host, body)`` stamps an envelope (id ``HOST:N``, ``sent_at`` = the clock now), logs
``msg_sent`` and queues the frame; it is thread-safe and never blocks. Every frame that arrives is
decoded defensively (:func:`monerosim_actors.wire.decode`): whatever fails, and whatever is addressed
to another host or claims another sender than its connection, is logged as ``msg_dropped`` and
forgotten; the host never stops because of a frame. An accepted message is logged as
``msg_received`` (with ``recv_at``) before the role sees it as :class:`Delivered`: the role is told
what a batch of frames brought once the batch's event lines are written, as the last thing the bus
thread does before it sleeps, so that the role's thread does not wake only to wait for the bus
thread to let go of the interpreter lock. ``Ping`` is answered with ``Pong`` by the bus itself.

The bus also reads the publisher (``json-minimal-chain_main`` and ``json-minimal-txpool_add``) of the
monerod the host uses, its own or (``node: remote``) a public node's, and tells the role
:class:`ChainAdvanced` / :class:`TxpoolAdded`. On a host with its own node it logs ``block_seen`` the
first time it learns each block hash: one row per (block, node) for the propagation figures, which a
wallet-only host, seeing its public node's chain, must not add to.

A role inbox that overflows before the role starts (:mod:`~monerosim_actors.runtime.inbox`) is
logged as ``inbox_overflow``, once per overflow, with how many messages it dropped.

If the transport thread dies of a bug, the bus logs ``bus_failed`` and calls ``on_failed``: the host
runtime then stops the host with a non-zero exit instead of running on deaf.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

from monerosim_actors.wire import Envelope, Message, Ping, Pong, decode, encode
from monerosim_actors.errors import ProtocolError
from monerosim_actors.events.names import EventName
from monerosim_actors.plan.model import HostConfig
from monerosim_actors.runtime.chain_view import ChainView
from monerosim_actors.runtime.clock import Clock, SystemClock
from monerosim_actors.runtime.context import DeferredEventSink, EventSink
from monerosim_actors.runtime.inbox import RoleInbox
from monerosim_actors.runtime.messages import ChainAdvanced, Delivered, TxpoolAdded
from monerosim_actors.runtime.transport import Inbound, Transport

log = logging.getLogger(__name__)

ACTOR = "bus"
TOPIC_CHAIN = b"json-minimal-chain_main"
TOPIC_TXPOOL = b"json-minimal-txpool_add"


class Bus:
    """Envelopes, events and delivery for one host; the sockets live in its :class:`Transport`."""

    def __init__(self, config: HostConfig, events: EventSink, inbox: RoleInbox,
                 clock: Clock | None = None, on_failed: Callable[[str], None] | None = None) -> None:
        """
        Args:
            on_failed: called with what happened (``TypeError: ...``), on the dying transport
                thread, once the bus has logged ``bus_failed``.
        """
        host = config.host
        self.host = host.name
        self._events = events
        self._deferred = events if isinstance(events, DeferredEventSink) else None
        self._emit_message = self._deferred.emit_deferred if self._deferred is not None else events.emit
        """msg_sent/msg_received: flushed once per batch by the transport thread (``_after_batch``)."""
        self._inbox = inbox
        self._role = host.role
        inbox.set_overflow_handler(self._inbox_overflow)
        self._on_failed = on_failed
        self._clock = clock or SystemClock()
        self._counter = itertools.count(1)
        self._chain = ChainView()
        self._logs_blocks = host.monerod is not None
        """Only a host with its own node adds rows to the per-node figures (``block_seen``,
        ``tx_seen``): a wallet-only host hears its public node's feed, which is that node's."""
        self._txs_seen: set[str] = set()
        self._for_role: list[Any] = []
        """What this batch of frames brought for the role (transport thread only), told after it."""
        self.services = {s.host: s.endpoint for s in config.services.values() if s.host != host.name}
        routes = {a.host: a.endpoint for addresses in config.contacts.values() for a in addresses}
        self._transport = Transport(
            identity=host.name, on_inbound=self._on_inbound, on_drop=self._on_send_drop,
            after_batch=self._after_batch, on_failed=self._transport_failed,
            bind=f"tcp://{host.ip}:{host.bus_port}" if host.bus_port else None,
            services=self.services, routes=routes,
            subscribe=host.node.chain_feed if host.node else None,
            topics=(TOPIC_CHAIN, TOPIC_TXPOOL))

    def start(self) -> None:
        """Bind and connect (raises ``zmq.ZMQError`` if the ROUTER cannot bind) and start reading."""
        self._transport.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._transport.stop(timeout)

    def send(self, dst_host: str, body: Message) -> str:
        """Send ``body`` to ``dst_host``: a service, a host of a role this host's role talks to (its
        contacts), or a host that wrote to this one.

        Returns the message id. A frame that cannot be routed is logged as ``msg_dropped``.
        """
        env = Envelope(id=f"{self.host}:{next(self._counter)}", src=self.host, dst=dst_host,
                       sent_at=self._clock.now(), body=body)
        frame = encode(env)
        self._emit_message(ACTOR, EventName.MSG_SENT, id=env.id, type=env.type, src=env.src, dst=env.dst,
                           sent_at=env.sent_at)
        self._transport.send(dst_host, frame, env.id)
        return env.id

    # --- on the transport thread ----------------------------------------------------------------

    def _after_batch(self) -> None:
        """The transport thread is about to sleep: write out the deferred message lines, then tell
        the role what the batch brought, in order.

        A ``msg_sent`` is held before its frame is queued, so it is written at the latest right
        after the transport thread sent that frame.
        """
        if self._deferred is not None:
            self._deferred.flush()
        for message in self._for_role:
            self._inbox.tell(message)
        self._for_role.clear()

    def _transport_failed(self, what: str) -> None:
        """The transport thread died (it closed the sockets): nothing arrives or leaves any more."""
        try:
            if self._deferred is not None:
                self._deferred.flush()  # the lines of the batch it died in
            self._events.emit(ACTOR, EventName.BUS_FAILED, error=what)
        finally:
            if self._on_failed is not None:
                self._on_failed(what)

    def _inbox_overflow(self, dropped: int) -> None:
        """The role's inbox dropped ``dropped`` messages while the role had not started."""
        self._events.emit(ACTOR, EventName.INBOX_OVERFLOW, role=self._role, dropped=dropped)

    def _on_send_drop(self, reason: str, detail: str, peer: str, size: int) -> None:
        self._dropped(reason, detail, peer, size)

    def _dropped(self, reason: str, detail: str, peer: str, size: int) -> None:
        log.debug("dropped a frame of %d bytes (%s) from/to %s: %s", size, reason, peer, detail)
        self._events.emit(ACTOR, EventName.MSG_DROPPED, reason=reason, detail=detail[:300], peer=peer, size=size)

    def _on_inbound(self, msg: Inbound) -> None:
        recv_at = self._clock.now()
        size = sum(len(f) for f in msg.frames)
        if msg.source == "sub":
            self._on_notification(msg.frames, recv_at)
            return
        if len(msg.frames) != 1:
            self._dropped("bad_frames", f"{len(msg.frames)} frames, want 1", msg.peer, size)
            return
        try:
            env = decode(msg.frames[0])
        except ProtocolError as e:
            self._dropped(e.reason, e.detail, msg.peer, size)
            return
        if env.dst != self.host:
            self._dropped("wrong_dst", f"{env.id} addressed to {env.dst!r}", msg.peer, size)
            return
        if env.src != msg.peer:
            self._dropped("src_mismatch", f"{env.id} claims src {env.src!r}", msg.peer, size)
            return
        self._emit_message(ACTOR, EventName.MSG_RECEIVED, id=env.id, type=env.type, src=env.src, dst=env.dst,
                           sent_at=env.sent_at, recv_at=recv_at)
        if isinstance(env.body, Ping):
            self.send(env.src, Pong(seq=env.body.seq, payload=env.body.payload))
            return
        self._for_role.append(Delivered(env))

    def _on_notification(self, frames: list[bytes], seen_at: float) -> None:
        """monerod publishes one frame ``TOPIC:JSON`` per notification.

        A chain notification is also followed in the host's :class:`ChainView`: a block announced
        for the first time is logged as ``block_seen`` (with its parent), and a notification that
        starts at or below the known top as ``chain_reorganized`` (the node switched tips). A
        transaction the pool feed shows for the first time is logged as ``tx_seen``: monerod 0.18
        publishes ``txpool_add`` when it receives a transaction fluffed (or in a block), not while it
        holds it as its own wallet's or on a Dandelion++ stem (``core::handle_incoming_txs``
        publishes only the ``legacy`` relay category), so the first ``tx_seen`` is the first public
        sighting, after the stem, and the node that fluffed it never shows it (docs/analysis.md).
        """
        raw = b"".join(frames)
        topic, _, payload = raw.partition(b":")
        try:
            data: Any = json.loads(payload)
            if topic == TOPIC_CHAIN:
                first = int(data["first_height"])
                hashes = tuple(str(h) for h in data["ids"])
                new, reorg = self._chain.advance(first, str(data.get("first_prev_id", "")), hashes)
                if self._logs_blocks:
                    if reorg is not None:
                        self._events.emit(ACTOR, EventName.CHAIN_REORGANIZED, height=reorg.height,
                                          depth=reorg.depth, top_before=reorg.top_before,
                                          dropped=list(reorg.dropped), hash=hashes[reorg.height - first])
                    for block in new:
                        self._events.emit(ACTOR, EventName.BLOCK_SEEN, height=block.height, hash=block.hash,
                                          prev=block.prev)
                self._for_role.append(ChainAdvanced(height=first + len(hashes) - 1, hashes=hashes, seen_at=seen_at))
            elif topic == TOPIC_TXPOOL:
                txids = tuple(str(tx["id"]) for tx in data)
                if self._logs_blocks:
                    for txid in txids:
                        if txid not in self._txs_seen:
                            self._txs_seen.add(txid)
                            self._events.emit(ACTOR, EventName.TX_SEEN, txid=txid)
                self._for_role.append(TxpoolAdded(txids=txids, seen_at=seen_at))
            else:
                raise ValueError(f"topic {topic[:40]!r}")
        except (ValueError, KeyError, TypeError) as e:
            self._dropped("bad_notification", f"{type(e).__name__}: {e}", "monerod", len(raw))
