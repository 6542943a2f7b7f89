"""RandomX's stand-in, shared or private: the quickstart's peak memory on the local backend, and the
hash rates that make fast mining worth a 2 GiB dataset.

*Memory.* The quickstart runs on the local backend (time scale 6, as ``scripts/quickstart.sh`` runs
it) with each ``monero.randomx`` (``stand_in``, ``shared``, ``private``), in alternating rounds. While each runs,
the machine's memory in use (MemTotal less MemAvailable, sampled every second, less what was in use
just before the run) and the proportional set size of the run's process tree (PSS: a page shared by
N processes counts 1/N in each, so the tree's PSS is what the run itself holds, whatever else the
machine is doing) are recorded; the figure is each one's peak, beside gen's estimate.

*Hash rates.* Light mode (every monerod) and fast mode (a pool on the shared dataset), hashes per
second on one core through librandomx over ctypes, as monerod calls it.

Run alone: ``.venv/bin/python -m bench randomx_sharing [--rounds 2] [--skip-memory]``.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import mmap
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, get_args

import psutil
import yaml

from bench.common import ROOT, row, write_result
from bench.shadow_speed import process_tree
from monerosim_actors.randomx import share
from monerosim_actors.vocabulary import RandomxMode

QUICKSTART = ROOT / "configs" / "quickstart.yaml"
TIME_SCALE = 6
SAMPLE_S = 1.0
TARGET_MB = 1750
"""Issue 24: the quickstart on the local backend peaks under 1.75 GB of machine memory in use."""
MODES = get_args(RandomxMode)
"""``monero.randomx``: the default (``stand_in``), then the two with real RandomX (``private`` is the baseline)."""
FLAG_FULL_MEM = 4
HEADER_BYTES = 4096
"""The shared file's header (randomx_share.c); the dataset follows it."""


def _used_mb() -> float:
    vm = psutil.virtual_memory()
    return (vm.total - vm.available) / 2**20


