"""10,000 random and mutated frames sent to a real service host (the marketplace directory, run as
``python -m monerosim_actors.runtime.host``): it keeps answering well-formed requests throughout, writes
exactly one ``msg_dropped`` per bad frame (with the reason the protocol gives), and exits 0 on SIGTERM.

The frames are drawn from a seeded RNG: random bytes, valid frames cut or with bytes changed, wrong
versions, unknown types, oversized frames, wrong field types, missing and extra keys, msgpack
extension types, valid envelopes with a forged ``src`` or another host's ``dst``, and multipart
frames. Which of them the host must accept is decided here by the same rules the bus applies (a
mutation can produce a valid frame); the counts in ``events.jsonl`` must match exactly. The fuzzer
sends in bursts of :data:`BURST` frames, each followed by a request whose answer it waits for, so the
frames in flight stay bounded and "keeps answering" is checked 200 times.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import time
import typing
from collections import Counter
from collections.abc import Callable
from typing import Any

import msgpack
import pytest
import zmq

from monerosim_actors.coordination.messages import GetVendors, VendorList
from monerosim_actors.wire import (Envelope, MAX_FRAME_BYTES, MESSAGE_TYPES, Message, Ping, Pong, decode,
                                   encode)
from monerosim_actors.errors import ProtocolError
from monerosim_actors.plan.model import ServiceAddress
from tests.e2e.conftest import SAFETY_S, HostProcess
from tests.e2e.plans import host_config, host_plan

pytestmark = pytest.mark.e2e

FRAMES = 10_000
BURST = 50
SERVICE = "marketplace-directory"
FUZZER = "fuzzer"
PROBE_BASE = 10**15
"""Probes use ``seq``/``request`` numbers from here up, so a mutated frame that happens to be a valid
ping cannot be taken for one."""
REPLY_TIMEOUT_MS = int(SAFETY_S * 1000)
"""How long to wait for a probe's answer: a net against a hang, not a budget."""


HOST_MESSAGE_MODULES = ("monerosim_actors.wire.message", "monerosim_actors.coordination.messages")
"""The modules whose message types the directory's host knows (the bus's own and the services'). The
fuzzer draws types from these only: this process may have imported more (a custom role's, say, by
another test module), and a type the host never loaded is dropped as ``unknown_type`` there but
would decode here."""


def host_kinds() -> list[str]:
    return sorted(kind for kind, cls in MESSAGE_TYPES.items() if cls.__module__ in HOST_MESSAGE_MODULES)


def fuzz_ip() -> str:
    """An address in this suite's range 127.80.x.y, drawn per run (several suites share the machine)."""
    n = secrets.randbelow(250 * 250)
    return f"127.80.{1 + n // 250}.{1 + n % 250}"


# --- frames ---------------------------------------------------------------------------------------

def _value(rng: random.Random, tp: Any) -> Any:
    if typing.get_origin(tp) is tuple:
        return [_value(rng, typing.get_args(tp)[0]) for _ in range(rng.randrange(3))]
    return {str: lambda: rng.choice(["a", "", "ü", "x" * 40, "../..", "pool_alpha"]),
            int: lambda: rng.choice([0, 1, -1, 2**63 - 1, rng.randrange(10**6)]),
            float: lambda: rng.choice([0.0, 1.5, -2.0, 1e300]),
            bool: lambda: rng.random() < 0.5}[tp]()


def _envelope(rng: random.Random, kind: str | None = None) -> dict[str, Any]:
    """A well-formed envelope from the fuzzer to the service, of a random (or the given) type."""
    cls = MESSAGE_TYPES[kind or rng.choice(host_kinds())]
    hints = typing.get_type_hints(cls)
    body = {f.name: _value(rng, hints[f.name]) for f in dataclasses.fields(cls)}
    return {"v": 1, "type": cls.kind, "id": f"{FUZZER}:{rng.randrange(10**9)}", "src": FUZZER, "dst": SERVICE,
            "sent_at": time.time(), "body": body}


WRONG_VALUES: list[Any] = [None, True, 1, -1, 2**64 - 1, 1.5, float("nan"), float("inf"), "", "x", b"bytes",
                           [], [1], {}, {"a": 1}, "ü" * 100, msgpack.ExtType(5, b"x")]


