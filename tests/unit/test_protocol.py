"""Every message type survives a round trip, and the decoder refuses what it must."""

from __future__ import annotations

import dataclasses
import typing

import msgpack
import pytest

import monerosim_actors.actors.example_browser  # noqa: F401 (a custom role's own type, TipShared)
import monerosim_actors.coordination.messages  # noqa: F401 (the services' types)
from monerosim_actors.errors import ProtocolError
from monerosim_actors.wire import MAX_FRAME_BYTES, MESSAGE_TYPES, Envelope, Message, Ping, decode, encode


def _example(cls: type[Message]) -> Message:
    values = {str: "x", int: 7, float: 1.5, bool: True}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        kwargs[f.name] = ("a", "b") if typing.get_origin(tp) is tuple else values[tp]
    return cls(**kwargs)


@pytest.mark.parametrize("kind", sorted(MESSAGE_TYPES))
def test_round_trip(kind: str) -> None:
    env = Envelope(id="user-0:1", src="user-0", dst="block-controller", sent_at=946684800.125,
                   body=_example(MESSAGE_TYPES[kind]))
    assert decode(encode(env)) == env


def _frame(**overrides: object) -> bytes:
    raw = {"v": 1, "type": "ping", "id": "a:1", "src": "a", "dst": "b", "sent_at": 1.0,
           "body": {"seq": 1, "payload": "p"}}
    raw.update(overrides)
    return msgpack.packb(raw)


@pytest.mark.parametrize(("frame", "reason"), [
    (b"\xc1\xc1", "undecodable"),
    (b"\x00" * (MAX_FRAME_BYTES + 1), "oversized"),
    (msgpack.packb([1, 2]), "not_a_map"),
    (_frame(v=2), "wrong_version"),
    (_frame(type="nope"), "unknown_type"),
    (_frame(body={"seq": "1", "payload": "p"}), "bad_body"),
    (_frame(body={"seq": 1}), "bad_body"),
    (_frame(sent_at="now"), "bad_envelope"),
    (_frame(extra=1), "bad_envelope"),
    (msgpack.packb(msgpack.ExtType(5, b"xx")), "ext_type"),
])
def test_bad_frames_are_refused(frame: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(frame)
    assert info.value.reason == reason


def test_bool_is_not_an_int() -> None:
    with pytest.raises(ProtocolError):
        decode(_frame(body={"seq": True, "payload": "p"}))
    assert decode(_frame()).body == Ping(seq=1, payload="p")


def test_a_message_type_registers_under_its_kind_and_a_taken_kind_is_refused() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Waved(Message, kind="test_waved"):
        times: int

    try:
        assert MESSAGE_TYPES["test_waved"] is Waved, "the slots rebuild replaced the first class"
        assert decode(encode(Envelope(id="a:1", src="a", dst="b", sent_at=1.0, body=Waved(2)))).body == Waved(2)
        with pytest.raises(TypeError, match="already registered"):
            class Other(Message, kind="test_waved"):
                pass
        with pytest.raises(TypeError, match="needs a wire name"):
            class Nameless(Message):
                pass
    finally:
        del MESSAGE_TYPES["test_waved"]
