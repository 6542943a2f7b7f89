"""Faults injected for real into one running network (real monerod, wallets and host runtimes on
loopback): kill -9 of monerod on a pool and on a user, of the wallets, SIGKILL of the block
controller's whole host and its restart, the directory stopped and started again, and finally
SIGTERM to every host. The tests run in order on one network (its bootstrap is the expensive part).

Addresses: 127.90.(2 * session slot).x, so concurrent test sessions do not collide.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monerosim_actors.analysis import load_run, summarize
from monerosim_actors.plan import Plan, host_config
from monerosim_actors.planner import build_plan
from monerosim_actors.runtime.events import read_events
from monerosim_actors.runtime.rpc import WalletRpc
from monerosim_actors.scenario import load_scenario
from tests.conftest import processes_matching, require_binary
from tests.e2e.conftest import HostProcess, assert_alive, stop_hosts
from tests.e2e.plans import SESSION_SLOT

pytestmark = pytest.mark.e2e

TIME_SCALE = 4.0
PLANNER_RANGE = "127.10.0."
OUR_RANGE = f"127.90.{2 * SESSION_SLOT + 10}."
SCENARIO = Path(__file__).parent / "scenarios" / "faults.yaml"
BOOTSTRAP_TIMEOUT_S = 900.0
"""The bootstrap took 430 s on this machine at a load average of 35."""
STEP_TIMEOUT_S = 240.0


def _plan(out: Path) -> Plan:
    plan = build_plan(load_scenario(SCENARIO), addressing="loopback", out_dir=str(out))
    assert all(h.ip.startswith(PLANNER_RANGE) for h in plan.hosts)
    return Plan.from_json(plan.to_json().replace(PLANNER_RANGE, OUR_RANGE))


class Network:
    """The hosts as separate runtimes, laid out as a run folder (OUT/plan.json, OUT/shadow.data/hosts)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.plan = _plan(out)
        (out / "plan.json").parent.mkdir(parents=True, exist_ok=True)
        (out / "plan.json").write_text(self.plan.to_json())
        self.root = out / "shadow.data" / "hosts"
        self.hosts: dict[str, HostProcess] = {}

    def start(self, name: str) -> HostProcess:
        self.hosts[name] = HostProcess(host_config(self.plan, self.plan.host(name), time_scale=TIME_SCALE),
                                       self.root)
        return self.hosts[name]

    def role(self, role: str) -> HostProcess:
        (name,) = [h.name for h in self.plan.hosts if h.role == role]
        return self.hosts[name]

    def check_alive(self) -> None:
        assert_alive(self.hosts)

    def wait(self, host: HostProcess, test: Callable[[dict[str, Any]], bool], what: str,
             timeout: float = STEP_TIMEOUT_S) -> dict[str, Any]:
        """The first event of ``host`` for which ``test`` holds; every host must stay alive meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            found = [e for e in host.events() if test(e)] if host.events_path.exists() else []
            if found:
                return found[0]
            assert time.monotonic() < deadline, f"{host.config.host.name}: no {what} within {timeout:g} s; " \
                                                f"last events: {found or host.events()[-8:]}"
            time.sleep(0.2)

    def stop(self) -> None:
        stop_hosts(self.hosts.values())


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    network = Network(tmp_path_factory.mktemp("faults") / "out")
    try:
        for h in network.plan.hosts:
            network.start(h.name)
        yield network
    finally:
        network.stop()


def event(event_name: str, /, **match: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] == event_name and all(e.get(k) == v for k, v in match.items())


def after(t: float, event_name: str, /, **match: Any) -> Callable[[dict[str, Any]], bool]:
    test = event(event_name, **match)
    return lambda e: e["t"] > t and test(e)


def kill9(host: HostProcess, program: str) -> tuple[int, float]:
    """SIGKILL ``program`` (``monerod`` or ``wallet``) of ``host``, found by its pid file."""
    pid = int((host.data_dir / f"{program}.pid").read_text())
    killed_at = time.time()
    os.kill(pid, signal.SIGKILL)
    return pid, killed_at


def test_the_network_bootstraps_and_the_user_pays(net: Network) -> None:
    net.wait(net.role("block_controller"), event("bootstrap_done"), "bootstrap_done", BOOTSTRAP_TIMEOUT_S)
    net.wait(net.role("regular_user"), event("payment_sent"), "payment_sent")


def test_monerod_killed_on_a_pool_is_restarted_with_its_chain_and_the_pool_mines_on(net: Network) -> None:
    pool, controller = net.role("mining_pool"), net.role("block_controller")
    height = max(e["height"] for e in pool.events() if e["event"] == "block_seen")
    _, killed_at = kill9(pool, "monerod")
    net.wait(pool, after(killed_at, "process_restarted", name="monerod"), "monerod restart")
    done = net.wait(controller, lambda e: after(killed_at, "mine_completed", phase="schedule")(e)
                    and e["height"] > height, "a scheduled block mined after the restart")
    assert done["pool_id"] == "pool_alpha"


def test_wallet_killed_is_reopened_with_its_balance(net: Network) -> None:
    """The marketplace's wallet only receives, so its balance can only have grown."""
    market = net.role("marketplace")
    wallet = WalletRpc(f"http://{market.config.host.ip}:{market.config.host.wallet.rpc_port}")
    try:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while (before := wallet.get_balance().balance) == 0:
            assert time.monotonic() < deadline, "no payment reached the marketplace's wallet"
            time.sleep(1)
        _, killed_at = kill9(market, "wallet")
        net.wait(market, after(killed_at, "process_restarted", name="wallet"), "wallet restart")
        net.wait(market, after(killed_at, "wallet_opened", created=False), "the marketplace reopening its wallet")
        wallet.refresh()  # a wallet that lost its cache rescans: its balance is whole once it caught up
        assert wallet.get_balance().balance >= before
        assert not [e for e in market.events() if e["event"] == "actor_failed"]
    finally:
        wallet.close()


