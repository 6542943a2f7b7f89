"""The one child-process lifecycle (runtime.child): spawn in a session of its own with appended
output, an exit seen without polling, the tail of this run only, group signals."""

from __future__ import annotations

import os
import select
import signal
import threading
from pathlib import Path

from monerosim_actors.runtime.child import Child, read_tail, spawn


def _spawn(tmp_path: Path, script: str) -> tuple[Child, threading.Event]:
    told = threading.Event()
    child = spawn("prog", ["/bin/sh", "-c", script], str(tmp_path), host="h", on_exit=lambda c: told.set())
    return child, told


def test_a_child_leads_its_session_and_its_exit_is_told_with_its_code(tmp_path: Path) -> None:
    child, told = _spawn(tmp_path, "echo out; echo err >&2; exit 3")
    assert told.wait(10) and child.exited.is_set() and child.returncode == 3
    assert os.getpgid(os.getpid()) != child.pgid == child.pid
    assert (tmp_path / "prog.stdout").read_text() == "out\n"
    assert child.tail("stderr", 5) == "err"


def test_the_tail_is_of_this_run_only(tmp_path: Path) -> None:
    first, told = _spawn(tmp_path, "echo first")
    assert told.wait(10)
    second, told = _spawn(tmp_path, "echo second")
    assert told.wait(10)
    assert (tmp_path / "prog.stdout").read_text() == "first\nsecond\n", "output is appended"
    assert second.tail("stdout", 5) == "second" and first.tail("stdout", 5) == "first\nsecond"
    assert read_tail(str(tmp_path / "prog.stdout"), 1) == "second"
    assert read_tail(str(tmp_path / "absent"), 1) == ""


def test_a_group_signal_reaches_the_child_and_fails_quietly_once_it_is_gone(tmp_path: Path) -> None:
    # exec: the group is that one process, reaped before the exit is told (a shell that forked
    # would leave its child to init, a zombie still in the group for a moment)
    child, told = _spawn(tmp_path, "exec sleep 30")
    assert child.signal(signal.SIGTERM)
    assert told.wait(10) and child.returncode == -signal.SIGTERM
    assert not child.signal(signal.SIGTERM)


def test_no_signal_follows_the_reap_so_a_reused_pid_is_never_hit(tmp_path: Path, monkeypatch) -> None:
    # once reaped, the child's pid (its group's id) may belong to anyone: nothing may be sent to it
    child, told = _spawn(tmp_path, "exit 0")
    assert told.wait(10) and child.exited.is_set()
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "killpg", lambda pgid, sig: sent.append((pgid, sig)))
    assert not child.signal(signal.SIGKILL)
    assert sent == [] and not child.killed


def test_what_the_leader_leaves_in_its_group_is_killed_before_it_is_reaped(tmp_path: Path) -> None:
    # the shell's background sleep stays in the shell's group; once the shell is reaped nobody
    # could signal that group safely any more, so the waiter kills it first
    child, told = _spawn(tmp_path, "sleep 600 & echo $!; exit 0")
    assert told.wait(10) and child.returncode == 0
    pid = int((tmp_path / "prog.stdout").read_text())
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # gone already
    try:
        assert select.select([fd], [], [], 30)[0], "the leader's leftover survived it"
    finally:
        os.close(fd)


def test_a_sigkill_marks_a_running_child_killed(tmp_path: Path) -> None:
    child, told = _spawn(tmp_path, "exec sleep 30")
    assert child.signal(signal.SIGKILL)
    assert told.wait(10) and child.killed and child.returncode == -signal.SIGKILL
