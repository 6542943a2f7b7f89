"""A sweep on a Dask cluster started as users start one, with a worker lost for real and no shared
file system.

``dask scheduler`` and two ``dask worker`` processes are started from their command lines on
127.0.0.1 (free ports), each declaring ``--resources "MEMORY=... CORES=1"``, exactly as
docs/sweeps.md tells users to. Run as root, each worker starts in a mount namespace of its own where
the test's folder (the sweep file, the scenario and DIR) is hidden under an empty tmpfs, as on a
cluster whose machines do not share DIR: every run must then be carried out in the worker's scratch
space and its results sent home through Dask. ``monerosim-actors sweep SWEEP --scheduler ADDRESS``
runs 2 points x 2 seeds of the fault tests' small network (under Shadow when ``shadow`` is on PATH,
else locally); once a worker is running a run, that worker (its nanny and its worker process) is
killed with SIGKILL; its run must start again on the other worker. Every run ends ``done``, and
``analyze DIR`` gives per-point means with their intervals.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml

from tests.conftest import require_binary
from tests.e2e.conftest import SAFETY_S

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = Path(__file__).parent / "scenarios" / "faults.yaml"
DASK = Path(sys.executable).with_name("dask")
WORKER_RESOURCES = "MEMORY=6e9 CORES=1"


class Started:
    """A command started in a session of its own, whose output is read line by line."""

    def __init__(self, argv: list[str], ready: str) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._needle = ready
        threading.Thread(target=self._read, daemon=True).start()
        assert self._ready.wait(SAFETY_S) and self.proc.poll() is None, \
            f"{argv} did not say {ready!r}:\n" + "".join(self.lines[-30:])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if self._needle in line:
                self._ready.set()
        self._ready.set()  # it ended: the caller sees poll() is not None

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(30)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _can_hide() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[Started], Path]]:
    """The scheduler's address, its two workers, and the folder they cannot see (when root)."""
    area = tmp_path / "user"
    area.mkdir()
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = [Started([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                        "--no-dashboard"], ready="Scheduler at:")]
    try:
        for name in ("w1", "w2"):
            worker = [str(DASK), "worker", address, "--name", name, "--nworkers", "1", "--nthreads", "1",
                      "--resources", WORKER_RESOURCES, "--host", "127.0.0.1", "--no-dashboard",
                      "--local-directory", str(tmp_path / name)]
            if _can_hide():  # the worker's own view of the machine: the user's folder is an empty tmpfs
                worker = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                          'mount -t tmpfs hidden "$0" && exec "$@"', str(area), *worker]
            started.append(Started(worker, ready="Registered to:"))
        yield address, started[1:], area
    finally:
        for s in reversed(started):
            s.stop()


def _holding_a_run(workers: list[Started]) -> Started:
    """The first worker with a ``monerosim_actors run`` among its descendants (polled: a net, not a budget)."""
    deadline = time.monotonic() + SAFETY_S
    while time.monotonic() < deadline:
        for worker in workers:
            try:
                family = psutil.Process(worker.proc.pid).children(recursive=True)
                if any("monerosim_actors" in p.cmdline() and "run" in p.cmdline() for p in family):
                    return worker
            except psutil.Error:
                continue
        time.sleep(0.5)
    raise AssertionError("no worker started a run")


def _kill_worker(worker: Started) -> None:
    """SIGKILL the worker's nanny and worker process, not the run they started: it is told to stop by
    the kernel when its parent dies (monerosim_actors.sweep.child), as on a machine that is lost."""
    family = [psutil.Process(worker.proc.pid), *psutil.Process(worker.proc.pid).children(recursive=True)]
    for process in family:
        try:
            if "monerosim_actors" not in process.cmdline():  # unshare, sh, the nanny, the worker
                process.kill()
        except psutil.Error:  # ended since the family was listed (a zombie has no command line left)
            continue


def test_a_sweep_on_a_cluster_started_by_hand_survives_a_lost_worker_without_shared_storage(
        cluster: tuple[str, list[Started], Path]) -> None:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    address, workers, area = cluster
    shadow = shutil.which("shadow") is not None
    base = yaml.safe_load(SCENARIO.read_text())
    base["simulation"]["duration"] = 600
    (area / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    sweep_file = {"scenario": "base.yaml", "seeds": [1, 2], "grid": {"network.consensus.block_time": [30, 40]},
                  "logs": "compressed", "resources": {"retries": 1}}
    sweep_file.update({"backend": "shadow"} if shadow else
                      {"backend": "local", "time_scale": 8, "first_address": f"127.{150 + os.getpid() % 80}.0.1"})
    (area / "sweep.yaml").write_text(yaml.safe_dump(sweep_file))
    out = area / "sweep"
    sweep = subprocess.Popen([sys.executable, "-m", "monerosim_actors", "sweep", str(area / "sweep.yaml"), "-o",
                              str(out), "--scheduler", address], cwd=ROOT, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _kill_worker(_holding_a_run(workers))
    output, _ = sweep.communicate(timeout=SAFETY_S * 4)
    assert sweep.returncode == 0, output[-5000:]
    assert "4 of 4 runs done, 0 failed" in output, output[-3000:]

    runs = {p.name: yaml.safe_load((p / "run.json").read_text()) for p in (out / "runs").iterdir()}
    assert {k: v["status"] for k, v in runs.items()} == dict.fromkeys(("p00-s1", "p00-s2", "p01-s1", "p01-s2"), "done")
    # the worker was killed as the first runs started, before any ended: the survivor did all four
    assert len({v["worker"] for v in runs.values()}) == 1, runs
    if _can_hide():
        assert all(v["storage"] == "scratch" for v in runs.values()), "the workers could not see DIR"
        for name in runs:
            assert (out / "runs" / name / "summary.json").is_file() and (out / "runs" / name / "logs.tar.gz").is_file()

    analyze = subprocess.run([sys.executable, "-m", "monerosim_actors", "analyze", str(out)], cwd=ROOT,
                             capture_output=True, text=True, timeout=SAFETY_S)
    assert analyze.returncode == 0, analyze.stderr[-4000:]
    latency = pd.read_csv(out / "report" / "latency.csv")
    both = latency[(latency["seeds"] == 2) & latency["ci95_low"].notna()]
    assert set(both["point"]) == {"p00", "p01"}, f"per-point means over both seeds:\n{latency}"
    assert (both["ci95_low"] <= both["mean"]).all() and (both["mean"] <= both["ci95_high"]).all()
