"""Coordination: from "the controller picks a pool" to "the pool starts mining", bus vs the seed's files.

The project's side: a block-controller host and three pool hosts, each with a real bus, event log and
role actor (:mod:`bench.buspair`). The pools register (``RegisterPool``); on each ``Pick`` the
controller actor draws a pool by hashrate share, notes the time and sends it ``MineBlocks``; the
pool actor notes the time it starts mining (a fake mine that returns at once). The baseline is the
seed's design (:mod:`bench.seed_baseline`): the controller writes a signal file and the pools poll for
it every second. Each seed pick waits a random fraction of a second first, so picks fall anywhere in
the pools' polling period, as they do in the seed (block time and polling are not aligned). Rounds
alternate (bus, seed, ...); the figure is the median latency of each side and their ratio.

Run alone: ``.venv/bin/python -m bench coordination [--rounds N]``.
"""

from __future__ import annotations

import argparse
import queue
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pykka

from bench.buspair import ADDRESS, SERVICE, BusPair
from bench.common import row, us, write_result
from bench.seed_baseline import SeedController, SeedPool
from monerosim_actors.coordination.messages import MineBlocks, RegisterPool
from monerosim_actors.runtime.bus import Bus
from monerosim_actors.runtime.messages import Delivered

NET = 3
POOLS = {"pool-alpha": 0.4, "pool-beta": 0.3, "pool-gamma": 0.3}
"""The seed's example pools and shares."""


@dataclass(frozen=True)
class Pick:
    """Tells the controller to pick the next miner."""


class Controller(pykka.ThreadingActor):
    """Picks a registered pool as the seed's ``select_miner`` does and orders it to mine."""

    def __init__(self, bus: Bus, picks: dict[int, float], started: queue.Queue[tuple[int, float]]) -> None:
        super().__init__()
        self.bus = bus
        self.picks = picks
        self.rng = random.Random(7)
        self.registered: dict[str, float] = {}
        self.order = 0

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Delivered) and isinstance(message.envelope.body, RegisterPool):
            self.registered[message.envelope.src] = message.envelope.body.hashrate_share
        elif isinstance(message, Pick):
            self.order += 1
            self.picks[self.order] = time.perf_counter()
            self.bus.send(self._select(), MineBlocks(order=self.order, count=1, address=ADDRESS, phase="schedule"))
        elif message == "registered":
            return len(self.registered)
        return None

    def _select(self) -> str:
        rand, cumulative = self.rng.random(), 0.0
        for host, share in self.registered.items():
            cumulative += share
            if rand <= cumulative:
                return host
        return host


class Pool(pykka.ThreadingActor):
    """Registers, then on ``MineBlocks`` notes when it starts mining and mines (at once)."""

    def __init__(self, bus: Bus, picks: dict[int, float], started: queue.Queue[tuple[int, float]]) -> None:
        super().__init__()
        self.bus = bus
        self.started = started

    def on_start(self) -> None:
        self.bus.send(SERVICE, RegisterPool(pool_id=self.bus.host, hashrate_share=POOLS[self.bus.host],
                                            address=ADDRESS))

    def on_receive(self, message: Any) -> None:
        if isinstance(message, Delivered) and isinstance(message.envelope.body, MineBlocks):
            self.started.put((message.envelope.body.order, time.perf_counter()))
            fake_mine()


def fake_mine(*_: Any) -> None:
    """Stands in for ``generateblocks``: returns at once, so only coordination is timed."""


def bus_round(pair: BusPair, picks: dict[int, float], started: queue.Queue[tuple[int, float]],
              count: int) -> list[float]:
    samples = []
    for _ in range(count):
        pair.service.tell(Pick())
        order, t = started.get(timeout=30)
        samples.append(t - picks.pop(order))
    return samples


def seed_round(controller: SeedController, started: queue.Queue[tuple[str, float]], rng: random.Random,
               count: int) -> list[float]:
    samples = []
    for _ in range(count):
        threading.Event().wait(rng.random())  # land anywhere in the pools' polling period
        t0 = time.perf_counter()
        picked = controller.select_miner()
        pool, t = started.get(timeout=30)
        assert pool == picked
        samples.append(t - t0)
    return samples


def measure(rounds: int, bus_count: int, seed_count: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    picks: dict[int, float] = {}
    started: queue.Queue[tuple[int, float]] = queue.Queue()
    pair = BusPair(NET, Controller, Pool, clients=tuple(POOLS), picks=picks, started=started)
    seed_started: queue.Queue[tuple[str, float]] = queue.Queue()
    shared = tempfile.TemporaryDirectory(prefix="bench-seed-shared-")
    controller = SeedController(Path(shared.name), POOLS, random.Random(7))
    pools = [SeedPool(Path(shared.name), p, lambda pool_id: seed_started.put((pool_id, time.perf_counter())))
             for p in POOLS]
    for pool in pools:
        pool.start()
    rng = random.Random(11)
    bus_all: list[float] = []
    seed_all: list[float] = []
    try:
        deadline = time.monotonic() + 30
        while pair.service.ask("registered") < len(POOLS):
            if time.monotonic() > deadline:
                raise RuntimeError("the pools did not register with the controller")
            threading.Event().wait(0.05)
        bus_round(pair, picks, started, 10)  # warm-up
        for _ in range(rounds):
            bus_all += bus_round(pair, picks, started, bus_count)
            seed_all += seed_round(controller, seed_started, rng, seed_count)
        dropped = pair.dropped()
    finally:
        for pool in pools:
            pool.stop()
        pair.close()
        shared.cleanup()
    if dropped:
        raise RuntimeError(f"{dropped} messages dropped: the figure is invalid")
    bus_p50, seed_p50 = statistics.median(bus_all), statistics.median(seed_all)
    data = {"rounds": rounds, "bus_samples_s": bus_all, "seed_samples_s": seed_all,
            "bus_p50_s": bus_p50, "seed_p50_s": seed_p50, "bus_max_s": max(bus_all), "seed_max_s": max(seed_all),
            "ratio": bus_p50 / seed_p50, "seed_over_bus": seed_p50 / bus_p50}
    rows = [row("Coordination: controller picks -> pool starts mining (p50)",
                baseline=f"seed's signal file polled every 1 s: {us(seed_p50)} (max {us(max(seed_all))})",
                value=f"{us(bus_p50)} (max {us(max(bus_all))})", ratio=bus_p50 / seed_p50,
                target="(report the ratio)", met=None)]
    return rows, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench coordination", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--bus-count", type=int, default=50, help="bus picks per round")
    parser.add_argument("--seed-count", type=int, default=5, help="seed picks per round (about 1 s each)")
    opts = parser.parse_args(argv)
    rows, data = measure(opts.rounds, opts.bus_count, opts.seed_count)
    write_result("coordination", "latency from the controller's pick to the pool starting to mine: bus "
                 "(MineBlocks through two hosts' buses) vs the seed's shared signal file polled every second",
                 rows, data)
    return 0
