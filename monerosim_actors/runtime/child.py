"""A child process in a session of its own, the one lifecycle both process supervisors share.

The host runtime's :class:`~monerosim_actors.runtime.process.ProcessSupervisor` (monerod, the
wallet) and the local backend (the host runtimes, and the programs Shadow would start) start their
children the same way and watch them the same way:

- :func:`spawn` starts ``argv`` in its folder as the leader of a new session (so a signal to the
  parent's group does not reach it, and its whole group can be stopped), with its output appended
  to ``NAME.stdout`` / ``NAME.stderr`` there; optionally with SIGTERM/SIGINT blocked across the
  exec (:func:`stop_signals_blocked`).
- Exits are never polled: a thread per child blocks in ``waitid(WNOWAIT)`` until the child has
  exited, which leaves it a zombie; then it kills what the child left in its group, reaps it,
  records the exit code, sets :attr:`Child.exited` and calls the parent's ``on_exit``.
- :meth:`Child.signal` signals the whole group, but only while the child is not reaped (a lock
  keeps the waiter from reaping meanwhile): the group's id is the child's pid, which the kernel
  cannot give to another process before then. After that, nothing of the group is left to signal.
  :func:`~monerosim_actors.runtime.stopping.terminate` stops children this way.
- :meth:`Child.tail` reads the end of what this run of it wrote.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

TAIL_BYTES = 64 * 1024
"""A tail is read from at most this much of the end of an output file."""


class Child:
    """One started process (one run of a program) and what became of it."""

    def __init__(self, name: str, host: str, popen: subprocess.Popen[bytes], data_dir: str,
                 outputs: dict[str, tuple[str, int]]) -> None:
        self.name = name
        self.host = host
        self.popen = popen
        self.data_dir = data_dir
        self.outputs = outputs
        """stream (``stdout``, ``stderr``) -> (path, its size when the process started)."""
        self.started_at = time.monotonic()
        self.exited = threading.Event()
        """Set by the waiter thread once the process has exited (:attr:`returncode` is then set)."""
        self.returncode: int | None = None
        self.ended_by_parent = False
        """The parent is ending it on purpose (a stop RPC, SIGTERM, a kill after a failed start):
        its exit is no surprise."""
        self.killed = False
        """The parent had to SIGKILL it while it was still running."""
        self._leader_exited = False
        """Set by the waiter thread as soon as the process has exited (still unreaped)."""
        self._reaped = False
        self._reaping = threading.Lock()
        """Held while the group is signalled, and while the waiter thread reaps: never both at once."""

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def pgid(self) -> int:
        """It leads its own session, so its group id is its pid."""
        return self.popen.pid

    def signal(self, sig: int) -> bool:
        """Send ``sig`` to its whole group; False once it has been reaped (nothing is sent then).

        A SIGKILL sent while it still runs marks it :attr:`killed`.
        """
        with self._reaping:
            if self._reaped:
                return False
            try:
                os.killpg(self.pgid, sig)
            except (ProcessLookupError, PermissionError):
                return False
            if sig == signal.SIGKILL and not self._leader_exited:
                self.killed = True
            return True

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds until it has exited and was reaped; True once it has."""
        return self.exited.wait(timeout)

    def tail(self, stream: str, lines: int) -> str:
        """The last ``lines`` lines this run wrote to ``stream`` (``stdout`` or ``stderr``)."""
        path, offset = self.outputs[stream]
        return read_tail(path, lines, offset)


def read_tail(path: str, lines: int, offset: int = 0) -> str:
    """The last ``lines`` lines written to ``path`` after ``offset`` ("" when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(offset, size - TAIL_BYTES))
            data = f.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").rstrip().splitlines()[-lines:])


def environment_with(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``extra`` on top; an ``LD_PRELOAD`` in ``extra`` is appended
    to the inherited one (under Shadow that is the compatibility shim, which must stay first)."""
    env = dict(os.environ)
    for name, value in extra.items():
        env[name] = f"{env[name]} {value}" if name == "LD_PRELOAD" and env.get(name) else value
    return env


def spawn(name: str, argv: Sequence[str], data_dir: str, *, host: str, on_exit: Callable[[Child], None],
          env: Mapping[str, str] | None = None, block_stop_signals: bool = False) -> Child:
    """Start ``argv`` in ``data_dir`` as a session leader, its output appended to ``NAME.stdout`` and
    ``NAME.stderr`` there; ``on_exit(child)`` is called from its waiter thread once it has exited.

    Args:
        name: the output files' name (``runtime``, ``monerod``, ``wallet``).
        host: whose process it is (for messages).
        env: its whole environment (default: this process's).
        block_stop_signals: start it with SIGTERM/SIGINT blocked (:func:`stop_signals_blocked`).

    Raises:
        OSError: the program or its output files cannot be opened.
    """
    outputs: dict[str, tuple[str, int]] = {}
    with contextlib.ExitStack() as files:
        handles = []
        for stream in ("stdout", "stderr"):
            path = os.path.join(data_dir, f"{name}.{stream}")
            f = files.enter_context(open(path, "ab"))  # closed after Popen: the child keeps its copy
            handles.append(f)
            outputs[stream] = (path, f.tell())
        with stop_signals_blocked(block_stop_signals):
            popen = subprocess.Popen(list(argv), cwd=data_dir, env=None if env is None else dict(env),
                                     stdin=subprocess.DEVNULL, stdout=handles[0], stderr=handles[1],
                                     start_new_session=True)
    child = Child(name, host, popen, data_dir, outputs)
    threading.Thread(target=_wait, args=(child, on_exit), name=f"wait-{host}-{name}-{popen.pid}",
                     daemon=True).start()
    return child


def _wait(child: Child, on_exit: Callable[[Child], None]) -> None:
    """The waiter thread: blocks until the child exits, kills what it left in its group while its
    pid still holds the group's id, reaps it, records the exit, tells the parent."""
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    child._leader_exited = True
    with child._reaping:
        try:
            os.killpg(child.pgid, signal.SIGKILL)  # a group must not outlive its leader: see Child.signal
        except (ProcessLookupError, PermissionError):
            pass
        child.returncode = child.popen.wait()
        child._reaped = True
    child.exited.set()
    on_exit(child)


@contextlib.contextmanager
def stop_signals_blocked(block: bool = True) -> Iterator[None]:
    """Block SIGTERM/SIGINT in this thread while a host runtime is spawned: the child inherits the
    mask across exec, so a stop that comes while its interpreter is still starting stays pending
    until the runtime has installed its handlers and unblocks them (exit 0, instead of being killed
    by the default action). Only for runtimes: a monerod started so would never see its SIGTERM."""
    if not block:
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
