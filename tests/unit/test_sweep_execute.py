"""Sweeps carried out on a real Dask ``LocalCluster`` of two worker processes, with a fake runner.

The fake (:class:`FakeRunner`) stands in for ``monerosim-actors run``: it copies the golden analysis
run into the run's folder in a moment (latencies shifted by the seed, so that seeds differ), or fails,
or kills the worker that runs it. Everything else is the real thing: the command, the expansion, Dask's
scheduling with resources, the run.json records and ``--resume``. Nothing waits on the wall clock:
the sweep returns when every future has ended (pytest's timeout is the net).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pytest
import yaml

from monerosim_actors.backends import groups
from monerosim_actors.commands import sweep as sweep_cmd
from monerosim_actors.errors import MonerosimError
from monerosim_actors.sweep import execute, index
from tests.unit.scenario_helpers import base_doc

pytest.importorskip("distributed")

GOLDEN_RUN = Path(__file__).parents[1] / "golden" / "analysis" / "run"
_RECV = re.compile(rb'"recv_at": ([0-9.]+)')


def write_fake_run(out: str | Path, seed: int) -> None:
    """A plausible finished run in ``out``: the golden run, every receipt ``seed`` ms later."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(GOLDEN_RUN, out)
    for log in Path(out).glob("shadow.data/hosts/*/events.jsonl"):
        log.write_bytes(_RECV.sub(lambda m: b'"recv_at": %.3f' % (float(m.group(1)) + seed / 1000), log.read_bytes()))


@dataclass(frozen=True)
class FakeRunner:
    """Carries out a run in a moment: writes a fake run, fails (``fail``: exit code 3), or kills
    its worker on its first attempt (``kill``)."""

    fail: frozenset[str] = field(default_factory=frozenset)
    kill: frozenset[str] = field(default_factory=frozenset)

    def __call__(self, job: execute.RunJob, out: TextIO) -> int:
        marker = Path(job.folder) / "killed-once"
        if job.id in self.kill and not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        if job.id in self.fail:
            out.write("fake failure\n")
            return 3
        write_fake_run(job.out, int(job.id.rsplit("-s", 1)[1]))
        return 0


