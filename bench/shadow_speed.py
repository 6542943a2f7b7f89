"""Shadow speed: how fast scenarios run under Shadow, and where the wall time goes.

For each scenario (the quickstart, its shape at 16 and 32 hosts, and with wallet-only hosts at 8 and
32) this generates OUT, runs ``shadow OUT/shadow.yaml`` and records:

- wall time and the simulated/wall ratio, overall and per phase: start-up (until the block
  controller's ``bootstrap_step start``), bootstrap (until ``bootstrap_done``) and schedule (the
  rest). Shadow's heartbeat lines pair its wall clock with the simulated clock every simulated
  second, so the wall time at which a phase ended is read off them;
- CPU seconds per program kind (Shadow itself, the host runtimes, monerod, wallet-rpc) and peak
  memory (the sum of the resident sets of Shadow's process tree), sampled (psutil) once a
  second (a program's last second is lost: the figures are a floor);
- with ``--syscalls``, an extra run per scenario with Shadow's strace logging, counting the
  syscalls each program kind made per simulated second (that run is slower and not timed).

Writes ``bench/results/shadow_speed.json``. Skipped, with the reason, where ``shadow`` is not on PATH.

Run: ``.venv/bin/python -m bench shadow_speed [--only quickstart] [--syscalls] [-- gen overrides]``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.common import RESULTS, ROOT, row, write_result
from monerosim_actors.events.names import EventName
from monerosim_actors.events.read import read_events

SCENARIOS = {
    "quickstart": ROOT / "configs" / "quickstart.yaml",
    "hosts16": ROOT / "bench" / "scenarios" / "shadow_16.yaml",
    "hosts32": ROOT / "bench" / "scenarios" / "shadow_32.yaml",
    "wallets8": ROOT / "bench" / "scenarios" / "wallets_8.yaml",
    "wallets32": ROOT / "bench" / "scenarios" / "wallets_32.yaml",
}
PER_HOST_BOUNDS = {"hosts16": ("quickstart", 1.0), "hosts32": ("quickstart", 1.0), "wallets32": ("wallets8", 1.5)}
"""A larger run's wall time per host per simulated second against a smaller one's: (the smaller run,
the largest ratio allowed). Issue 25 allows wallet-only hosts at 32 hosts 1.5 times their cost at 8."""
TARGET_RATIO = 20.0
"""The quickstart's target: 20 simulated seconds per wall second, start-up and bootstrap included."""
SAMPLE_S = 1.0
SIMULATION_START = 946684800.0
"""Shadow's simulated clock starts at 2000-01-01 00:00:00 UTC (what ``time.time()`` returns at first)."""
HEARTBEAT = re.compile(r"^(\d+):(\d\d):(\d\d\.\d+) .*Process resource usage at simtime (\d+) ")
KINDS = (("monerod", "monerod"), ("monero-wallet-r", "wallet-rpc"), ("shadow", "shadow"), ("python", "runtime"))
"""Process name prefix -> program kind (the kernel cuts names to 15 characters; psutil completes
them from the command line where it can)."""


def kind_of(name: str) -> str:
    for prefix, kind in KINDS:
        if name.startswith(prefix):
            return kind
    return "other"


def process_tree(root: int) -> list[psutil.Process]:
    """``root`` and every descendant (none when ``root`` is gone)."""
    try:
        process = psutil.Process(root)
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


CpuSeries = list[tuple[float, dict[str, float]]]
"""(wall seconds since Shadow started, CPU seconds by program kind so far), one pair per sample."""


