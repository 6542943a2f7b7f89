"""The shadow backend: run the ``shadow`` binary on ``OUT/shadow.yaml``, show its progress, report how it ended.

Shadow runs with OUT as its working directory, so its data directory is ``OUT/shadow.data`` (the
layout the local backend copies). All it prints (stdout and stderr, merged) is kept in
``OUT/shadow.log``. The user sees the local backend's progress line instead (hosts ready, blocks,
payments, bus messages, from the hosts' ``events.jsonl`` read as they grow) with the simulated time
Shadow's output gives, and, as they come, the lines that need a reader: what Shadow logs at WARN or
ERROR (a process that ended in another state than the config expects is an ERROR) and whatever it
prints that is not a log line (its start and end, a crash); reading Shadow's output is
:mod:`monerosim_actors.backends.shadow_output`. The end is the local backend's summary,
naming the hosts whose processes ended badly. SIGINT/SIGTERM to the runner are passed on to Shadow,
which stops its hosts. Whatever raises while Shadow runs (the progress display, reading its output),
Shadow's group gets SIGTERM, then SIGKILL, and is reaped before the error goes on: it never outlives
the runner.

Nothing polls: the main thread blocks reading Shadow's output, and a timer thread refreshes the line
while Shadow is quiet; the line changes at most once a second on a terminal (every ten seconds
otherwise), and the events are read only when it does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TextIO

from monerosim_actors.backends.progress import ProgressDisplay, Tally, format_duration, summary
from monerosim_actors.backends.shadow_output import LOG_FILE, ProcessEnd, ShadowOutput
from monerosim_actors.backends.tail import EventTail
from monerosim_actors.defaults import DATA_DIR, EVENTS_FILE, PLAN_FILE, SHADOW_FILE, host_data_dir
from monerosim_actors.events.names import EventName
from monerosim_actors.runtime.stopping import terminate

log = logging.getLogger(__name__)

INSTALL_HINT = """\
Shadow is not installed (no `shadow` on PATH; name it with --shadow-bin PATH).
To get it, build Shadow 3.3.0 (or later) from source and put `shadow` on PATH:
https://shadow.github.io/docs/guide/install_shadow.html
A stock 3.3.0 works: gen gives every process the project's compatibility shim (docs/shadow.md,
"Which Shadow"). Meanwhile, `--backend local` runs the same scenario on this machine."""
MAX_NAMES = 10
"""Hosts named in one line of the end's report; the others are counted."""
LOG_TAILS = 5
"""How many of the processes that ended badly get the end of their stderr in the summary."""
TAIL_LINES = 10
READ_BYTES = 1 << 16
SHADOW_TERM_TIMEOUT_S = 30.0
"""When the runner must stop Shadow itself: how long Shadow gets after SIGTERM to stop its hosts."""


def locate(shadow_bin: str | None) -> str | None:
    """The Shadow binary: ``shadow_bin`` if it is an executable (or a name on PATH), else ``shadow``."""
    candidate = shadow_bin or "shadow"
    if os.sep in candidate:
        return os.path.abspath(candidate) if os.access(candidate, os.X_OK) and os.path.isfile(candidate) else None
    return shutil.which(candidate)


