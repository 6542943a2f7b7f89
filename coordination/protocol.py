"""The wire protocol of the coordination bus: one envelope, every message type, strict decoding.

A frame is a msgpack map, the envelope::

    {"v": 1, "type": "register_pool", "id": "pool-alpha:3", "src": "pool-alpha",
     "dst": "block-controller", "sent_at": 946684812.25, "body": {...}}

``sent_at`` is the sender's ``time.time()`` (under Shadow, the simulated clock all hosts share), so
one-way latency is the receiver's clock minus ``sent_at``. ``id`` is unique per run (sender host and a
counter), so sends and receipts join on it.

Decoding trusts nothing: a size limit, no msgpack extension types, exact envelope keys, the version,
a known type, and each body field checked against its declared type. Anything else raises
:class:`ProtocolError` with a short ``reason`` that the bus logs in ``msg_dropped``.

Message names follow the house rule: commands are imperative (``MineBlocks``), facts past tense
(``BlocksMined``). Amounts are atomic units (1 XMR = 10**12).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

import msgpack

from monerosim_actors.errors import ProtocolError

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 256 * 1024
"""Larger frames are dropped unread (``oversized``); a vendor list of 10,000 addresses fits."""

ENVELOPE_KEYS = frozenset({"v", "type", "id", "src", "dst", "sent_at", "body"})


@dataclass(frozen=True, slots=True)
class Message:
    """Base of every message body; subclasses set ``kind``, the wire ``type``."""

    kind: ClassVar[str] = ""


MESSAGE_TYPES: dict[str, type[Message]] = {}


def _register(cls: type[Message]) -> type[Message]:
    if not cls.kind or cls.kind in MESSAGE_TYPES:
        raise TypeError(f"message kind {cls.kind!r} missing or registered twice")
    MESSAGE_TYPES[cls.kind] = cls
    return cls


# --- block controller ------------------------------------------------------------------------


@_register
@dataclass(frozen=True, slots=True)
class RegisterPool(Message):
    """A pool asks the block controller to include it in the schedule."""

    kind: ClassVar[str] = "register_pool"
    pool_id: str
    hashrate_share: float
    address: str
    """The pool's coinbase address."""


@_register
@dataclass(frozen=True, slots=True)
class PoolRegistered(Message):
    """The controller's answer to :class:`RegisterPool`."""

    kind: ClassVar[str] = "pool_registered"
    pool_id: str
    accepted: bool
    reason: str


@_register
@dataclass(frozen=True, slots=True)
class RegistrationRequested(Message):
    """The controller (restarted, or still waiting) asks a pool to register (again)."""

    kind: ClassVar[str] = "registration_requested"


@_register
@dataclass(frozen=True, slots=True)
class MineBlocks(Message):
    """The controller tells a pool to mine ``count`` blocks paying ``address``."""

    kind: ClassVar[str] = "mine_blocks"
    order: int
    """Sequence number of the order, unique per controller run; the answer carries it back."""
    count: int
    address: str
    phase: str
    """``bootstrap`` or ``schedule``."""


@_register
@dataclass(frozen=True, slots=True)
class BlocksMined(Message):
    """A pool's answer to :class:`MineBlocks`: the height reached and the new blocks' hashes."""

    kind: ClassVar[str] = "blocks_mined"
    order: int
    height: int
    """Height of the newest block mined (``generateblocks``' answer; the genesis block is 0)."""
    hashes: tuple[str, ...]
    """Oldest first."""
    elapsed_ms: float
    """How long ``generateblocks`` took on the pool."""


@_register
@dataclass(frozen=True, slots=True)
class MineFailed(Message):
    """A pool could not carry out a :class:`MineBlocks` order."""

    kind: ClassVar[str] = "mine_failed"
    order: int
    reason: str


@_register
@dataclass(frozen=True, slots=True)
class RequestFunds(Message):
    """A user asks the controller's faucet for its initial balance during the bootstrap."""

    kind: ClassVar[str] = "request_funds"
    user_id: str
    address: str
    amount: int


@_register
@dataclass(frozen=True, slots=True)
class FundsSent(Message):
    """The faucet paid a user; the funds are unlocked once ``unlock_height`` is reached."""

    kind: ClassVar[str] = "funds_sent"
    amount: int
    txid: str
    unlock_height: int
    """Top block height from which the funds are spendable at the earliest (mined in the next block)."""


@_register
@dataclass(frozen=True, slots=True)
class BootstrapDone(Message):
    """The controller tells every agent that the bootstrap is over and the schedule starts."""

    kind: ClassVar[str] = "bootstrap_done"
    height: int
    failed: str = ""
    """Why the bootstrap failed (e.g. ``mining_failed``), empty when every user is funded: a user
    told of a failure does not start paying on this message."""


# --- marketplace directory -------------------------------------------------------------------


@_register
@dataclass(frozen=True, slots=True)
class RegisterVendors(Message):
    """A marketplace publishes its vendor addresses; a new registration replaces the old one."""

    kind: ClassVar[str] = "register_vendors"
    marketplace_id: str
    addresses: tuple[str, ...]


@_register
@dataclass(frozen=True, slots=True)
class VendorsRegistered(Message):
    kind: ClassVar[str] = "vendors_registered"
    marketplace_id: str
    count: int


@_register
@dataclass(frozen=True, slots=True)
class VendorsRequested(Message):
    """The directory (restarted, with an empty registry) asks a marketplace to register again."""

    kind: ClassVar[str] = "vendors_requested"


