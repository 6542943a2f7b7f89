"""Reading processes from /proc (psutil, through ``backends.groups`` and ``runtime.pidfile``): what a
zombie looks like, who is found by a needle in the command line, and which pid file names a leftover."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monerosim_actors.backends import groups
from monerosim_actors.runtime import pidfile

SLEEPER = [sys.executable, "-c", "import sys, time; time.sleep(600)"]


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process in a session of its own whose last argument names ``tmp_path``."""
    proc = subprocess.Popen([*SLEEPER, str(tmp_path / "data")], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def zombie(args: list[str]) -> subprocess.Popen[bytes]:
    """A child that has exited and is not reaped yet (waited for through a pidfd, which does not reap)."""
    proc = subprocess.Popen(args, start_new_session=True)
    fd = os.pidfd_open(proc.pid)
    try:
        assert select.select([fd], [], [], 60)[0], "the child did not exit"
    finally:
        os.close(fd)
    return proc


def test_a_live_process_is_read_with_its_group_and_argv(sleeper: subprocess.Popen[bytes], tmp_path: Path) -> None:
    info = groups.read_proc(sleeper.pid)
    assert info == groups.ProcInfo(pid=sleeper.pid, pgid=sleeper.pid, zombie=False,
                                   argv=(*SLEEPER, str(tmp_path / "data")))
    me = groups.read_proc(os.getpid())
    assert me is not None and me.pgid == os.getpgrp() and not me.zombie


def test_a_zombie_is_dead_to_every_question(tmp_path: Path) -> None:
    proc = zombie([sys.executable, "-c", "pass", str(tmp_path)])
    try:
        info = groups.read_proc(proc.pid)
        assert info is not None and info.zombie and info.argv == ()
        assert not groups.group_alive(proc.pid), "a group of only a zombie holds nothing"
        assert groups.naming(str(tmp_path)) == []
    finally:
        proc.wait()
    assert groups.read_proc(proc.pid) is None


def test_naming_finds_live_processes_by_an_argument_but_never_this_one(
        sleeper: subprocess.Popen[bytes], tmp_path: Path) -> None:
    assert [info.pid for info in groups.naming(str(tmp_path))] == [sleeper.pid]
    assert [info.pid for info in groups.naming(f"{tmp_path}/")] == [sleeper.pid]
    assert groups.naming(f"{tmp_path}/elsewhere") == []
    assert groups.group_alive(sleeper.pid)
    assert [info.pid for info in groups.strays(str(tmp_path), [sys.executable])] == [sleeper.pid]
    assert groups.strays(str(tmp_path), ["/usr/bin/monerod"]) == []


def test_a_pid_file_names_a_leftover_only_if_it_runs_exactly_the_argv(
        sleeper: subprocess.Popen[bytes], tmp_path: Path) -> None:
    path = pidfile.path_for(str(tmp_path), "monerod")
    argv = [*SLEEPER, str(tmp_path / "data")]
    assert pidfile.leftover(path, argv) is None  # no pid file
    pidfile.record(path, sleeper.pid)
    assert pidfile.leftover(path, argv) == sleeper.pid
    assert pidfile.leftover(path, argv[:-1]) is None  # another host's program, or a recycled pid
    assert pidfile.leftover(path, [*argv, "--more"]) is None
    for text in ("not a pid\n", "-3\n", "99999999999\n", ""):
        Path(path).write_text(text)
        assert pidfile.leftover(path, argv) is None, text


def test_a_pid_file_naming_a_zombie_or_a_gone_process_names_no_leftover(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "pass", str(tmp_path)]
    proc = zombie(argv)
    path = pidfile.path_for(str(tmp_path), "wallet")
    pidfile.record(path, proc.pid)
    try:
        assert pidfile.leftover(path, argv) is None
    finally:
        proc.wait()
    assert pidfile.leftover(path, argv) is None
