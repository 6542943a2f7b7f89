"""Build HostPlan / HostConfig objects for tests directly from the plan dataclasses.

Every host in a test needs its own loopback address (monerod's ports are the same on every host);
each test module picks addresses from its own range.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
from pathlib import Path
from typing import Any

from monerosim_actors import defaults
from monerosim_actors.plan.model import (PLAN_VERSION, Binaries, ConsensusPlan, HostConfig, HostPlan,
                                   LaunchMode, MonerodPlan, NodeAccess, ServiceAddress, WalletPlan)

IDLE_ROLE = "tests.e2e.roles_for_tests:IdleRole"

HOSTS_PER_SLOT = 8
SESSION_SLOT = random.SystemRandom().randrange(254 // HOSTS_PER_SLOT)
"""Drawn once per test session, so that two sessions running at once (several engineers, one
machine) do not bind the same addresses."""


def loopback(group: int, n: int) -> str:
    """The ``n``-th address (0-7) of a test module's ``group`` in the runtime's range 127.30.x.y,
    shifted by this session's slot."""
    if not 0 <= n < HOSTS_PER_SLOT:
        raise ValueError(f"n must be in 0..{HOSTS_PER_SLOT - 1}")
    return f"127.30.{group}.{1 + SESSION_SLOT * HOSTS_PER_SLOT + n}"


def binaries() -> Binaries:
    return Binaries(python=sys.executable,
                    monerod=shutil.which("monerod") or "/usr/bin/monerod",
                    wallet_rpc=shutil.which("monero-wallet-rpc") or "/usr/bin/monero-wallet-rpc")


def host_plan(name: str, ip: str, *, role_class: str = IDLE_ROLE, role: str = "test",
              monerod: bool = True, wallet: bool = True, offline: bool = True,
              peers: tuple[str, ...] = (), bus_port: int | None = None,
              params: dict[str, Any] | None = None, start_time_s: float = 0.0,
              seed: int = 7) -> HostPlan:
    """A host on ``ip``; ``offline`` adds ``--offline`` so a lone regtest node can mine."""
    node = MonerodPlan(p2p_port=defaults.MONEROD_P2P_PORT, rpc_port=defaults.MONEROD_RPC_PORT,
                       zmq_rpc_port=defaults.MONEROD_ZMQ_RPC_PORT,
                       zmq_pub_port=defaults.MONEROD_ZMQ_PUB_PORT, difficulty=1,
                       peers=peers, extra_args=("--offline",) if offline else ())
    return HostPlan(
        name=name, agent_id=name.replace("-", "_"), role=role, role_class=role_class, ip=ip,
        network_node_id=0, start_time_s=start_time_s, seed=seed, params=dict(params or {}),
        monerod=node if monerod else None,
        node=NodeAccess(name, ip, node.rpc_port, node.zmq_pub_port) if monerod else None,
        wallet=WalletPlan(rpc_port=defaults.WALLET_RPC_PORT,
                          daemon_address=f"{ip}:{defaults.MONEROD_RPC_PORT}") if wallet else None,
        bus_port=bus_port, processes=())


def host_config(host: HostPlan, *, services: dict[str, ServiceAddress] | None = None,
                duration_s: float = 3600.0, launch_mode: LaunchMode = "runtime") -> HostConfig:
    return HostConfig(version=PLAN_VERSION, host=host, duration_s=duration_s,
                      launch_mode=launch_mode,
                      consensus=ConsensusPlan(block_time_s=120.0, difficulty=1),
                      binaries=binaries(), services=dict(services or {}))


def service(host: HostPlan) -> ServiceAddress:
    """The ServiceAddress of a host that binds a ROUTER (``bus_port`` set)."""
    assert host.bus_port is not None
    return ServiceAddress(host=host.name, ip=host.ip, port=host.bus_port)


def write_config(config: HostConfig, directory: Path) -> Path:
    """Write ``HOST.json`` into ``directory`` and return its path."""
    os.makedirs(directory, exist_ok=True)
    path = directory / f"{config.host.name}.json"
    path.write_text(config.to_json())
    return path
