"""Bus latency: the round trip actor -> bus -> tcp -> service actor -> back, against raw pyzmq.

The client role actor sends ``RegisterVendors`` with ``k`` addresses; the service role actor answers
``VendorList`` with the same addresses; the client actor times the round trip with
``time.perf_counter`` and sends the next request from its handler. The baseline does the same
exchange with a bare DEALER and ROUTER and the same msgpack envelopes (packed and unpacked on each
end, as the bus does). Rounds alternate (bus, raw, bus, raw ...); the figures are p50 and p99 over all
round trips of each side and the median of the per-round p50 ratios. Target: p50 ratio <= 2.0.
Two diagnostics go with it: the same round trip without the service's actor (``Ping``, which the
service's bus answers itself: two thread hand-offs fewer), and the process's CPU time per round trip
(all threads), which depends less than wall-clock latency on how busy other processes keep the CPUs;
and the floor: the raw exchange carried through the bus's thread layout (a socket thread and an actor
thread on each end, :class:`~bench.buspair.HandoffPair`) with none of the bus's work, which shows how
much of the gap the layout alone costs.

Run alone: ``.venv/bin/python -m bench bus_latency [--rounds N] [--count N]``.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

import msgpack
import pykka
import zmq

from bench.buspair import ADDRESS, CLIENT, SERVICE, BusPair, HandoffPair, RawPair, envelope_map
from bench.common import percentile, row, us, write_result
from monerosim_actors.coordination.messages import RegisterVendors, VendorList
from monerosim_actors.wire import Ping
from monerosim_actors.runtime.bus import Bus
from monerosim_actors.runtime.messages import Delivered

NET = 1
PAYLOADS = {"small": 1, "10KB": 100}
"""Payload name -> addresses per message (95 bytes each) in both directions."""
TARGET_P50_RATIO = 2.0


@dataclass(frozen=True)
class Go:
    """Tells the client actor to make ``count`` round trips with ``k`` addresses, then set ``done``."""

    count: int
    k: int
    samples: list[float]
    done: threading.Event
    ping: bool = False
    """Send ``Ping`` instead, which the service's bus answers itself (no service actor)."""


class EchoService(pykka.ThreadingActor):
    """Answers every ``RegisterVendors`` with a ``VendorList`` of the same addresses."""

    def __init__(self, bus: Bus) -> None:
        super().__init__()
        self.bus = bus

    def on_receive(self, message: Any) -> None:
        if isinstance(message, Delivered) and isinstance(message.envelope.body, RegisterVendors):
            self.bus.send(message.envelope.src, VendorList(request=0, addresses=message.envelope.body.addresses))


class Pinger(pykka.ThreadingActor):
    """Makes round trips one after another, timing each from send to the answer's arrival."""

    def __init__(self, bus: Bus) -> None:
        super().__init__()
        self.bus = bus
        self.go: Go | None = None
        self.sent = 0.0

    def on_receive(self, message: Any) -> None:
        if isinstance(message, Go):
            self.go = message
            self._send()
        elif isinstance(message, Delivered) and self.go is not None:
            self.go.samples.append(time.perf_counter() - self.sent)
            if len(self.go.samples) < self.go.count:
                self._send()
            else:
                self.go.done.set()

    def _send(self) -> None:
        assert self.go is not None
        self.sent = time.perf_counter()
        if self.go.ping:
            self.bus.send(SERVICE, Ping(seq=len(self.go.samples), payload=ADDRESS * self.go.k))
        else:
            self.bus.send(SERVICE, RegisterVendors(marketplace_id="m", addresses=(ADDRESS,) * self.go.k))


def raw_echo(router: zmq.Socket, identity: bytes, frame: bytes) -> None:
    request = msgpack.unpackb(frame, raw=False)
    reply = {**request, "type": "vendor_list", "src": SERVICE, "dst": request["src"],
             "sent_at": time.time(), "body": {"request": 0, "addresses": request["body"]["addresses"]}}
    router.send_multipart([identity, msgpack.packb(reply, use_bin_type=True)])


def bus_round(pair: BusPair, count: int, k: int, ping: bool = False) -> list[float]:
    go = Go(count=count, k=k, samples=[], done=threading.Event(), ping=ping)
    pair.client.tell(go)
    if not go.done.wait(120):
        raise RuntimeError(f"bus round trips stalled after {len(go.samples)} of {count}")
    return go.samples


def raw_round(raw: RawPair, count: int, k: int) -> list[float]:
    body = RegisterVendors(marketplace_id="m", addresses=(ADDRESS,) * k)
    samples = []
    for seq in range(count):
        t0 = time.perf_counter()
        raw.dealer.send(msgpack.packb(envelope_map(body, CLIENT, SERVICE, seq, time.time()), use_bin_type=True))
        msgpack.unpackb(raw.dealer.recv(), raw=False)
        samples.append(time.perf_counter() - t0)
    return samples


