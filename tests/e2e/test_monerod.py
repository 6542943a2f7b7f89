"""The runtime supervising real monerod and monero-wallet-rpc (in this process, no role logic)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from monerosim_actors.errors import OutputError, ProcessError, RpcResponseError
from monerosim_actors.plan.monero_args import monerod_argv
from monerosim_actors.events.read import read_events
from monerosim_actors.runtime.rpc import STATUS_BUSY, DaemonRpc
from monerosim_actors.runtime.system import HostSystem
from tests.conftest import assert_no_process_left
from tests.e2e.conftest import SAFETY_S, wait_for_event
from tests.e2e.plans import binaries, host_config, host_plan, loopback

pytestmark = pytest.mark.e2e


def events_of(system: HostSystem, name: str) -> list[dict]:
    return [e for e in read_events(os.path.join(system.data_dir, "events.jsonl")) if e["event"] == name]


def test_mine_to_wallet_kill9_restart_and_graceful_stop(start_host: Callable[..., HostSystem]) -> None:
    system = start_host(host_plan("miner", loopback(2, 0)))
    assert system.daemon is not None and system.wallet is not None
    ready = {e["name"] for e in events_of(system, "process_ready")}
    assert ready == {"monerod", "wallet"}

    system.wallet.create_wallet("w")
    address = system.wallet.get_address()
    height, hashes = system.daemon.generateblocks(5, address)
    assert len(hashes) == 5 and system.daemon.get_height() == height + 1
    system.wallet.refresh()
    balance = system.wallet.get_balance()
    assert balance.balance > 0 and balance.unlocked_balance == 0  # coinbase is locked 60 blocks

    events_path = os.path.join(system.data_dir, "events.jsonl")
    seen = wait_for_event(events_path, "block_seen", count=5)
    assert [e["hash"] for e in seen] == list(hashes)
    assert seen[-1]["height"] == height
    wait_for_event(events_path, "role_got", type="ChainAdvanced")

    # kill -9: the supervisor restarts monerod with its chain, and tells the role
    pid = events_of(system, "process_started")[0]["pid"]
    os.kill(pid, signal.SIGKILL)
    exited = wait_for_event(events_path, "process_exited", name="monerod")[0]
    assert exited["returncode"] == -signal.SIGKILL and exited["expected"] is False
    restarted = wait_for_event(events_path, "process_restarted", name="monerod")[0]
    assert restarted["attempt"] == 1 and restarted["pid"] != pid
    assert system.daemon.get_height() == height + 1
    wait_for_event(events_path, "role_got", type="ProcessRestarted")
    system.wallet.store()

    # graceful stop: both programs exit 0 over RPC, nothing is left
    system.stop("test", 0)
    exits = {e["name"]: e for e in events_of(system, "process_exited") if e["expected"]}
    assert {n: (e["returncode"]) for n, e in exits.items()} == {"monerod": 0, "wallet": 0}
    assert read_events(events_path)[-1]["event"] == "host_stopped"
    assert_no_process_left(system.data_dir, timeout=0)
    assert os.path.exists(os.path.join(system.data_dir, "wallet", "w.keys"))
    assert os.path.getsize(os.path.join(system.data_dir, "monerod.stdout")) > 0


def test_program_exiting_during_start_fails_at_once(tmp_path: Path, monero_binaries: None) -> None:
    """Port taken: monerod exits at once; the error names the program, its code and its log tail."""
    blocker = socket.socket()
    blocker.bind((loopback(2, 1), 18081))
    blocker.listen()
    system = HostSystem(host_config(host_plan("blocked", loopback(2, 1), wallet=False)),
                        str(tmp_path / "blocked"), ready_timeout_s=600)
    try:
        with pytest.raises(ProcessError) as e:
            system.start()
    finally:
        blocker.close()
    text = str(e.value)  # "exited", not "did not answer within 600 s": it did not wait for the timeout
    assert "blocked: monerod exited with code" in text and "last lines of its log" in text
    assert e.value.returncode not in (None, 0)
    assert events_of(system, "host_stopped")[0]["exit_code"] == 2
    assert_no_process_left(system.data_dir, timeout=0)


def test_missing_binary_and_unwritable_dir(tmp_path: Path) -> None:
    plan = host_plan("nobin", loopback(2, 2), wallet=False)
    config = host_config(plan)
    config = type(config)(**{**config.__dict__,
                             "binaries": type(config.binaries)(python="python3", monerod="/nonexistent/monerod",
                                                               wallet_rpc="/nonexistent/wallet")})
    with pytest.raises(ProcessError, match="cannot start monerod"):
        HostSystem(config, str(tmp_path / "nobin")).start()
    (tmp_path / "ro").mkdir(mode=0o500)
    if os.geteuid() != 0:  # root writes anywhere; use a path under a file instead
        target = tmp_path / "ro" / "host"
    else:
        (tmp_path / "file").write_text("")
        target = tmp_path / "file" / "host"
    with pytest.raises(OutputError, match="not writable"):
        HostSystem(host_config(host_plan("ro", loopback(2, 3), monerod=False, wallet=False)),
                   str(target)).start()


def test_readiness_timeout_names_the_program(tmp_path: Path) -> None:
    """A program that never answers its RPC: the start gives up after the timeout and kills it."""
    mute = tmp_path / "mute.sh"
    mute.write_text("#!/bin/sh\nexec sleep 600\n")
    mute.chmod(0o755)
    plan = host_plan("mute", loopback(2, 4), wallet=False)
    config = host_config(plan)
    config = type(config)(**{**config.__dict__,
                             "binaries": type(config.binaries)(python="python3", monerod=str(mute),
                                                               wallet_rpc="/bin/false")})
    system = HostSystem(config, str(tmp_path / "mute"), ready_timeout_s=1.0)
    with pytest.raises(ProcessError, match="monerod did not answer its RPC within 1 s"):
        system.start()
    assert_no_process_left(system.data_dir)


def test_shadow_launch_mode_attaches_and_stops_over_rpc(tmp_path: Path, monero_binaries: None) -> None:
    plan = host_plan("attached", loopback(2, 5), wallet=False)
    data_dir = tmp_path / "attached"
    data_dir.mkdir()
    monerod = subprocess.Popen(monerod_argv(binaries().monerod, plan, str(data_dir)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        system = HostSystem(host_config(plan, launch_mode="shadow"), str(data_dir), ready_timeout_s=SAFETY_S)
        assert system.start()
        assert system.daemon is not None and system.daemon.get_info().nettype == "fakechain"
        assert not events_of(system, "process_started")
        system.stop("test", 0)
        assert monerod.wait(SAFETY_S) == 0
    finally:
        if monerod.poll() is None:
            os.killpg(monerod.pid, signal.SIGKILL)
            monerod.wait()


def test_peered_nodes_see_each_others_blocks(start_host: Callable[..., HostSystem]) -> None:
    """Without --offline a regtest node mines only once synchronised with a peer (BUSY before);
    the peer's runtime then logs block_seen for the blocks it received."""
    a = start_host(host_plan("peer-a", loopback(2, 6), wallet=False, offline=False,
                             peers=(f"{loopback(2, 7)}:18080",)))
    b = start_host(host_plan("peer-b", loopback(2, 7), wallet=False, offline=False,
                             peers=(f"{loopback(2, 6)}:18080",)))
    assert a.daemon is not None and b.daemon is not None
    address = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
    deadline = time.monotonic() + SAFETY_S  # a net against a hang
    while True:  # BUSY until the nodes have connected and synchronised
        try:
            height, hashes = a.daemon.generateblocks(2, address)
            break
        except RpcResponseError as e:
            assert e.rpc_message == STATUS_BUSY and time.monotonic() < deadline, e
            time.sleep(0.5)
    seen = wait_for_event(os.path.join(b.data_dir, "events.jsonl"), "block_seen", count=2)
    assert [e["hash"] for e in seen] == list(hashes) and seen[-1]["height"] == height


