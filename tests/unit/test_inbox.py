"""The role inbox holds messages for a role that has not started, and an overflow is never silent."""

from __future__ import annotations

from typing import Any

from monerosim_actors.runtime.bus import Bus
from monerosim_actors.runtime.inbox import RoleInbox
from tests.conftest import RecordingEvents
from tests.e2e.plans import host_config, host_plan, loopback


class Box:
    def __init__(self) -> None:
        self.got: list[Any] = []

    def tell(self, message: Any) -> None:
        self.got.append(message)


def test_an_overflow_is_reported_once_with_what_it_dropped() -> None:
    reports: list[int] = []
    inbox, box = RoleInbox(max_held=3), Box()
    inbox.set_overflow_handler(reports.append)
    for n in range(10):
        inbox.tell(n)
    assert reports == []  # reported when it ends, once
    inbox.attach(box)
    assert reports == [7] and box.got == [7, 8, 9]
    inbox.tell(10)
    assert reports == [7] and box.got[-1] == 10


def test_no_overflow_no_report_and_a_detach_ends_an_overflow() -> None:
    reports: list[int] = []
    inbox = RoleInbox(max_held=3)
    inbox.set_overflow_handler(reports.append)
    for n in range(3):
        inbox.tell(n)
    inbox.attach(Box())
    assert reports == []
    other = RoleInbox(max_held=2)
    other.set_overflow_handler(reports.append)
    for n in range(5):
        other.tell(n)
    other.detach()
    other.detach()
    assert reports == [3]


def test_the_bus_logs_an_inbox_overflow() -> None:
    plan = host_plan("cli", loopback(1, 1), monerod=False, wallet=False)
    events, inbox = RecordingEvents(), RoleInbox(max_held=2)
    Bus(host_config(plan), events, inbox)  # not started: no sockets
    for n in range(6):
        inbox.tell(n)
    inbox.attach(Box())
    (line,) = [e for e in events.items if e["event"] == "inbox_overflow"]
    assert (line["actor"], line["dropped"], line["role"]) == ("bus", 4, plan.role)