def sweep_file(tmp_path: Path, **extra: Any) -> Path:
    """A 2x2 grid with 2 seeds (8 runs) over a small scenario with stand-in binaries."""
    scenario = tmp_path / "base.yaml"
    scenario.write_text(yaml.safe_dump(base_doc(), sort_keys=False))
    doc = {"scenario": "base.yaml", "seeds": [1, 2],
           "grid": {"network.consensus.block_time": [20, 40], "network.peers.count": [1, 2]},
           "backend": "local", "time_scale": 4, "resources": {"memory": 10, **extra}}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a cluster of two workers that the tests share (``--scheduler``): starting
    one takes seconds, the runs here take a moment."""
    with execute.local_dask_cluster(2, 100, 1) as cluster:
        yield cluster.scheduler_address


def options(**given: Any) -> argparse.Namespace:
    defaults = {"sweep": None, "out": None, "resume": None, "scheduler": None, "workers": 2,
                "skip_memory_check": False, "expand_only": False, "verbose": False}
    return argparse.Namespace(**{**defaults, **given})


def statuses(sweep_dir: Path) -> dict[str, dict[str, Any]]:
    return {p.name: json.loads((p / index.STATUS_FILE).read_text())
            for p in sorted((sweep_dir / index.RUNS_DIR).iterdir()) if (p / index.STATUS_FILE).exists()}


def test_a_sweep_runs_every_run_on_two_workers_and_a_failure_stops_none(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], scheduler: str) -> None:
    out = tmp_path / "sweep"
    code = sweep_cmd.run(options(sweep=str(sweep_file(tmp_path)), out=str(out)),
                         runner=FakeRunner(fail=frozenset({"p01-s2"})))
    err = capsys.readouterr().err
    assert code == sweep_cmd.EXIT_FAILED_RUNS
    assert "2 at once" in err
    runs = statuses(out)
    assert len(runs) == 8
    assert {k for k, v in runs.items() if v["status"] == index.FAILED} == {"p01-s2"}
    assert runs["p01-s2"]["exit_code"] == 3 and runs["p01-s2"]["reason"] == "exit code 3"
    failure = runs["p01-s2"]
    assert failure["worker"].startswith("tcp://127.0.0.1:"), "the worker it ran on, by its address"
    assert f"run p01-s2 failed on {failure['worker']} (exit code 3): {out / 'runs' / 'p01-s2'}" in err
    assert "  | fake failure" in err, "the last lines of its output come with the failure"
    assert "7 of 8 runs done, 1 failed" in err and f"--resume {out}" in err
    assert "fake failure" in (out / "runs" / "p01-s2" / index.LOG_FILE).read_text()
    assert len({v["worker_pid"] for v in runs.values()}) == 2, "both workers ran runs"
    assert all((out / "runs" / k / "out" / "shadow.data").is_dir() for k, v in runs.items() if v["status"] == "done")

    code = sweep_cmd.run(options(resume=str(out), scheduler=scheduler), runner=FakeRunner())
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"running 1 of 8 runs on the Dask cluster at {scheduler}" in err
    after = statuses(out)
    assert all(v["status"] == index.DONE for v in after.values())
    assert after["p01-s2"]["attempt"] == 2
    assert all(after[k] == runs[k] for k in runs if k != "p01-s2"), "runs that were done were left alone"
    assert sweep_cmd.run(options(resume=str(out), scheduler=scheduler), runner=FakeRunner()) == 0
    assert "all 8 runs are done" in capsys.readouterr().err


def test_a_run_whose_worker_is_killed_is_run_again(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   scheduler: str) -> None:
    out = tmp_path / "sweep"
    code = sweep_cmd.run(options(sweep=str(sweep_file(tmp_path, retries=1)), out=str(out), scheduler=scheduler),
                         runner=FakeRunner(kill=frozenset({"p00-s1"})))
    assert code == 0, capsys.readouterr().err
    runs = statuses(out)
    assert all(v["status"] == index.DONE for v in runs.values())
    assert runs["p00-s1"]["attempt"] == 2 and runs["p00-s1"]["died"] == 1
    assert all(v["attempt"] == 1 for k, v in runs.items() if k != "p00-s1"), \
        "runs waiting on the dead worker were not charged with its death"


def test_without_retries_a_killed_run_is_reported_failed_and_resume_completes_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], scheduler: str) -> None:
    out = tmp_path / "sweep"
    code = sweep_cmd.run(options(sweep=str(sweep_file(tmp_path, retries=0)), out=str(out), scheduler=scheduler),
                         runner=FakeRunner(kill=frozenset({"p03-s2"})))
    err = capsys.readouterr().err
    assert code == sweep_cmd.EXIT_FAILED_RUNS
    runs = statuses(out)
    assert {k for k, v in runs.items() if v["status"] != index.DONE} == {"p03-s2"}
    assert "its worker died 1 times" in runs["p03-s2"]["reason"]
    assert f"run p03-s2 failed on {runs['p03-s2']['worker']} (its worker died" in err
    assert sweep_cmd.run(options(resume=str(out), scheduler=scheduler),
                         runner=FakeRunner(kill=frozenset({"p03-s2"}))) == 0
    assert statuses(out)["p03-s2"]["status"] == index.DONE


def test_a_cluster_whose_workers_declare_too_little_is_refused(scheduler: str) -> None:
    with pytest.raises(MonerosimError, match=r"no worker of .* can take the largest run, which claims "
                                             r"MEMORY=1\.074e\+09 \(1024 MiB\).*--resources"):
        with execute.remote_cluster(scheduler, 1024, 1, "local", None):
            pass


def test_a_cluster_whose_workers_lack_a_program_or_run_another_version_is_refused(
        scheduler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked before anything is submitted: each worker, by its address, and what it lacks."""
    def facts(backend: str, shadow_bin: str | None) -> dict[str, Any]:
        return {"host": "lab-7", "version": "0.0.1", "monerod": None,
                "monero-wallet-rpc": "/usr/bin/monero-wallet-rpc", "shadow": None}

    monkeypatch.setattr(execute, "worker_facts", facts)
    with pytest.raises(MonerosimError, match=r"cannot run this sweep \(nothing was started\):\n  worker "
                                             r"tcp://127\.0\.0\.1:\d+ on lab-7 lacks monerosim-actors .* \(it has "
                                             r"0\.0\.1\), monerod on PATH .*, shadow on PATH \(a Shadow sweep\)"):
        with execute.remote_cluster(scheduler, 1, 1, "shadow", None):
            pass


