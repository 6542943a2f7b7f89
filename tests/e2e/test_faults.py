"""Faults injected for real into one running network (real monerod, wallets and host runtimes on
loopback): kill -9 of monerod on a pool and on a user, of the wallets, SIGKILL of the block
controller's whole host and its restart, the directory stopped and started again, and SIGTERM to
every host.

One network serves the module, because its bootstrap is the expensive part, but no test depends on
another: each runs alone (``-k``) and in any order. The fixture ``net`` hands every test a network
that has finished its bootstrap with every host's role running: it builds the network the first
time, starts again the hosts an earlier test left down, and builds a new network after the SIGTERM
test has stopped the old one for good. Each test waits for what it needs beyond that (a payment
made, a block seen) as events, and a host that dies by itself during a test fails that test and is
started again for the next one. Every wait is for an event; its bound (``SAFETY_S``) is a net
against a hang, not a budget.

Addresses: 127.90.(2 * session slot + 10).x, so concurrent test sessions do not collide.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monerosim_actors.analysis import load_run, summarize
from monerosim_actors.plan.model import Plan, host_config
from monerosim_actors.plan.planner import build_plan
from monerosim_actors.runtime.rpc import DaemonRpc, WalletRpc
from monerosim_actors.scenario.load import load_scenario
from tests.conftest import processes_matching, require_binary
from tests.e2e.conftest import SAFETY_S, EventTail, HostProcess, assert_alive, stop_hosts
from tests.e2e.plans import SESSION_SLOT

BOOTSTRAP_SAFETY_S = 900.0
"""The net for a network's start and bootstrap: it took 430 s on this machine at a load average of 35."""

pytestmark = [pytest.mark.e2e,
              # the first test (or the first after the SIGTERM test) also waits for the bootstrap
              pytest.mark.timeout(BOOTSTRAP_SAFETY_S + 1.5 * SAFETY_S)]

TIME_SCALE = 4.0
PLANNER_RANGE = "127.10.0."
OUR_RANGE = f"127.90.{2 * SESSION_SLOT + 10}."
SCENARIO = Path(__file__).parent / "scenarios" / "faults.yaml"
WALLET_RPC_TIMEOUT_S = 300.0
"""The timeout of a test's own RPC calls to a wallet (a refresh after a restart rescans the chain):
a net against a hang."""

RESTART_ORDERS = 3
"""A pool whose monerod was killed mines one of the first this many orders after its restart: the
first may come while the node is still joining its peers (BUSY, retried for 7.5 scenario seconds)."""

Test = Callable[[dict[str, Any]], bool]


def _plan(out: Path) -> Plan:
    plan = build_plan(load_scenario(SCENARIO), addressing="loopback", out_dir=str(out))
    assert all(h.ip.startswith(PLANNER_RANGE) for h in plan.hosts)
    return Plan.from_json(plan.to_json().replace(PLANNER_RANGE, OUR_RANGE))


def event(event_name: str, /, **match: Any) -> Test:
    return lambda e: e["event"] == event_name and all(e.get(k) == v for k, v in match.items())


def after(t: float, event_name: str, /, **match: Any) -> Test:
    test = event(event_name, **match)
    return lambda e: e["t"] > t and test(e)


