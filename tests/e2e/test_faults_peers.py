"""The plan's peer graph holds on loopback, and a monerod killed with ``kill -9`` rejoins it at once.

On loopback every monerod dials from 127.0.0.1, so monerod's limit on incoming connections per
address is a limit on the whole network
(:data:`monerosim_actors.plan.monero_args.MAX_CONNECTIONS_PER_IP` says what it broke). Three nodes,
each on its own runtime (supervisor, restarts) and peered with ``--add-exclusive-node`` as the planner
peers them: the pool and the user both dial the hub, the hub dials the user. The user starts before
the pool, so with the limit at monerod's default the user holds the hub's one slot and the pool's
link to the hub is refused. The hub is the pool's only peer: without it the pool's node never
synchronises and answers ``BUSY`` to every ``generateblocks``, as a restarted pool's node did in a
local run for three minutes.

The hub's log (``--log-level 1``) shows each refusal; a wait ends with a failure at the first one,
so the test fails at once where the limit binds, not at its safety net.

Addresses: loopback group 23.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monerosim_actors.plan.model import HostPlan
from monerosim_actors.runtime.rpc import DaemonRpc
from monerosim_actors.runtime.system import HostSystem
from tests.e2e.conftest import SAFETY_S, wait_for_event
from tests.e2e.plans import host_plan, loopback

pytestmark = pytest.mark.e2e

GROUP = 23
P2P_PORT = 18080
ADDRESS = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
REFUSED = "REFUSED, too many connections from the same address"
"""monerod 0.18's log line (net.p2p, shown from ``--log-level 1``) when it refuses a peer by address."""


def node(name: str, n: int, peers: tuple[int, ...]) -> HostPlan:
    """A host with its own (online) monerod, no wallet, dialing the group's hosts ``peers``."""
    plan = host_plan(name, loopback(GROUP, n), wallet=False, offline=False,
                     peers=tuple(f"{loopback(GROUP, p)}:{P2P_PORT}" for p in peers))
    assert plan.monerod is not None
    return dataclasses.replace(plan, monerod=dataclasses.replace(plan.monerod, extra_args=("--log-level", "1")))


class Refusals:
    """The ``REFUSED`` lines a monerod log gains, read incrementally."""

    def __init__(self, log_file: Path) -> None:
        self.path = log_file
        self.offset = 0

    def new(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        complete = data[:data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return [line for line in complete.decode(errors="replace").splitlines() if REFUSED in line]


def wait_until(check: Callable[[], bool], what: str, refusals: Refusals) -> None:
    """Wait until ``check`` holds; the hub refusing a peer meanwhile fails at once. ``SAFETY_S`` is a
    net against a hang, not a budget."""
    deadline = time.monotonic() + SAFETY_S
    while not check():
        refused = refusals.new()
        assert not refused, f"waiting for {what}, the hub refused a planned peer: {refused[0]}"
        assert time.monotonic() < deadline, f"waited {SAFETY_S:g} s (a safety net) for {what}"
        time.sleep(0.2)


def dials(daemon: DaemonRpc, peer: HostPlan) -> bool:
    """``daemon`` holds a handshaked outgoing connection to ``peer`` and is synchronised."""
    return daemon.get_info().synchronized and any(
        not c.incoming and c.address == f"{peer.ip}:{P2P_PORT}" and c.state == "normal"
        for c in daemon.get_connections())


def test_every_planned_link_holds_and_a_killed_pool_node_rejoins_and_mines_the_next_order(
        start_host: Callable[..., HostSystem]) -> None:
    hub_plan, user_plan, pool_plan = node("hub", 0, (1,)), node("user", 1, (0,)), node("pool", 2, (0,))
    hub_system = start_host(hub_plan)
    refusals = Refusals(Path(hub_system.data_dir) / "monerod" / "monerod.log")
    user_system = start_host(user_plan)
    hub, user = hub_system.daemon, user_system.daemon
    assert hub is not None and user is not None
    wait_until(lambda: dials(user, hub_plan), "the user's link to the hub", refusals)
    pool_system = start_host(pool_plan)
    pool = pool_system.daemon
    assert pool is not None

    wait_until(lambda: dials(pool, hub_plan), "the pool's link to the hub", refusals)
    assert hub.get_info().incoming_connections_count == 2
    pool.generateblocks(2, ADDRESS)
    wait_until(lambda: user.get_height() == pool.get_height(), "the pool's blocks at the user", refusals)

    # kill -9: the supervisor restarts the pool's monerod with its chain
    os.kill(int((Path(pool_system.data_dir) / "monerod.pid").read_text()), signal.SIGKILL)
    wait_for_event(os.path.join(pool_system.data_dir, "events.jsonl"), "process_restarted", name="monerod")
    # the network's next block, mined by the other side, reaches the restarted node through the hub,
    # and the pool's next order is mined, not answered BUSY
    height, _ = user.generateblocks(1, ADDRESS)
    wait_until(lambda: pool.get_height() == height + 1, "the user's block at the restarted pool", refusals)
    assert dials(pool, hub_plan)
    mined, _ = pool.generateblocks(1, ADDRESS)
    assert mined == height + 1