class Ticker:
    """Calls ``tick`` every ``interval_s`` on a thread of its own (sleeping in between) until stopped."""

    def __init__(self, interval_s: float, tick: Callable[[], None]) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s, tick), name="shadow-progress",
                                        daemon=True)
        self._thread.start()

    def _run(self, interval_s: float, tick: Callable[[], None]) -> None:
        while not self._stop.wait(interval_s):
            try:
                tick()
            except Exception:  # the display must never take the run down
                log.exception("the progress display failed; it stops")
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run(out_dir: str, shadow_bin: str | None, stream: TextIO, *, summary_stream: TextIO | None = None,
        tty: bool | None = None, clock: Callable[[], float] = time.monotonic, ticker: bool = True) -> int:
    """Run Shadow on OUT; returns 0 when it and every role succeeded, 2 when it cannot run, 128+N on
    signal N, else 1.

    Args:
        out_dir: OUT, as ``gen`` (or ``run``) wrote it: ``shadow.yaml`` and ``plan.json``.
        shadow_bin: the Shadow binary (default: ``shadow`` on PATH).
        stream: where the progress, Shadow's warnings and errors and the messages go (stderr).
        summary_stream: where the summary goes (default: ``stream``).
        tty: whether the progress line is refreshed in place (default: whether ``stream`` is a terminal).
        clock: monotonic seconds (a test seam).
        ticker: refresh the line from a timer thread while Shadow is quiet (tests turn it off).
    """
    binary = locate(shadow_bin)
    if binary is None:
        named = f" ({shadow_bin} is not an executable)" if shadow_bin else ""
        stream.write(f"monerosim-actors run: {INSTALL_HINT.splitlines()[0]}{named}\n"
                     + "\n".join(INSTALL_HINT.splitlines()[1:]) + "\n")
        return 2
    data = os.path.join(out_dir, DATA_DIR)
    if os.path.lexists(data):
        stream.write(f"monerosim-actors run: {data} already exists (Shadow refuses to overwrite it); "
                     "run again with --force to regenerate OUT\n")
        return 2
    from monerosim_actors.plan.model import Plan

    plan_path = os.path.join(out_dir, PLAN_FILE)
    try:
        plan = Plan.from_json(Path(plan_path).read_text())
    except (OSError, ValueError, TypeError, KeyError) as e:
        stream.write(f"monerosim-actors run: cannot read {plan_path} ({e}); run `monerosim-actors gen` "
                     "again to write OUT\n")
        return 2
    log_path = os.path.join(out_dir, LOG_FILE)
    stream.write(f"running {binary} {SHADOW_FILE} in {out_dir}: {len(plan.hosts)} hosts, "
                 f"{format_duration(plan.stop_time_s)} simulated; Shadow's output goes to {log_path}. "
                 "Ctrl-C stops it.\n")
    stream.flush()
    output = ShadowOutput([h.name for h in plan.hosts], plan.stop_time_s)
    tally = Tally.for_plan(plan)
    tail = EventTail({h.name: os.path.join(host_data_dir(out_dir, h.name), EVENTS_FILE) for h in plan.hosts})
    display = ProgressDisplay(tally, tail, stream, timing=output, tty=tty, clock=clock, tty_every_s=1.0)
    started = clock()
    received: list[int] = []
    with contextlib.ExitStack() as stack:  # unwound in reverse: whatever raises, Shadow is stopped
        log_file = stack.enter_context(open(log_path, "wb"))  # before Shadow starts: it may fail
        proc = stack.enter_context(subprocess.Popen(
            [binary, SHADOW_FILE], cwd=out_dir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True))
        stack.callback(_stop_if_running, proc)
        stack.callback(_forward_signals(proc, received))
        if ticker:
            stack.callback(Ticker(display.refresh_s, display.update).stop)
        assert proc.stdout is not None
        _pump(proc.stdout, log_file, output, display)
        code = proc.wait()
    display.finish()
    return _report([h.name for h in plan.hosts], out_dir, output, tally, code,
                   received[0] if received else None, clock() - started, stream, summary_stream or stream)


def _pump(pipe: BinaryIO, log_file: BinaryIO, output: ShadowOutput, display: ProgressDisplay) -> None:
    """Copy Shadow's output to the log as it comes, feed it to ``output`` line by line, and show
    the notes and the progress line; returns at the end of the output."""
    fd = pipe.fileno()
    pending = b""
    while chunk := os.read(fd, READ_BYTES):
        log_file.write(chunk)
        log_file.flush()  # so that shadow.log can be followed while Shadow runs
        *lines, pending = (pending + chunk).split(b"\n")
        for raw in lines:
            if note := output.feed(raw.decode(errors="replace")):
                display.note(note)
        display.update()
    if pending and (note := output.feed(pending.decode(errors="replace"))):
        display.note(note)


