"""The roles on real processes: a small economy of host runtimes on loopback, each with its own
monerod and wallet, built from a scenario by the planner, exactly as the local backend runs it.

One network serves every test of this module (it takes about a minute to bootstrap): a block
controller, a marketplace directory, two pools, one marketplace and two users on 127.50.x.y. Time
runs :data:`TIME_SCALE` times faster than the scenario says. No test changes the network, and each
waits for what it needs (the bootstrap's end, a block, a payment) as events, so each runs alone and
in any order; a wait's bound is a net against a hang, not a budget.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monerosim_actors.plan.model import Plan, host_config
from monerosim_actors.plan.planner import build_plan
from monerosim_actors.scenario.load import load_scenario
from tests.conftest import require_binary
from tests.e2e.conftest import SAFETY_S, EventTail, HostProcess, assert_alive, stop_hosts, wait_for_event

BOOTSTRAP_SAFETY_S = 900.0
"""The net for the start and the bootstrap: about 100 s here at a load average of 8 (start-up
included), 430 s at 35 (wallet creation alone 85 s)."""

pytestmark = [pytest.mark.e2e,
              # the first test also waits for the network's bootstrap
              pytest.mark.timeout(BOOTSTRAP_SAFETY_S + 1.5 * SAFETY_S)]

TIME_SCALE = 4.0
ATTEMPTS = 3
"""Scheduled blocks tried before concluding that blocks do not reach every node."""
MOVED_ON_BLOCKS = 3
"""A node that has seen blocks this far above a block's height without seeing the block itself has
settled on another one at that height: the block was orphaned there."""
PLANNER_RANGE = "127.10.0."
OUR_RANGE = f"127.50.{os.getpid() % 250 + 1}."
"""This module's addresses: 127.50.x.y with x from the process id, so two test sessions running at
the same time on one machine (several engineers run the whole suite) never share a monerod port."""

SCENARIO = """
simulation:
  duration: 3600
  seed: 11
network:
  agents:
    regular_users:
      count: 2
      config:
        transaction_frequency: 0.9
        wallet_initial_balance: 2.0
        amount_min: 0.1
        amount_max: 0.3
    marketplaces:
      count: 1
      config:
        wallet_count: 2
    mining_pools:
      - id: pool_alpha
        hashrate_share: 0.6
      - id: pool_beta
        hashrate_share: 0.4
  consensus:
    block_time: 40
    difficulty: 1
  peers:
    count: 2
coordination:
  registration_timeout: 120
  mine_timeout: 60
"""


def loopback_plan(tmp: Path) -> Plan:
    """The scenario's plan, moved from the planner's loopback range to this module's own."""
    path = tmp / "roles.yaml"
    path.write_text(SCENARIO)
    plan = build_plan(load_scenario(path), addressing="loopback", out_dir=str(tmp / "out"))
    assert all(h.ip.startswith(PLANNER_RANGE) for h in plan.hosts)
    return Plan.from_json(plan.to_json().replace(PLANNER_RANGE, OUR_RANGE))


class Network:
    def __init__(self, plan: Plan, root: Path) -> None:
        self.plan = plan
        self.hosts: dict[str, HostProcess] = {}
        self.root = root

    def start(self) -> None:
        for h in self.plan.hosts:
            self.hosts[h.name] = HostProcess(host_config(self.plan, h), self.root, time_scale=TIME_SCALE)

    def role(self, role: str) -> list[HostProcess]:
        return [self.hosts[h.name] for h in self.plan.hosts if h.role == role]

    def one(self, role: str) -> HostProcess:
        (host,) = self.role(role)
        return host

    def wait(self, host: HostProcess, event: str, timeout: float = SAFETY_S, **match: Any) -> dict[str, Any]:
        self.check_alive()
        return wait_for_event(host.events_path, event, timeout, **match)[0]

    def decide(self, hosts: list[HostProcess], verdict: Callable[[list[list[dict[str, Any]]]], Any],
               what: str, timeout: float = SAFETY_S) -> Any:
        """Poll the events of ``hosts`` until ``verdict(their events)`` is not None, and return it;
        every host must stay alive meanwhile. ``timeout`` is a net against a hang, not a budget."""
        tails = [EventTail(h.events_path) for h in hosts]
        deadline = time.monotonic() + timeout
        while (found := verdict([t.read() for t in tails])) is None:
            self.check_alive()
            assert time.monotonic() < deadline, f"waited {timeout:g} s (a safety net) for {what}"
            time.sleep(0.2)
        return found

    def check_alive(self) -> None:
        assert_alive(self.hosts)

    def stop(self) -> None:
        stop_hosts(self.hosts.values())


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    root = tmp_path_factory.mktemp("roles")
    net = Network(loopback_plan(root), root)
    try:
        net.start()
        yield net
    finally:
        net.stop()


def test_plan_uses_our_loopback_range(network: Network) -> None:
    assert {h.ip[:len(OUR_RANGE)] for h in network.plan.hosts} == {OUR_RANGE}
    assert len({h.ip for h in network.plan.hosts}) == len(network.plan.hosts) == 7


