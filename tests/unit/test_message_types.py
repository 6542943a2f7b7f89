"""A message type the codec cannot check is refused when it is defined (or, if its annotation
cannot be read yet, when it is first sent), never silently dropped by every receiver."""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class Forward(Message, kind="test_forward_annotation"):
    """Its annotation names an alias defined below the class: readable only once the module ran."""

    values: Later


Later = list[int]


def test_an_annotation_readable_only_later_is_checked_when_the_message_is_sent() -> None:
    with pytest.raises(TypeError, match=r"Forward\.values"):
        encode(Envelope(id="a:1", src="a", dst="b", sent_at=1.0, body=Forward(values=[1])))


class Sender(RoleActor):
    """Sends one message it cannot encode, from a task."""

    def setup(self) -> None:
        self.send(self.service_host("block_controller"), Forward(values=[1]))


def test_the_harness_refuses_it_in_the_sender_as_the_real_bus_does() -> None:
    net = FakeNet()
    net.add(Sender, "sender-0", "sender", {}, node=False)
    with pytest.raises(TypeError, match=r"Forward\.values"):
        net.start()