def handoff_round(pair: HandoffPair, count: int, k: int) -> list[float]:
    """The raw round trip through the bus's thread layout (:class:`~bench.buspair.HandoffPair`)."""
    body = RegisterVendors(marketplace_id="m", addresses=(ADDRESS,) * k)
    samples = []
    for seq in range(count):
        t0 = time.perf_counter()
        pair.send(msgpack.packb(envelope_map(body, CLIENT, SERVICE, seq, time.time()), use_bin_type=True))
        msgpack.unpackb(pair.replies.get(timeout=120), raw=False)
        samples.append(time.perf_counter() - t0)
    return samples


def envelope_bytes(k: int) -> int:
    body = RegisterVendors(marketplace_id="m", addresses=(ADDRESS,) * k)
    return len(msgpack.packb(envelope_map(body, CLIENT, SERVICE, 1, time.time()), use_bin_type=True))


def measure(rounds: int, count: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    pair = BusPair(NET, EchoService, Pinger)
    raw = RawPair(NET, raw_echo)
    floor = HandoffPair(NET)
    data: dict[str, Any] = {"rounds": rounds, "round_trips_per_round": count, "payloads": {}}
    rows = []
    try:
        for name, k in PAYLOADS.items():
            bus_round(pair, 50, k)  # warm-up: connections, caches
            raw_round(raw, 50, k)
            handoff_round(floor, 50, k)
            bus_all: list[float] = []
            raw_all: list[float] = []
            ratios = []
            cpu: dict[str, list[float]] = {"bus": [], "raw": []}
            ping_all: list[float] = []
            floor_all: list[float] = []
            for _ in range(rounds):
                c0 = time.process_time()
                b = bus_round(pair, count, k)
                c1 = time.process_time()
                r = raw_round(raw, count, k)
                cpu["bus"].append((c1 - c0) / count)
                cpu["raw"].append((time.process_time() - c1) / count)
                ping_all += bus_round(pair, count // 2, k, ping=True)
                floor_all += handoff_round(floor, count // 2, k)
                bus_all += b
                raw_all += r
                ratios.append(statistics.median(b) / statistics.median(r))
            p = {"bytes": envelope_bytes(k),
                 "bus_p50_s": percentile(bus_all, 50), "bus_p99_s": percentile(bus_all, 99),
                 "raw_p50_s": percentile(raw_all, 50), "raw_p99_s": percentile(raw_all, 99),
                 "p50_ratio_median_of_rounds": statistics.median(ratios), "p50_ratio_per_round": ratios}
            p["p99_ratio"] = p["bus_p99_s"] / p["raw_p99_s"]
            p["bus_ping_p50_s"] = percentile(ping_all, 50)
            p["handoff_floor_p50_s"] = percentile(floor_all, 50)
            p["bus_cpu_per_round_trip_s"] = statistics.median(cpu["bus"])
            p["raw_cpu_per_round_trip_s"] = statistics.median(cpu["raw"])
            data["payloads"][name] = p
            ratio = p["p50_ratio_median_of_rounds"]
            rows.append(row(f"Bus round trip p50 ({name}, {p['bytes']} B)", baseline=f"raw pyzmq {us(p['raw_p50_s'])}",
                            value=us(p["bus_p50_s"]), ratio=ratio, target=f"ratio <= {TARGET_P50_RATIO}",
                            met=ratio <= TARGET_P50_RATIO))
            rows.append(row(f"Bus round trip p99 ({name})", baseline=f"raw pyzmq {us(p['raw_p99_s'])}",
                            value=us(p["bus_p99_s"]), ratio=p["p99_ratio"], target="(reported)", met=None))
            rows.append(row(f"Bus round trip p50 without the service actor ({name}, Ping answered by its bus)",
                            baseline=f"raw pyzmq {us(p['raw_p50_s'])}", value=us(p["bus_ping_p50_s"]),
                            ratio=p["bus_ping_p50_s"] / p["raw_p50_s"], target="(diagnostic)", met=None))
            rows.append(row(f"Round trip through the bus's thread layout with none of its work ({name})",
                            baseline=f"raw pyzmq {us(p['raw_p50_s'])}", value=us(p["handoff_floor_p50_s"]),
                            ratio=p["handoff_floor_p50_s"] / p["raw_p50_s"], target="(diagnostic: the floor)",
                            met=None))
            rows.append(row(f"Bus round trip CPU time, all threads ({name})",
                            baseline=f"raw pyzmq {us(p['raw_cpu_per_round_trip_s'])}",
                            value=us(p["bus_cpu_per_round_trip_s"]),
                            ratio=p["bus_cpu_per_round_trip_s"] / p["raw_cpu_per_round_trip_s"],
                            target="(reported)", met=None))
        data["msg_dropped"] = pair.dropped()
        if data["msg_dropped"]:
            raise RuntimeError(f"{data['msg_dropped']} messages dropped: the figure is invalid")
    finally:
        pair.close()
        raw.close()
        floor.close()
    return rows, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench bus_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--count", type=int, default=400, help="round trips per round and side")
    opts = parser.parse_args(argv)
    rows, data = measure(opts.rounds, opts.count)
    write_result("bus_latency", "round trip actor -> bus -> tcp -> service actor -> back vs raw pyzmq "
                 "DEALER/ROUTER + msgpack, same payloads, interleaved rounds", rows, data)
    return 0
