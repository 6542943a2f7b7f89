"""The wire format of the coordination bus: one envelope, strict decoding.

A frame is a msgpack map, the envelope::

    {"v": 1, "type": "register_pool", "id": "pool-alpha:3", "src": "pool-alpha",
     "dst": "block-controller", "sent_at": 946684812.25, "body": {...}}

``sent_at`` is the sender's ``time.time()`` (under Shadow, the simulated clock all hosts share), so
one-way latency is the receiver's clock minus ``sent_at``. ``id`` is unique per run (sender host and a
counter), so sends and receipts join on it.

Decoding trusts nothing: a size limit, no msgpack extension types, exact envelope keys, the version,
a registered type (:mod:`monerosim_actors.wire.message`), and each body field checked against its
declared type. Anything else raises :class:`ProtocolError` with a short ``reason`` that the bus logs
in ``msg_dropped``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from dataclasses import dataclass
from typing import Any

import msgpack

from monerosim_actors.errors import ProtocolError
from monerosim_actors.wire.message import MESSAGE_TYPES, Message, field_type

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 256 * 1024
"""Larger frames are dropped unread (``oversized``); a vendor list of 10,000 addresses fits."""

ENVELOPE_KEYS = frozenset({"v", "type", "id", "src", "dst", "sent_at", "body"})


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
    _field_types(type(env.body))  # a type the receivers could not decode fails here, in the sender
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
        tp, item = field_type(cls.__qualname__, f.name, hints[f.name])
        fields[f.name] = (hints[f.name] if item is None else tp, item)
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
