"""Who may do what: every socket on its host's own address, mine orders only from the block
controller, registrations only from the hosts the plan names (docs/security.md has the trust model).

The real-process tests run a block controller and a mining pool (each with monerod and the wallet,
peered) and a marketplace directory as ``python -m monerosim_actors.runtime.host`` processes, then forge
messages with raw DEALER / ROUTER sockets: a registration from a host that is no pool, one that
claims another host as its ``src``, and mine orders reaching the pool through the only other path it
has, its DEALER to the (here: fake) directory.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
import zmq

from monerosim_actors.coordination.messages import (MineBlocks, PoolRegistered, RegisterPool,
                                                    RegisterVendors, VendorsRegistered)
from monerosim_actors.wire import Envelope, Message, decode, encode
from monerosim_actors import defaults
from monerosim_actors.plan import monero_args
from monerosim_actors.errors import ScenarioError
from monerosim_actors.plan.model import ServiceAddress
from monerosim_actors.scenario.load import load_scenario
from tests.e2e.conftest import SAFETY_S, HostProcess
from tests.e2e.plans import host_config, host_plan
from tests.unit.scenario_helpers import base_doc

CONTROLLER = defaults.BLOCK_CONTROLLER_HOST
DIRECTORY = defaults.MARKETPLACE_DIRECTORY_HOST
MONERO_PORTS = {defaults.MONEROD_P2P_PORT, defaults.MONEROD_RPC_PORT, defaults.MONEROD_ZMQ_RPC_PORT,
                defaults.MONEROD_ZMQ_PUB_PORT, defaults.WALLET_RPC_PORT}
REPLY_TIMEOUT_MS = int(SAFETY_S * 1000)
"""How long to wait for an answer: a net against a hang, not a budget."""


def who_may_ips(count: int) -> list[str]:
    """``count`` addresses in this suite's range 127.80.x.y, drawn per run (x >= 200: the bus fuzz
    test draws below)."""
    x = 200 + secrets.randbelow(50)
    y = 1 + secrets.randbelow(250 - count)
    return [f"127.80.{x}.{y + i}" for i in range(count)]


# --- (a) every socket on the host's own address ------------------------------------------------------

def test_monero_command_lines_bind_only_the_host_address() -> None:
    plan = host_plan("pool-a", "11.0.3.7", peers=("11.0.3.8:18080",))
    monerod = monero_args.monerod_argv("monerod", plan, "/d")
    wallet = monero_args.wallet_argv("wallet", plan, "/d")
    for argv in (monerod, wallet):
        assert not [a for a in argv if "0.0.0.0" in a or "::" in a]
        binds = {flag: argv[i + 1] for i, flag in enumerate(argv) if flag.endswith("-bind-ip")}
        assert binds and set(binds.values()) == {"11.0.3.7"}, binds
    assert {f for f in monerod if f.endswith("-bind-ip")} == {"--p2p-bind-ip", "--rpc-bind-ip", "--zmq-rpc-bind-ip"}
    assert monerod[monerod.index("--zmq-pub") + 1] == "tcp://11.0.3.7:18083"
    assert wallet[wallet.index("--daemon-address") + 1] == "11.0.3.7:18081"


@pytest.mark.parametrize("flag", ["--rpc-restricted-bind-port=18089", "--rpc-restricted-bind-ip=0.0.0.0",
                                  "--p2p-use-ipv6", "--rpc-use-ipv6", "--p2p-bind-ipv6-address=::",
                                  "--anonymous-inbound=x.onion,127.0.0.1:1", "--rpc-bind-ip=0.0.0.0",
                                  "--zmq-pub=tcp://0.0.0.0:1"])
@pytest.mark.parametrize("key", ["monerod_args", "wallet_args"])
def test_extra_arguments_cannot_open_sockets_elsewhere(tmp_path: Path, key: str, flag: str) -> None:
    doc = base_doc()
    doc["monero"][key] = ["--log-level=1", flag]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert [p.path for p in e.value.problems] == [f"monero.{key}[1]"], e.value.problems


def _descendants(pid: int) -> set[int]:
    children: dict[int, set[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, set()).add(int(entry))
    found, todo = {pid}, [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    return socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))


def listening_sockets(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every listening TCP socket (IPv4 and IPv6) of ``pid`` and its descendants."""
    inodes = set()
    for proc in _descendants(pid):
        try:
            fds = os.listdir(f"/proc/{proc}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{proc}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[9]) in inodes:  # 0A: LISTEN
                    addr, port = fields[1].split(":")
                    found.add((_address(addr), int(port, 16)))
    return found


# --- raw sockets that forge messages ---------------------------------------------------------------

class Raw:
    """Raw ZeroMQ sockets for a test; all closed at the end."""

    def __init__(self) -> None:
        self.ctx = zmq.Context()
        self.sockets: list[zmq.Socket] = []

    def dealer(self, identity: str, endpoint: str) -> zmq.Socket:
        sock = self._socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, identity.encode())
        sock.connect(endpoint)
        return sock

    def router(self, endpoint: str) -> zmq.Socket:
        sock = self._socket(zmq.ROUTER)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        sock.bind(endpoint)
        return sock

    def _socket(self, kind: int) -> zmq.Socket:
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        self.sockets.append(sock)
        return sock

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.ctx.term()


