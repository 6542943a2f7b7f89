"""The shadow backend: run the ``shadow`` binary on ``OUT/shadow.yaml`` and report how it ended.

Shadow runs with OUT as its working directory, so its data directory is ``OUT/shadow.data`` (the
layout the local backend copies). Its output is streamed to the user as it comes and kept in
``OUT/shadow.log``. SIGINT/SIGTERM to the runner are passed on to Shadow, which stops its hosts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from typing import TextIO

from monerosim_actors.defaults import DATA_DIR, SHADOW_FILE

LOG_FILE = "shadow.log"
INSTALL_HINT = """\
Shadow is not installed (no `shadow` on PATH; name it with --shadow-bin PATH).
To get it, build Shadow 3.x from source: https://shadow.github.io/docs/guide/install_shadow.html
Stock Shadow 3.3 refuses two socket options monerod's RPC server sets (IP_TOS, TCP_NODELAY off):
use a Shadow that accepts them, such as the fork the Monero simulation community maintains (it also
adds sendmmsg and no-op mlock/msync for LMDB). Meanwhile, `--backend local` runs the same scenario
on this machine."""


def locate(shadow_bin: str | None) -> str | None:
    """The Shadow binary: ``shadow_bin`` if it is an executable (or a name on PATH), else ``shadow``."""
    candidate = shadow_bin or "shadow"
    if os.sep in candidate:
        return os.path.abspath(candidate) if os.access(candidate, os.X_OK) and os.path.isfile(candidate) else None
    return shutil.which(candidate)


def run(out_dir: str, shadow_bin: str | None, stream: TextIO) -> int:
    """Run Shadow on OUT; returns 0 when it succeeded, 2 when it cannot run, 128+N on signal N, else 1."""
    binary = locate(shadow_bin)
    if binary is None:
        named = f" ({shadow_bin} is not an executable)" if shadow_bin else ""
        stream.write(f"monerosim-actors run: {INSTALL_HINT.splitlines()[0]}{named}\n"
                     + "\n".join(INSTALL_HINT.splitlines()[1:]) + "\n")
        return 2
    data = os.path.join(out_dir, DATA_DIR)
    if os.path.lexists(data):
        stream.write(f"monerosim-actors run: {data} already exists (Shadow refuses to overwrite it); "
                     "run again with --force to regenerate OUT\n")
        return 2
    stream.write(f"running {binary} {SHADOW_FILE} in {out_dir}\n")
    stream.flush()
    proc = subprocess.Popen([binary, SHADOW_FILE], cwd=out_dir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    received: list[int] = []
    restore = _forward_signals(proc, received)
    try:
        assert proc.stdout is not None
        with open(os.path.join(out_dir, LOG_FILE), "wb") as log:
            for line in iter(proc.stdout.readline, b""):
                log.write(line)
                stream.write(line.decode(errors="replace"))
                stream.flush()
        code = proc.wait()
    finally:
        restore()
    if received:
        stream.write(f"monerosim-actors run: interrupted by {signal.Signals(received[0]).name}; "
                     f"Shadow exited with {_describe(code)}\n")
        return 128 + received[0]
    if code != 0:
        stream.write(f"monerosim-actors run: Shadow failed ({_describe(code)}); see "
                     f"{os.path.join(out_dir, LOG_FILE)} and the hosts' logs in {data}/hosts/\n")
        return 1
    stream.write(f"Shadow finished.\noutput: {out_dir}\nnext:   monerosim-actors analyze {out_dir}\n")
    return 0


def _describe(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"


def _forward_signals(proc: subprocess.Popen[bytes], received: list[int]) -> Callable[[], None]:
    """Pass SIGINT/SIGTERM on to Shadow's process group; returns what restores the old handlers."""

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for s, h in old.items():
            signal.signal(s, h)

    return restore