class Network:
    """The hosts as separate runtimes, laid out as a run folder (OUT/plan.json, OUT/shadow.data/hosts).

    ``hosts`` maps each host's name to its current runtime. A test that stops a runtime on purpose
    does it through :meth:`terminate` or :meth:`kill_runtime`, which mark the host ``down`` (not a
    failure) until :meth:`start` runs it again; :meth:`ensure_running` starts every host that is down.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.plan = _plan(out)
        (out / "plan.json").parent.mkdir(parents=True, exist_ok=True)
        (out / "plan.json").write_text(self.plan.to_json())
        self.root = out / "shadow.data" / "hosts"
        self.hosts: dict[str, HostProcess] = {}
        self.down: set[str] = set()
        """Hosts a test stopped on purpose and has not started again."""
        self.spent = False
        """Set by the SIGTERM test: every host stopped for good; the fixture builds a new network."""
        self._tails: dict[Path, EventTail] = {}

    # --- hosts ----------------------------------------------------------------------------------

    def start(self, name: str) -> HostProcess:
        """Start ``name``'s runtime (again: it picks up its data dir) and wait until its role runs."""
        host = HostProcess(host_config(self.plan, self.plan.host(name)), self.root, time_scale=TIME_SCALE)
        self.hosts[name] = host
        self.down.discard(name)
        started = self.wait(host, event("host_started", pid=host.popen.pid), f"{name}'s runtime starting",
                            BOOTSTRAP_SAFETY_S)
        self.wait(host, lambda e: e["t"] >= started["t"] and e["event"] == "role_started",
                  f"{name}'s role starting", BOOTSTRAP_SAFETY_S)
        return host

    def role(self, role: str) -> HostProcess:
        (name,) = [h.name for h in self.plan.hosts if h.role == role]
        return self.hosts[name]

    def terminate(self, host: HostProcess) -> int:
        """SIGTERM ``host``'s runtime, wait for its exit code; the host is down until started again."""
        self.down.add(host.config.host.name)
        return host.terminate()

    def kill_runtime(self, host: HostProcess) -> None:
        """SIGKILL the runtime's process group only: monerod and the wallet, in sessions of their own,
        survive it (as they would a crash of the runtime)."""
        self.down.add(host.config.host.name)
        os.killpg(host.popen.pid, signal.SIGKILL)
        host.popen.wait()

    def died(self) -> dict[str, str]:
        """Hosts whose runtime exited although no test stopped it: name -> exit code and stderr tail."""
        return {n: f"exit code {h.popen.returncode}: {h.stderr()[-1500:]}" for n, h in self.hosts.items()
                if n not in self.down and h.popen.poll() is not None}

    def ensure_running(self) -> None:
        """Start every host that is not running (all of them, the first time)."""
        for h in self.plan.hosts:
            if h.name not in self.hosts or self.hosts[h.name].popen.poll() is not None:
                self.start(h.name)

    def check_alive(self) -> None:
        assert_alive({n: h for n, h in self.hosts.items() if n not in self.down})

    def stop(self) -> None:
        stop_hosts(self.hosts.values())

    # --- events ---------------------------------------------------------------------------------

    def events(self, host: HostProcess) -> list[dict[str, Any]]:
        """Every event of ``host`` so far (every runtime it had: they share the file)."""
        tail = self._tails.setdefault(host.events_path, EventTail(host.events_path))
        return tail.read()

    def wait(self, host: HostProcess, test: Test, what: str, timeout: float = SAFETY_S,
             explain: Callable[[], str] | None = None) -> dict[str, Any]:
        """The first event of ``host`` for which ``test`` holds; every host not stopped on purpose
        must stay alive meanwhile. ``timeout`` is a net against a hang, not a budget."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            found = next((e for e in self.events(host) if test(e)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                more = explain() if explain is not None else f"last events: {self.events(host)[-8:]}"
                raise AssertionError(f"{host.config.host.name}: waited {timeout:g} s (a safety net) "
                                     f"for {what}; {more}")
            time.sleep(0.2)

    def payment_after(self, t: float, what: str) -> dict[str, Any]:
        """The user's first ``payment_sent`` after ``t``; on a miss, the message says why payments failed."""
        user = self.role("regular_user")

        def explain() -> str:
            since = [e for e in self.events(user) if e["t"] > t]
            failed = Counter(e["reason"] for e in since if e["event"] == "payment_failed")
            blocks = len({e["height"] for e in since if e["event"] == "block_seen"})
            return (f"since then the user saw {blocks} new blocks and its payments failed {dict(failed)}; "
                    f"last events: {since[-8:]}")

        return self.wait(user, after(t, "payment_sent"), f"a payment_sent {what}", explain=explain)