def test_the_controller_host_killed_and_restarted_resumes_the_schedule(net: Network) -> None:
    old = net.role("block_controller")
    monerod_pid = int((old.data_dir / "monerod.pid").read_text())
    os.killpg(old.popen.pid, signal.SIGKILL)  # the runtime's group; monerod and the wallet survive it
    old.popen.wait(30)
    killed_at = time.time()
    assert os.path.exists(f"/proc/{monerod_pid}"), "monerod should have outlived its host"
    new = net.start(old.config.host.name)
    left = [net.wait(new, after(killed_at, "process_leftover_stopped", name=n), f"leftover {n} stopped")
            for n in ("monerod", "wallet")]
    assert left[0]["pid"] == monerod_pid
    resumed = net.wait(new, after(killed_at, "controller_resumed"), "controller_resumed")
    assert not [e for e in new.events() if e["t"] > killed_at and e["event"] == "bootstrap_step"]
    net.wait(new, after(resumed["t"], "mine_completed", phase="schedule"), "a scheduled block after resuming")
    pool = net.role("mining_pool")
    net.wait(pool, after(killed_at, "msg_received", type="registration_requested"), "re-registration request")


def test_the_directory_down_for_a_while_users_back_off_and_payments_resume(net: Network) -> None:
    directory, user = net.role("marketplace_directory"), net.role("regular_user")
    assert directory.terminate() == 0
    down_at = time.time()
    del net.hosts[directory.config.host.name]
    net.wait(user, lambda e: after(down_at, "msg_sent", type="get_vendors")(e), "a vendor lookup while down", 120)
    restart_at = time.time()
    back = net.start(directory.config.host.name)
    up_at = net.wait(back, after(restart_at, "role_started"), "the directory's role", 120)["t"]
    net.wait(back, after(restart_at, "vendors_registered"), "the marketplace registering again")
    net.wait(user, after(up_at, "msg_received", type="vendor_list"), "a vendor list after the return")
    net.wait(user, after(up_at, "payment_sent"), "a payment after the return")
    assert not [e for h in net.hosts.values() for e in h.events() if e["event"] == "actor_failed"]


def test_the_users_wallet_killed_is_reopened_and_it_pays_again(net: Network) -> None:
    user = net.role("regular_user")
    _, killed_at = kill9(user, "wallet")
    restarted = net.wait(user, after(killed_at, "process_restarted", name="wallet"), "user wallet restart")
    net.wait(user, after(killed_at, "wallet_opened", created=False), "the user reopening its wallet")
    net.wait(user, after(restarted["t"], "payment_sent"), "a payment after the wallet restart")
    assert not [e for h in net.hosts.values() for e in h.events() if e["event"] == "actor_failed"]


def test_monerod_killed_on_a_user_is_restarted_and_payments_go_on(net: Network) -> None:
    """Last before the SIGTERM: transfers the user's node held when it was killed can stay unmined
    for minutes afterwards (its log: "Unable to send transaction(s) via Dandelion++ stem"), which
    locks the user's funds, so a later test that needs a payment would fail for this reason."""
    user = net.role("regular_user")
    _, killed_at = kill9(user, "monerod")
    restarted = net.wait(user, after(killed_at, "process_restarted", name="monerod"), "monerod restart")
    net.wait(user, after(restarted["t"], "payment_sent"), "a payment after the restart")


def test_sigterm_stops_every_host_cleanly_and_nothing_was_lost_or_paid_twice(net: Network) -> None:
    hosts = dict(net.hosts)
    for h in hosts.values():
        h.popen.send_signal(signal.SIGTERM)
    codes = {name: h.popen.wait(120) for name, h in hosts.items()}
    assert codes == {name: 0 for name in hosts}, {n: hosts[n].stderr()[-1500:] for n, c in codes.items() if c}
    for name, h in hosts.items():
        raw = h.events_path.read_bytes()
        assert raw.endswith(b"\n"), f"{name}: events.jsonl ends mid-line"
        last = json.loads(raw.splitlines()[-1])
        assert (last["event"], last["exit_code"]) == ("host_stopped", 0), name
        stopped = h.events()[::-1]
        wallet_exit = next((e for e in stopped if e["event"] == "process_exited" and e["name"] == "wallet"), None)
        if h.config.host.wallet is not None:
            assert wallet_exit and wallet_exit["expected"] and wallet_exit["returncode"] == 0, name
        assert not processes_matching(str(h.data_dir)), f"{name}: processes left"
        assert not list(h.data_dir.glob("*.pid")), f"{name}: pid files left after a clean stop"

    log = read_events(str(net.role("regular_user").events_path))
    sent = [e for e in log if e["event"] == "payment_sent"]
    assert len({e["txid"] for e in sent}) == len(sent), "a transaction was reported twice"
    assert len({e["payment_id"] for e in sent}) == len(sent), "a payment was sent twice"
    end = log[-1]["t"]
    for failed in (e for e in log if e["event"] == "payment_failed" and e.get("reconcile")):
        if failed["t"] < end - 60:
            assert any(e["event"] == "payment_reconciled" and e["payment_id"] == failed["payment_id"]
                       for e in log), f"{failed['payment_id']} was never reconciled"

    blocks = summarize(load_run(net.out))["blocks"]
    assert blocks["controller_resumed"] == 1
    assert [g for g in blocks["schedule_gaps"] if g["restart"]], blocks["schedule_gaps"]