def _connections_to(url: str) -> int:
    """This process's established TCP connections to ``url``'s port."""
    port = int(url.rsplit(":", 1)[1])
    return sum(1 for c in psutil.Process().net_connections("tcp")
               if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED)


def test_a_host_on_a_public_node_holds_no_rpc_connection_there_between_calls(
        start_host: Callable[..., HostSystem]) -> None:
    """A wallet-only host's runtime asks its public node over connections it closes after each answer:
    monerod allows 100 RPC connections (3 per public address), and the wallet's is the only one a real
    wallet-only user holds. 50 users each holding a second one filled a public node under Shadow."""
    node = start_host(host_plan("public", loopback(2, 6), wallet=False))
    assert node.daemon is not None
    url = node.daemon.url
    remote_plan = replace(host_plan("light", loopback(2, 7), monerod=False, wallet=False),
                          node=node.config.host.node)
    light = start_host(remote_plan)
    assert light.daemon is not None and light.daemon.url == url
    before = _connections_to(url)
    for _ in range(3):
        light.daemon.get_height()
    assert _connections_to(url) == before, "the public node's client kept a connection open"
    own = DaemonRpc(url)  # as a host's client of its own node: one connection, kept for the next call
    own.get_height()
    own.get_height()
    assert _connections_to(url) == before + 1
    own.close()