@_register
@dataclass(frozen=True, slots=True)
class GetVendors(Message):
    """A user asks for the current vendor addresses."""

    kind: ClassVar[str] = "get_vendors"
    request: int


@_register
@dataclass(frozen=True, slots=True)
class VendorList(Message):
    kind: ClassVar[str] = "vendor_list"
    request: int
    addresses: tuple[str, ...]


# --- diagnostics -----------------------------------------------------------------------------


@_register
@dataclass(frozen=True, slots=True)
class Ping(Message):
    """Any service answers with :class:`Pong` carrying the same ``seq`` and ``payload``."""

    kind: ClassVar[str] = "ping"
    seq: int
    payload: str


@_register
@dataclass(frozen=True, slots=True)
class Pong(Message):
    kind: ClassVar[str] = "pong"
    seq: int
    payload: str


# --- the envelope ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message with its routing and timing fields, as it travels."""

    id: str
    src: str
    dst: str
    sent_at: float
    body: Message
    v: int = PROTOCOL_VERSION

    @property
    def type(self) -> str:
        return self.body.kind


def encode(env: Envelope) -> bytes:
    """The frame for an envelope."""
    body = {name: _plain(getattr(env.body, name)) for name in _field_names(type(env.body))}
    return msgpack.packb({"v": env.v, "type": env.type, "id": env.id, "src": env.src,
                          "dst": env.dst, "sent_at": env.sent_at, "body": body}, use_bin_type=True)


@functools.cache
def _field_names(cls: type[Message]) -> tuple[str, ...]:
    """A message class's field names, read once (``dataclasses.fields`` was a third of ``encode``)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _no_ext(code: int, data: bytes) -> Any:
    raise ProtocolError("ext_type", f"msgpack extension type {code} is not accepted")


def decode(frame: bytes) -> Envelope:
    """Parse and check a frame; raises :class:`ProtocolError` on anything unexpected."""
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError("oversized", f"{len(frame)} bytes > {MAX_FRAME_BYTES}")
    try:
        raw = msgpack.unpackb(frame, raw=False, strict_map_key=True, ext_hook=_no_ext)
    except ProtocolError:
        raise
    except Exception as e:  # msgpack raises several unrelated types on garbage
        raise ProtocolError("undecodable", f"{type(e).__name__}: {e}") from e
    if not isinstance(raw, dict):
        raise ProtocolError("not_a_map", type(raw).__name__)
    if raw.keys() != ENVELOPE_KEYS:
        raise ProtocolError("bad_envelope", f"keys {sorted(map(str, raw))}")
    if raw["v"] != PROTOCOL_VERSION or type(raw["v"]) is not int:
        raise ProtocolError("wrong_version", repr(raw["v"]))
    cls = MESSAGE_TYPES.get(raw["type"]) if isinstance(raw["type"], str) else None
    if cls is None:
        raise ProtocolError("unknown_type", repr(raw["type"])[:80])
    for key in ("id", "src", "dst"):
        if not isinstance(raw[key], str) or not raw[key] or len(raw[key]) > 256:
            raise ProtocolError("bad_envelope", f"{key} must be a non-empty string")
    sent_at = raw["sent_at"]
    if type(sent_at) not in (int, float) or not math.isfinite(sent_at):
        raise ProtocolError("bad_envelope", "sent_at must be a finite number")
    return Envelope(id=raw["id"], src=raw["src"], dst=raw["dst"], sent_at=float(sent_at),
                    body=_body(cls, raw["body"]))


def _body(cls: type[Message], raw: Any) -> Message:
    if not isinstance(raw, dict):
        raise ProtocolError("bad_body", f"{cls.kind}: body is not a map")
    fields = _field_types(cls)
    if raw.keys() != fields.keys():
        raise ProtocolError("bad_body", f"{cls.kind}: fields {sorted(map(str, raw))}, want {sorted(fields)}")
    kind = cls.kind
    values = {}
    for name, (tp, item) in fields.items():
        value = raw[name]
        if item is None:
            values[name] = _check(kind, name, tp, value)
        elif isinstance(value, list):
            if item is str and all(type(v) is str for v in value):
                values[name] = tuple(value)  # the common case (addresses), checked in one pass
            else:
                values[name] = tuple(_check(kind, name, item, v) for v in value)
        else:
            raise ProtocolError("bad_body", f"{kind}.{name}: expected a list")
    return cls(**values)


@functools.cache
def _field_types(cls: type[Message]) -> dict[str, tuple[Any, Any]]:
    """Field name -> (declared type, item type of a ``tuple[X, ...]`` field or None), resolved once
    per class: ``get_type_hints`` evaluates the string annotations again on every call, which made
    decoding cost a millisecond per frame (``bench/bus_throughput.py``)."""
    hints = typing.get_type_hints(cls)
    fields = {}
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        fields[f.name] = (tp, typing.get_args(tp)[0] if typing.get_origin(tp) is tuple else None)
    return fields


def _check(kind: str, name: str, tp: Any, value: Any) -> Any:
    """A scalar field's value, checked against its declared type."""
    if tp is float and type(value) in (int, float) and math.isfinite(value):
        return float(value)
    if tp is int and type(value) is int:
        return value
    if tp in (str, bool) and type(value) is tp:
        return value
    raise ProtocolError("bad_body", f"{kind}.{name}: expected {tp.__name__}, got {type(value).__name__}")
