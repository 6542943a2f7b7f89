"""A message type the codec cannot check is refused when it is defined (or, if its annotation
cannot be read yet, when it is first sent), never silently dropped by every receiver."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from monerosim_actors.role import RoleActor
from monerosim_actors.testing import FakeNet
from monerosim_actors.wire import MESSAGE_TYPES, Envelope, Message, encode


@pytest.mark.parametrize("annotation", ["list[int]", "int | None", "dict[str, int]", "tuple[int, str]", "bytes"])
def test_a_field_type_the_codec_cannot_check_fails_the_class_definition(annotation: str) -> None:
    kind = f"test_bad_{abs(hash(annotation))}"
    with pytest.raises(TypeError, match=r"cannot go on the wire"):
        exec(f"@dataclass(frozen=True, slots=True)\nclass Bad(Message, kind={kind!r}):\n    a: {annotation}\n",
             {"dataclass": dataclass, "Message": Message})
    assert kind not in MESSAGE_TYPES, "a refused class is not registered"


@pytest.fixture
def forward() -> Iterator[type[Message]]:
    """A message type whose annotation names an alias made only after the class: its definition
    cannot read it; unregistered again afterwards, so other tests never see it."""
    @dataclass(frozen=True, slots=True)
    class Forward(Message, kind="test_forward_annotation"):
        values: LaterAlias  # type: ignore[name-defined]  # noqa: F821

    globals()["LaterAlias"] = list[int]
    yield Forward
    del globals()["LaterAlias"]
    del MESSAGE_TYPES[Forward.kind]


def test_an_annotation_readable_only_later_is_checked_when_the_message_is_sent(forward: type[Message]) -> None:
    with pytest.raises(TypeError, match=r"Forward\.values"):
        encode(Envelope(id="a:1", src="a", dst="b", sent_at=1.0, body=forward(values=[1])))  # type: ignore[call-arg]


class Sender(RoleActor):
    """Sends one message it cannot encode, in its setup."""

    message: Message

    def setup(self) -> None:
        self.send(self.service_host("block_controller"), self.message)


def test_the_harness_refuses_it_in_the_sender_as_the_real_bus_does(forward: type[Message]) -> None:
    net = FakeNet()
    sender = net.add(Sender, "sender-0", "sender", {}, node=False)
    sender.message = forward(values=[1])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"Forward\.values"):
        net.start()
