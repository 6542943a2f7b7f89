"""Process groups and stray programs: tell whether anything in a group is still alive, find and stop strays.

Every process the local backend starts leads a session (and so a process group) of its own, and the
host runtime starts monerod and the wallet in sessions of their own too. Liveness is read from
``/proc`` as well as ``kill(pgid, 0)``: a zombie nobody reaps (PID 1 of a container need not) still
answers ``kill`` but holds no memory, no port and no file, so it does not count as left behind.

``/proc`` is read through psutil, the project's one reader of it (a process that ends while it is
being read is simply not there; a command line is split as the kernel wrote it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import psutil

from monerosim_actors.runtime.stopping import Held, terminate

ATTRS = ["pid", "status", "cmdline"]
"""What psutil reads of each process (``as_dict`` reads them in one go)."""


@dataclass(frozen=True)
class ProcInfo:
    """One process as /proc shows it."""

    pid: int
    pgid: int
    zombie: bool
    """It has exited and nobody reaped it yet: it holds nothing but its pid."""
    argv: tuple[str, ...]
    """Empty for a zombie (the kernel has dropped it)."""


def read_proc(pid: int) -> ProcInfo | None:
    """The process ``pid``, or None when it is gone (or vanished while being read)."""
    try:
        return _info(psutil.Process(pid).as_dict(ATTRS))
    except psutil.NoSuchProcess:
        return None


def all_processes() -> Iterator[ProcInfo]:
    for process in psutil.process_iter(ATTRS):
        info = _info(process.info)
        if info is not None:
            yield info


def _info(attrs: dict[str, Any]) -> ProcInfo | None:
    """A :class:`ProcInfo` of psutil's answers (it answers None for what it may not read: a
    zombie's command line); None when the process is gone by the time its group is asked for."""
    try:
        pgid = os.getpgid(attrs["pid"])
    except ProcessLookupError:
        return None
    return ProcInfo(pid=attrs["pid"], pgid=pgid, zombie=attrs["status"] == psutil.STATUS_ZOMBIE,
                    argv=tuple(attrs["cmdline"] or ()))


def group_alive(pgid: int) -> bool:
    """True while a process of group ``pgid`` other than a zombie exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(p.pgid == pgid and not p.zombie for p in all_processes())


def naming(needle: str) -> list[ProcInfo]:
    """Live (not zombie) processes other than this one with an argument that contains ``needle``."""
    me = os.getpid()
    return [info for info in all_processes()
            if info.pid != me and not info.zombie and any(needle in a for a in info.argv)]


def strays(out_dir: str, programs: Iterable[str]) -> list[ProcInfo]:
    """Live processes running one of ``programs`` (by file name) whose command line names ``out_dir``.

    This is how the local backend finds a monerod or wallet-rpc whose host runtime died before it
    could stop it: their data directories are inside ``out_dir``, so their command lines name it.
    """
    names = {os.path.basename(p) for p in programs}
    return [info for info in naming(out_dir) if os.path.basename(info.argv[0]) in names]


def stop_strays(out_dir: str, programs: Iterable[str], term_timeout_s: float) -> list[ProcInfo]:
    """Stop every stray of :func:`strays`: SIGTERM, SIGKILL after ``term_timeout_s``
    (:func:`~monerosim_actors.runtime.stopping.terminate`). Each is held by a pidfd and checked to be
    the stray found before it is signalled, so a pid reused since it was found is never signalled.
    Only that process is (monerod and the wallet lead groups with nothing else in them).

    Returns:
        the strays found (gone now, unless one survived SIGKILL).
    """
    found = strays(out_dir, programs)
    held = [h for h in (Held.open(info.pid, lambda info=info: _still(info)) for info in found) if h is not None]
    try:
        terminate(held, term_timeout_s)
    finally:
        for h in held:
            h.close()
    return found


def _still(info: ProcInfo) -> bool:
    """``info``'s process is still there, alive, with the same command line."""
    now = read_proc(info.pid)
    return now is not None and not now.zombie and now.argv == info.argv