def run_quickstart(mode: str, workdir: Path) -> dict[str, Any]:
    """One local quickstart run with ``monero.randomx: mode``: its peaks and gen's estimate."""
    doc = yaml.safe_load(QUICKSTART.read_text())
    doc.setdefault("monero", {})["randomx"] = mode
    config = workdir / f"quickstart_{mode}.yaml"
    config.write_text(yaml.safe_dump(doc))
    out = workdir / mode
    gen = subprocess.run([sys.executable, "-m", "monerosim_actors", "gen", str(config), "-o", str(out), "--force"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    said = [line for line in gen.stdout.splitlines() if "memory at peak" in line]
    if not said:
        raise RuntimeError(f"gen printed no estimate:\n{gen.stdout}{gen.stderr}")
    estimate = said[0]
    baseline = _used_mb()
    proc = subprocess.Popen([sys.executable, "-m", "monerosim_actors", "run", str(out), "--backend", "local",
                             "--time-scale", str(TIME_SCALE)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    peaks = {"used_mb": 0.0, "pss_mb": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_S):
            pss = 0
            for p in process_tree(proc.pid):
                try:
                    pss += p.memory_full_info().pss
                except psutil.Error:
                    continue
            peaks["pss_mb"] = max(peaks["pss_mb"], pss / 2**20)
            peaks["used_mb"] = max(peaks["used_mb"], _used_mb() - baseline)

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.monotonic()
    sampler.start()
    code = proc.wait()
    done.set()
    sampler.join()
    return {"mode": mode, "exit_code": code, "wall_s": round(time.monotonic() - started, 1),
            "peak_used_mb": round(peaks["used_mb"]), "peak_pss_mb": round(peaks["pss_mb"]),
            "estimate": estimate.split("expected:")[1].strip()}


def hash_rates(seconds: float = 10.0) -> dict[str, float]:
    """Hashes per second in light and fast mode, one thread, on the machine's shared files."""
    share.ensure([share.Kind.CACHE, share.Kind.DATASET])
    rx = ctypes.CDLL(share.LIBRANDOMX)
    rx.randomx_get_flags.restype = ctypes.c_int
    for name, res, args in (("randomx_alloc_cache", ctypes.c_void_p, [ctypes.c_int]),
                            ("randomx_create_vm", ctypes.c_void_p, [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]),
                            ("randomx_init_cache", None, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]),
                            ("randomx_calculate_hash", None, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                                              ctypes.c_char_p])):
        getattr(rx, name).restype = res
        getattr(rx, name).argtypes = args
    flags = rx.randomx_get_flags()
    cache = rx.randomx_alloc_cache(flags)
    rx.randomx_init_cache(cache, share.REGTEST_SEED_KEY, len(share.REGTEST_SEED_KEY))
    with open(share.file_path(share.Kind.DATASET), "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)  # the page cache's copy, as monerod maps it
    memory = ctypes.addressof(ctypes.c_char.from_buffer(mapped, HEADER_BYTES))
    dataset = (ctypes.c_void_p * 2)(memory, None)  # struct randomx_dataset {memory, dealloc}
    rates = {}
    out = ctypes.create_string_buffer(32)
    for mode, vm in (("light", rx.randomx_create_vm(flags, cache, None)),
                     ("fast", rx.randomx_create_vm(flags | FLAG_FULL_MEM, cache, ctypes.addressof(dataset)))):
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            rx.randomx_calculate_hash(vm, n.to_bytes(80, "little"), 80, out)
            n += 1
        rates[mode] = round(n / (time.perf_counter() - started), 1)
    return rates


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench randomx_sharing")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--skip-memory", action="store_true")
    opts = parser.parse_args(argv)
    rates = hash_rates()
    runs: list[dict[str, Any]] = []
    if not opts.skip_memory:
        with tempfile.TemporaryDirectory(prefix="randomx-sharing-") as tmp:
            for _ in range(opts.rounds):
                for mode in MODES:
                    runs.append(run_quickstart(mode, Path(tmp)))
                    print(json.dumps(runs[-1]), flush=True)
    rows = [row("RandomX hashes per second, one core (light: every monerod; fast: pools on the shared dataset)",
                baseline=f"light {rates['light']:g} H/s", value=f"fast {rates['fast']:g} H/s",
                ratio=round(rates["fast"] / rates["light"], 1), target="(reported)", met=None)]
    by_mode = {m: [r for r in runs if r["mode"] == m and r["exit_code"] == 0] for m in MODES}
    if by_mode["private"]:
        used = {m: statistics.median(r["peak_used_mb"] for r in rs) for m, rs in by_mode.items() if rs}
        pss = {m: statistics.median(r["peak_pss_mb"] for r in rs) for m, rs in by_mode.items() if rs}
        for mode in (m for m in MODES if m != "private" and by_mode[m]):
            rows.append(row(f"Quickstart, local backend, peak machine memory in use (MemAvailable, every 1 s), {mode}",
                            baseline=f"private RandomX {used['private']:.0f} MB", value=f"{mode} {used[mode]:.0f} MB",
                            ratio=round(used[mode] / used["private"], 2), target=f"< {TARGET_MB} MB",
                            met=used[mode] < TARGET_MB))
            rows.append(row(f"Quickstart, local backend, peak PSS of the run's processes, {mode}",
                            baseline=f"private RandomX {pss['private']:.0f} MB", value=f"{mode} {pss[mode]:.0f} MB "
                            f"(gen's estimate: {by_mode[mode][0]['estimate'].split(':')[0]})",
                            ratio=round(pss[mode] / pss["private"], 2), target="(reported)", met=None))
    write_result("randomx_sharing", "RandomX's stand-in, shared or private: quickstart memory, hash rates",
                 rows, {"hash_rates": rates, "runs": runs})
    return 0 if all(r["exit_code"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