def _mutate_structure(rng: random.Random) -> list[bytes]:
    env = _envelope(rng)
    choice = rng.randrange(11)
    if choice == 0:
        env["v"] = rng.choice([0, 2, 255, -1, "1", 1.0, True, None])
    elif choice == 1:
        env["type"] = rng.choice(["", "pingg", "PING", "register-pool", "__class__", 7, None, "x" * 300])
    elif choice == 2:
        env[rng.choice(sorted(env))] = rng.choice(WRONG_VALUES)
    elif choice == 3 and env["body"]:
        env["body"][rng.choice(sorted(env["body"]))] = rng.choice(WRONG_VALUES)
    elif choice == 4:
        env["body"]["extra"] = 1
    elif choice == 5:
        del env[rng.choice(sorted(env))]
    elif choice == 6:
        env["extra"] = rng.choice(WRONG_VALUES)
    elif choice == 7:
        env["src"] = rng.choice(["block-controller", "marketplace-0", "user-0", SERVICE, "FUZZER", "x" * 300])
    elif choice == 8:
        env["dst"] = rng.choice(["block-controller", "user-0", FUZZER, SERVICE.upper(), SERVICE + " "])
    elif choice == 9:
        return [msgpack.packb(rng.choice([[env], 1, "text", None, [], b"raw", 1.5]), use_bin_type=True)]
    else:
        return [msgpack.packb({1: 2, "v": 1}, use_bin_type=True, strict_types=False)]
    return [msgpack.packb(env, use_bin_type=True, strict_types=False)]


def _mutate_bytes(rng: random.Random) -> list[bytes]:
    frame = bytearray(msgpack.packb(_envelope(rng), use_bin_type=True))
    choice = rng.randrange(4)
    if choice == 0:
        del frame[rng.randrange(len(frame)):]
    elif choice == 1:
        for _ in range(rng.randint(1, 4)):
            frame[rng.randrange(len(frame))] = rng.randrange(256)
    elif choice == 2:
        frame += rng.randbytes(rng.randint(1, 20))
    else:
        at = rng.randrange(len(frame))
        frame[at:at] = rng.randbytes(rng.randint(1, 8))
    return [bytes(frame)]


def _oversized(rng: random.Random) -> list[bytes]:
    """Larger than the protocol's limit but within ZeroMQ's (which would cut the connection)."""
    env = _envelope(rng, "ping")
    env["body"]["payload"] = "x" * rng.randint(MAX_FRAME_BYTES, 2 * MAX_FRAME_BYTES)
    return [msgpack.packb(env, use_bin_type=True)]


def _multipart(rng: random.Random) -> list[bytes]:
    good = msgpack.packb(_envelope(rng, "ping"), use_bin_type=True)
    return rng.choice([[good, good], [b"", good], [good, b""], [good, rng.randbytes(10), good]])


GENERATORS: list[tuple[int, Callable[[random.Random], list[bytes]]]] = [
    (20, lambda rng: [rng.randbytes(rng.randrange(200))]),
    (30, _mutate_bytes),
    (40, _mutate_structure),
    (5, lambda rng: [msgpack.packb(_envelope(rng), use_bin_type=True)]),  # valid, any type: accepted
    (4, _multipart),
    (1, _oversized),
]


def fuzz_frames(seed: int, count: int) -> list[list[bytes]]:
    rng = random.Random(seed)
    weights = [w for w, _ in GENERATORS]
    return [rng.choices([g for _, g in GENERATORS], weights)[0](rng) for _ in range(count)]


def verdict(parts: list[bytes]) -> tuple[str, str]:
    """What the host must do with a message from the fuzzer: ``("dropped", reason)`` or
    ``("received", type)``; the bus's rules, applied independently of the bus."""
    if len(parts) != 1:
        return "dropped", "bad_frames"
    try:
        env = decode(parts[0])
    except ProtocolError as e:
        return "dropped", e.reason
    if env.dst != SERVICE:
        return "dropped", "wrong_dst"
    if env.src != FUZZER:
        return "dropped", "src_mismatch"
    return "received", env.type


