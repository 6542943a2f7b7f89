"""Carry out a sweep's runs on Dask: a local cluster sized by memory and cores, or an existing one.

Each run is one Dask task, :func:`execute_run`, which records the run's status in its ``run.json``
and hands the run to a *runner*: :func:`subprocess_runner` (``python -m monerosim_actors run ...`` in
a child process, so that a worker that dies takes no half-run state with it; tests inject a fake).
Every task claims the Dask worker resources ``MEMORY`` (bytes: the run's estimate) and ``CORES``, so
a worker runs only as many runs at once as it holds. A worker that dies has its run started again,
up to the sweep's ``retries`` times, then reported failed; a failed run never stops the others, and
``sweep --resume`` runs what is not done.

The retries are counted here, in ``run.json``, not by Dask: Dask's ``allowed-failures`` charges every
task assigned to a dead worker, also those still waiting there for its resources, while only the run
that was running died with it. So the local cluster allows Dask many failures and a run counts its
own deaths (a ``run.json`` still ``running`` when its task starts again in the same session).

No shared file system is assumed. Before the runs are submitted the client writes a random token
into ``DIR/.storage``; a task that finds it (same path, same token) runs in place, as above. A task
that does not (a cloud VM, a Kubernetes pod, a lab machine without DIR) runs the run in a scratch
folder of its own from the scenario text it was sent, analyses it there (``analyze``), and returns
the analysis and the run's output (and its logs, compressed, when the sweep file says ``logs:
compressed``) with its status; the client writes them under ``DIR/runs/RUN``. Its retries are then
Dask's (the scheduler's ``allowed-failures``): the task starts again on another worker.
Before anything is submitted every worker is asked what it has (:func:`check_workers`): a cluster
whose workers lack monerod, Shadow (for a Shadow sweep) or this version of monerosim-actors is
refused, naming each worker and what it lacks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from monerosim_actors import defaults
from monerosim_actors.errors import MonerosimError
from monerosim_actors.runtime.child import read_tail
from monerosim_actors.sweep import index
from monerosim_actors.sweep.progress import SweepProgress

log = logging.getLogger(__name__)

MIB = 2**20
TICK_S = 10.0
"""How often the driver looks at the runs in progress when none ends (and prints its line in a log)."""
DASK_ALLOWED_FAILURES = 100
"""Dask's limit of worker deaths per task on the local cluster: a net above the sweep's own retries."""
LEFTOVER_WAIT_S = 600.0
"""How long a run waits for the processes of its previous attempt (stopping after their worker died)
before it gives up: a net, not a budget."""
CONNECT_TIMEOUT_S = 20.0
"""How long the client waits for a scheduler to answer, and for it to have a worker."""
TAIL_LINES = 12
"""Lines of a failed run's output shown with its failure."""
ALLOWED_FAILURES_KEY = "distributed.scheduler.allowed-failures"


@dataclass(frozen=True)
class RunJob:
    """What a worker needs to carry out one run; paths are absolute (shared storage on a cluster)."""

    id: str
    folder: str
    backend: str
    time_scale: float
    first_address: str | None
    shadow_bin: str | None
    session: str
    """Which ``sweep`` invocation this is: deaths of a worker are counted per session."""
    retries: int
    scenario: str = ""
    """The run's ``scenario.yaml``, for a worker that cannot see its folder."""
    storage_token: str = ""
    """What ``DIR/.storage`` holds when the worker sees the sweep folder ("": run in place)."""
    logs: bool = False
    """A worker that cannot see the folder sends the run's logs home (compressed)."""

    @property
    def sweep_dir(self) -> Path:
        return Path(self.folder).parent.parent

    @property
    def out(self) -> str:
        return os.path.join(self.folder, index.OUT_DIR)

    def command(self, python: str) -> list[str]:
        """The ``run`` command line, with the worker's interpreter."""
        argv = [python, "-m", "monerosim_actors", "run", os.path.join(self.folder, index.SCENARIO_FILE),
                "-o", self.out, "--backend", self.backend, "--force"]
        if self.backend == "local":
            argv += ["--time-scale", repr(self.time_scale), "--first-address", str(self.first_address)]
        if self.shadow_bin:
            argv += ["--shadow-bin", self.shadow_bin]
        return argv


Runner = Callable[[RunJob, TextIO], int]
"""Carries out one run, its output going to the log; returns its exit code (0: done)."""