class Networks:
    """The module's network: built on first use, built again once a test has stopped it for good."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self.current: Network | None = None

    def ready(self) -> Network:
        """A network whose hosts all run their role and whose bootstrap is done."""
        if self.current is None or self.current.spent:
            self.stop()
            self.current = Network(self._tmp.mktemp("faults") / "out")
        net = self.current
        net.ensure_running()
        net.wait(net.role("block_controller"), event("bootstrap_done"), "bootstrap_done", BOOTSTRAP_SAFETY_S)
        return net

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()


@pytest.fixture(scope="module")
def _networks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Networks]:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    networks = Networks(tmp_path_factory)
    try:
        yield networks
    finally:
        networks.stop()


@pytest.fixture
def net(_networks: Networks) -> Iterator[Network]:
    """The module's network, bootstrapped, every role running. Afterwards, a host that died during the
    test by itself fails it; any host that is down is started again for the next test."""
    network = _networks.ready()
    yield network
    if network.spent:
        return
    died = network.died()
    network.ensure_running()
    assert not died, f"host runtimes died during the test: {died}"


def kill9(host: HostProcess, program: str) -> tuple[int, float]:
    """SIGKILL ``program`` (``monerod`` or ``wallet``) of ``host``, found by its pid file."""
    pid = int((host.data_dir / f"{program}.pid").read_text())
    killed_at = time.time()
    os.kill(pid, signal.SIGKILL)
    return pid, killed_at


def test_the_network_bootstraps_and_the_user_pays(net: Network) -> None:
    controller, user = net.role("block_controller"), net.role("regular_user")
    funded = [e for e in net.events(controller) if e["event"] == "user_funded"]
    assert [e["user_id"] for e in funded] == [user.config.host.agent_id]
    net.wait(user, event("payment_sent"), "payment_sent")


def test_monerod_killed_on_a_pool_is_restarted_with_its_chain_and_the_pool_mines_on(net: Network) -> None:
    """The recovery is bounded by mine orders, not by the safety net: the restarted node mines one of
    the first :data:`RESTART_ORDERS` orders the pool carries out after its restart, and by the pool's
    next block it holds a connection to each of its planned peers. A local run once left a
    restarted pool's node without peers for 3 minutes, answering BUSY to 13 orders in a row, while
    a wait of 600 s for "a block after the restart" still passed
    (:data:`monerosim_actors.plan.monero_args.MAX_CONNECTIONS_PER_IP`)."""
    pool, controller = net.role("mining_pool"), net.role("block_controller")
    height = max(e["height"] for e in net.events(pool) if e["event"] == "block_seen")
    _, killed_at = kill9(pool, "monerod")
    restarted = net.wait(pool, after(killed_at, "process_restarted", name="monerod"), "monerod restart")["t"]

    def failed_since_restart(until: float) -> list[dict[str, Any]]:
        return [e for e in net.events(pool) if e["event"] == "mine_failed" and restarted < e["t"] <= until]

    def decides(e: dict[str, Any]) -> bool:
        """A block mined after the restart, or the order that makes RESTART_ORDERS failed ones."""
        if e["t"] <= restarted:
            return False
        return e["event"] == "block_mined" or (e["event"] == "mine_failed"
                                               and len(failed_since_restart(e["t"])) >= RESTART_ORDERS)

    outcome = net.wait(pool, decides, f"a block, or {RESTART_ORDERS} failed orders, after the restart")
    failed = failed_since_restart(outcome["t"])
    assert outcome["event"] == "block_mined", \
        f"the restarted pool failed its first {len(failed)} orders: {[e['reason'] for e in failed]}"
    assert outcome["height"] > height
    done = net.wait(controller, lambda e: after(killed_at, "mine_completed", phase="schedule")(e)
                    and e["height"] > height, "a scheduled block mined after the restart")
    assert done["pool_id"] == "pool_alpha"

    # by the pool's next block, the restarted node holds a connection to each of its planned peers
    net.wait(pool, lambda e: e["event"] == "block_mined" and e["height"] > outcome["height"], "the pool's next block")
    node = pool.config.host
    assert node.monerod is not None
    daemon = DaemonRpc(f"http://{node.ip}:{node.monerod.rpc_port}")
    try:
        linked = {c.address for c in daemon.get_connections() if not c.incoming and c.state == "normal"}
    finally:
        daemon.close()
    assert set(node.monerod.peers) <= linked, f"the restarted node dials {sorted(linked)} of {node.monerod.peers}"


def test_wallet_killed_is_reopened_with_its_balance(net: Network) -> None:
    """The marketplace's wallet only receives, so its balance can only have grown."""
    market = net.role("marketplace")
    user = net.role("regular_user")
    net.wait(market, event("payment_confirmed"), "a payment to the marketplace in a block",
             explain=lambda: f"the user sent {sum(e['event'] == 'payment_sent' for e in net.events(user))} payments")
    wallet = WalletRpc(f"http://{market.config.host.ip}:{market.config.host.wallet.rpc_port}",
                       timeout=WALLET_RPC_TIMEOUT_S)
    try:
        wallet.refresh()
        before = wallet.get_balance().balance
        assert before > 0, "a payment was confirmed to the marketplace, but its wallet holds nothing"
        _, killed_at = kill9(market, "wallet")
        net.wait(market, after(killed_at, "process_restarted", name="wallet"), "wallet restart")
        net.wait(market, after(killed_at, "wallet_opened", created=False), "the marketplace reopening its wallet")
        wallet.refresh()  # a wallet that lost its cache rescans: its balance is whole once it caught up
        assert wallet.get_balance().balance >= before
        assert not [e for e in net.events(market) if e["event"] == "actor_failed"]
    finally:
        wallet.close()


