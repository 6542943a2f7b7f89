"""The supervisor with stand-in programs (shell one-liners): restarts, giving up, the stop ladder."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monerosim_actors.errors import ProcessError, RpcTimeout
from monerosim_actors.runtime.process import ProcessSpec, ProcessSupervisor, Start, Stop
from monerosim_actors.runtime.scheduler import Scheduler
from tests.conftest import RecordingEvents, assert_no_process_left


CRASH = "touch up; until [ -e seen ]; do sleep 0.05; done; rm up seen"
"""A script's start of a crash once it was seen ready, however long the probe took to look (a loaded
machine): before, a fixed 0.1 s of being up could pass unseen and the start fail instead."""


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.events = RecordingEvents()
        self.scheduler = Scheduler()
        self.stopping = threading.Event()
        self.restarted: queue.Queue[str] = queue.Queue()
        self.failed: queue.Queue[tuple[str, str]] = queue.Queue()
        self.refs: list[Any] = []

    def probe_up(self) -> None:
        """Ready while the program's ``up`` file exists (scripts touch it, and remove it before exiting);
        a probe that saw it leaves ``seen``, which a script that is to crash waits for (:data:`CRASH`)."""
        if not (self.tmp_path / "up").exists():
            raise RpcTimeout("probe", "not up")
        (self.tmp_path / "seen").touch()

    def supervise(self, script: str, **spec: Any) -> Any:
        """A supervisor of ``sh -c SCRIPT`` run in ``tmp_path`` (the marker in argv finds leftovers)."""
        fields: dict[str, Any] = dict(probe=self.probe_up, stop_rpc=lambda: None, stable_s=60.0)
        fields.update(spec)
        ref = ProcessSupervisor.start(
            ProcessSpec(name="prog", argv=("sh", "-c", script, str(self.tmp_path)),
                        data_dir=str(self.tmp_path), **fields),
            host="h", events=self.events, scheduler=self.scheduler, stopping=self.stopping,
            on_restarted=self.restarted.put, on_failed=lambda n, r: self.failed.put((n, r)))
        self.refs.append(ref)
        return ref

    def close(self) -> None:
        self.stopping.set()
        for ref in self.refs:
            ref.ask(Stop(), timeout=30)
            ref.stop()
        self.scheduler.stop()
        assert_no_process_left(str(self.tmp_path))


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.close()


def test_crashing_program_is_restarted_then_given_up(harness: Harness) -> None:
    ref = harness.supervise(f"{CRASH}; exit 3", max_restarts=2)
    assert ref.ask(Start()) > 0
    assert harness.restarted.get(timeout=10) == "prog"
    assert harness.restarted.get(timeout=10) == "prog"
    name, reason = harness.failed.get(timeout=10)
    assert name == "prog" and "3 times in a row" in reason and "code 3" in reason
    exits = harness.events.wait_for("process_exited", count=3)
    assert all(e["returncode"] == 3 and e["expected"] is False for e in exits)
    assert [e["attempt"] for e in harness.events.wait_for("process_restarted", count=2)] == [1, 2]


def test_output_files_keep_every_run(harness: Harness) -> None:
    ref = harness.supervise(f"echo run; {CRASH}; exit 1", max_restarts=1)
    ref.ask(Start())
    harness.failed.get(timeout=10)
    assert (harness.tmp_path / "prog.stdout").read_text() == "run\nrun\n"


def test_stop_ladder_rpc_then_sigterm_then_sigkill(harness: Harness) -> None:
    def refuse() -> None:
        raise RpcTimeout("stop", "no answer")

    ref = harness.supervise("trap '' TERM; touch up; while :; do sleep 0.05; done", stop_rpc=refuse,
                            term_timeout_s=0.5)
    ref.ask(Start())
    ref.ask(Stop(), timeout=30)
    # the program ignores SIGTERM: only the SIGKILL after it can have ended it
    exited = harness.events.wait_for("process_exited")[0]
    assert exited["expected"] is True and exited["returncode"] == -9
    assert harness.restarted.empty()


def test_graceful_stop_rpc(harness: Harness, tmp_path: Path) -> None:
    flag = tmp_path / "stop-requested"
    ref = harness.supervise(f"touch up; while [ ! -e {flag} ]; do sleep 0.05; done; exit 0",
                            stop_rpc=flag.touch)
    ref.ask(Start())
    ref.ask(Stop(), timeout=30)
    exited = harness.events.wait_for("process_exited")[0]
    assert (exited["returncode"], exited["expected"]) == (0, True)


def test_not_ready_in_time_is_a_process_error_with_the_tail(harness: Harness) -> None:
    def never() -> None:
        raise RpcTimeout("get_info", "refused")

    ref = harness.supervise("echo starting up; echo oops >&2; sleep 30", probe=never, ready_timeout_s=0.5)
    with pytest.raises(ProcessError) as e:
        ref.ask(Start())
    assert "prog did not answer its RPC within 0.5 s" in str(e.value)
    assert "starting up" in e.value.log_tail and "oops" in e.value.log_tail
    harness.events.wait_for("process_failed")


def test_an_address_already_answering_is_refused(harness: Harness) -> None:
    """Something else answers the probe before the program is even started."""
    ref = harness.supervise("sleep 30", probe=lambda: None)
    with pytest.raises(ProcessError, match="already answers before it was started"):
        ref.ask(Start())
    assert not harness.events.items  # nothing was started


LEFTOVER = "trap 'rm -f up; exit 0' TERM; touch up; while :; do sleep 0.05; done"


def test_a_program_left_by_an_earlier_run_of_the_host_is_stopped_before_the_start(harness: Harness) -> None:
    """The host was killed with SIGKILL: its program survived in its own group, named by its pid file."""
    argv = ["sh", "-c", LEFTOVER, str(harness.tmp_path)]
    orphan = subprocess.Popen(argv, cwd=harness.tmp_path, start_new_session=True)
    (harness.tmp_path / "prog.pid").write_text(f"{orphan.pid}\n")
    while not (harness.tmp_path / "up").exists():
        time.sleep(0.01)
    ref = harness.supervise(LEFTOVER, stop_timeout_s=0.2)
    pid = ref.ask(Start(), timeout=30)
    assert orphan.wait(5) == 0  # stopped with SIGTERM, gracefully
    assert pid != orphan.pid
    assert harness.events.wait_for("process_leftover_stopped")[0]["pid"] == orphan.pid
    assert (harness.tmp_path / "prog.pid").read_text().strip() == str(pid)
    assert os.getpgid(pid) == pid


def test_a_pid_file_naming_another_program_is_ignored(harness: Harness) -> None:
    other = subprocess.Popen(["sh", "-c", "sleep 30", str(harness.tmp_path)], start_new_session=True)
    try:
        (harness.tmp_path / "prog.pid").write_text(f"{other.pid}\n")
        ref = harness.supervise("touch up; sleep 30", stop_timeout_s=0.2)
        ref.ask(Start(), timeout=30)
        assert other.poll() is None
        assert not [e for e in harness.events.items if e["event"] == "process_leftover_stopped"]
    finally:
        other.kill()
        other.wait()


def test_the_pid_file_is_removed_when_the_program_stops(harness: Harness) -> None:
    ref = harness.supervise("touch up; sleep 30", stop_timeout_s=0.2)
    ref.ask(Start(), timeout=30)
    assert (harness.tmp_path / "prog.pid").exists()
    ref.ask(Stop(), timeout=30)
    assert not (harness.tmp_path / "prog.pid").exists()
