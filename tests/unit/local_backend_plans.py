"""Plans whose hosts are ``local_backend_fake_host.py`` processes, for the local backend's tests.

Addresses are in 127.60.x.y (this test area's range); nothing binds them, they are only labels.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from monerosim_actors.plan.model import (
    Binaries, ConsensusPlan, HostPlan, MonerodPlan, NetworkPlan, Plan, ProcessPlan, ServiceAddress)

FAKE_HOST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "local_backend_fake_host.py")


@dataclass(frozen=True)
class FakeHost:
    name: str
    mode: str = "exit"
    start_s: float = 0.0
    seconds: float = 0.0
    extra: tuple[str, ...] = ()
    """More arguments of the fake runtime (the argv of the stray it starts in ``orphan`` mode)."""
    more: tuple[ProcessPlan, ...] = ()
    """More processes of the host, which the backend starts itself when ``launch_mode == "shadow"``."""


def fake_plan(hosts: list[FakeHost], *, duration_s: float = 30.0, stop_time_s: float = 40.0,
              launch_mode: str = "runtime", monerod: str = "/usr/bin/monerod",
              wallet_rpc: str = "/usr/bin/monero-wallet-rpc") -> Plan:
    host_plans = []
    for i, h in enumerate(hosts):
        runtime = ProcessPlan("runtime", sys.executable,
                              (FAKE_HOST, h.name, h.mode, str(h.seconds), *h.extra), h.start_s, {})
        host_plans.append(HostPlan(
            name=h.name, agent_id=h.name, role="fake", role_class="fake:Fake", ip=f"127.60.0.{i + 1}",
            network_node_id=0, start_time_s=h.start_s, seed=i, params={},
            monerod=MonerodPlan(18080, 18081, 18082, 18083, 1, ()) if h.more else None,
            wallet=None, bus_port=None, processes=(runtime, *h.more)))
    return Plan(
        version=1, scenario_path="/fake.yaml", seed=1, duration_s=duration_s, stop_time_s=stop_time_s,
        launch_mode=launch_mode,  # type: ignore[arg-type]
        addressing="loopback", consensus=ConsensusPlan(1.0, 1),
        binaries=Binaries(sys.executable, monerod, wallet_rpc),
        services={"block_controller": ServiceAddress("h0", "127.60.0.1", 5555)},
        network=NetworkPlan("switch", None), shadow_general={}, shadow_experimental={},
        hosts=tuple(host_plans))