def test_the_controller_host_killed_and_restarted_resumes_the_schedule(net: Network) -> None:
    old = net.role("block_controller")
    name = old.config.host.name
    # a schedule to resume: it starts after the bootstrap (alone, this test would kill the controller
    # before its first scheduled order, and no pause in the schedule would span the restart)
    net.wait(old, event("mine_completed", phase="schedule"), "the schedule's first block")
    monerod_pid = int((old.data_dir / "monerod.pid").read_text())
    net.kill_runtime(old)
    killed_at = time.time()
    assert os.path.exists(f"/proc/{monerod_pid}"), "monerod should have outlived its host"
    new = net.start(name)
    left = [net.wait(new, after(killed_at, "process_leftover_stopped", name=n), f"leftover {n} stopped")
            for n in ("monerod", "wallet")]
    assert left[0]["pid"] == monerod_pid
    resumed = net.wait(new, after(killed_at, "controller_resumed"), "controller_resumed")
    assert not [e for e in net.events(new) if e["t"] > killed_at and e["event"] == "bootstrap_step"]
    net.wait(new, after(resumed["t"], "mine_completed", phase="schedule"), "a scheduled block after resuming")
    pool = net.role("mining_pool")
    net.wait(pool, after(killed_at, "msg_received", type="registration_requested"), "re-registration request")

    # the analysis of the run so far sees the pause in the schedule that spans this restart
    run = load_run(net.out)
    blocks = summarize(run)["blocks"]
    assert blocks["controller_resumed"] == len([e for e in net.events(new) if e["event"] == "controller_resumed"])
    restarted = next(e for e in net.events(new) if e["t"] > killed_at and e["event"] == "host_started")["t"]
    at = (restarted - (run.start or 0.0)) * run.time_scale  # the analysis speaks scenario seconds
    assert [g for g in blocks["schedule_gaps"] if g["restart"] and g["from_s"] < at < g["to_s"]], \
        (at, blocks["schedule_gaps"])


