"""Host runtimes as separate processes (``python -m monerosim_actors.runtime.host``), as Shadow runs them."""

from __future__ import annotations

import ctypes
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import msgpack
import pytest
import zmq

from monerosim_actors.wire import Envelope, MAX_FRAME_BYTES, Ping, decode, encode
from tests.e2e.conftest import REPO, SAFETY_S, HostProcess
from tests.e2e.plans import host_config, host_plan, loopback, service, write_config

pytestmark = pytest.mark.e2e

SERVICE_ROLE = "tests.e2e.roles_for_tests:EchoService"
CLIENT_ROLE = "tests.e2e.roles_for_tests:EchoClient"


def test_two_hosts_exchange_messages_and_stop_on_sigterm(spawn_host: Callable[..., HostProcess]) -> None:
    svc_plan = host_plan("echo-svc", loopback(3, 0), role_class=SERVICE_ROLE, monerod=False,
                         wallet=False, bus_port=5555)
    services = {"echo": service(svc_plan)}
    cli_plan = host_plan("echo-cli", loopback(3, 1), role_class=CLIENT_ROLE, monerod=False, wallet=False,
                         params={"service": "echo-svc"})
    # the client starts first: its messages wait in its DEALER until the service is up
    cli = spawn_host(host_config(cli_plan, services=services))
    cli.wait_for("role_started")
    svc = spawn_host(host_config(svc_plan, services=services))

    reply = cli.wait_for("role_got", body_type="vendor_list")
    pong = cli.wait_for("role_got", body_type="pong")
    request = svc.wait_for("role_got", body_type="get_vendors")
    for sender, receiver, msg_id in ((cli, svc, request["id"]), (svc, cli, reply["id"]),
                                     (svc, cli, pong["id"])):
        sent = sender.wait_for("msg_sent", id=msg_id)
        received = receiver.wait_for("msg_received", id=msg_id)
        assert sent["sent_at"] == received["sent_at"] <= received["recv_at"]
        assert (sent["src"], sent["dst"]) == (received["src"], received["dst"])
    assert not [e for e in svc.events() if e.get("body_type") == "ping"]  # answered by the bus

    # the kernel may hand a process-directed SIGTERM to any thread: the host must stop either way
    _signal_worker_thread(svc.popen.pid, signal.SIGTERM)
    assert svc.popen.wait(SAFETY_S) == 0, svc.stderr()
    assert cli.terminate() == 0, cli.stderr()
    for host in (cli, svc):
        last = host.events_path.read_text().splitlines()[-1]
        assert json.loads(last)["event"] == "host_stopped"
        assert json.loads(last)["reason"] == "signal" and json.loads(last)["exit_code"] == 0


TGKILL = {"x86_64": 234, "aarch64": 131}


def _signal_worker_thread(pid: int, sig: int) -> None:
    """Send ``sig`` to one of the process's Python threads other than the main one (tgkill)."""
    tids = [int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid
            and not open(f"/proc/{pid}/task/{t}/comm").read().startswith("ZMQ")]
    assert tids, "no worker thread to signal"
    libc = ctypes.CDLL(None, use_errno=True)
    number = TGKILL.get(platform.machine())
    if number is None:
        pytest.skip(f"tgkill's syscall number on {platform.machine()} is not known here")
    assert libc.syscall(number, pid, tids[0], sig) == 0, os.strerror(ctypes.get_errno())


def _raw(**over: object) -> bytes:
    env = {"v": 1, "type": "ping", "id": "raw:1", "src": "raw", "dst": "target", "sent_at": 1.0,
           "body": {"seq": 1, "payload": "p"}}
    env.update(over)
    return msgpack.packb(env)


MALFORMED = [
    (b"random bytes \x00\xff\xc1", "undecodable"),
    (_raw(v=2), "wrong_version"),
    (_raw(type="no_such_type"), "unknown_type"),
    (b"\x00" * (MAX_FRAME_BYTES + 10), "oversized"),
    (_raw(body={"seq": 1.5, "payload": 3}), "bad_body"),
]


