"""How `monerosim-actors analyze` scales with the number of events: time and peak memory.

Synthesises run folders of 10^4, 10^5 and 10^6 message events (msg_sent + msg_received lines;
about 1% of messages lost), plus blocks seen by every node and payments in proportion, over
50 hosts. Each size is analysed by the real command (tables, summary, plots, report) in its own
measuring process, which reports the wall time and the peak RSS of the command from
``resource.getrusage(RUSAGE_CHILDREN)``. Results go to ``bench/results/analyze_scale.json``.

Usage: ``.venv/bin/python bench/analyze_scale.py [--sizes 10000 100000 1000000]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monerosim_actors import defaults  # noqa: E402
from monerosim_actors.plan.model import (PLAN_VERSION, Binaries, ConsensusPlan, HostPlan, MonerodPlan,  # noqa: E402
                                   NetworkPlan, Plan, ServiceAddress)

RESULTS = ROOT / "bench" / "results" / "analyze_scale.json"
SIZES = (10_000, 100_000, 1_000_000)
TARGET = {"message_events": 1_000_000, "seconds": 30, "peak_rss_mb": 2048}
T0 = 946684800.0
DURATION_S = 3600.0
POOLS = {"pool-0": 0.4, "pool-1": 0.3, "pool-2": 0.2, "pool-3": 0.1}
MARKETPLACES = [f"marketplace-{i}" for i in range(4)]
USERS = [f"user-{i}" for i in range(40)]
CONTROLLER = defaults.BLOCK_CONTROLLER_HOST
DIRECTORY = defaults.MARKETPLACE_DIRECTORY_HOST
LOSS = 0.01


def make_plan() -> Plan:
    def host(name: str, role: str, params: dict, node: bool, i: int) -> HostPlan:
        return HostPlan(name=name, agent_id=name.replace("-", "_"), role=role, role_class="x:Y",
                        ip=f"11.0.{i // 250}.{i % 250 + 1}", network_node_id=0, start_time_s=0.0,
                        seed=i, params=params,
                        monerod=MonerodPlan(18080, 18081, 18082, 18083, 1, ()) if node else None,
                        wallet=None, bus_port=None if node else 5555, processes=())
    hosts = [host(CONTROLLER, "block_controller", {}, False, 0),
             host(DIRECTORY, "marketplace_directory", {}, False, 1)]
    hosts += [host(p, "mining_pool", {"pool_id": p.replace("-", "_"), "hashrate_share": s}, True,
                   len(hosts) + i) for i, (p, s) in enumerate(POOLS.items())]
    hosts += [host(m, "marketplace", {}, True, len(hosts) + i) for i, m in enumerate(MARKETPLACES)]
    hosts += [host(u, "regular_user", {}, True, len(hosts) + i) for i, u in enumerate(USERS)]
    return Plan(version=PLAN_VERSION, scenario_path="bench.yaml", seed=1, duration_s=DURATION_S,
                stop_time_s=DURATION_S + 60, launch_mode="runtime", addressing="shadow",
                consensus=ConsensusPlan(block_time_s=120.0, difficulty=1),
                binaries=Binaries("python3", "monerod", "monero-wallet-rpc"),
                services={"block_controller": ServiceAddress(CONTROLLER, "11.0.0.1", 5555),
                          "marketplace_directory": ServiceAddress(DIRECTORY, "11.0.0.2", 5555)},
                network=NetworkPlan(kind="switch", gml=None), shadow_general={},
                shadow_experimental={}, hosts=tuple(hosts))


def synthesise(out: Path, message_events: int, seed: int = 1) -> int:
    """Write a run folder with ``message_events`` message lines; returns the total event lines."""
    rng = random.Random(seed)
    plan = make_plan()
    out.mkdir(parents=True)
    (out / defaults.PLAN_FILE).write_text(plan.to_json())
    lines: dict[str, list[str]] = {h.name: [] for h in plan.hosts}

    def emit(host: str, t: float, actor: str, event: str, fields: str) -> None:
        lines[host].append(f'{{"t": {t!r}, "host": "{host}", "actor": "{actor}", '
                           f'"event": "{event}", {fields}}}')

    sends = round(message_events / (2 - LOSS))
    receipts = message_events - sends
    lost = set(rng.sample(range(sends), sends - receipts))
    peers = list(POOLS) + MARKETPLACES + USERS
    counters = {h.name: 0 for h in plan.hosts}
    for i in range(sends):
        sent_at = T0 + DURATION_S * i / sends
        peer = rng.choice(peers)
        service = CONTROLLER if peer in POOLS else DIRECTORY
        src, dst = (peer, service) if rng.random() < 0.5 else (service, peer)
        kind = {CONTROLLER: "mine_blocks", DIRECTORY: "vendor_list"}[src] if src == service \
            else {CONTROLLER: "blocks_mined", DIRECTORY: "get_vendors"}[dst]
        counters[src] += 1
        fields = (f'"id": "{src}:{counters[src]}", "type": "{kind}", "src": "{src}", '
                  f'"dst": "{dst}", "sent_at": {sent_at!r}')
        emit(src, sent_at, "runtime", "msg_sent", fields)
        if i not in lost:
            recv_at = sent_at + 0.05 + rng.expovariate(1 / 0.01)
            emit(dst, recv_at, "runtime", "msg_received", f'{fields}, "recv_at": {recv_at!r}')
    nodes = peers
    for b in range(max(2, message_events // 2000)):
        pool = rng.choices(list(POOLS), weights=list(POOLS.values()))[0]
        mined_at = T0 + DURATION_S * (b + 0.5) / max(2, message_events // 2000)
        phase = "bootstrap" if b < 10 else "schedule"
        emit(pool, mined_at, "MiningPool", "block_mined",
             f'"pool_id": "{pool.replace("-", "_")}", "order": {b + 1}, "height": {b + 1}, '
             f'"hash": "h{b:08d}", "phase": "{phase}"')
        for node in nodes:
            emit(node, mined_at + rng.uniform(0.0, 0.5), "runtime", "block_seen",
                 f'"height": {b + 1}, "hash": "h{b:08d}"')
    for p in range(message_events // 1000):
        user, shop = rng.choice(USERS), rng.choice(MARKETPLACES)
        sent_at = T0 + DURATION_S * p / max(1, message_events // 1000)
        emit(user, sent_at, "RegularUser", "payment_sent",
             f'"payment_id": "{user}:{p}", "txid": "tx{p:08d}", "amount": 1000000000000, '
             f'"recipient": "addr-{shop}", "fee": 30000000')
        emit(shop, sent_at + 0.5, "Marketplace", "payment_received",
             f'"txid": "tx{p:08d}", "amount": 1000000000000, "address": "addr-{shop}", '
             f'"vendor": "v"')
        emit(shop, sent_at + 130.0, "Marketplace", "payment_confirmed",
             f'"txid": "tx{p:08d}", "amount": 1000000000000, "address": "addr-{shop}", '
             f'"vendor": "v", "height": 1')
    total = 0
    for host, host_lines in lines.items():
        host_lines.sort(key=lambda line: float(line[6:line.index(",")]))
        folder = Path(defaults.host_data_dir(str(out), host))
        folder.mkdir(parents=True)
        (folder / defaults.EVENTS_FILE).write_text("\n".join(host_lines) + "\n")
        total += len(host_lines)
    return total


def measure(out: Path) -> dict[str, float]:
    """Run the analyze command on ``out`` as a child process: its wall and CPU time, peak RSS,
    and the machine's load (wall time suffers when other work shares the CPUs)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "monerosim_actors", "analyze", str(out),
                    "-o", str(out / "report")], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.measure:
        print(json.dumps(measure(opts.measure)))
        return 0
    results = []
    for size in opts.sizes:
        with tempfile.TemporaryDirectory(prefix="analyze-scale-") as tmp:
            out = Path(tmp) / "run"
            total = synthesise(out, size)
            size_bytes = sum(f.stat().st_size for f in out.rglob(defaults.EVENTS_FILE))
            # A fresh measuring process per size, so RUSAGE_CHILDREN is this size's peak alone.
            probe = subprocess.run([sys.executable, __file__, "--measure", str(out)],
                                   check=True, capture_output=True, text=True)
            row = {"message_events": size, "events": total, "log_mb": round(size_bytes / 2**20, 1),
                   **json.loads(probe.stdout)}
            if results:
                # CPU time per event between this size and the previous one: the fixed cost
                # (imports, drawing) cancels out, so this is what grows with the events.
                prev = results[-1]
                row["marginal_cpu_us_per_event"] = round(
                    (row["cpu_seconds"] - prev["cpu_seconds"]) / (total - prev["events"]) * 1e6, 2)
            print(json.dumps(row), flush=True)
            results.append(row)
    import matplotlib
    import pandas
    import scipy
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "what": "wall time and peak RSS of `monerosim-actors analyze OUT` (read, tables, summary, "
                "6 plots, report) on synthetic runs of 50 hosts",
        "target": TARGET,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "pandas": pandas.__version__,
                    "matplotlib": matplotlib.__version__, "scipy": scipy.__version__},
        "results": results,
    }, indent=2) + "\n")
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
