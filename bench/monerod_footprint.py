"""Measure what one regtest monerod and one monero-wallet-rpc cost, to justify the local backend's
memory estimate (``monerosim_actors/backends/resources.py``).

Starts two regtest monerods peered with each other (a miner and a follower, on loopback addresses
of their own, 127.60.250.1 and .2, with the project's flags from ``monero_args``) and a wallet-rpc on
the miner, and records: start-up time to an answering RPC, resident memory (RSS) when idle, and after
mining 100 blocks to the wallet: on the miner, on the follower once it has them (verifying a block
needs RandomX too, with a smaller footprint than mining), and of the wallet after a refresh. Also the RSS
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

from bench.common import rss_mb  # noqa: E402
from monerosim_actors.plan.monero_args import monerod_argv, wallet_argv  # noqa: E402
from monerosim_actors.plan.model import HostPlan, MonerodPlan, WalletPlan  # noqa: E402

MINER_IP = "127.60.250.1"
FOLLOWER_IP = "127.60.250.2"
RESULT = ROOT / "bench" / "results" / "monerod_footprint.json"
IDLE_SETTLE_S = 10.0
"""How long a freshly started program is left alone before its idle RSS is read."""
BLOCKS = 100


class Busy(RuntimeError):
    """monerod answered BUSY (not synchronised yet)."""


def rpc(ip: str, port: int, method: str, params: dict | None = None) -> dict:
    reply = requests.post(f"http://{ip}:{port}/json_rpc",
                          json={"jsonrpc": "2.0", "id": "0", "method": method, "params": params or {}},
                          timeout=120)
    reply.raise_for_status()
    body = reply.json()
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']}")
    status = body["result"].get("status", "OK")
    if status == "BUSY":
        raise Busy(method)
    if status != "OK":
        raise RuntimeError(f"{method}: status {status}")
    return body["result"]


def retry(call, proc: subprocess.Popen, deadline_s: float = 120.0):  # type: ignore[no-untyped-def]
    """``call()`` until it succeeds, with a bounded exponential back-off; returns (result, seconds)."""
    start = time.monotonic()
    delay = 0.05
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            return call(), time.monotonic() - start
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


def node(name: str, ip: str, peer: str) -> HostPlan:
    return HostPlan(
        name=name, agent_id=name, role="bench", role_class="", ip=ip, network_node_id=0,
        start_time_s=0, seed=0, params={},
        monerod=MonerodPlan(p2p_port=18080, rpc_port=18081, zmq_rpc_port=18082, zmq_pub_port=18083,
                            difficulty=1, peers=(f"{peer}:18080",)),
        wallet=WalletPlan(rpc_port=18088, daemon_address=f"{ip}:18081"),
        bus_port=None, processes=())


def spawn(argv: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def one_sample(workdir: Path) -> dict:
    """A miner and a follower node peered with each other, a wallet on the miner; mine, measure."""
    miner, follower = node("miner", MINER_IP, FOLLOWER_IP), node("follower", FOLLOWER_IP, MINER_IP)
    monerod = shutil.which("monerod") or "monerod"
    procs: list[subprocess.Popen] = []
    out: dict[str, float] = {}
    try:
        for host in (miner, follower):
            (workdir / host.name).mkdir()
            procs.append(spawn(monerod_argv(monerod, host, str(workdir / host.name)),
                               workdir / host.name / "monerod.stdout"))
        daemon, peer = procs
        _, out["monerod_ready_s"] = retry(lambda: rpc(MINER_IP, 18081, "get_info"), daemon)
        retry(lambda: rpc(FOLLOWER_IP, 18081, "get_info"), peer)
        settle(IDLE_SETTLE_S)
        out["monerod_idle_rss_mb"] = rss_mb(daemon.pid)
        wallet = spawn(wallet_argv(shutil.which("monero-wallet-rpc") or "monero-wallet-rpc", miner,
                                   str(workdir / "miner")), workdir / "wallet.stdout")
        procs.append(wallet)
        _, out["wallet_ready_s"] = retry(lambda: rpc(MINER_IP, 18088, "get_version"), wallet)
        rpc(MINER_IP, 18088, "create_wallet", {"filename": "w", "language": "English"})
        settle(IDLE_SETTLE_S)
        out["wallet_idle_rss_mb"] = rss_mb(wallet.pid)
        address = rpc(MINER_IP, 18088, "get_address")["address"]
        # The first call may be BUSY until the two nodes have synchronised with each other.
        retry(lambda: rpc(MINER_IP, 18081, "generateblocks", {"amount_of_blocks": 1, "wallet_address": address}),
              daemon)
        t_mine = time.monotonic()
        rpc(MINER_IP, 18081, "generateblocks", {"amount_of_blocks": BLOCKS - 1, "wallet_address": address})
        out["mine_100_blocks_s"] = time.monotonic() - t_mine

        def follower_has_them() -> None:
            if rpc(FOLLOWER_IP, 18081, "get_info")["height"] < BLOCKS + 1:
                raise RuntimeError("follower behind")

        retry(follower_has_them, peer)
        rpc(MINER_IP, 18088, "refresh")
        settle(IDLE_SETTLE_S)
        out["monerod_after_100_blocks_rss_mb"] = rss_mb(daemon.pid)
        out["monerod_follower_after_100_blocks_rss_mb"] = rss_mb(peer.pid)
        out["wallet_after_100_blocks_rss_mb"] = rss_mb(wallet.pid)
    finally:
        for proc in reversed(procs):
            stop(proc)
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
        "what": "two peered regtest monerods (a miner, a follower) and a wallet-rpc on loopback, medians of the samples",
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