@pytest.fixture
def raw() -> Iterator[Raw]:
    sockets = Raw()
    yield sockets
    sockets.close()


def frame(src: str, dst: str, body: Message) -> bytes:
    return encode(Envelope(id=f"{src}:forged-{secrets.token_hex(4)}", src=src, dst=dst, sent_at=time.time(), body=body))


def reply(sock: zmq.Socket, timeout_ms: int = REPLY_TIMEOUT_MS) -> Message:
    assert sock.poll(timeout_ms), f"no answer (waited {timeout_ms / 1000:g} s, a safety net)"
    return decode(sock.recv()).body


def route_to(router: zmq.Socket, peer: str, data: bytes, timeout: float = SAFETY_S) -> None:
    """Send through a ROUTER once ``peer`` has connected (ROUTER_MANDATORY refuses unknown peers)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            router.send_multipart([peer.encode(), data])
            return
        except zmq.ZMQError as e:
            if e.errno != zmq.EHOSTUNREACH or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --- (b) who may register and who may order blocks -------------------------------------------------

@pytest.mark.e2e
def test_registrations_only_from_planned_marketplaces(spawn_host: Callable[..., HostProcess], raw: Raw) -> None:
    (ip,) = who_may_ips(1)
    plan = host_plan(DIRECTORY, ip, role="marketplace_directory",
                     role_class="monerosim_actors.coordination.marketplace_directory:MarketplaceDirectory", monerod=False,
                     wallet=False, bus_port=5555,
                     params={"marketplaces": [{"marketplace_id": "marketplace_0", "host": "marketplace-0"}],
                             "users": []})
    host = spawn_host(host_config(plan, services={"marketplace_directory": ServiceAddress(DIRECTORY, ip, 5555)}))
    endpoint = f"tcp://{ip}:5555"
    stranger = raw.dealer("user-0", endpoint)
    market = raw.dealer("marketplace-0", endpoint)

    stranger.send(frame("user-0", DIRECTORY, RegisterVendors(marketplace_id="marketplace_0", addresses=("x",))))
    host.wait_for("msg_rejected", src="user-0", reason="not_a_planned_marketplace")
    market.send(frame("marketplace-0", DIRECTORY, RegisterVendors(marketplace_id="marketplace_1", addresses=("x",))))
    host.wait_for("msg_rejected", src="marketplace-0", reason="not_a_planned_marketplace")
    stranger.send(frame("marketplace-0", DIRECTORY, RegisterVendors(marketplace_id="marketplace_0", addresses=("x",))))
    host.wait_for("msg_dropped", reason="src_mismatch", peer="user-0")
    market.send(frame("marketplace-0", DIRECTORY, RegisterVendors(marketplace_id="marketplace_0", addresses=("a", "b"))))
    assert reply(market) == VendorsRegistered(marketplace_id="marketplace_0", count=2)

    assert listening_sockets(host.popen.pid) == {(ip, 5555)}
    assert host.terminate() == 0, host.stderr()
    registered = [e for e in host.events() if e["event"] == "vendors_registered"]
    assert [(e["marketplace_id"], e["count"], e["marketplace_host"]) for e in registered] == [("marketplace_0", 2, "marketplace-0")]


def _services(ctrl_ip: str, dir_ip: str) -> dict[str, ServiceAddress]:
    return {"block_controller": ServiceAddress(CONTROLLER, ctrl_ip, 5555),
            "marketplace_directory": ServiceAddress(DIRECTORY, dir_ip, 5555)}


@pytest.mark.e2e
def test_pools_register_only_as_planned(spawn_host: Callable[..., HostProcess], raw: Raw,
                                        monero_binaries: None) -> None:
    ctrl_ip, dir_ip = who_may_ips(2)
    controller = spawn_host(host_config(host_plan(
        CONTROLLER, ctrl_ip, role="block_controller", role_class="monerosim_actors.coordination.block_controller:BlockController",
        offline=False, bus_port=5555,
        params={"pools": [{"pool_id": "pool_a", "host": "pool-a", "hashrate_share": 1.0}], "users": [],
                "marketplaces": [], "registration_timeout_s": 3600, "mine_timeout_s": 120,
                "schedule": "fixed", "block_time_s": 3600}), services=_services(ctrl_ip, dir_ip)))
    controller.wait_for("role_started")

    # a host that is no pool registers: refused, answered, logged
    stranger = raw.dealer("user-0", f"tcp://{ctrl_ip}:5555")
    stranger.send(frame("user-0", CONTROLLER, RegisterPool(pool_id="pool_a", hashrate_share=1.0, address="x")))
    answer = reply(stranger)  # the controller answers once its faucet wallet is open
    assert isinstance(answer, PoolRegistered) and not answer.accepted and answer.reason == "not_a_planned_pool"
    controller.wait_for("msg_rejected", src="user-0", reason="not_a_planned_pool", type="register_pool")
    # ... and claiming to be the pool does not get past the bus
    stranger.send(frame("pool-a", CONTROLLER, RegisterPool(pool_id="pool_a", hashrate_share=1.0, address="x")))
    controller.wait_for("msg_dropped", reason="src_mismatch", peer="user-0")
    # the planned pool's host under another pool's id
    pool_host = raw.dealer("pool-a", f"tcp://{ctrl_ip}:5555")
    pool_host.send(frame("pool-a", CONTROLLER, RegisterPool(pool_id="pool_b", hashrate_share=1.0, address="x")))
    assert reply(pool_host) == PoolRegistered(pool_id="pool_b", accepted=False, reason="not_a_planned_pool")
    # the planned pool itself (positive control)
    pool_host.send(frame("pool-a", CONTROLLER, RegisterPool(pool_id="pool_a", hashrate_share=1.0, address="x")))
    assert reply(pool_host) == PoolRegistered(pool_id="pool_a", accepted=True, reason="")

    assert listening_sockets(controller.popen.pid) == {(ctrl_ip, port) for port in MONERO_PORTS | {5555}}
    assert controller.terminate() == 0, controller.stderr()
    registered = [e for e in controller.events() if e["event"] == "pool_registered"]
    assert [(e["pool_id"], e["pool_host"]) for e in registered] == [("pool_a", "pool-a")]


@pytest.mark.e2e
def test_a_pool_mines_only_for_the_block_controller(spawn_host: Callable[..., HostProcess], raw: Raw,
                                                     monero_binaries: None) -> None:
    """The pool is a client: its only ways in are its DEALERs to the two services. Stand-ins for both
    (raw ROUTERs) send it mine orders: only the controller's is carried out."""
    ctrl_ip, dir_ip, pool_ip = who_may_ips(3)
    fake_controller = raw.router(f"tcp://{ctrl_ip}:5555")
    fake_directory = raw.router(f"tcp://{dir_ip}:5555")
    pool = spawn_host(host_config(host_plan(
        "pool-a", pool_ip, role="mining_pool", role_class="monerosim_actors.actors.mining_pool:MiningPool",
        params={"pool_id": "pool_a", "hashrate_share": 1.0}), services=_services(ctrl_ip, dir_ip)))

    assert fake_controller.poll(REPLY_TIMEOUT_MS), f"the pool did not register (waited {SAFETY_S:g} s)"
    identity, data = fake_controller.recv_multipart()
    registration = decode(data)
    assert identity == b"pool-a" and isinstance(registration.body, RegisterPool)
    address = registration.body.address

    def order(router: zmq.Socket, src: str, number: int) -> None:
        route_to(router, "pool-a", frame(src, "pool-a", MineBlocks(order=number, count=1, address=address,
                                                                   phase="schedule")))

    order(fake_directory, CONTROLLER, 990001)  # src forged: the bus drops it
    pool.wait_for("msg_dropped", reason="src_mismatch", peer=DIRECTORY)
    order(fake_directory, DIRECTORY, 990002)  # honest src, but not the controller: the role rejects it
    pool.wait_for("msg_rejected", src=DIRECTORY, reason="not_the_block_controller", type="mine_blocks")
    order(fake_controller, CONTROLLER, 990003)  # the controller's: mined
    pool.wait_for("block_mined", order=990003)

    # every listening socket on the pool's own address; a client offers no bus port (and this lone,
    # --offline node no P2P port: the controller's test sees one)
    assert listening_sockets(pool.popen.pid) == {(pool_ip, port) for port in MONERO_PORTS - {18080}}
    assert pool.terminate() == 0, pool.stderr()
    assert {e["order"] for e in pool.events() if e["event"] == "block_mined"} == {990003}
