"""Local run growth: bring-up time and peak memory of 2, 4, 8 and 16 hosts, as factors per doubling.

Runs through the real local backend (:class:`monerosim_actors.backends.local.LocalBackend`) a plan
of N node hosts built here: each host runs the host runtime with :class:`bench.null_role.NullRole`,
which starts and supervises a real regtest monerod and monero-wallet-rpc (each node peers with the
previous one), on 127.70.5.x. A scenario's own roles would add their bootstrap's mining and funding
to the start-up; this measures what the framework itself costs per host. Bring-up time runs from
the backend's start to the last host's ``role_started`` (the role starts once monerod's and the
wallet's RPCs answer); memory is the sum of the RSS of every process of the run (runtimes, monerods,
wallets), sampled every 0.2 s until every host is ready and for a few seconds after; the figure is
its peak. The CPU time those processes had used when the last host became ready is recorded too:
divided by the machine's CPUs it is the least time the bring-up could take. Targets: memory close
to linear in hosts (x2 per doubling) and bring-up time growing sub-linearly (< x2 per doubling:
hosts start in parallel). Every size runs ``--repeat`` times (all sizes, then all again; once by
default, to keep the suite within 15 minutes) and the run with the (lower) median bring-up time
counts.

Run alone: ``.venv/bin/python -m bench local_growth [--sizes 2 4 8 16]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from bench.common import ROOT, row, write_result
from monerosim_actors import defaults
from monerosim_actors.backends.local import LocalBackend
from monerosim_actors.plan.model import (PLAN_VERSION, Binaries, ConsensusPlan, HostPlan, MonerodPlan,
                                   NetworkPlan, NodeAccess, Plan, ProcessPlan, WalletPlan, host_config)
from monerosim_actors.events.read import read_events

SIZES = (2, 4, 8, 16)
NET = 5
SAMPLE_S = 0.2
AFTER_READY_S = 5.0
READY_TIMEOUT_S = 300.0
MEMORY_FACTOR_MAX = 2.2
"""A doubling may cost at most this factor in memory to count as close to linear."""
TIME_FACTOR_MAX = 2.0


def make_plan(n: int, out: str) -> Plan:
    """``n`` node hosts (monerod + wallet + NullRole), each peered with the previous one."""
    hosts = []
    for i in range(n):
        name, ip = f"node-{i:02d}", f"127.70.{NET}.{i + 1}"
        peers = (f"127.70.{NET}.{i}:{defaults.MONEROD_P2P_PORT}",) if i else ()
        config = os.path.join(out, defaults.HOSTS_DIR, f"{name}.json")
        hosts.append(HostPlan(
            name=name, agent_id=name.replace("-", "_"), role="bench", role_class="bench.null_role:NullRole",
            ip=ip, network_node_id=0, start_time_s=0.0, seed=i, params={},
            monerod=MonerodPlan(p2p_port=defaults.MONEROD_P2P_PORT, rpc_port=defaults.MONEROD_RPC_PORT,
                                zmq_rpc_port=defaults.MONEROD_ZMQ_RPC_PORT,
                                zmq_pub_port=defaults.MONEROD_ZMQ_PUB_PORT, difficulty=1,
                                peers=peers, extra_args=()),
            wallet=WalletPlan(rpc_port=defaults.WALLET_RPC_PORT, daemon_address=f"{ip}:{defaults.MONEROD_RPC_PORT}"),
            bus_port=None,
            node=NodeAccess(name, ip, defaults.MONEROD_RPC_PORT, defaults.MONEROD_ZMQ_PUB_PORT),
            processes=(ProcessPlan("runtime", sys.executable, ("-m", "monerosim_actors.runtime.host", "--config", config),
                                   0.0, {"PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}),)))
    return Plan(version=PLAN_VERSION, scenario_path="bench", seed=0, duration_s=3600.0, stop_time_s=3660.0,
                launch_mode="runtime", addressing="loopback", consensus=ConsensusPlan(block_time_s=120.0, difficulty=1),
                binaries=Binaries(python=sys.executable, monerod="/usr/bin/monerod",
                                  wallet_rpc="/usr/bin/monero-wallet-rpc"),
                services={}, network=NetworkPlan(kind="switch", gml=None), shadow_general={},
                shadow_experimental={}, hosts=tuple(hosts))


def run_usage(out: str) -> tuple[float, dict[str, float]]:
    """Summed RSS (MiB) of every process whose command line names ``out``, and the CPU time (s) they
    used so far by kind: ``runtime``, ``monerod``, ``wallet``."""
    rss = 0
    cpu_s = {"runtime": 0.0, "monerod": 0.0, "wallet": 0.0}
    for process in psutil.process_iter(["cmdline", "memory_info", "cpu_times"]):
        cmdline, memory, times = (process.info[k] for k in ("cmdline", "memory_info", "cpu_times"))
        if not cmdline or memory is None or times is None or not any(out in a for a in cmdline):
            continue  # not ours, or a zombie
        program = cmdline[0]
        kind = "wallet" if program.endswith("wallet-rpc") else "monerod" if program.endswith("monerod") else "runtime"
        rss += memory.rss
        cpu_s[kind] += times.user + times.system
    return rss / 2**20, cpu_s


def one_size(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-growth-{n}-") as tmp:
        out = os.path.join(tmp, "out")
        plan = make_plan(n, out)
        os.makedirs(os.path.join(out, defaults.HOSTS_DIR))
        for host in plan.hosts:
            Path(out, defaults.HOSTS_DIR, f"{host.name}.json").write_text(host_config(plan, host).to_json())
        backend = LocalBackend(plan, out, term_timeout_s=60.0)
        result: dict[str, Any] = {}
        runner = threading.Thread(target=lambda: result.update(run=backend.run()), name="local-backend")
        t0 = time.monotonic()
        runner.start()
        ready: dict[str, float] = {}
        peak = 0.0
        cpu_at_ready: dict[str, float] = {}
        last_ready = None
        try:
            while last_ready is None or time.monotonic() - t0 < last_ready + AFTER_READY_S:
                if time.monotonic() - t0 > READY_TIMEOUT_S:
                    raise RuntimeError(f"{n} hosts: only {len(ready)} ready after {READY_TIMEOUT_S} s in {out}")
                if not runner.is_alive():
                    raise RuntimeError(f"{n} hosts: the run ended early: {result.get('run')}")
                rss, cpu = run_usage(out)
                peak = max(peak, rss)
                for host in plan.hosts:
                    events = Path(defaults.host_data_dir(out, host.name), defaults.EVENTS_FILE)
                    if host.name not in ready and events.exists() and \
                            any(e["event"] == "role_started" for e in read_events(str(events))):
                        ready[host.name] = time.monotonic() - t0
                if last_ready is None and len(ready) == n:
                    last_ready = max(ready.values())
                    cpu_at_ready = cpu
                threading.Event().wait(SAMPLE_S)
        finally:
            backend.interrupt()
            runner.join()
        run = result["run"]
        if run.leftovers:
            raise RuntimeError(f"{n} hosts: processes left behind: {run.leftovers}")
        cpus = os.cpu_count() or 1
        cpu_total = sum(cpu_at_ready.values())
        return {"hosts": n, "bring_up_s": last_ready, "first_ready_s": min(ready.values()),
                "cpu_s_at_ready": round(cpu_total, 1), "cpu_s_per_host": round(cpu_total / n, 2),
                "cpu_s_per_host_by_kind": {k: round(v / n, 2) for k, v in cpu_at_ready.items()},
                "cpu_bound_floor_s": round(cpu_total / cpus, 1),
                "peak_rss_mb": round(peak, 1), "peak_rss_per_host_mb": round(peak / n, 1),
                "run_s": round(run.duration_s, 2)}


def median_sample(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median bring-up time, its peak memory replaced by the median peak."""
    ordered = sorted(runs, key=lambda r: r["bring_up_s"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["peak_rss_mb"] = statistics.median(r["peak_rss_mb"] for r in runs)
    chosen["peak_rss_per_host_mb"] = round(chosen["peak_rss_mb"] / chosen["hosts"], 1)
    return chosen


def measure(sizes: tuple[int, ...], repeat: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    samples: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    for _ in range(repeat):  # all sizes, then all sizes again: the machine's load varies over minutes
        for n in sizes:
            samples[n].append(one_size(n))
    results = [median_sample(samples[n]) for n in sizes]
    factors = [{"from": a["hosts"], "to": b["hosts"],
                "bring_up": b["bring_up_s"] / a["bring_up_s"], "memory": b["peak_rss_mb"] / a["peak_rss_mb"]}
               for a, b in zip(results, results[1:])]
    largest = results[-1]
    by_kind = ", ".join(f"{k} {v:.1f} s" for k, v in largest["cpu_s_per_host_by_kind"].items())
    rows = [row("Local run bring-up CPU per host", baseline="-",
                value=", ".join(f"{r['hosts']} hosts: {r['cpu_s_per_host']:.1f} s" for r in results)
                + f" ({largest['hosts']} hosts: {by_kind})", ratio=None, target="(reported)", met=None),
            row("Local run bring-up, CPU-bound floor (CPU used / CPUs)", baseline="-",
                value=", ".join(f"{r['hosts']} hosts: {r['cpu_bound_floor_s']:.0f} s of {r['bring_up_s']:.0f} s"
                                for r in results), ratio=None, target="(reported)", met=None)]
    for f in factors:
        label = f"{f['from']} -> {f['to']} hosts"
        a = next(r for r in results if r["hosts"] == f["from"])
        b = next(r for r in results if r["hosts"] == f["to"])
        rows.append(row(f"Local run peak memory, {label}", baseline=f"{a['peak_rss_mb']:.0f} MB",
                        value=f"{b['peak_rss_mb']:.0f} MB", ratio=f["memory"],
                        target=f"x2 per doubling (<= {MEMORY_FACTOR_MAX})", met=f["memory"] <= MEMORY_FACTOR_MAX))
        rows.append(row(f"Local run bring-up time, {label}", baseline=f"{a['bring_up_s']:.1f} s",
                        value=f"{b['bring_up_s']:.1f} s", ratio=f["bring_up"],
                        target=f"sub-linear (< {TIME_FACTOR_MAX})", met=f["bring_up"] < TIME_FACTOR_MAX))
    data = {"how": "real local backend (LocalBackend) on a plan of NullRole node hosts, each with a "
                   "runtime-managed monerod and wallet-rpc", "repeat": repeat, "sizes": results,
            "samples": {str(n): v for n, v in samples.items()}, "factors": factors}
    return rows, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench local_growth", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of every size; the run with the (lower) median bring-up time counts")
    opts = parser.parse_args(argv)
    rows, data = measure(tuple(opts.sizes), opts.repeat)
    write_result("local_growth", "bring-up time (start to every host's role_started) and peak summed RSS of "
                 "N hosts (runtime + monerod + wallet each) run by the local backend", rows, data)
    for s in data["sizes"]:
        print(f"{s['hosts']} hosts: ready in {s['bring_up_s']:.1f} s (CPU floor {s['cpu_bound_floor_s']} s), "
              f"peak {s['peak_rss_mb']:.0f} MB")
    return 0