@dataclass
class TreeSampler:
    """Samples the CPU time and memory of a process and all its descendants."""

    root: int
    cpu_s: dict[int, tuple[str, float]] = field(default_factory=dict)
    """pid -> (kind, the last CPU seconds seen)."""
    peak_rss_mb: float = 0.0
    peak_by_kind_mb: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    series: CpuSeries = field(default_factory=list)
    """CPU seconds by kind so far at each sample (from ``started``): the CPU each phase took, by kind,
    is read off it."""

    def sample(self) -> list[psutil.Process]:
        """Take one sample; the process tree it read (for a caller that samples more of it)."""
        rss_by_kind: Counter[str] = Counter()
        tree = process_tree(self.root)
        for process in tree:
            try:
                with process.oneshot():
                    kind = kind_of(process.name())
                    times = process.cpu_times()
                    rss_mb = process.memory_info().rss / 2**20
            except psutil.Error:  # ended since the tree was read
                continue
            self.cpu_s[process.pid] = (kind, times.user + times.system)
            rss_by_kind[kind] += rss_mb
        self.peak_rss_mb = max(self.peak_rss_mb, sum(rss_by_kind.values()))
        for kind, mb in rss_by_kind.items():
            self.peak_by_kind_mb[kind] = max(self.peak_by_kind_mb[kind], mb)
        self.series.append((time.monotonic() - self.started, self.cpu_by_kind()))
        return tree

    def cpu_by_kind(self) -> dict[str, float]:
        total: Counter[str] = Counter()
        for kind, seconds in self.cpu_s.values():
            total[kind] += seconds
        return {k: round(v, 1) for k, v in sorted(total.items())}


def cpu_until(series: CpuSeries, wall_s: float) -> dict[str, float]:
    """CPU seconds by kind at the last sample no later than ``wall_s``."""
    at = bisect.bisect_right([w for w, _ in series], wall_s)
    return series[at - 1][1] if at else {}


def heartbeats(log: Path) -> list[tuple[float, float]]:
    """(simulated seconds, wall seconds) pairs from Shadow's heartbeat lines, in order."""
    pairs = []
    with open(log, errors="replace") as f:
        for line in f:
            m = HEARTBEAT.match(line)
            if m:
                wall = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
                pairs.append((int(m[4]) / 1e9, wall))
    return pairs


def wall_at(pairs: list[tuple[float, float]], sim_s: float) -> float | None:
    """The wall time at which Shadow reached simulated time ``sim_s`` (linear between heartbeats)."""
    if not pairs:
        return None
    sims = [p[0] for p in pairs]
    i = bisect.bisect_left(sims, sim_s)
    if i == 0:
        return pairs[0][1] * sim_s / pairs[0][0] if pairs[0][0] else pairs[0][1]
    if i == len(pairs):
        return pairs[-1][1]
    (s0, w0), (s1, w1) = pairs[i - 1], pairs[i]
    return w0 + (w1 - w0) * (sim_s - s0) / (s1 - s0)


def phase_ends(out: Path) -> dict[str, float]:
    """Simulated seconds (from the simulation's start) at which start-up and bootstrap ended."""
    controller = out / "shadow.data" / "hosts" / "block-controller" / "events.jsonl"
    found: dict[str, float] = {}
    for e in read_events(controller):
        if e["event"] == EventName.BOOTSTRAP_STEP and e.get("step") == "start":
            found.setdefault("startup", e["t"])
        elif e["event"] == EventName.BOOTSTRAP_DONE:
            found.setdefault("bootstrap", e["t"])
    return {k: v - SIMULATION_START for k, v in found.items()}


def shadow_sampled(out: Path, every_s: float, sample: Callable[[int], None]) -> int:
    """Run ``shadow shadow.yaml`` in OUT (its output in OUT/shadow.log), calling ``sample(shadow's pid)``
    every ``every_s`` seconds until it exits; its exit code."""
    with open(out / "shadow.log", "wb") as sink:
        proc = subprocess.Popen([shutil.which("shadow") or "shadow", "shadow.yaml"], cwd=out,
                                stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)
    done = threading.Event()

    def loop() -> None:
        while not done.wait(every_s):
            sample(proc.pid)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    code = proc.wait()
    done.set()
    thread.join()
    return code