def subprocess_runner(job: RunJob, out: TextIO) -> int:
    """Run ``monerosim-actors run`` for ``job`` in a child process that gets SIGTERM if this worker dies."""
    argv = [sys.executable, "-m", "monerosim_actors.sweep.child", str(os.getpid()), *job.command(sys.executable)]
    out.write(" ".join(argv[4:]) + "\n")
    out.flush()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            cwd=job.folder)
    return proc.wait()


def execute_run(job: RunJob, runner: Runner) -> dict[str, Any]:
    """The Dask task of one run: wait for the leftovers of an earlier attempt, mark the run running,
    run it, record how it ended. Never raises for a failed run (the others go on); returns its ``run.json``."""
    if not sees_sweep_folder(job):
        return _execute_in_scratch(job, runner)
    folder = Path(job.folder)
    previous = index.read_status(folder) or {}
    died = 0
    if previous.get("session") == job.session:  # started before in this session: its worker died
        died = previous.get("died", 0) + (previous.get("status") == index.RUNNING)
    status: dict[str, Any] = {"id": job.id, "status": index.RUNNING, "session": job.session, "died": died,
                              "attempt": previous.get("attempt", 0) + 1, "host": socket.gethostname(),
                              "worker": worker_address(), "worker_pid": os.getpid(), "started": time.time()}
    if died > job.retries:
        return _finish(folder, status, None, f"its worker died {died} times while running it")
    leftovers = _wait_for_leftovers(job.folder.rstrip("/") + "/")
    if leftovers:
        return _finish(folder, status, None, f"processes of an earlier attempt still run: {leftovers}")
    index.write_json(folder / index.STATUS_FILE, status)
    with open(folder / index.LOG_FILE, "a", encoding="utf-8") as out:
        code, reason = _carry_out(job, runner, out, f"attempt {status['attempt']} on {status['host']}")
    return _finish(folder, status, code, reason)


def _carry_out(job: RunJob, runner: Runner, out: TextIO, header: str) -> tuple[int | None, str | None]:
    """Hand the run to ``runner`` under a header line in its log; its exit code and why it failed
    (None: done). A runner that cannot start the run fails this run, not the sweep."""
    out.write(f"=== {header} at {time.strftime('%Y-%m-%d %H:%M:%S')} ===\n")
    out.flush()
    try:
        code = runner(job, out)
    except Exception as e:
        out.write(f"the run could not be carried out: {e!r}\n")
        return None, f"could not start: {e}"
    return code, None if code == 0 else f"exit code {code}"


def _finish(folder: Path, status: dict[str, Any], code: int | None, reason: str | None) -> dict[str, Any]:
    status = _ended(status, code, reason)
    index.write_json(folder / index.STATUS_FILE, status)
    return status


def _ended(status: dict[str, Any], code: int | None, reason: str | None) -> dict[str, Any]:
    ended = time.time()
    return {**status, "status": index.DONE if reason is None else index.FAILED, "exit_code": code,
            "ended": ended, "wall_s": round(ended - status["started"], 3), **({"reason": reason} if reason else {})}


