"""Real-process fixtures: an in-process host runtime with real monerod / wallet-rpc, a host runtime
as a separate process, and checks that nothing is left running afterwards.

Reuse them: ``start_host`` gives a started :class:`HostSystem` (``system.daemon``, ``system.wallet``
are ready RPC clients), ``monerod_rpc`` a lone ready monerod, ``spawn_host`` a
``python -m monerosim_actors.runtime.host`` process. Each test must use its own loopback addresses.

Every wait here is for an event (a line in a host's ``events.jsonl``, a process exiting, an answer),
never for a stretch of time: the machine these tests run on is loaded (a build beside them, other
test sessions), which only makes the events come later. Each wait still has a bound,
:data:`SAFETY_S`, as a net against a hang; it is not a budget, and a timing figure belongs in
``bench/``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monerosim_actors.defaults import EVENTS_FILE
from monerosim_actors.plan.model import HostConfig, HostPlan
from monerosim_actors.events.read import LogReader, read_events
from monerosim_actors.runtime.child import stop_signals_blocked
from monerosim_actors.runtime.clock import TIME_SCALE_ENV
from monerosim_actors.runtime.rpc import DaemonRpc
from monerosim_actors.runtime.system import HostSystem
from tests.conftest import assert_no_process_left, processes_matching, require_binary
from tests.e2e.plans import host_config, host_plan, write_config

REPO = Path(__file__).resolve().parents[2]

SAFETY_S = 600.0
"""How long a wait for an event may last before the test gives up: a net against a hang, never a
budget (a wait ends as soon as its event comes). On this 2-core machine at a load average of 35 the
slowest single step seen, a network's bootstrap, took 430 s; the other steps take seconds."""


@pytest.fixture
def monero_binaries() -> None:
    """Skip (fail on CI) when monerod / monero-wallet-rpc are not installed."""
    require_binary("monerod")
    require_binary("monero-wallet-rpc")


