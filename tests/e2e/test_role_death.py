"""A role that dies is never silent: the host runtime (``python -m monerosim_actors.runtime.host``, as Shadow
runs it) stops everything at once, as on SIGTERM, logs why in ``host_stopped`` and exits 3.

Under Shadow a runtime's expected final state is ``{exited: 0}``, so the exit code is what makes a
run with a crashed block controller fail instead of "succeeding" without blocks. The roles that
crash are defined here; the host imports them as ``tests.e2e.test_role_death:CLASS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from monerosim_actors.role.actor import RoleActor, constant, task
from monerosim_actors.plan.model import HostPlan
from tests.e2e.plans import host_config, host_plan, loopback

if TYPE_CHECKING:
    from tests.e2e.conftest import HostProcess

pytestmark = pytest.mark.e2e

DURATION_S = 600.0
"""The scenario's length: a host that did not notice would run this long and then exit 0."""
EXIT_ACTOR_FAILED = 3


class CrashingRole(RoleActor):
    """Its first task, right after the start, hits a bug."""

    wait_time = constant(0)

    @task
    def crash(self) -> None:
        raise RuntimeError("the role crashed in its first task")


def _crashing_plan(name: str, ip: str, **kwargs: Any) -> HostPlan:
    return host_plan(name, ip, role_class=f"{__name__}:CrashingRole", role="crasher", **kwargs)


def _assert_stopped_for_the_crash(host: HostProcess) -> list[dict[str, Any]]:
    """The runtime exits 3 (not 0, as it would at the scenario's end, which bounds this wait) and its
    log and stderr say why."""
    assert host.popen.wait() == EXIT_ACTOR_FAILED, host.stderr()
    events = host.events()
    last = events[-1]
    assert (last["event"], last["reason"], last["exit_code"]) == ("host_stopped", "actor_failed", 3)
    assert last["detail"] == "crasher: RuntimeError: the role crashed in its first task"
    failed = [e for e in events if e["event"] == "actor_failed"]
    assert [(e["actor"], e["error_type"]) for e in failed] == [("crasher", "RuntimeError")]
    assert "stopped with exit code 3: actor_failed: crasher: RuntimeError" in host.stderr()
    return events


def test_a_role_that_raises_ends_its_host_with_exit_3(spawn_host: Callable[..., HostProcess]) -> None:
    plan = _crashing_plan("crasher", loopback(11, 0), monerod=False, wallet=False)
    host = spawn_host(host_config(plan, duration_s=DURATION_S))
    _assert_stopped_for_the_crash(host)


def test_monerod_and_the_wallet_are_stopped_gracefully_when_the_role_dies(
        spawn_host: Callable[..., HostProcess], monero_binaries: None) -> None:
    plan = _crashing_plan("crasher-node", loopback(11, 1))
    host = spawn_host(host_config(plan, duration_s=DURATION_S))
    events = _assert_stopped_for_the_crash(host)
    exited = {e["name"]: e for e in events if e["event"] == "process_exited"}
    assert set(exited) == {"monerod", "wallet"}
    assert all(e["expected"] and e["returncode"] == 0 for e in exited.values()), exited
    names = [e["event"] for e in events]
    assert names.index("actor_failed") < min(i for i, n in enumerate(names) if n == "process_exited")
