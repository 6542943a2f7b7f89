"""Pid files of the managed programs, so that a host killed with SIGKILL can clean up after itself.

monerod and the wallet run in process groups of their own (a signal to the host's group must not
reach them before the host has stored the wallets). The price: when the host runtime itself is killed
with SIGKILL it cannot stop them, and they keep its addresses; the restarted host would find its
RPC port answered by an orphan and refuse to start. So the supervisor writes ``NAME.pid`` in the
host's data directory when it starts a program and removes it when the program has exited; at the
next start, a pid file that is still there names a program of an earlier incarnation of this host.
It is stopped (SIGTERM, so monerod flushes its chain and the wallet stores itself; SIGKILL after a
timeout) only if its command line (``/proc/PID/cmdline``) is exactly the argv this host would start,
which holds the data directory, and then through a pidfd opened before that check: a recycled pid
or another host's program is never touched.

(``PR_SET_PDEATHSIG`` is not used: it fires when the parent THREAD exits, and the supervisor's
threads come and go.)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from monerosim_actors.runtime.stopping import Held, terminate

log = logging.getLogger(__name__)


def path_for(data_dir: str, name: str) -> str:
    return os.path.join(data_dir, f"{name}.pid")


def record(path: str, pid: int) -> None:
    """Write ``pid`` to ``path`` (atomically: a torn pid file would name the wrong process)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{pid}\n")
    os.replace(tmp, path)


def forget(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def leftover(path: str, argv: Sequence[str]) -> int | None:
    """The pid named by ``path`` if that process is alive (not a zombie) and runs exactly ``argv``, else None.

    psutil reads ``/proc/PID`` (the same files under Shadow as outside it). It is imported only
    when a pid file is there, which is after a host was killed: importing it takes 12 ms and some
    500 syscalls (it reads ``/proc/stat`` and probes ``/proc/self``), which every host's start
    would pay for nothing, under Shadow in simulated time.
    """
    try:
        with open(path, encoding="ascii") as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    import psutil

    try:
        process = psutil.Process(pid)
        with process.oneshot():
            if process.status() == psutil.STATUS_ZOMBIE or process.cmdline() != list(argv):
                return None
    except (psutil.Error, ValueError):  # gone, not ours to read, or not a pid at all
        return None
    return pid


def stop_leftover(path: str, argv: Sequence[str], term_timeout_s: float) -> int | None:
    """Stop the program of an earlier incarnation that ``path`` names (see the module docstring):
    SIGTERM, SIGKILL after ``term_timeout_s`` (:func:`~monerosim_actors.runtime.stopping.terminate`),
    to that process alone (it led a group of its own, with nothing else in it).

    Returns:
        its pid if there was one and it was stopped, else None (a program that cannot be held
        safely is left alone, and its RPC answering then stops the start). The pid file is removed
        either way.
    """
    pid = leftover(path, argv)
    held = None
    if pid is not None:
        try:
            held = Held.open(pid, lambda: leftover(path, argv) == pid)
        except OSError as e:
            log.warning("cannot hold %s (pid %d) to stop it safely: %s; leaving it", argv[0], pid, e)
    forget(path)
    if held is None:
        return None
    log.warning("stopping %s (pid %d), left running by an earlier run of this host", argv[0], held.pid)
    try:
        terminate([held], term_timeout_s)
    finally:
        held.close()
    return held.pid