def phase_figures(out: Path, simulated_s: float, finished: bool,
                  cpu: CpuSeries | None = None) -> dict[str, Any]:
    """Simulated and wall seconds, and their ratio, of start-up, bootstrap and schedule (as far as
    the run got), from the controller's events and Shadow's heartbeat lines; with ``cpu``, the
    CPU seconds each program kind spent in each phase too (where the wall time went)."""
    pairs = heartbeats(out / "shadow.log")
    ends = phase_ends(out) if finished else {}
    phases: dict[str, Any] = {}
    start_sim, start_wall = 0.0, 0.0
    for phase, end_sim in (("startup", ends.get("startup")), ("bootstrap", ends.get("bootstrap")),
                           ("schedule", simulated_s)):
        end_wall = wall_at(pairs, end_sim) if end_sim is not None else None
        if end_sim is None or end_wall is None:
            break
        took = end_wall - start_wall
        phases[phase] = {"simulated_s": round(end_sim - start_sim, 1), "wall_s": round(took, 1),
                         "ratio": round((end_sim - start_sim) / took, 2) if took > 0 else None}
        if cpu is not None:
            before, after = cpu_until(cpu, start_wall), cpu_until(cpu, end_wall)
            phases[phase]["cpu_s_by_kind"] = {k: round(v - before.get(k, 0.0), 1) for k, v in after.items()}
        start_sim, start_wall = end_sim, end_wall
    return phases


def run_shadow(out: Path, sampler_every: float = SAMPLE_S,
               also: Callable[[TreeSampler, list[psutil.Process]], None] | None = None,
               ) -> tuple[dict[str, Any], TreeSampler]:
    """Run Shadow on OUT while sampling its process tree; the raw figures, and the sampler. ``also``
    is called after each sample with the sampler and the tree it read."""
    started = time.monotonic()
    samplers: list[TreeSampler] = []

    def sample(pid: int) -> None:
        if not samplers:
            samplers.append(TreeSampler(pid, started=started))  # Shadow's heartbeats count from its start
        tree = samplers[0].sample()
        if also is not None:
            also(samplers[0], tree)

    code = shadow_sampled(out, sampler_every, sample)
    wall = time.monotonic() - started
    sampler = samplers[0] if samplers else TreeSampler(0)
    return {"exit_code": code, "wall_s": round(wall, 1), "cpu_s_by_kind": sampler.cpu_by_kind(),
            "peak_rss_mb": round(sampler.peak_rss_mb), "peak_rss_mb_by_kind":
            {k: round(v) for k, v in sorted(sampler.peak_by_kind_mb.items())}}, sampler


def generate(config: Path, out: Path, extra: list[str]) -> dict[str, Any]:
    subprocess.run([sys.executable, "-m", "monerosim_actors", "gen", str(config), "-o", str(out), *extra],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "plan.json").read_text())


def measure(name: str, config: Path, workdir: Path, extra: list[str]) -> dict[str, Any]:
    out = workdir / name
    plan = generate(config, out, extra)
    raw, sampler = run_shadow(out)
    simulated = plan["stop_time_s"]
    phases = phase_figures(out, simulated, raw["exit_code"] == 0, sampler.series)
    hosts = len(plan["hosts"])
    return {**raw, "hosts": hosts, "simulated_s": simulated, "ratio": round(simulated / raw["wall_s"], 2),
            "phases": phases, "wall_ms_per_host_sim_s": round(1000 * raw["wall_s"] / (hosts * simulated), 3)}


