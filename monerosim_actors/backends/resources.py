"""Will a run fit on this machine? Its memory, from measured figures, and (locally) its addresses, free
or not, checked before anything starts.

The figures are what each kind of program holds at its peak, measured on regtest here: a monerod
holds RandomX state once blocks arrive, up to ~630 MB on a node that mined 100 blocks and ~340 MB on
one that only verified them (``bench/monerod_footprint.py``); a wallet-rpc and a host runtime are
small, and most of what their resident sets show is the program's own code and libraries, which
every copy shares: under Shadow (``bench/shadow_scale.py``, proportional set sizes of 109 wallets
and 120 runtimes) a wallet-rpc held ~13 MB of its own and a runtime ~20 MB, with ~21 MB and ~14 MB
shared by all of them. So each kind counts its private part per process and its shared part once.
Shadow itself and the kernel's per-process state (page tables, socket buffers) add a little per
host. The estimate is for both backends: under Shadow the processes are as real.

Most of a monerod is RandomX: a 256 MiB light-mode cache per seed slot it uses (a mining node uses
two: ``generateblocks`` takes the alternative slot before the node has verified a block of its own).
With ``monero.randomx: shared`` every cache is a mapping of one file per machine, so it counts once
per run, and so does the 2 GiB dataset of the pools' fast mode; with ``stand_in`` (the default) no
cache is ever filled, so RandomX holds nothing.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

import psutil

from monerosim_actors.plan.model import HostPlan, Plan
from monerosim_actors.vocabulary import RandomxMode

RANDOMX_CACHE_MB = 256
"""One RandomX light-mode cache (262,144 kB in ``/proc/PID/smaps``)."""
RANDOMX_DATASET_MB = 2080
"""The RandomX dataset (2,181,038,016 bytes)."""
MINER_CACHES = 2
"""Caches a mining monerod holds (the main and the alternative seed slot); another monerod holds one."""
MINER_OWN_MB = 660 - MINER_CACHES * RANDOMX_CACHE_MB
"""A regtest monerod after mining 100 blocks, without its caches (bench: 566 to 626 MB RSS over four
runs with two private caches; ~35 MB idle)."""
NODE_OWN_MB = 360 - RANDOMX_CACHE_MB
"""A regtest monerod that verified 100 blocks mined by a peer, without its cache (bench: 313 to 337 MB
RSS with its private cache; 330 to 350 MB of its own under Shadow for the relays and public nodes of
the seed's scenario)."""
STAND_IN_MONEROD_MB = 32
"""A monerod with RandomX's stand-in, mining or not: it fills no cache and makes no RandomX VM that
hashes (22 MiB of proportional set size on average for the 20 monerods of configs/seed_remote.yaml
over its hour under Shadow, 3 of them pools; the rest of the 32 is room for a longer chain)."""
MINER_ROLE = "mining_pool"
"""Hosts of this role mine (generateblocks); every other monerod only verifies."""
WALLET_MB = 16
"""Private memory of a monero-wallet-rpc with one wallet (12.7 MB after 150 blocks under Shadow)."""
WALLET_SHARED_MB = 22
"""Memory every wallet-rpc shares (its code and libraries: the rest of its 34 MB resident set)."""
RUNTIME_MB = 20
"""Private memory of a host runtime (20 MB under Shadow, the interpreter with its libraries and actors;
2,317 MiB of proportional set size for the 110 runtimes of the seed's scenario, 21 MiB each)."""
RUNTIME_SHARED_MB = 16
"""Memory every host runtime shares (the interpreter's code and libraries)."""
HOST_OVERHEAD_MB = 4
"""Per host: Shadow's state and the kernel's for its processes (page tables, socket buffers); Shadow
itself held 199 MiB for the seed's 110 hosts."""
RESERVE_MB = 256
"""Left free for the runner, the page cache of the logs, and everything else on the machine."""


@dataclass(frozen=True)
class Estimate:
    """The memory a run needs at its peak, by kind of program, in MiB."""

    hosts: int
    miners: int
    nodes: int
    """monerods that do not mine (public nodes, relays, users' own)."""
    wallets: int
    randomx: RandomxMode = "private"
    """:attr:`monerosim_actors.plan.model.Plan.randomx`."""
    shared_randomx: tuple[str, ...] = ()
    """:attr:`monerosim_actors.plan.model.Plan.randomx_files`: what every monerod maps once per run."""

    @property
    def runtime_mb(self) -> int:
        return self.hosts * (RUNTIME_MB + HOST_OVERHEAD_MB) + (RUNTIME_SHARED_MB if self.hosts else 0)

    @property
    def randomx_mb(self) -> int:
        """The RandomX caches and dataset (real RandomX): once per run when shared, else a cache per seed
        slot of each monerod."""
        if "cache" not in self.shared_randomx:
            return (self.miners * MINER_CACHES + self.nodes) * RANDOMX_CACHE_MB
        return RANDOMX_CACHE_MB + (RANDOMX_DATASET_MB if "dataset" in self.shared_randomx else 0)

    @property
    def monerod_mb(self) -> int:
        if self.randomx == "stand_in":
            return (self.miners + self.nodes) * STAND_IN_MONEROD_MB
        return self.miners * MINER_OWN_MB + self.nodes * NODE_OWN_MB + self.randomx_mb

    @property
    def wallet_mb(self) -> int:
        return self.wallets * WALLET_MB + (WALLET_SHARED_MB if self.wallets else 0)

    @property
    def total_mb(self) -> int:
        return self.runtime_mb + self.monerod_mb + self.wallet_mb

    def describe(self) -> str:
        if self.randomx == "stand_in":
            monerods = f"{self.miners + self.nodes} monerod x {STAND_IN_MONEROD_MB} MiB (RandomX's stand-in)"
        else:
            randomx = (f"RandomX {self.randomx_mb} MiB shared by all" if self.shared_randomx else
                       f"RandomX caches {self.randomx_mb} MiB (one per node, two per miner)")
            monerods = (f"{self.miners} mining monerod x {MINER_OWN_MB} MiB, {self.nodes} other monerod x "
                        f"{NODE_OWN_MB} MiB, {randomx}")
        return (f"{self.total_mb} MiB: {monerods}, {self.wallets} wallet-rpc x {WALLET_MB} MiB "
                f"(+{WALLET_SHARED_MB} shared), {self.hosts} host runtimes x {RUNTIME_MB + HOST_OVERHEAD_MB} MiB "
                f"(+{RUNTIME_SHARED_MB} shared)")


def estimate(plan: Plan) -> Estimate:
    """What running ``plan`` needs: a runtime per host, plus each host's monerod and wallet."""
    nodes = [h for h in plan.hosts if h.monerod is not None]
    miners = sum(1 for h in nodes if h.role == MINER_ROLE)
    return Estimate(hosts=len(plan.hosts), miners=miners, nodes=len(nodes) - miners,
                    wallets=sum(1 for h in plan.hosts if h.wallet is not None),
                    randomx=plan.randomx, shared_randomx=plan.randomx_files if nodes else ())


def mem_available_mb() -> int:
    """MemAvailable from /proc/meminfo (psutil reads it), in MiB: the kernel's estimate of what can
    be had without swap."""
    return psutil.virtual_memory().available // 2**20


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