def test_bootstrap_funds_both_users(network: Network) -> None:
    controller = network.one("block_controller")
    done = network.wait(controller, "bootstrap_done", timeout=BOOTSTRAP_SAFETY_S)
    assert done["users_funded"] == 2
    funded = {e["user_id"]: e for e in controller.events() if e["event"] == "user_funded"}
    assert set(funded) == {"user_0", "user_1"}
    assert all(e["amount"] == 2 * 10**12 for e in funded.values())
    for user in network.role("regular_user"):
        got = network.wait(user, "funds_received")
        assert got["amount"] == 2 * 10**12
        network.wait(user, "payments_started")
    steps = [e["step"] for e in controller.events() if e["event"] == "bootstrap_step"]
    stages = ["start", "fund_faucet", "faucet_funded", "unlock_coinbase", "faucet_unlocked"]
    in_order = [s for i, s in enumerate(steps) if s in stages and s not in steps[:i]]
    assert in_order == stages, steps  # between them, steps such as spread_faucet may come
    assert "batch_paid" in steps and steps[-1] in ("unlock_payments", "confirm_payments")


def test_a_pool_mines_on_order_and_every_node_sees_the_block(network: Network) -> None:
    """The first scheduled block that stays on the main chain reaches all six nodes.

    A block can be orphaned: when a pool gets its order before the previous block has reached its
    node (on a loaded machine propagation sometimes takes seconds), it mines on a stale tip, as a
    real pool would, and one of the two blocks loses. So up to :data:`ATTEMPTS` scheduled blocks are
    tried in order; each one that is tried is checked completely. Whether a node has the block is
    decided by events, not by a time: it saw the block, or it saw :data:`MOVED_ON_BLOCKS` blocks
    above that height without it.
    """
    controller = network.one("block_controller")
    network.wait(controller, "bootstrap_done", timeout=BOOTSTRAP_SAFETY_S)
    nodes = [network.hosts[h.name] for h in network.plan.hosts if h.monerod is not None]
    assert len(nodes) == 6
    misses = []
    for attempt in range(1, ATTEMPTS + 1):
        done = wait_for_event(controller.events_path, "mine_completed", count=attempt, phase="schedule")[-1]
        (block_hash,) = done["hashes"]
        pool = next(network.hosts[h.name] for h in network.plan.hosts
                    if h.params.get("pool_id") == done["pool_id"])
        mined = network.wait(pool, "block_mined", hash=block_hash)
        assert mined["height"] == done["height"] and mined["order"] == done["order"]

        def fate(logs: list[list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
            """Each node's block_seen of the block ({} where the node moved on without it), once
            every node has decided."""
            seen = []
            for log in logs:
                blocks = [e for e in log if e["event"] == "block_seen"]
                mine = next((e for e in blocks if e["hash"] == block_hash), None)
                if mine is None and max((e["height"] for e in blocks), default=-1) < done["height"] + MOVED_ON_BLOCKS:
                    return None
                seen.append(mine or {})
            return seen

        seen = network.decide(nodes, fate, f"every node to have seen block {block_hash} or moved on without it")
        if not all(seen):
            misses.append(f"{block_hash} at {done['height']}: missed by "
                          f"{[n.config.host.name for n, s in zip(nodes, seen) if not s]}")
            continue
        assert {s["height"] for s in seen} == {done["height"]}
        return
    pytest.fail(f"none of the first {ATTEMPTS} scheduled blocks reached every node: {misses}")


def test_a_payment_reaches_a_vendor_and_is_confirmed(network: Network) -> None:
    controller = network.one("block_controller")
    network.wait(controller, "bootstrap_done", timeout=BOOTSTRAP_SAFETY_S)
    market = network.one("marketplace")
    payment = network.decide(
        network.role("regular_user"),
        lambda logs: next((e for log in logs for e in log if e["event"] == "payment_sent"), None),
        "a payment_sent of either user")
    received = network.wait(market, "payment_received", txid=payment["txid"])
    assert received["amount"] == payment["amount"] and received["address"] == payment["recipient"]
    assert received["vendor"] in (1, 2)
    confirmed = network.wait(market, "payment_confirmed", txid=payment["txid"])
    blocks_seen = {e["hash"]: e["height"] for e in market.events() if e["event"] == "block_seen"}
    assert confirmed["height"] in blocks_seen.values()
    assert confirmed["vendor"] == received["vendor"]


def test_schedule_keeps_to_the_plan_shares_roughly(network: Network) -> None:
    """Not a statistical test (too few blocks): the pools got orders and carried them all out. An
    order may time out (``mine_timeout`` counts real seconds, which load stretches), but the pool must
    then still complete it, late."""
    controller = network.one("block_controller")
    wait_for_event(controller.events_path, "mine_completed", count=4, phase="schedule")
    ev = controller.events()
    assert not [e for e in ev if e["event"] in ("mine_failed", "mine_skipped")]
    for timed_out in [e for e in ev if e["event"] == "mine_timeout"]:
        network.wait(controller, "mine_completed", order=timed_out["order"], late=True)
    assert not [e for h in network.hosts.values() for e in h.events() if e["event"] in ("actor_failed",)]
    ordered = [e for e in ev if e["event"] == "mine_ordered" and e["phase"] == "schedule"]
    assert {e["pool_id"] for e in ordered} <= {"pool_alpha", "pool_beta"}
