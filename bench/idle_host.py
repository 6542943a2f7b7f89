"""How many syscalls an idle host runtime makes: ``strace -c -f`` on running hosts for 60 s.

Three host runtimes (``python -m monerosim_actors.runtime.host``) run a role that does nothing:
``service`` (binds a ROUTER, no monerod), ``client`` (a DEALER connected to that service, no
monerod) and ``node`` (its own monerod and wallet-rpc, which are not traced: strace attaches to the
runtime's threads only). Once each has logged ``role_started`` and settled, ``strace -c -f -p PID``
(which attaches to every thread of PID) counts the runtime's syscalls for the measuring window. A
control process sleeping 1 s in a loop is measured alongside, to show the method counts (about 60 a
minute). The target is at most 100 per minute.

Usage: ``.venv/bin/python bench/idle_host.py [--seconds 60] [--out bench/results/idle_host.json]``
(needs ``strace`` and, for ``node``, monerod and monero-wallet-rpc).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pykka

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monerosim_actors.events.read import read_events  # noqa: E402
from tests.e2e.plans import host_config, host_plan, service, write_config  # noqa: E402

ROLE = "idle_host:NullRole"
TARGET_PER_MIN = 100


class NullRole(pykka.ThreadingActor):
    """A role that does nothing at all."""

    def __init__(self, ctx: Any) -> None:
        super().__init__()


def start_host(config: Any, root: Path) -> tuple[subprocess.Popen[bytes], Path]:
    data = root / config.host.name
    data.mkdir(parents=True)
    path = write_config(config, root / "hosts")
    env = dict(os.environ, PYTHONPATH=f"{REPO}:{REPO / 'bench'}")
    err = open(data / "runtime.stderr", "ab")  # noqa: SIM115 the child keeps it
    proc = subprocess.Popen([sys.executable, "-m", "monerosim_actors.runtime.host", "--config", str(path)],
                            cwd=data, env=env, stdout=subprocess.DEVNULL, stderr=err,
                            start_new_session=True)
    return proc, data / "events.jsonl"


def wait_started(events: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"host exited with {proc.returncode}; see {events.parent}/runtime.stderr")
        if events.exists() and any(e["event"] == "role_started" for e in read_events(str(events))):
            return
        time.sleep(0.2)
    raise SystemExit(f"host did not start within {timeout} s; see {events.parent}/runtime.stderr")


def parse_strace(text: str) -> dict[str, Any]:
    """Total calls and the per-syscall counts from ``strace -c`` output."""
    calls: dict[str, int] = {}
    total = 0
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 5 and re.fullmatch(r"[\d.]+", cols[0]) and cols[3].isdigit():
            name = cols[-1]
            if name == "total":
                total = int(cols[3])
            else:
                calls[name] = int(cols[3])
    return {"total": total, "by_syscall": dict(sorted(calls.items(), key=lambda kv: -kv[1]))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait after start-up")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "idle_host.json"))
    parser.add_argument("--no-node", action="store_true", help="skip the host with monerod and wallet")
    opts = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="idle-host-"))
    svc = host_plan("idle-service", "127.30.8.1", role_class=ROLE, monerod=False, wallet=False,
                    bus_port=5555)
    services = {"svc": service(svc)}
    configs = {
        "service": host_config(svc, services=services),
        "client": host_config(host_plan("idle-client", "127.30.8.2", role_class=ROLE, monerod=False,
                                        wallet=False), services=services),
    }
    if not opts.no_node:
        configs["node"] = host_config(host_plan("idle-node", "127.30.8.3", role_class=ROLE),
                                      services=services)
    hosts = {name: start_host(config, root) for name, config in configs.items()}
    # a control that sleeps 1 s in a loop: the method must count about 60 calls a minute for it
    control = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"])
    hosts["control_sleep_1s_loop"] = (control, Path(os.devnull))
    results: dict[str, Any] = {}
    try:
        for name, (proc, events) in hosts.items():
            if name in configs:
                wait_started(events, proc)
        time.sleep(opts.settle)
        tracers = {name: subprocess.Popen(["strace", "-c", "-f", "-p", str(proc.pid)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                   for name, (proc, _) in hosts.items()}
        time.sleep(opts.seconds)
        for name, tracer in tracers.items():
            tracer.send_signal(signal.SIGINT)
            _, err = tracer.communicate()  # strace prints its table on exit; no timeout needed
            counted = parse_strace(err)
            threads = len(os.listdir(f"/proc/{hosts[name][0].pid}/task"))
            found = re.search(r"^strace: Process \d+ attached(?: with (\d+) threads)?", err, re.M)
            attached = int(found.group(1) or 1) if found else 0
            if attached != threads:
                raise SystemExit(f"strace attached {attached} of {threads} threads of {name}")
            results[name] = {"syscalls": counted["total"],
                             "per_minute": round(counted["total"] * 60.0 / opts.seconds, 1),
                             "threads": threads, "threads_traced": attached,
                             "by_syscall": counted["by_syscall"]}
    finally:
        for proc, _ in hosts.values():
            proc.send_signal(signal.SIGTERM)
        for proc, _ in hosts.values():
            proc.wait(120)
    report = {
        "benchmark": "idle_host",
        "what": "syscalls of an idle host runtime (python -m monerosim_actors.runtime.host with a role that "
                "does nothing), strace -c -f -p PID, monerod and wallet-rpc not traced",
        "seconds": opts.seconds,
        "target_per_minute": TARGET_PER_MIN,
        "hosts": results,
        "why": "every runtime thread blocks without a timeout while idle: pykka actors and the "
               "scheduler on their queue/condition, the bus in zmq poll(-1) (woken through an inproc "
               "PAIR), ZeroMQ's I/O threads in epoll_wait, process waiters in waitpid, the main "
               "thread in select() until the scenario's end",
        "max_per_minute": max(r["per_minute"] for n, r in results.items() if n in configs),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v["per_minute"] for k, v in results.items()}))
    if not 30 <= results["control_sleep_1s_loop"]["per_minute"] <= 200:
        raise SystemExit("the control's count is off: the measurement cannot be trusted")
    return 0 if report["max_per_minute"] <= TARGET_PER_MIN else 1


if __name__ == "__main__":
    sys.exit(main())
