"""A stand-in for ``python -m monerosim_actors.runtime.host`` in the local backend's tests.

``fake_host.py HOST MODE [SECONDS] [STRAY_ARGV...]`` writes ``events.jsonl`` in its working directory
as the real runtime does, then, by MODE:
- ``exit``: runs SECONDS, logs ``host_stopped`` and exits 0;
- ``until``: runs until the file STRAY_ARGV[0] exists (another process of the host made it), then as ``exit``;
- ``fail``: writes a complaint to stderr and exits 3;
- ``hang``: waits for SIGTERM, then logs ``host_stopped`` and exits 0;
- ``stubborn``: ignores SIGTERM and waits forever (the runner must SIGKILL it);
- ``orphan``: starts STRAY_ARGV in a session of its own (a "monerod" it never stops) and exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time


def emit(host: str, event: str, **fields: object) -> None:
    with open("events.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"t": time.time(), "host": host, "actor": "runtime", "event": event,
                            **fields}) + "\n")


def main() -> int:
    host, mode = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})  # as the runtime does
    emit(host, "host_started", role="fake", agent_id=host, ip="127.60.0.1", seed=0, time_scale=1,
         pid=os.getpid(), cwd=os.getcwd(),
         env={k: v for k, v in os.environ.items() if k.startswith("MONEROSIM_")})
    if mode == "exit":
        stop.wait(seconds)
    elif mode == "until":
        while not os.path.exists(sys.argv[4]) and not stop.wait(0.05):
            pass
    elif mode == "fail":
        print(f"{host}: something broke: the fake was told to fail", file=sys.stderr, flush=True)
        return 3
    elif mode == "hang":
        stop.wait()
    elif mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        emit(host, "stubborn")
        threading.Event().wait()
    elif mode == "orphan":
        proc = subprocess.Popen(sys.argv[4:], start_new_session=True, stdin=subprocess.DEVNULL)
        emit(host, "process_started", name="monerod", pid=proc.pid, argv=sys.argv[4:])
    emit(host, "host_stopped", reason="end", exit_code=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
