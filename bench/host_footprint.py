"""Host footprint: resident memory of an idle host runtime (no monerod) against a bare interpreter.

Two runtimes (``python -m monerosim_actors.runtime.host``) run :class:`bench.null_role.NullRole` without
monerod or wallet: a service host (ROUTER bound) and a client host (a DEALER to it). Once both have
logged ``role_started`` and settled, their RSS is read from /proc. The baseline is an interpreter
that imports exactly the non-project modules the runtime's module graph imports (taken from
``sys.modules`` after ``import monerosim_actors.runtime.host``), then waits. Rounds alternate (hosts,
interpreter, ...). Targets: host/interpreter at most 1.5, and the host under 50 MB.

Run alone: ``.venv/bin/python -m bench host_footprint [--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.buspair import host_config, host_plan
from bench.common import ROOT, row, rss_mb, write_result
from monerosim_actors.plan.model import ServiceAddress
from monerosim_actors.events.read import read_events

NET = 4
SETTLE_S = 2.0
TARGET_RATIO = 1.5
TARGET_MB = 50.0
PROJECT = ("monerosim_actors", "coordination", "actors", "bench", "__main__")


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def runtime_libraries() -> list[str]:
    """Every module the runtime's import graph loads, except the project's own."""
    code = "import json, sys, monerosim_actors.runtime.host; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], env=env(), check=True, capture_output=True, text=True)
    return [m for m in json.loads(out.stdout) if not m.startswith(PROJECT)]


def wait_for(path: Path, event: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Until ``event`` is in the event log ``path`` (read every 50 ms; this is the bench, not a host)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"host exited with {proc.returncode}; see {path.parent}")
        if path.exists() and any(e["event"] == event for e in read_events(str(path))):
            return
        threading.Event().wait(0.05)
    raise RuntimeError(f"no {event} in {path} within {timeout} s")


def start_host(config_json: str, data: Path) -> subprocess.Popen[bytes]:
    data.mkdir(parents=True)
    (data / "host.json").write_text(config_json)
    err = open(data / "runtime.stderr", "wb")  # noqa: SIM115 the child keeps it
    return subprocess.Popen([sys.executable, "-m", "monerosim_actors.runtime.host", "--config", str(data / "host.json")],
                            cwd=data, env=env(), stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def hosts_round() -> dict[str, float]:
    svc = host_plan("fp-service", f"127.70.{NET}.1", 5555)
    services = {"bench_service": ServiceAddress(host=svc.name, ip=svc.ip, port=5555)}
    cli = host_plan("fp-client", f"127.70.{NET}.2", None)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-footprint-") as tmp:
        procs = {plan.name: start_host(host_config(plan, services).to_json(), Path(tmp) / plan.name)
                 for plan in (svc, cli)}
        try:
            for name, proc in procs.items():
                wait_for(Path(tmp) / name / "events.jsonl", "role_started", proc)
            threading.Event().wait(SETTLE_S)
            for name, proc in procs.items():
                out[name.removeprefix("fp-") + "_rss_mb"] = rss_mb(proc.pid)
                out[name.removeprefix("fp-") + "_threads"] = len(os.listdir(f"/proc/{proc.pid}/task"))
        finally:
            for proc in procs.values():
                stop(proc)
    out["rss_mb"] = max(out["service_rss_mb"], out["client_rss_mb"])
    return out


def bare_round(libraries: list[str]) -> dict[str, float]:
    code = ("import importlib, sys\n"
            f"for m in {libraries!r}:\n"
            "    try: importlib.import_module(m)\n"
            "    except Exception: pass\n"
            "sys.stdout.write('ok\\n'); sys.stdout.flush(); sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdout.readline()
        threading.Event().wait(SETTLE_S)
        return {"rss_mb": rss_mb(proc.pid)}
    finally:
        proc.stdin.close()
        proc.wait()


def measure(rounds: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    libraries = runtime_libraries()
    host_rounds, bare_rounds = [], []
    for _ in range(rounds):
        host_rounds.append(hosts_round())
        bare_rounds.append(bare_round(libraries))
    host_mb = statistics.median(r["rss_mb"] for r in host_rounds)
    bare_mb = statistics.median(r["rss_mb"] for r in bare_rounds)
    ratio = statistics.median(h["rss_mb"] / b["rss_mb"] for h, b in zip(host_rounds, bare_rounds, strict=True))
    data = {"rounds": rounds, "hosts": host_rounds, "bare": bare_rounds, "host_rss_mb": host_mb,
            "bare_rss_mb": bare_mb, "ratio": ratio, "libraries_imported": len(libraries), "settle_s": SETTLE_S}
    rows = [row("Idle host runtime RSS (no monerod), vs interpreter with the same imports",
                baseline=f"bare interpreter {bare_mb:.1f} MB", value=f"{host_mb:.1f} MB", ratio=ratio,
                target=f"ratio <= {TARGET_RATIO}", met=ratio <= TARGET_RATIO),
            row("Idle host runtime RSS, absolute", baseline="-", value=f"{host_mb:.1f} MB", ratio=None,
                target=f"< {TARGET_MB:.0f} MB", met=host_mb < TARGET_MB)]
    return rows, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench host_footprint", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args(argv)
    rows, data = measure(opts.rounds)
    write_result("host_footprint", "RSS of an idle host runtime (NullRole, no monerod; service and client "
                 "hosts, the larger) vs an interpreter importing the same non-project modules", rows, data)
    return 0
