"""Bus throughput: messages per second one client actor pushes through to a service actor.

The client role actor sends ``count`` ``RegisterVendors`` messages (one address each) as fast as
``bus.send`` takes them; the service role actor counts what it is delivered; the time runs from the
first send to the last delivery. The baseline pushes the same msgpack envelopes through a bare DEALER
to a ROUTER whose thread unpacks each one. Rounds alternate (bus, raw, ...); the figure is the median
rate of each side and the median of the per-round ratios. Target: ratio >= 0.5. The process's CPU
time per message (all threads) is reported beside it, a figure the machine's other load hardly moves. ``count`` stays below
the bus's send high-water mark so that no message is dropped (the run checks ``msg_dropped``).

Run alone: ``.venv/bin/python -m bench bus_throughput [--rounds N] [--count N]``.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass
from typing import Any

import msgpack
import pykka
import zmq

from bench.buspair import ADDRESS, CLIENT, SERVICE, BusPair, RawPair, envelope_map
from bench.common import interleaved, row, summarise, us, write_result
from monerosim_actors.coordination.messages import RegisterVendors
from monerosim_actors.runtime.bus import Bus
from monerosim_actors.runtime.messages import Delivered

NET = 2
TARGET_RATIO = 0.5
BODY = RegisterVendors(marketplace_id="m", addresses=(ADDRESS,))


@dataclass(frozen=True)
class Expect:
    """Tells the sink to set ``done`` once ``count`` more messages have arrived."""

    count: int
    done: threading.Event


class Sink(pykka.ThreadingActor):
    """The service role: counts deliveries."""

    def __init__(self, bus: Bus) -> None:
        super().__init__()
        self.left = 0
        self.done: threading.Event | None = None

    def on_receive(self, message: Any) -> None:
        if isinstance(message, Expect):
            self.left, self.done = message.count, message.done
        elif isinstance(message, Delivered) and self.done is not None:
            self.left -= 1
            if self.left == 0:
                self.done.set()


@dataclass(frozen=True)
class Push:
    count: int


class Pusher(pykka.ThreadingActor):
    """The client role: sends ``count`` messages in one handler."""

    def __init__(self, bus: Bus) -> None:
        super().__init__()
        self.bus = bus

    def on_receive(self, message: Any) -> None:
        if isinstance(message, Push):
            for _ in range(message.count):
                self.bus.send(SERVICE, BODY)


class RawSink:
    """The baseline's ROUTER side: unpacks every frame and counts."""

    def __init__(self) -> None:
        self.left = 0
        self.done = threading.Event()

    def __call__(self, router: zmq.Socket, identity: bytes, frame: bytes) -> None:
        msgpack.unpackb(frame, raw=False)
        self.left -= 1
        if self.left == 0:
            self.done.set()


def bus_round(pair: BusPair, count: int) -> dict[str, float]:
    done = threading.Event()
    pair.service.ask(Expect(count, done))
    t0, c0 = time.perf_counter(), time.process_time()
    pair.client.tell(Push(count))
    if not done.wait(120):
        raise RuntimeError("bus throughput round stalled (messages dropped?)")
    return {"msgs_per_s": count / (time.perf_counter() - t0), "cpu_per_msg_s": (time.process_time() - c0) / count}


def raw_round(raw: RawPair, sink: RawSink, count: int) -> dict[str, float]:
    sink.left = count
    sink.done.clear()
    t0, c0 = time.perf_counter(), time.process_time()
    for seq in range(count):
        raw.dealer.send(msgpack.packb(envelope_map(BODY, CLIENT, SERVICE, seq, time.time()), use_bin_type=True))
    if not sink.done.wait(120):
        raise RuntimeError("raw throughput round stalled")
    return {"msgs_per_s": count / (time.perf_counter() - t0), "cpu_per_msg_s": (time.process_time() - c0) / count}


def measure(rounds: int, count: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    pair = BusPair(NET, Sink, Pusher)
    sink = RawSink()
    raw = RawPair(NET, sink)
    try:
        bus_round(pair, 500)  # warm-up
        raw_round(raw, sink, 500)
        a, b = interleaved(rounds, lambda: bus_round(pair, count), lambda: raw_round(raw, sink, count))
        dropped = pair.dropped()
    finally:
        pair.close()
        raw.close()
    if dropped:
        raise RuntimeError(f"{dropped} messages dropped: the figure is invalid")
    s = summarise(a, b, "msgs_per_s")
    c = summarise(a, b, "cpu_per_msg_s")
    data = {"rounds": rounds, "messages_per_round": count, "bus": a, "raw": b, "median": s,
            "cpu_per_msg_median": c, "msg_dropped": dropped}
    rows = [row("Bus throughput, one client to a service", baseline=f"raw pyzmq {s['baseline']:,.0f} msg/s",
                value=f"{s['project']:,.0f} msg/s", ratio=s["ratio"], target=f"ratio >= {TARGET_RATIO}",
                met=s["ratio"] >= TARGET_RATIO),
            row("Bus CPU time per message pushed, all threads", baseline=f"raw pyzmq {us(c['baseline'])}",
                value=us(c["project"]), ratio=c["ratio"], target="(reported)", met=None)]
    return rows, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench bus_throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--count", type=int, default=5000, help="messages per round and side")
    opts = parser.parse_args(argv)
    rows, data = measure(opts.rounds, opts.count)
    write_result("bus_throughput", "messages/s one client actor pushes to a service actor through the bus "
                 "vs raw pyzmq DEALER -> ROUTER + msgpack, interleaved rounds", rows, data)
    return 0
