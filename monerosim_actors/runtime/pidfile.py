"""Pid files of the managed programs, so that a host killed with SIGKILL can clean up after itself.

monerod and the wallet run in process groups of their own (a signal to the host's group must not
reach them before the host has stored the wallets). The price: when the host runtime itself is killed
with SIGKILL it cannot stop them, and they keep its addresses; the restarted host would find its
RPC port answered by an orphan and refuse to start. So the supervisor writes ``NAME.pid`` in the
host's data directory when it starts a program and removes it when the program has exited; at the
next start, a pid file that is still there names a program of an earlier incarnation of this host.
It is stopped (SIGTERM, so monerod flushes its chain and the wallet stores itself; SIGKILL after a
timeout) only if its command line (``/proc/PID/cmdline``) is exactly the argv this host would start,
which holds the data directory: a recycled pid or another host's program is never touched.

(``PR_SET_PDEATHSIG`` is not used: it fires when the parent THREAD exits, and the supervisor's
threads come and go.)
"""

from __future__ import annotations

import logging
import os
import select
import signal
from collections.abc import Sequence

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
    """Stop the program of an earlier incarnation that ``path`` names (see the module docstring).

    Returns:
        its pid if there was one (it is gone now), else None. The pid file is removed either way.
    """
    pid = leftover(path, argv)
    if pid is not None:
        log.warning("stopping %s (pid %d), left running by an earlier run of this host", argv[0], pid)
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            fd = None
        if fd is not None:
            try:
                _signal(pid, signal.SIGTERM)
                if not select.select([fd], [], [], term_timeout_s)[0]:
                    _signal(pid, signal.SIGKILL)
                    select.select([fd], [], [], 10.0)
            finally:
                os.close(fd)
    forget(path)
    return pid


def _signal(pid: int, sig: int) -> None:
    """Signal the program's whole group (it leads one), or the process alone if it does not."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass
