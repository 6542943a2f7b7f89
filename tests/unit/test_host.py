"""The host runtime's entry point, in this process: a role that dies ends ``main`` with exit code 3.

``main`` installs signal handlers and a wake-up fd for the process; the fixture puts them back.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from monerosim_actors.runtime import host
from monerosim_actors.role.actor import RoleActor, constant, task
from monerosim_actors.events.read import read_events
from tests.e2e.plans import host_config, host_plan, write_config

DURATION_S = 120.0
"""The scenario's length: a host that does not notice its role died runs this long and exits 0."""


class Crasher(RoleActor):
    """Its first task, right after the start, hits a bug."""

    wait_time = constant(0)

    @task
    def crash(self) -> None:
        raise RuntimeError("bug in a task")


@pytest.fixture
def process_state() -> Iterator[None]:
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    wakeup_fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup_fd)
    pykka_level = logging.getLogger("pykka").level
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    signal.set_wakeup_fd(wakeup_fd)
    logging.getLogger("pykka").setLevel(pykka_level)


def test_a_role_that_dies_ends_main_with_exit_3_at_once(tmp_path: Path, process_state: None) -> None:
    plan = host_plan("h", "127.0.0.1", role_class=f"{__name__}:Crasher", role="tester",
                     monerod=False, wallet=False)
    path = write_config(host_config(plan, duration_s=DURATION_S), tmp_path / "hosts")
    code = host.main(["--config", str(path), "--data-dir", str(tmp_path / "data")])
    assert code == host.EXIT_ACTOR_FAILED == 3
    last = read_events(str(tmp_path / "data" / "events.jsonl"))[-1]
    # the failure ended it, not the end of the scenario (its reason would be the duration's)
    assert (last["event"], last["reason"], last["exit_code"]) == ("host_stopped", "actor_failed", 3)
    assert last["detail"] == "tester: RuntimeError: bug in a task"


def test_the_exit_codes_are_distinct() -> None:
    codes = [host.EXIT_OK, host.EXIT_PROCESS_FAILED, host.EXIT_START_FAILED, host.EXIT_ACTOR_FAILED]
    assert codes == [0, 1, 2, 3]