def worker_address() -> str:
    """The Dask worker this runs in (its address), or this machine's name outside one."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return socket.gethostname()


def sees_sweep_folder(job: RunJob) -> bool:
    """Whether this worker sees the sweep folder the client wrote (the same path, the same token); a
    job without a token (a caller on the sweep's own machine) runs in place."""
    if not job.storage_token:
        return True
    try:
        return (job.sweep_dir / index.STORAGE_FILE).read_text(encoding="utf-8") == job.storage_token
    except OSError:
        return False


def _execute_in_scratch(job: RunJob, runner: Runner) -> dict[str, Any]:
    """Carry out the run in a scratch folder of this worker, analyse it there, and return its status
    with what the client writes under the sweep folder (``results``): the run's output, its analysis
    and, when asked, its logs."""
    status: dict[str, Any] = {"id": job.id, "status": index.RUNNING, "session": job.session, "storage": "scratch",
                              "host": socket.gethostname(), "worker": worker_address(), "worker_pid": os.getpid(),
                              "started": time.time()}
    prefix = f"monerosim-sweep-{job.id}-"
    leftovers = _wait_for_leftovers(prefix)  # an attempt whose worker died here, stopping (same addresses)
    if leftovers:
        return {**_ended(status, None, f"processes of an earlier attempt still run: {leftovers}"),
                "results": {"log": f"processes of an earlier attempt still run here: {leftovers}\n"}}
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        (scratch / index.SCENARIO_FILE).write_text(job.scenario, encoding="utf-8")
        here = dataclasses.replace(job, folder=str(scratch))
        with open(scratch / index.LOG_FILE, "a", encoding="utf-8") as out:
            code, reason = _carry_out(here, runner, out, f"on {status['host']} ({status['worker']}), in {scratch}")
            if code == 0:
                analysed = subprocess.run([sys.executable, "-m", "monerosim_actors", "analyze", here.out],
                                          stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                          check=False).returncode
                reason = None if analysed == 0 else f"analyze exited {analysed}"
        results: dict[str, Any] = {"log": (scratch / index.LOG_FILE).read_text(encoding="utf-8", errors="replace")}
        summary = Path(here.out) / defaults.REPORT_DIR / defaults.REPORT_SUMMARY_FILE
        if summary.is_file():
            results["summary"] = summary.read_text(encoding="utf-8")
        if job.logs and Path(here.out).is_dir():
            results["logs_tgz"] = _compressed(Path(here.out))
        return {**_ended(status, code, reason), "results": results}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _compressed(out: Path) -> bytes:
    """The run folder's logs (its data folder and Shadow's log), gzip-compressed tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in (defaults.DATA_DIR, defaults.SHADOW_LOG_FILE):
            if (out / name).exists():
                tar.add(out / name, arcname=name)
    return buffer.getvalue()


def bring_home(folder: Path, status: dict[str, Any]) -> dict[str, Any]:
    """Write what a worker that could not see the sweep folder sent (its ``results``) into the run's
    folder, and its ``run.json``; returns the status without them."""
    results = status.pop("results", None) or {}
    if "log" in results:
        with open(folder / index.LOG_FILE, "a", encoding="utf-8") as f:
            f.write(results["log"])
    if "summary" in results:
        (folder / index.SUMMARY_FILE).write_text(results["summary"], encoding="utf-8")
    if "logs_tgz" in results:
        (folder / index.LOGS_ARCHIVE).write_bytes(results["logs_tgz"])
    index.write_json(folder / index.STATUS_FILE, status)
    return status


def worker_facts(backend: str, shadow_bin: str | None) -> dict[str, Any]:
    """What a worker has for a sweep of ``backend`` (run on every worker by :func:`check_workers`)."""
    from monerosim_actors import __version__

    return {"host": socket.gethostname(), "version": __version__,
            "monerod": shutil.which("monerod"), "monero-wallet-rpc": shutil.which("monero-wallet-rpc"),
            "shadow": shutil.which(shadow_bin or "shadow") if backend == "shadow" else "not needed"}


def check_workers(client: Any, backend: str, shadow_bin: str | None) -> None:
    """Refuse a cluster whose workers cannot run the sweep, before anything is submitted.

    Raises:
        MonerosimError: naming each worker and what it lacks.
    """
    from monerosim_actors import __version__

    problems = []
    for address, facts in sorted(client.run(worker_facts, backend, shadow_bin).items()):
        lacks = []
        if facts["version"] != __version__:
            lacks.append(f"monerosim-actors {__version__} (it has {facts['version']})")
        lacks += [f"{name} on PATH (Debian package monero)" for name in ("monerod", "monero-wallet-rpc")
                  if not facts[name]]
        if not facts["shadow"]:
            lacks.append(f"{shadow_bin or 'shadow'} on PATH (a Shadow sweep)")
        if lacks:
            problems.append(f"worker {address} on {facts['host']} lacks {', '.join(lacks)}")
    if problems:
        raise MonerosimError("the cluster cannot run this sweep (nothing was started):\n  " + "\n  ".join(problems))


def _wait_for_leftovers(needle: str) -> list[int]:
    """Wait until no process on this machine names ``needle`` (the run's folder, or its scratch
    folders' prefix: an earlier attempt, stopping after its worker died, would share the run's
    addresses and files); the pids still there at the limit."""
    deadline = time.monotonic() + LEFTOVER_WAIT_S
    left = _processes_naming(needle)
    while left and time.monotonic() < deadline:
        time.sleep(1.0)
        left = _processes_naming(needle)
    return left


def _processes_naming(needle: str) -> list[int]:
    from monerosim_actors.backends import groups

    return [info.pid for info in groups.naming(needle)]


def jobs(sweep_dir: str, sweep: index.SweepIndex, runs: list[index.RunEntry], session: str,
         storage_token: str = "") -> list[RunJob]:
    """The jobs of ``runs``, with absolute paths in ``sweep_dir`` and each run's scenario text."""
    root = os.path.abspath(sweep_dir)
    return [RunJob(id=r.id, folder=str(r.folder(root)), backend=sweep.backend, time_scale=sweep.time_scale,
                   first_address=r.first_address, shadow_bin=sweep.shadow_bin, session=session,
                   retries=sweep.retries, storage_token=storage_token, logs=sweep.logs == "compressed",
                   scenario=(r.folder(root) / index.SCENARIO_FILE).read_text(encoding="utf-8")) for r in runs]


def mark_storage(sweep_dir: str) -> str:
    """Write a fresh token into ``DIR/.storage`` (:func:`sees_sweep_folder`); return it."""
    token = secrets.token_hex(16)
    path = Path(sweep_dir) / index.STORAGE_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(token, encoding="utf-8")
    os.replace(tmp, path)
    return token


def to_do(sweep_dir: str, sweep: index.SweepIndex) -> list[index.RunEntry]:
    """The runs that are not done: never started, failed, or cut short (still ``running`` in their
    ``run.json`` though nothing runs them: their worker or the sweep died)."""
    return [r for r in sweep.runs if (index.read_status(r.folder(sweep_dir)) or {}).get("status") != index.DONE]


@dataclass
class Outcome:
    """How a sweep's session went."""

    done: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(run id, why)."""
    wall_s: float = 0.0


def local_slots(claims_mb: list[int], cores: int, available_mb: int, cpus: int, cap: int | None) -> int:
    """How many runs this machine can hold at once: by memory (the largest claim), by cores, by the
    number of runs and by ``cap``.

    Raises:
        MonerosimError: not even the largest run fits into the memory available.
    """
    from monerosim_actors.backends.resources import RESERVE_MB

    usable = available_mb - RESERVE_MB
    largest = max(claims_mb)
    if largest > usable:
        raise MonerosimError(
            f"the largest run claims {largest} MiB, but only {available_mb} MiB is available here "
            f"(MemAvailable, less {RESERVE_MB} MiB to spare): free some memory, make the scenario smaller, "
            "set resources.memory in the sweep file if the estimate is too high, or run on a cluster "
            "(--scheduler)")
    slots = min(usable // largest, max(1, cpus // cores), len(claims_mb))
    return max(1, min(slots, cap) if cap else slots)


@contextlib.contextmanager
def local_cluster(slots: int, memory_mb: int, cores: int) -> Iterator[Any]:
    """A client of a Dask cluster on this machine (:func:`local_dask_cluster`)."""
    from distributed import Client

    with local_dask_cluster(slots, memory_mb, cores) as cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def local_dask_cluster(slots: int, memory_mb: int, cores: int) -> Iterator[Any]:
    """A Dask cluster on this machine, without a client: ``slots`` worker processes of one thread,
    each declaring ``MEMORY`` and ``CORES`` for one run; a worker that dies is restarted by its nanny.
    (A second client in the process that runs a sweep's own would share its futures' state across two
    event loops: tests that give a sweep this cluster's address use it bare.)

    Every socket, the dashboard's too, listens on 127.0.0.1 only: Dask's workers run whatever
    pickled code a client sends, so nothing of it may be reachable from another machine."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({ALLOWED_FAILURES_KEY: DASK_ALLOWED_FAILURES}):
        cluster = LocalCluster(n_workers=slots, threads_per_worker=1, processes=True, memory_limit=0,
                               resources={"MEMORY": memory_mb * MIB, "CORES": cores},
                               host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    try:
        yield cluster
    finally:
        cluster.close()


@contextlib.contextmanager
def remote_cluster(address: str, largest_mb: int, cores: int, backend: str, shadow_bin: str | None) -> Iterator[Any]:
    """A client of the Dask scheduler at ``address``, once a worker that can hold the largest run is
    there and every worker has what a run of ``backend`` needs (:func:`check_workers`).

    Raises:
        MonerosimError: no scheduler answers, none of its workers declares enough resources, or a
            worker lacks a program or runs another version.
    """
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except OSError as e:
        raise MonerosimError(f"no Dask scheduler answers at {address}: {e}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise MonerosimError(f"the Dask scheduler at {address} has no worker (start one: "
                                 f"dask worker {address} --nthreads 2 --resources \"MEMORY=16e9 CORES=2\")") from None
        workers = client.scheduler_info()["workers"].values()
        need = {"MEMORY": largest_mb * MIB, "CORES": cores}
        if not any(all(w.get("resources", {}).get(k, 0) >= v for k, v in need.items()) for w in workers):
            have = sorted({str(w.get("resources") or {}) for w in workers})
            raise MonerosimError(
                f"no worker of {address} can take the largest run, which claims MEMORY={need['MEMORY']:.4g} "
                f"({largest_mb} MiB) and CORES={cores}; its workers declare {', '.join(have)}. Start workers "
                f"with their resources, e.g. dask worker {address} --nthreads 2 --resources "
                "\"MEMORY=16e9 CORES=2\"")
        check_workers(client, backend, shadow_bin)
        yield client
    finally:
        client.close()


def dashboard(client: Any) -> str | None:
    """The address of the cluster's Dask dashboard, when it serves one (it needs bokeh)."""
    services = client.scheduler_info().get("services") or {}
    return str(client.dashboard_link) if "dashboard" in services else None


def run_all(client: Any, sweep_dir: str, sweep: index.SweepIndex, runs: list[index.RunEntry], runner: Runner,
            progress: SweepProgress) -> Outcome:
    """Submit every run, follow them to their end, report each failure as it happens."""
    from distributed import wait

    claims = {r.id: {"MEMORY": r.memory_mb * MIB, "CORES": sweep.cores} for r in runs}
    session = uuid.uuid4().hex[:12]
    token = mark_storage(sweep_dir)
    futures = {client.submit(execute_run, job, runner, key=f"sweep-{job.id}-{session}", pure=False,
                             resources=claims[job.id]): job for job in jobs(sweep_dir, sweep, runs, session, token)}
    outcome = Outcome()
    started = time.monotonic()
    pending = set(futures)
    progress.show(done=0, running=0, failed=0, elapsed_s=0.0)
    while pending:
        try:
            finished, pending = wait(pending, timeout=TICK_S, return_when="FIRST_COMPLETED")
        except TimeoutError:
            finished = set()
        for future in finished:
            job = futures[future]
            status = _status_of(future, job)
            if status.get("status") == index.DONE:
                outcome.done.append(job.id)
            else:
                reason = status.get("reason") or "unknown"
                outcome.failed.append((job.id, reason))
                log_file = os.path.join(job.folder, index.LOG_FILE)
                progress.failed(job.id, job.folder, reason, log_file, worker=status.get("worker"),
                                tail=read_tail(log_file, TAIL_LINES))
        progress.show(done=len(outcome.done), running=min(executing(client), len(pending)), failed=len(outcome.failed),
                      elapsed_s=time.monotonic() - started)
    outcome.wall_s = time.monotonic() - started
    return outcome


def executing(client: Any) -> int:
    """Runs being carried out now, by the workers' own count (their heartbeats' ``executing``): the
    scheduler's tasks per worker include those waiting there for the worker's resources."""
    workers = client.scheduler_info()["workers"].values()
    return sum(int(w.get("metrics", {}).get("task_counts", {}).get("executing", 0)) for w in workers)


def _status_of(future: Any, job: RunJob) -> dict[str, Any]:
    """The run's ``run.json`` as the task returned it; for a task that died with its worker (Dask's
    ``KilledWorker`` after the allowed failures), a ``failed`` one written here."""
    if future.status == "finished":
        result: dict[str, Any] = future.result()
        return bring_home(Path(job.folder), result) if "results" in result else result
    recorded = index.read_status(job.folder) or {}
    if recorded.get("status") == index.DONE:  # the run ended, then its worker died before saying so
        return recorded
    error = future.exception() if future.status == "error" else future.status
    kind = type(error).__name__
    reason = f"its worker died ({kind}: {error})" if kind == "KilledWorker" else f"its task failed ({kind}: {error})"
    status = {**recorded, "id": job.id, "status": index.FAILED, "reason": reason, "ended": time.time()}
    index.write_json(Path(job.folder) / index.STATUS_FILE, status)
    return status
