"""Process groups and stray programs: signal them, tell whether anything in them is still alive.

Every process the local backend starts leads a session (and so a process group) of its own, and the
host runtime starts monerod and the wallet in sessions of their own too. Liveness is read from
``/proc`` as well as ``kill(pgid, 0)``: a zombie nobody reaps (PID 1 of a container need not) still
answers ``kill`` but holds no memory, no port and no file, so it does not count as left behind.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcInfo:
    """One process as /proc shows it."""

    pid: int
    pgid: int
    state: str
    argv: tuple[str, ...]


def read_proc(pid: int) -> ProcInfo | None:
    """The process ``pid``, or None when it is gone (or vanished while being read)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may contain spaces or ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    argv = tuple(a.decode(errors="replace") for a in raw.split(b"\0") if a)
    return ProcInfo(pid=pid, pgid=int(fields[2]), state=fields[0], argv=argv)


def all_processes() -> Iterable[ProcInfo]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            info = read_proc(int(entry.name))
            if info is not None:
                yield info


def group_alive(pgid: int) -> bool:
    """True while a process of group ``pgid`` other than a zombie exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(p.pgid == pgid and p.state != "Z" for p in all_processes())


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to group ``pgid``; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def strays(out_dir: str, programs: Iterable[str]) -> list[ProcInfo]:
    """Live processes running one of ``programs`` (by file name) whose command line names ``out_dir``.

    This is how the local backend finds a monerod or wallet-rpc whose host runtime died before it
    could stop it: their data directories are inside ``out_dir``, so their command lines name it.
    """
    names = {os.path.basename(p) for p in programs}
    me = os.getpid()
    found = []
    for info in all_processes():
        if info.pid == me or info.state == "Z" or not info.argv:
            continue
        if os.path.basename(info.argv[0]) in names and any(out_dir in a for a in info.argv):
            found.append(info)
    return found


def kill_strays(out_dir: str, programs: Iterable[str], *, sig: int = signal.SIGKILL) -> list[ProcInfo]:
    """Signal every stray of :func:`strays` (its whole group); returns the ones found."""
    found = strays(out_dir, programs)
    mine = os.getpgrp()
    for info in found:
        if info.pgid == mine or not signal_group(info.pgid, sig):
            try:
                os.kill(info.pid, sig)
            except ProcessLookupError:
                pass
    return found
