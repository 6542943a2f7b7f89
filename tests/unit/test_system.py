"""HostSystem gives up when a part of the host dies: the role actor, or the bus's transport thread.

Each test runs a real HostSystem without monerod or wallet (no programs, no sockets bound, no
network): its event log, scheduler, bus and role actor. A failure must set ``stopping`` and call
``on_stop`` at once (the runtime's main thread sleeps until then), and :meth:`HostSystem.finish`
must end the host with the failure's reason and exit code 3 in ``host_stopped``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykka
import pytest

from monerosim_actors.wire import Ping
from monerosim_actors.role.actor import RoleActor, constant, task
from monerosim_actors.errors import MonerosimError
from monerosim_actors.events.read import read_events
from monerosim_actors.runtime.system import (EXIT_ACTOR_FAILED, EXIT_OK, EXIT_PROCESS_FAILED, Failure,
                                             HostSystem, load_message_modules)
from monerosim_actors.runtime.transport import Transport
from tests.e2e.plans import host_config, host_plan

WAIT_S = 30.0
"""Upper bound on waiting for an event that comes within milliseconds (a loaded machine)."""


class TaskBug(RoleActor):
    """Its first task raises a bug (not a project error)."""

    wait_time = constant(0)

    @task
    def crash(self) -> None:
        raise RuntimeError("bug in a task")


class SetupBug(RoleActor):
    def setup(self) -> None:
        raise KeyError("no such pool")


class Quiet(RoleActor):
    """Runs no tasks and never fails."""


class QuitsSilently(pykka.ThreadingActor):
    """Not a RoleActor: it stops itself without a word."""

    def __init__(self, ctx: Any) -> None:
        super().__init__()

    def on_start(self) -> None:
        self.stop()


class Host:
    """A started HostSystem and whether its ``on_stop`` was called."""

    def __init__(self, tmp_path: Path, role_class: str) -> None:
        self.woken = threading.Event()
        plan = host_plan("h", "127.0.0.1", role_class=role_class, role="tester", monerod=False,
                         wallet=False)
        self.data_dir = tmp_path / "h"
        self.system = HostSystem(host_config(plan), str(self.data_dir), on_stop=self.woken.set)
        assert self.system.start()

    def events(self) -> list[dict[str, Any]]:
        return read_events(str(self.data_dir / "events.jsonl"))


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    hosts: list[Host] = []

    def make(cls: type) -> Host:
        host = Host(tmp_path / str(len(hosts)), f"{__name__}:{cls.__name__}")
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.system.stop("test_end", 0)


def assert_stopped_for(host: Host, reason: str, detail: str) -> dict[str, Any]:
    """``finish`` ends the host with exit code 3, and ``host_stopped`` says why; returns its line."""
    assert host.system.finish("end") == EXIT_ACTOR_FAILED
    last = host.events()[-1]
    assert (last["event"], last["reason"], last["exit_code"]) == ("host_stopped", reason, 3)
    assert last["detail"] == detail
    return last


def test_a_task_that_raises_stops_the_host_with_exit_3(start: Any) -> None:
    host = start(TaskBug)
    assert host.woken.wait(WAIT_S), "the runtime was not woken"
    assert host.system.stopping.is_set()
    assert host.system.failure == Failure("actor_failed", EXIT_ACTOR_FAILED,
                                          "tester: RuntimeError: bug in a task")
    assert_stopped_for(host, "actor_failed", "tester: RuntimeError: bug in a task")
    names = [e["event"] for e in host.events()]
    assert names.index("actor_failed") < names.index("host_stopped")


def test_a_setup_that_raises_stops_the_host_with_exit_3(start: Any) -> None:
    # pykka does not call on_failure for an exception in on_start: the role must report it itself
    host = start(SetupBug)
    assert host.woken.wait(WAIT_S), "the runtime was not woken"
    assert_stopped_for(host, "actor_failed", "tester: KeyError: 'no such pool'")
    failed = [e for e in host.events() if e["event"] == "actor_failed"]
    assert [(e["actor"], e["error_type"]) for e in failed] == [("tester", "KeyError")]


def test_a_role_that_stops_without_a_word_is_found_dead_at_the_end(start: Any) -> None:
    host = start(QuitsSilently)
    assert host.system.role is not None
    assert host.system.role.actor_stopped.wait(WAIT_S)
    assert_stopped_for(host, "actor_failed", "tester: the actor stopped while the host was running")


def test_a_dead_bus_thread_stops_the_host_with_exit_3(start: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Transport, peer: str, frame: bytes) -> None:
        raise RuntimeError("bug in the transport")

    monkeypatch.setattr(Transport, "_send_now", broken)
    host = start(Quiet)
    bus = host.system.bus
    assert bus is not None
    bus.send("anyone", Ping(seq=1, payload="p"))
    assert host.woken.wait(WAIT_S), "the runtime was not woken"
    bus.send("anyone", Ping(seq=2, payload="p"))  # the thread is gone: this only queues
    assert_stopped_for(host, "bus_failed", "bus thread: RuntimeError: bug in the transport")
    failed = [e for e in host.events() if e["event"] == "bus_failed"]
    assert [(e["actor"], e["error"]) for e in failed] == [("bus", "RuntimeError: bug in the transport")]


def test_a_host_without_failure_ends_with_0_and_no_detail(start: Any) -> None:
    host = start(Quiet)
    assert host.system.finish("end") == EXIT_OK
    last = host.events()[-1]
    assert (last["event"], last["reason"], last["exit_code"]) == ("host_stopped", "end", 0)
    assert "detail" not in last
    assert not host.woken.is_set()


def test_the_first_cause_wins_and_a_failure_after_the_stop_changes_nothing(start: Any) -> None:
    host = start(Quiet)
    host.system.fail(Failure("process_failed", EXIT_PROCESS_FAILED, "monerod: exited 6 times in a row"))
    host.system.fail(Failure("actor_failed", EXIT_ACTOR_FAILED, "tester: KeyError: 'x'"))
    assert host.system.finish("signal") == EXIT_PROCESS_FAILED
    host.system.fail(Failure("bus_failed", EXIT_ACTOR_FAILED, "bus thread: late"))
    assert host.system.failure is not None and host.system.failure.reason == "process_failed"
    last = host.events()[-1]
    assert (last["reason"], last["exit_code"], last["detail"]) == (
        "process_failed", 1, "monerod: exited 6 times in a row")


def test_a_failure_during_the_start_is_named_by_the_start_error(tmp_path: Path) -> None:
    plan = host_plan("h", "127.0.0.1", role_class=f"{__name__}:Quiet", role="tester", monerod=True,
                     wallet=False)
    system = HostSystem(host_config(plan), str(tmp_path))
    system.fail(Failure("bus_failed", EXIT_ACTOR_FAILED, "bus thread: boom"))
    with pytest.raises(MonerosimError, match="stopped while starting: bus thread: boom"):
        system.start()
    last = read_events(str(tmp_path / "events.jsonl"))[-1]
    assert (last["reason"], last["exit_code"]) == ("start_failed", 2)


def test_a_host_imports_the_plans_message_modules_and_names_one_it_cannot() -> None:
    import sys

    load_message_modules(("monerosim_actors.actors.example_browser",))
    from monerosim_actors.wire import MESSAGE_TYPES
    assert "monerosim_actors.actors.example_browser" in sys.modules and "browser_tip_shared" in MESSAGE_TYPES
    with pytest.raises(MonerosimError, match="message module 'no_such.module' cannot be loaded"):
        load_message_modules(("no_such.module",))