class EventTail:
    """The events of one ``events.jsonl`` read incrementally: each :meth:`read` parses only the lines
    appended since the last one (a poll that re-read a whole growing log would load the machine it
    waits on). A torn line, left by a runtime killed mid-write, is skipped as :func:`read_events` does."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.events: list[dict[str, Any]] = []
        self._reader = LogReader(self.path)

    def read(self) -> list[dict[str, Any]]:
        """Every complete event of the file so far, in order."""
        try:
            self.events += self._reader.read()
        except FileNotFoundError:
            pass
        return self.events


def wait_for_event(path: Path | str, event: str, timeout: float = SAFETY_S, count: int = 1,
                   **match: Any) -> list[dict[str, Any]]:
    """Wait until ``path`` holds ``count`` events named ``event`` whose fields include ``match``.

    ``timeout`` is a net against a hang (:data:`SAFETY_S`), not a budget."""
    tail = EventTail(path)
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in tail.read() if e["event"] == event and all(e.get(k) == v for k, v in match.items())]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s (a safety net) for {count} x {event} {match} in {path}; "
                                 f"it has {len(found)}; last events: {tail.events[-10:]}")
        time.sleep(0.05)


@pytest.fixture
def start_host(tmp_path: Path, monero_binaries: None) -> Iterator[Callable[..., HostSystem]]:
    """``start_host(plan, **host_config_kwargs) -> HostSystem``, started in this process.

    Its data dir is ``tmp_path / plan.name``. At teardown every system is stopped and no process
    started from its data dir may survive.
    """
    systems: list[HostSystem] = []

    def start(plan: HostPlan, *, ready_timeout_s: float = SAFETY_S, **kwargs: Any) -> HostSystem:
        system = HostSystem(host_config(plan, **kwargs), str(tmp_path / plan.name),
                            ready_timeout_s=ready_timeout_s)
        systems.append(system)
        assert system.start()
        return system

    yield start
    for system in systems:
        system.stop("test_end", 0)
    for system in systems:
        assert_no_process_left(system.data_dir)


@pytest.fixture
def monerod_rpc(start_host: Callable[..., HostSystem]) -> Callable[[str], DaemonRpc]:
    """``monerod_rpc(ip) -> DaemonRpc`` of a ready, offline regtest monerod on ``ip``."""

    def start(ip: str) -> DaemonRpc:
        system = start_host(host_plan(f"node-{ip.replace('.', '-')}", ip, wallet=False))
        assert system.daemon is not None
        return system.daemon

    return start


class HostProcess:
    """A ``python -m monerosim_actors.runtime.host`` process in its own session, with its data dir.

    It is started as the local backend starts a runtime: with SIGTERM and SIGINT blocked until the
    runtime has installed its handlers (it unblocks them then), so that a signal sent while its
    interpreter is still starting is handled (exit 0) instead of killing it (exit -15).
    """

    def __init__(self, config: HostConfig, root: Path, *, time_scale: float = 1.0) -> None:
        self.config = config
        self.data_dir = root / config.host.name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = write_config(config, root / "hosts")
        self.events_path = self.data_dir / EVENTS_FILE
        env = dict(os.environ, PYTHONPATH=str(REPO), **{TIME_SCALE_ENV: repr(time_scale)})
        self.stderr_path = self.data_dir / "runtime.stderr"
        with open(self.stderr_path, "ab") as err, stop_signals_blocked():
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "monerosim_actors.runtime.host", "--config", str(self.config_path)],
                cwd=self.data_dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err, start_new_session=True)

    def wait_for(self, event: str, timeout: float = SAFETY_S, **match: Any) -> dict[str, Any]:
        if self.popen.poll() is not None and event != "host_stopped":
            raise AssertionError(f"host exited with {self.popen.returncode}: {self.stderr()}")
        return wait_for_event(self.events_path, event, timeout, **match)[0]

    def events(self) -> list[dict[str, Any]]:
        return read_events(str(self.events_path))

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def terminate(self, timeout: float = SAFETY_S) -> int:
        """SIGTERM and wait for the exit code (``timeout``: a net against a hang)."""
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the runtime's process group and the programs it started (monerod and the wallet
        run in sessions of their own, so that a SIGINT to the terminal does not reach them)."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()
        for pid, _ in processes_matching(str(self.data_dir)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def assert_alive(hosts: dict[str, HostProcess]) -> None:
    """Fail, with the tail of their stderr, if any of ``hosts`` (name -> host) has exited."""
    dead = {n: h.popen.returncode for n, h in hosts.items() if h.popen.poll() is not None}
    assert not dead, f"host runtimes exited: {dead}: " + "".join(hosts[n].stderr()[-2000:] for n in dead)


def stop_hosts(hosts: Iterable[HostProcess], timeout: float = 120.0) -> None:
    """SIGTERM every host still running, wait for each (SIGKILL past ``timeout``), then check that
    nothing of theirs is left running."""
    hosts = list(hosts)
    for h in hosts:
        if h.popen.poll() is None:
            h.popen.terminate()
    for h in hosts:
        try:
            h.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            h.kill()
    for h in hosts:
        assert_no_process_left(str(h.data_dir))


@pytest.fixture
def spawn_host(tmp_path: Path) -> Iterator[Callable[[HostConfig], HostProcess]]:
    """``spawn_host(config) -> HostProcess``; at teardown survivors are killed and reported."""
    hosts: list[HostProcess] = []

    def spawn(config: HostConfig, *, time_scale: float = 1.0) -> HostProcess:
        hosts.append(HostProcess(config, tmp_path, time_scale=time_scale))
        return hosts[-1]

    yield spawn
    alive = [h for h in hosts if h.popen.poll() is None]
    for h in alive:
        h.kill()
    for h in hosts:
        assert_no_process_left(str(h.data_dir))
        assert_no_process_left(str(h.config_path))
    assert not alive, f"host processes still running at the end of the test: {[h.config.host.name for h in alive]}"