def test_malformed_frames_are_dropped_and_the_host_keeps_answering(
        spawn_host: Callable[..., HostProcess]) -> None:
    plan = host_plan("target", loopback(3, 2), monerod=False, wallet=False, bus_port=5555)
    host = spawn_host(host_config(plan))
    host.wait_for("role_started")
    ctx = zmq.Context()
    raw = ctx.socket(zmq.DEALER)
    raw.setsockopt(zmq.IDENTITY, b"raw")
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(f"tcp://{loopback(3, 2)}:5555")
    try:
        for frame, reason in MALFORMED:
            raw.send(frame)
            dropped = host.wait_for("msg_dropped", reason=reason)
            assert dropped["peer"] == "raw" and dropped["size"] == len(frame)
        raw.send(encode(Envelope(id="raw:2", src="raw", dst="target", sent_at=time.time(),
                                 body=Ping(seq=9, payload="still there?"))))
        assert raw.poll(SAFETY_S * 1000), f"no Pong after the malformed frames (waited {SAFETY_S:g} s)"
        pong = decode(raw.recv())
        assert pong.body.kind == "pong" and pong.dst == "raw"
    finally:
        raw.close()
        ctx.term()
    assert host.terminate() == 0


def test_host_stops_itself_at_the_scenario_end(spawn_host: Callable[..., HostProcess]) -> None:
    plan = host_plan("short", loopback(3, 3), monerod=False, wallet=False, start_time_s=10.0)
    started = time.monotonic()
    host = spawn_host(host_config(plan, duration_s=40.0), time_scale=10.0)  # (40 - 10) / 10 = 3 s
    assert host.popen.wait(SAFETY_S) == 0, host.stderr()
    # not before its end (load can only make it later; how much later is no test's business)
    assert time.monotonic() - started >= 3.0
    last = host.events()[-1]
    assert (last["event"], last["reason"], last["exit_code"]) == ("host_stopped", "end", 0)


def test_a_stuck_role_does_not_keep_the_host_alive(spawn_host: Callable[..., HostProcess]) -> None:
    plan = host_plan("stuck", loopback(3, 6), role_class="tests.e2e.roles_for_tests:StuckRole",
                     monerod=False, wallet=False)
    host = spawn_host(host_config(plan, duration_s=1.0))
    assert host.popen.wait(SAFETY_S) == 0, host.stderr()
    assert "did not stop" in host.stderr()
    assert host.events()[-1]["event"] == "host_stopped"


@pytest.mark.parametrize(("plan_kwargs", "expect"), [
    ({"role_class": "actors.not_written_yet:Nobody"}, "role class 'actors.not_written_yet:Nobody' cannot be loaded"),
    ({"bus_port": 5555}, "the bus cannot start"),
])
def test_failed_start_exits_non_zero_with_a_clear_message(tmp_path, plan_kwargs, expect) -> None:
    blocker_ctx = zmq.Context()
    blocker = blocker_ctx.socket(zmq.ROUTER)
    blocker.setsockopt(zmq.LINGER, 0)
    blocker.bind(f"tcp://{loopback(3, 4)}:5555")
    try:
        plan = host_plan("broken", loopback(3, 4), monerod=False, wallet=False, **plan_kwargs)
        path = write_config(host_config(plan), tmp_path)
        proc = subprocess.run([sys.executable, "-m", "monerosim_actors.runtime.host", "--config", str(path),
                               "--data-dir", str(tmp_path / "data")],
                              env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=SAFETY_S)
    finally:
        blocker.close()
        blocker_ctx.term()
    assert proc.returncode == 2
    assert "monerosim host broken: start failed" in proc.stderr and expect in proc.stderr


def test_unreadable_config_exits_2(tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "monerosim_actors.runtime.host", "--config",
                           str(tmp_path / "missing.json")], env={"PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=SAFETY_S)
    assert proc.returncode == 2 and "cannot read host config" in proc.stderr


def test_sigterm_while_starting_exits_0(spawn_host: Callable[..., HostProcess], monero_binaries) -> None:
    """SIGTERM during monerod's start-up: the host stops what it started and exits 0."""
    plan = host_plan("early-stop", loopback(3, 5), wallet=False)
    host = spawn_host(host_config(plan))
    host.wait_for("process_started")
    host.popen.send_signal(signal.SIGTERM)
    assert host.popen.wait(SAFETY_S) == 0, host.stderr()
    last = host.events()[-1]
    assert (last["event"], last["exit_code"]) == ("host_stopped", 0)