def count_syscalls(name: str, config: Path, workdir: Path, extra: list[str]) -> dict[str, Any]:
    """Syscalls per program kind per simulated second, from Shadow's strace logs (a separate run).

    The run uses ``launch: shadow``, so that monerod and the wallet are processes of Shadow's own
    with strace files of their own (a child the runtime starts logs into the runtime's file); the
    programs and their work are the same.
    """
    import yaml

    scenario = yaml.safe_load(config.read_text())
    scenario.setdefault("monero", {})["launch"] = "shadow"
    scenario.setdefault("shadow", {}).setdefault("experimental", {})["strace_logging_mode"] = "deterministic"
    variant = workdir / f"{name}-strace.yaml"
    variant.write_text(yaml.safe_dump(scenario, sort_keys=False))
    out = workdir / f"{name}-strace"
    plan = generate(variant, out, extra)
    raw, _ = run_shadow(out)
    counts: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    for strace in (out / "shadow.data" / "hosts").glob("*/*.strace"):
        kind = kind_of(strace.name.split(".")[0])
        with open(strace, "rb") as f:
            for line in f:
                if not line[:1].isdigit():
                    continue  # the continuation of a multi-line entry
                counts[kind] += 1
                calls[f"{kind}:{line.split(b'] ', 1)[-1].split(b'(', 1)[0].decode(errors='replace')}"] += 1
    simulated = plan["stop_time_s"]
    return {"exit_code": raw["exit_code"],
            "per_sim_s": {k: round(v / simulated, 1) for k, v in sorted(counts.items())},
            "top": dict(calls.most_common(15))}


def previous_runs() -> dict[str, Any]:
    """The runs of the last result file, so that measuring one scenario (``--only``) keeps the others."""
    path = RESULTS / "shadow_speed.json"
    try:
        return dict(json.loads(path.read_text())["data"]["runs"])
    except (OSError, ValueError, KeyError):
        return {}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench shadow_speed")
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    parser.add_argument("--syscalls", action="store_true", help="also count syscalls (an extra, slower run each)")
    parser.add_argument("--keep", metavar="DIR", help="run in DIR and keep it (default: a temporary folder)")
    parser.add_argument("gen_args", nargs="*", help="extra arguments for gen (after --)")
    opts = parser.parse_args(argv)
    if shutil.which("shadow") is None:
        print("shadow_speed: skipped: Shadow is not installed (no `shadow` on PATH)")
        return 0
    names = opts.only or list(SCENARIOS)
    workdir = Path(opts.keep) if opts.keep else Path(tempfile.mkdtemp(prefix="shadow-speed-"))
    workdir.mkdir(parents=True, exist_ok=True)
    version = subprocess.run(["shadow", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    data: dict[str, Any] = {"shadow": version, "runs": previous_runs()}
    try:
        for name in names:
            print(f"shadow_speed: {name} ...", flush=True)
            data["runs"][name] = measure(name, SCENARIOS[name], workdir, opts.gen_args)
            if opts.syscalls:
                data["runs"][name]["syscalls"] = count_syscalls(name, SCENARIOS[name], workdir, opts.gen_args)
            print(json.dumps(data["runs"][name], indent=1), flush=True)
    finally:
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    rows = []
    for name in (n for n in SCENARIOS if n in data["runs"]):
        r = data["runs"][name]
        if name == "quickstart":
            target, met = f">= {TARGET_RATIO:g}x", r["ratio"] >= TARGET_RATIO
        elif name in PER_HOST_BOUNDS:
            smaller, bound = PER_HOST_BOUNDS[name]
            base = data["runs"].get(smaller, {}).get("wall_ms_per_host_sim_s")
            target = f"per host per simulated s: at most {bound:g}x {smaller}'s"
            met = None if base is None else r["wall_ms_per_host_sim_s"] <= bound * base
        else:
            target, met = "(reported)", None
        phases = ", ".join(f"{p} {v['ratio']}x" for p, v in r["phases"].items())
        rows.append(row(f"Shadow: {name} ({r['hosts']} hosts, {r['simulated_s']:g} s simulated)",
                        baseline="real time (1x)", value=f"{r['wall_s']:g} s wall, {r['ratio']}x ({phases}); "
                        f"{r['wall_ms_per_host_sim_s']} wall ms per host per simulated s; peak {r['peak_rss_mb']} MB",
                        ratio=r["ratio"], target=target, met=met))
    write_result("shadow_speed", "Scenarios under Shadow: wall time, phases, CPU per program, memory", rows, data)
    return 0 if all(r["exit_code"] == 0 for r in data["runs"].values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