# --- the test ---------------------------------------------------------------------------------------

class Fuzzer:
    """A raw DEALER with identity ``fuzzer`` connected to the service's ROUTER."""

    def __init__(self, endpoint: str) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, FUZZER.encode())
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.connect(endpoint)
        self.probes = 0
        self.pings = 0

    def probe(self, *, by_role: bool = False) -> float:
        """Send a Ping or a GetVendors (every other probe, or a GetVendors when ``by_role``) and wait
        for its answer (other answers are skipped); its round-trip time in seconds.

        The bus answers a Ping itself, the role a GetVendors: the role handles its inbox in order,
        so the answer to a GetVendors means it has handled (and logged) every frame sent before.
        """
        n = PROBE_BASE + self.probes
        ping = self.probes % 2 == 0 and not by_role
        body: Message = Ping(seq=n, payload="probe") if ping else GetVendors(request=n)
        self.pings += ping
        self.probes += 1
        started = time.monotonic()
        self.sock.send(encode(Envelope(id=f"{FUZZER}:probe-{n}", src=FUZZER, dst=SERVICE, sent_at=time.time(),
                                       body=body)))
        while True:
            assert self.sock.poll(REPLY_TIMEOUT_MS), f"no answer to probe {n} within {REPLY_TIMEOUT_MS} ms"
            reply = decode(self.sock.recv()).body
            if (isinstance(reply, Pong) and reply.seq == n) or (isinstance(reply, VendorList) and reply.request == n):
                return time.monotonic() - started

    def close(self) -> None:
        self.sock.close()
        self.ctx.term()


def test_ten_thousand_bad_frames_each_one_msg_dropped_while_requests_are_answered(
        spawn_host: Callable[..., HostProcess]) -> None:
    ip = fuzz_ip()
    plan = host_plan(SERVICE, ip, role="marketplace_directory",
                     role_class="monerosim_actors.coordination.marketplace_directory:MarketplaceDirectory",
                     monerod=False, wallet=False, bus_port=5555, params={"marketplaces": [], "users": []})
    host = spawn_host(host_config(plan, services={"marketplace_directory": ServiceAddress(SERVICE, ip, 5555)}))
    frames = fuzz_frames(seed=8, count=FRAMES)
    verdicts = [verdict(f) for f in frames]
    fuzzer = Fuzzer(f"tcp://{ip}:5555")
    try:
        fuzzer.probe()  # the host is up and serving
        started = time.monotonic()
        worst = 0.0
        for i in range(0, FRAMES, BURST):
            for parts in frames[i:i + BURST]:
                fuzzer.sock.send_multipart(parts)
            worst = max(worst, fuzzer.probe())
        fuzzer.probe(by_role=True)  # the role has logged every frame sent before it stops
        elapsed = time.monotonic() - started
        assert host.terminate() == 0, host.stderr()
    finally:
        fuzzer.close()

    events = host.events()
    dropped = [e for e in events if e["event"] == "msg_dropped"]
    want_dropped = Counter(reason for kind, reason in verdicts if kind == "dropped")
    assert sum(want_dropped.values()) > 0.9 * FRAMES  # the frames are mostly bad, as meant
    assert Counter(e["reason"] for e in dropped) == want_dropped
    assert {e["peer"] for e in dropped} == {FUZZER}
    received = Counter(e["type"] for e in events if e["event"] == "msg_received")
    want_received = Counter(kind for verdict_, kind in verdicts if verdict_ == "received")
    want_received.update({"ping": fuzzer.pings, "get_vendors": fuzzer.probes - fuzzer.pings})
    assert received == want_received
    rejected = [e for e in events if e["event"] == "msg_rejected"]
    assert len(rejected) == sum(n for kind, n in want_received.items() if kind not in ("ping", "get_vendors"))
    assert events[-1]["event"] == "host_stopped" and events[-1]["exit_code"] == 0
    print(f"{FRAMES} frames ({sum(want_dropped.values())} bad) and {fuzzer.probes} probes in {elapsed:.1f} s; "
          f"slowest probe {worst * 1000:.0f} ms; drop reasons {dict(want_dropped)}")