def test_the_local_cluster_listens_on_loopback_only(scheduler: str) -> None:
    """Dask runs pickled code it is sent: no socket of the cluster (scheduler, dashboard, nannies,
    workers) may be reachable from another machine."""
    import psutil

    me = psutil.Process()
    listening = {(p.pid, c.laddr.ip, c.laddr.port) for p in [me, *me.children(recursive=True)]
                 for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
    assert scheduler.startswith("tcp://127.0.0.1:") and listening
    assert {ip for _, ip, _ in listening} == {"127.0.0.1"}, listening


def test_the_local_cluster_is_sized_by_memory_cores_runs_and_the_cap() -> None:
    assert execute.local_slots([1000] * 8, 1, 13000, 2, None) == 2  # cores
    assert execute.local_slots([1000] * 8, 1, 13000, 64, None) == 8  # runs
    assert execute.local_slots([3000] * 8, 1, 13000, 64, None) == 4  # memory: (13000 - 256) // 3000
    assert execute.local_slots([1000] * 8, 2, 13000, 2, None) == 1  # a run claims both cores
    assert execute.local_slots([1000] * 8, 1, 13000, 64, 3) == 3  # --workers
    with pytest.raises(MonerosimError, match="the largest run claims 20000 MiB"):
        execute.local_slots([1000, 20000], 1, 13000, 2, None)


def test_the_run_command_names_the_scenario_folder_backend_and_addresses() -> None:
    job = execute.RunJob(id="p00-s1", folder="/s/runs/p00-s1", backend="local", time_scale=6.0,
                         first_address="127.100.0.1", shadow_bin=None, session="x", retries=1)
    assert job.command("/py") == ["/py", "-m", "monerosim_actors", "run", "/s/runs/p00-s1/scenario.yaml", "-o",
                                  "/s/runs/p00-s1/out", "--backend", "local", "--force", "--time-scale", "6.0",
                                  "--first-address", "127.100.0.1"]
    shadow = execute.RunJob(id="p00-s1", folder="/s/runs/p00-s1", backend="shadow", time_scale=1.0,
                            first_address=None, shadow_bin="/opt/shadow", session="x", retries=1)
    assert shadow.command("/py")[-4:] == ["shadow", "--force", "--shadow-bin", "/opt/shadow"]


def test_a_run_is_told_to_stop_when_its_worker_dies(tmp_path: Path) -> None:
    """The child wrapper: SIGKILL the process that started it, and the command gets SIGTERM."""
    ready = tmp_path / "ready"
    command = (f"import signal, sys, time, pathlib; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); "
               f"pathlib.Path({str(ready)!r}).touch(); time.sleep(600)")
    parent_code = ("import os, subprocess, sys; p = subprocess.Popen([sys.executable, '-m', "
                   f"'monerosim_actors.sweep.child', str(os.getpid()), sys.executable, '-c', {command!r}]); "
                   "print(p.pid, flush=True); p.wait()")
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 120  # a net against a hang, not a budget
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    parent.kill()
    parent.wait()
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the command outlived the process that started it"


def _alive(pid: int) -> bool:
    info = groups.read_proc(pid)
    return info is not None and not info.zombie


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_scheduler_is_refused_with_exit_2_and_nothing_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from monerosim_actors import cli

    out = tmp_path / "sweep"
    address = f"tcp://127.0.0.1:{_free_port()}"
    assert cli.main(["sweep", str(sweep_file(tmp_path)), "-o", str(out), "--scheduler", address]) == 2
    assert f"no Dask scheduler answers at {address}" in capsys.readouterr().err
    assert not out.exists()


def test_a_cluster_without_a_worker_is_refused_with_exit_2_and_nothing_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from monerosim_actors import cli

    out = tmp_path / "sweep"
    with execute.local_dask_cluster(0, 100, 1) as empty:
        assert cli.main(["sweep", str(sweep_file(tmp_path)), "-o", str(out), "--scheduler",
                         empty.scheduler_address]) == 2
    assert "has no worker (start one: dask worker" in capsys.readouterr().err
    assert not out.exists()


def test_a_sweep_folder_that_is_not_empty_is_refused_before_the_cluster_is_asked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from monerosim_actors import cli

    out = tmp_path / "sweep"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert cli.main(["sweep", str(sweep_file(tmp_path)), "-o", str(out), "--scheduler",
                     f"tcp://127.0.0.1:{_free_port()}"]) == 2
    assert f"{out} is not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def _wait_for_file(path: str) -> bool:
    while not os.path.exists(path):
        time.sleep(0.05)
    return True


def test_runs_waiting_on_a_worker_for_its_resources_are_not_counted_running(tmp_path: Path) -> None:
    """Dask assigns every task to a worker at once; only as many execute as the worker's resources
    allow, and only those are the runs shown running."""
    from distributed import Client

    release = str(tmp_path / "release")
    with execute.local_dask_cluster(1, 100, 1) as cluster, Client(cluster) as client:
        futures = [client.submit(_wait_for_file, release, key=f"wait-{i}", pure=False,
                                 resources={"MEMORY": 100 * execute.MIB, "CORES": 1}) for i in range(3)]
        deadline = time.monotonic() + 60  # a net: the worker's heartbeat reports it within a second or two
        while execute.executing(client) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert execute.executing(client) == 1
        assert sum(len(keys) for keys in client.processing().values()) == 3
        Path(release).touch()
        assert client.gather(futures) == [True, True, True]
