"""Will a local run fit on this machine? Its memory, from measured figures, and its addresses, free or
not, checked before anything starts.

The figures come from ``bench/monerod_footprint.py`` (results in
``bench/results/monerod_footprint.json``), measured on regtest nodes here: a monerod is small when
idle (~35 MB) but holds RandomX state once blocks arrive: up to ~630 MB on a node that mined 100 blocks,
up to ~340 MB on a node that only verified them. That is what bounds a local run. A wallet-rpc stays near
35 MB; a host runtime (an interpreter with pykka, zmq, msgpack, requests) starts at ~31 MB and grows
with its actors and logs.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from monerosim_actors.plan import HostPlan, Plan

MINER_MB = 660
"""RSS of a regtest monerod after mining 100 blocks (bench: 566 to 626 MB over four runs; ~35 MB idle)."""
NODE_MB = 360
"""RSS of a regtest monerod that verified 100 blocks mined by a peer (bench: 313 to 337 MB)."""
MINER_ROLE = "mining_pool"
"""Hosts of this role mine (generateblocks); every other monerod only verifies."""
WALLET_MB = 40
"""RSS of a monero-wallet-rpc with one wallet, after 100 blocks (bench: 34 MB)."""
RUNTIME_MB = 60
"""RSS of a host runtime: the bare interpreter with its libraries is 31 MB (bench), doubled for the
actors, threads and buffers of a busy host."""
RESERVE_MB = 256
"""Left free for the runner, the page cache of the logs, and everything else on the machine."""


@dataclass(frozen=True)
class Estimate:
    """The memory a local run needs, by part, in MiB."""

    hosts: int
    miners: int
    nodes: int
    """monerods that do not mine."""
    wallets: int

    @property
    def runtime_mb(self) -> int:
        return self.hosts * RUNTIME_MB

    @property
    def monerod_mb(self) -> int:
        return self.miners * MINER_MB + self.nodes * NODE_MB

    @property
    def wallet_mb(self) -> int:
        return self.wallets * WALLET_MB

    @property
    def total_mb(self) -> int:
        return self.runtime_mb + self.monerod_mb + self.wallet_mb

    def describe(self) -> str:
        return (f"{self.total_mb} MiB: {self.hosts} host runtimes x {RUNTIME_MB} MiB, "
                f"{self.miners} mining monerod x {MINER_MB} MiB, {self.nodes} other monerod x {NODE_MB} MiB, "
                f"{self.wallets} wallet-rpc x {WALLET_MB} MiB")


def estimate(plan: Plan) -> Estimate:
    """What running ``plan`` locally needs: a runtime per host, plus each host's monerod and wallet."""
    nodes = [h for h in plan.hosts if h.monerod is not None]
    miners = sum(1 for h in nodes if h.role == MINER_ROLE)
    return Estimate(hosts=len(plan.hosts), miners=miners, nodes=len(nodes) - miners,
                    wallets=sum(1 for h in plan.hosts if h.wallet is not None))


def mem_available_mb(meminfo: str = "/proc/meminfo") -> int:
    """MemAvailable from /proc/meminfo, in MiB (the kernel's estimate of what can be had without swap)."""
    with open(meminfo, encoding="ascii") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    raise OSError(f"no MemAvailable in {meminfo}")


def shortage(plan: Plan, available_mb: int) -> str | None:
    """A message saying why ``plan`` does not fit into ``available_mb`` and what to do, or None."""
    need = estimate(plan)
    if need.total_mb + RESERVE_MB <= available_mb:
        return None
    return (f"this run needs about {need.describe()}, plus {RESERVE_MB} MiB to spare, but only "
            f"{available_mb} MiB is available (MemAvailable in /proc/meminfo). Give the users "
            f"node: remote (a wallet on one of a few public_nodes instead of a monerod each), make the "
            f"scenario smaller, free some memory, or pass --skip-memory-check to try anyway.")


def addresses_in_use(plan: Plan) -> list[str]:
    """``IP:PORT (host)`` of each address a host of ``plan`` will listen on that something holds now.

    Two local runs of the same scenario use the same addresses; the second one's monerods would die at
    start one by one. A bind test finds it first (``SO_REUSEADDR``, so that the connections of a run
    that just ended, in TIME_WAIT, do not count).
    """
    busy = []
    for host in plan.hosts:
        for port in _listening_ports(host):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((host.ip, port))
                except OSError as e:
                    if e.errno != errno.EADDRINUSE:
                        raise
                    busy.append(f"{host.ip}:{port} ({host.name})")
    return busy


def _listening_ports(host: HostPlan) -> list[int]:
    ports = [host.bus_port] if host.bus_port else []
    if host.monerod is not None:
        node = host.monerod
        ports += [node.p2p_port, node.rpc_port, node.zmq_rpc_port, node.zmq_pub_port]
    if host.wallet is not None:
        ports.append(host.wallet.rpc_port)
    return ports
