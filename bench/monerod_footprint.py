"""Measure what one regtest monerod and one monero-wallet-rpc cost, to justify the local backend's
memory estimate (``monerosim_actors/backends/resources.py``).

Starts a regtest monerod and a wallet-rpc on a loopback address of their own (127.60.250.1, with the
project's usual flags from ``monero_args``, plus ``--offline``: a regtest node without peers is
never "synchronised" and answers ``generateblocks`` with BUSY), and records: start-up time to an answering RPC, resident
memory (RSS) when idle, and after mining 100 blocks to the wallet and letting it refresh. Also the RSS
of a bare Python interpreter that imports the runtime's libraries (pykka, zmq, msgpack, requests,
yaml), the floor of a host runtime. Writes ``bench/results/monerod_footprint.json``.

Run: ``.venv/bin/python bench/monerod_footprint.py [--repeat N]``. The medians across repeats are the
figures; every sample is kept in the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monerosim_actors.monero_args import monerod_argv, wallet_argv  # noqa: E402
from monerosim_actors.plan import HostPlan, MonerodPlan, WalletPlan  # noqa: E402

IP = "127.60.250.1"
RESULT = ROOT / "bench" / "results" / "monerod_footprint.json"
IDLE_SETTLE_S = 10.0
"""How long a freshly started program is left alone before its idle RSS is read."""


def rss_mb(pid: int) -> float:
    """Resident set size of one process, in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def rpc(port: int, method: str, params: dict | None = None, path: str = "json_rpc") -> dict:
    reply = requests.post(f"http://{IP}:{port}/{path}",
                          json={"jsonrpc": "2.0", "id": "0", "method": method, "params": params or {}},
                          timeout=120)
    reply.raise_for_status()
    body = reply.json()
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']}")
    status = body["result"].get("status", "OK")
    if status != "OK":
        raise RuntimeError(f"{method}: status {status}")
    return body["result"]


def wait_ready(port: int, method: str, proc: subprocess.Popen, deadline_s: float = 120.0) -> float:
    """Seconds until the RPC answers ``method`` (bounded exponential back-off)."""
    start = time.monotonic()
    delay = 0.05
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before its RPC answered")
        try:
            rpc(port, method)
            return time.monotonic() - start
        except (requests.RequestException, RuntimeError):
            if time.monotonic() - start > deadline_s:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def settle(seconds: float) -> None:
    threading.Event().wait(seconds)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def one_sample(workdir: Path) -> dict:
    host = HostPlan(
        name="bench", agent_id="bench", role="bench", role_class="", ip=IP, network_node_id=0,
        start_time_s=0, seed=0, params={},
        monerod=MonerodPlan(p2p_port=18080, rpc_port=18081, zmq_rpc_port=18082, zmq_pub_port=18083,
                            difficulty=1, priority_peers=(), extra_args=("--offline",)),
        wallet=WalletPlan(rpc_port=18088, daemon_address=f"{IP}:18081"),
        bus_port=None, processes=())
    out = {}
    log = open(workdir / "monerod.stdout", "wb")
    t0 = time.monotonic()
    daemon = subprocess.Popen(monerod_argv(shutil.which("monerod") or "monerod", host, str(workdir)),
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wallet = None
    try:
        out["monerod_ready_s"] = wait_ready(18081, "get_info", daemon)
        settle(IDLE_SETTLE_S)
        out["monerod_idle_rss_mb"] = rss_mb(daemon.pid)
        wlog = open(workdir / "wallet.stdout", "wb")
        wallet = subprocess.Popen(wallet_argv(shutil.which("monero-wallet-rpc") or "monero-wallet-rpc",
                                              host, str(workdir)),
                                  stdout=wlog, stderr=subprocess.STDOUT, start_new_session=True)
        out["wallet_ready_s"] = wait_ready(18088, "get_version", wallet)
        rpc(18088, "create_wallet", {"filename": "w", "language": "English"})
        settle(IDLE_SETTLE_S)
        out["wallet_idle_rss_mb"] = rss_mb(wallet.pid)
        address = rpc(18088, "get_address")["address"]
        t_mine = time.monotonic()
        rpc(18081, "generateblocks", {"amount_of_blocks": 100, "wallet_address": address})
        out["mine_100_blocks_s"] = time.monotonic() - t_mine
        rpc(18088, "refresh")
        settle(IDLE_SETTLE_S)
        out["monerod_after_100_blocks_rss_mb"] = rss_mb(daemon.pid)
        out["wallet_after_100_blocks_rss_mb"] = rss_mb(wallet.pid)
        out["total_s"] = time.monotonic() - t0
    finally:
        if wallet is not None:
            stop(wallet)
        stop(daemon)
    return out


def python_floor_mb() -> float:
    """RSS of an interpreter that imports what a host runtime imports and then waits."""
    code = ("import pykka, zmq, msgpack, requests, yaml, json, threading, sys;"
            "sys.stdout.write('ok\\n'); sys.stdout.flush(); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.readline()
    try:
        return rss_mb(proc.pid)
    finally:
        proc.stdin.close()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    samples = []
    for i in range(opts.repeat):
        with tempfile.TemporaryDirectory(prefix="monerod-footprint-") as tmp:
            sample = one_sample(Path(tmp))
        print(f"sample {i + 1}/{opts.repeat}: {json.dumps(sample)}", file=sys.stderr)
        samples.append(sample)
    medians = {key: round(statistics.median(s[key] for s in samples), 2) for key in samples[0]}
    medians["python_runtime_floor_rss_mb"] = round(python_floor_mb(), 2)
    version = subprocess.run(["monerod", "--version"], capture_output=True, text=True).stdout.strip()
    result = {
        "what": "one regtest monerod and one monero-wallet-rpc on loopback, medians of the samples",
        "monerod_version": version,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "kernel": platform.release()},
        "idle_settle_s": IDLE_SETTLE_S,
        "median": medians,
        "samples": samples,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(medians, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