def test_the_directory_down_for_a_while_users_back_off_and_payments_resume(net: Network) -> None:
    directory, user = net.role("marketplace_directory"), net.role("regular_user")
    assert net.terminate(directory) == 0, directory.stderr()[-1500:]
    down_at = time.time()
    net.wait(user, after(down_at, "msg_sent", type="get_vendors"), "a vendor lookup while the directory is down")
    restart_at = time.time()
    back = net.start(directory.config.host.name)
    up_at = next(e for e in net.events(back) if e["t"] > restart_at and e["event"] == "role_started")["t"]
    net.wait(back, after(restart_at, "vendors_registered"), "the marketplace registering again")
    net.wait(user, after(up_at, "msg_received", type="vendor_list"), "a vendor list after the return")
    net.payment_after(up_at, "after the directory's return")
    assert not [e for h in net.hosts.values() for e in net.events(h) if e["event"] == "actor_failed"]


def test_the_users_wallet_killed_is_reopened_and_it_pays_again(net: Network) -> None:
    user = net.role("regular_user")
    _, killed_at = kill9(user, "wallet")
    restarted = net.wait(user, after(killed_at, "process_restarted", name="wallet"), "user wallet restart")
    net.wait(user, after(killed_at, "wallet_opened", created=False), "the user reopening its wallet")
    net.payment_after(restarted["t"], "after the wallet restart")
    assert not [e for h in net.hosts.values() for e in net.events(h) if e["event"] == "actor_failed"]


def test_monerod_killed_on_a_user_is_restarted_and_payments_go_on(net: Network) -> None:
    """Transfers the user's node held when it was killed can stay unmined for minutes afterwards (its
    log: "Unable to send transaction(s) via Dandelion++ stem"), which locks the outputs they spend;
    the user pays on with its other outputs, or once the change has unlocked."""
    user = net.role("regular_user")
    _, killed_at = kill9(user, "monerod")
    restarted = net.wait(user, after(killed_at, "process_restarted", name="monerod"), "monerod restart")
    net.payment_after(restarted["t"], "after the monerod restart")


def test_sigterm_stops_every_host_cleanly_and_nothing_was_lost_or_paid_twice(net: Network) -> None:
    user = net.role("regular_user")
    net.wait(user, event("payment_sent"), "a payment before the stop (so that there is something to check)")
    # nothing was lost: every payment whose outcome was unknown (an RPC timeout, the wallet or the node
    # killed during the call) is settled against the wallet's transfers within a few blocks
    # (monerosim_actors.actors.regular_user.RECONCILE_BLOCKS)
    for failed in [e for e in net.events(user) if e["event"] == "payment_failed" and e.get("reconcile")]:
        net.wait(user, after(failed["t"], "payment_reconciled", payment_id=failed["payment_id"]),
                 f"the reconciliation of {failed['payment_id']}, whose outcome was unknown")
    hosts = dict(net.hosts)
    net.spent = True
    net.down.update(hosts)
    for h in hosts.values():
        h.popen.send_signal(signal.SIGTERM)
    codes = {name: h.popen.wait(SAFETY_S) for name, h in hosts.items()}
    assert codes == {name: 0 for name in hosts}, {n: hosts[n].stderr()[-1500:] for n, c in codes.items() if c}
    for name, h in hosts.items():
        raw = h.events_path.read_bytes()
        assert raw.endswith(b"\n"), f"{name}: events.jsonl ends mid-line"
        last = json.loads(raw.splitlines()[-1])
        assert (last["event"], last["exit_code"]) == ("host_stopped", 0), name
        stopped = net.events(h)[::-1]
        wallet_exit = next((e for e in stopped if e["event"] == "process_exited" and e["name"] == "wallet"), None)
        if h.config.host.wallet is not None:
            assert wallet_exit and wallet_exit["expected"] and wallet_exit["returncode"] == 0, name
        assert not processes_matching(str(h.data_dir)), f"{name}: processes left"
        assert not list(h.data_dir.glob("*.pid")), f"{name}: pid files left after a clean stop"

    log = net.events(user)
    sent = [e for e in log if e["event"] == "payment_sent"]
    assert len({e["txid"] for e in sent}) == len(sent), "a transaction was reported twice"
    assert len({e["payment_id"] for e in sent}) == len(sent), "a payment was sent twice"
