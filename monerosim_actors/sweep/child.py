"""``python -m monerosim_actors.sweep.child PARENT_PID COMMAND...``: run COMMAND so that it is told to
stop when the process that started it dies.

A run is started by a Dask worker. If the worker is killed (SIGKILL, out of memory, its machine's
batch job ends), nothing in it can stop the run, and an orphaned run would keep its hosts, addresses
and folder while the sweep starts the run again elsewhere. So this wrapper asks the kernel
(``prctl(PR_SET_PDEATHSIG, SIGTERM)``, kept across ``exec``) to send SIGTERM when its parent goes,
then becomes COMMAND; ``monerosim-actors run`` stops every host cleanly on SIGTERM. Setting this in
the worker between fork and exec (``preexec_fn``) is not safe in a process with threads, hence a
process of its own. Linux only, like the local backend.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not argv[0].isdigit():
        print("usage: python -m monerosim_actors.sweep.child PARENT_PID COMMAND...", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        print(f"sweep child: prctl failed: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 2
    if os.getppid() != int(argv[0]):  # the parent died before prctl: no signal will come
        return 143
    os.execvp(argv[1], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