def _report(hosts: list[str], out_dir: str, output: ShadowOutput, tally: Tally, code: int, signum: int | None,
            duration_s: float, stream: TextIO, summary_stream: TextIO) -> int:
    """Write the summary and what went wrong; returns the run's exit code."""
    interrupted = signal.Signals(signum).name if signum is not None else None
    bad_hosts = sorted({end.host for end in output.process_ends})
    failures = [f"host {end.host}: {end}" + _log_tail(end, out_dir, i) for i, end in enumerate(output.process_ends)]
    unstopped = output.unstopped(tally.stopped)
    failures += [f"host {host}: its runtime ended as Shadow expected but never logged {EventName.HOST_STOPPED.value} "
                 f"in {os.path.join(host_data_dir(out_dir, host), EVENTS_FILE)}: it never ran the host (is the "
                 "scenario's python a Python that can run monerosim_actors.runtime.host?)" for host in unstopped]
    if code != 0 and not failures and not interrupted:
        why = "; ".join(output.shadow_errors)
        failures.append(f"Shadow exited with {_describe(code)}" + (f": {why}" if why else ""))
    if code == 0:
        ended = f"{len(hosts)}/{len(hosts)} ended as Shadow expected"
    elif output.finished:
        ended = (f"{len(hosts) - len(bad_hosts)}/{len(hosts)} ended as Shadow expected"
                 + (f" (not {_names(bad_hosts)})" if bad_hosts else ""))
    else:
        ended = "Shadow did not run the simulation to its end" + (
            f" (processes ended badly on {_names(bad_hosts)})" if bad_hosts else "")
    summary_stream.write(summary(tally, duration_s=duration_s, hosts=ended, simulated_s=output.sim_s,
                                 out_dir=out_dir, failures=failures, interrupted=interrupted) + "\n")
    summary_stream.flush()
    data = os.path.join(out_dir, DATA_DIR)
    if signum is not None:
        stream.write(f"monerosim-actors run: interrupted by {interrupted}; Shadow exited with {_describe(code)}. "
                     f"Partial output in {out_dir}\n")
        return 128 + signum
    if code != 0:
        on = f" (processes ended badly on {_names(bad_hosts)})" if bad_hosts else ""
        stream.write(f"monerosim-actors run: Shadow failed ({_describe(code)}){on}; see "
                     f"{os.path.join(out_dir, LOG_FILE)} and the hosts' logs in {data}/hosts/\n")
        return 1
    if tally.actor_failures or unstopped:
        failed = sorted({h for h, _ in tally.actor_failures} | set(unstopped))
        stream.write(f"monerosim-actors run: failed on {_names(failed)} (see the failures above)\n")
        return 1
    return 0


def _log_tail(end: ProcessEnd, out_dir: str, index: int) -> str:
    """The last lines of the process's stderr (or stdout), indented under its failure; only for the
    first :data:`LOG_TAILS` failures, the path for the others."""
    for stream in ("stderr", "stdout"):
        path = end.output_file(out_dir, stream)
        try:
            text = Path(path).read_text(errors="replace").rstrip()
        except OSError:
            continue
        if text and index < LOG_TAILS:
            return f" (log: {path})\n    " + "\n    ".join(text.splitlines()[-TAIL_LINES:])
        if text:
            return f" (log: {path})"
    return ""


def _names(hosts: list[str]) -> str:
    more = len(hosts) - MAX_NAMES
    return ", ".join(hosts[:MAX_NAMES]) + (f" and {more} more" if more > 0 else "")


def _describe(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"


class _ShadowGroup:
    """Shadow's process group (its hosts' processes are in it), as :func:`terminate` stops it:
    signalled only while Shadow is not reaped (only the run's thread reaps it, by ``wait``), so
    its group id is still its own."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def signal(self, sig: int) -> bool:
        if self.proc.returncode is not None:
            return False
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def wait(self, timeout: float) -> bool:
        """Block on a pidfd (``Popen.wait(timeout)`` would poll), then reap."""
        if self.proc.returncode is not None:
            return True
        fd = os.pidfd_open(self.proc.pid)  # our unreaped child: the pid is still Shadow's
        try:
            if not select.select([fd], [], [], timeout)[0]:
                return False
        finally:
            os.close(fd)
        self.proc.wait()
        return True


def _stop_if_running(proc: subprocess.Popen[bytes]) -> None:
    """Stop Shadow if it still runs (something raised while it ran): SIGTERM, which it passes on
    to its hosts, then SIGKILL after :data:`SHADOW_TERM_TIMEOUT_S`."""
    if proc.poll() is None:
        log.error("stopping Shadow (pid %d): the run ended while it was running", proc.pid)
        terminate([_ShadowGroup(proc)], SHADOW_TERM_TIMEOUT_S)


def _forward_signals(proc: subprocess.Popen[bytes], received: list[int]) -> Callable[[], None]:
    """Pass SIGINT/SIGTERM on to Shadow's process group (from the main thread only: elsewhere the
    caller owns the signals); returns what restores the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    group = _ShadowGroup(proc)

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        group.signal(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for s, h in old.items():
            signal.signal(s, h)

    return restore
