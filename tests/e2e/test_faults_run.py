"""Faults of a whole local run (the local backend, real processes): SIGTERM at different moments
(start-up, bootstrap) stops every host with exit 0 and leaves nothing behind; a host that cannot
start (binary missing, port taken, data directory unusable) fails at once with a message that names
the host and the cause. SIGTERM during the schedule is a test of ``test_faults.py``.

Addresses: 127.90.(2 * session slot + 11).x.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from monerosim_actors.backends.local import RUNTIME, LocalBackend, RunResult
from monerosim_actors.defaults import EVENTS_FILE, MONEROD_RPC_PORT, host_data_dir
from monerosim_actors.shadow.write import write_output
from monerosim_actors.plan.model import Plan
from monerosim_actors.plan.planner import build_plan
from monerosim_actors.events.read import read_events
from monerosim_actors.scenario.load import load_scenario
from tests.conftest import processes_matching, require_binary
from tests.e2e.plans import SESSION_SLOT

pytestmark = pytest.mark.e2e

TIME_SCALE = 4.0
PLANNER_RANGE = "127.10.0."
OUR_RANGE = f"127.90.{2 * SESSION_SLOT + 11}."
SCENARIO = Path(__file__).parent / "scenarios" / "faults.yaml"


def _plan(out: Path) -> Plan:
    plan = build_plan(load_scenario(SCENARIO), addressing="loopback", out_dir=str(out))
    assert all(h.ip.startswith(PLANNER_RANGE) for h in plan.hosts)
    return Plan.from_json(plan.to_json().replace(PLANNER_RANGE, OUR_RANGE))


def _events(out: Path, host: str) -> list[dict[str, Any]]:
    path = Path(host_data_dir(str(out), host), EVENTS_FILE)
    return read_events(str(path)) if path.exists() else []


def _run(plan: Plan, out: Path, interrupt_when: Callable[[], bool] | None = None) -> RunResult:
    """Run ``plan`` with the local backend; SIGTERM it (as a user or a scheduler would) once
    ``interrupt_when`` holds."""
    write_output(plan, str(out))
    backend = LocalBackend(plan, str(out), time_scale=TIME_SCALE)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            if interrupt_when is not None and interrupt_when():
                backend.interrupt(signal.SIGTERM)
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return backend.run()
    finally:
        done.set()
        watcher.join()


MOMENTS: dict[str, Callable[[Path], bool]] = {
    # monerod of the first host is being started, its RPC not answering yet
    "start-up": lambda out: any(e["event"] == "process_started" for e in _events(out, "block-controller")),
    # the controller is mining the faucet's coins
    "bootstrap": lambda out: any(e["event"] == "bootstrap_step" and e["step"] in ("fund_faucet", "unlock_coinbase")
                                 for e in _events(out, "block-controller")),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigterm_at_any_moment_stops_every_host_with_exit_0(tmp_path: Path, moment: str) -> None:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    out = tmp_path / "out"
    plan = _plan(out)  # without the directory and the marketplace: they change nothing here but the time
    plan = replace(plan, hosts=tuple(h for h in plan.hosts if h.role in ("block_controller", "mining_pool",
                                                                         "regular_user")))
    result = _run(plan, out, lambda: MOMENTS[moment](out))
    assert result.interrupted == signal.SIGTERM, "the run ended before the moment came"
    assert result.failures == [] and result.leftovers == [], [str(f) for f in result.failures]
    runtimes = [c for c in result.children if c.name == RUNTIME]
    assert runtimes and all(c.returncode == 0 for c in runtimes)
    for child in runtimes:
        raw = Path(child.data_dir, EVENTS_FILE).read_bytes()
        assert raw.endswith(b"\n"), f"{child.host}: events.jsonl ends mid-line"
        log = [json.loads(line) for line in raw.splitlines()]
        assert (log[-1]["event"], log[-1]["exit_code"]) == ("host_stopped", 0), child.host
        if any(e["event"] == "process_ready" and e["name"] == "wallet" for e in log):  # a wallet to store
            exits = [e for e in log if e["event"] == "process_exited" and e["name"] == "wallet"]
            assert exits and exits[-1]["expected"] and exits[-1]["returncode"] == 0, child.host
    assert processes_matching(str(out)) == []


def _one_host(plan: Plan, name: str = "pool-alpha") -> Plan:
    return replace(plan, hosts=tuple(h for h in plan.hosts if h.name == name))


def _fails_at_once(plan: Plan, out: Path, *expected: str) -> None:
    """The run fails naming the host and the cause. "At once" is what the cause says, not a stopwatch:
    the program could not start or exited (a host that waited instead would fail with "did not answer
    its RPC within ...")."""
    result = _run(plan, out)
    assert result.exit_code == 1
    (failure,) = result.failures
    text = str(failure)
    assert text.startswith("host pool-alpha: ") and all(part in text for part in expected), text
    assert "did not answer" not in text, text
    assert processes_matching(str(out)) == []


def test_a_missing_binary_fails_the_host_at_once_naming_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan = _one_host(_plan(out))
    plan = replace(plan, binaries=replace(plan.binaries, monerod="/nonexistent/monerod"))
    _fails_at_once(plan, out, "runtime exited with code 2", "cannot start monerod (/nonexistent/monerod)",
                   "No such file or directory")


def test_a_port_already_taken_fails_the_host_at_once_naming_it(tmp_path: Path) -> None:
    require_binary("monerod")
    out = tmp_path / "out"
    plan = _one_host(_plan(out))
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the earlier tests' TIME_WAIT
    blocker.bind((plan.hosts[0].ip, MONEROD_RPC_PORT))
    blocker.listen()
    try:
        _fails_at_once(plan, out, "runtime exited with code 2", "monerod exited with code")
    finally:
        blocker.close()


def test_a_data_directory_that_cannot_be_made_fails_the_host_naming_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan = _one_host(_plan(out))
    write_output(plan, str(out))
    data_dir = Path(host_data_dir(str(out), "pool-alpha"))
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir.write_text("a file where the host's folder should be")  # as root, chmod cannot stop a write
    backend = LocalBackend(plan, str(out), time_scale=TIME_SCALE)
    result = backend.run()
    assert result.exit_code == 1
    (failure,) = result.failures
    assert str(failure).startswith("host pool-alpha: cannot start runtime") and "File exists" in str(failure)
