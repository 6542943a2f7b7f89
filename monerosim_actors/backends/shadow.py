"""The shadow backend: run the ``shadow`` binary on ``OUT/shadow.yaml``, show its progress, report how it ended.

Shadow runs with OUT as its working directory, so its data directory is ``OUT/shadow.data`` (the
layout the local backend copies). All it prints (stdout and stderr, merged) is kept in
``OUT/shadow.log``. The user sees the local backend's progress line instead (hosts ready, blocks,
payments, bus messages, from the hosts' ``events.jsonl`` read as they grow) with the simulated time
Shadow's output gives, and, as they come, the lines that need a reader: what Shadow logs at WARN or
ERROR (a process that ended in another state than the config expects is an ERROR) and whatever it
prints that is not a log line (its start and end, a crash). The end is the local backend's summary,
naming the hosts whose processes ended badly. SIGINT/SIGTERM to the runner are passed on to Shadow,
which stops its hosts.

What Shadow 3.3.0 prints (``src/main/core/logger/shadow_logger.rs``, ``core/controller.rs``,
``core/manager.rs``, ``host/process.rs``, ``shadow.rs``; ``docs/log_format.md`` warns that the format
may change, so a line this module does not recognise is shown, never an error):

- log lines on stdout, ``REAL [TID:THREAD] SIM [LEVEL] [HOST:IP] [FILE:LINE] [MODULE] MESSAGE``, where
  REAL is the wall time since Shadow started (``00:01:02.123456``), SIM the simulated time
  (``00:05:00.000000000``) and SIM and ``HOST:IP`` are ``n/a`` outside a host. During the simulation
  Shadow buffers them and writes them out at least every ten seconds.
- the heartbeat, every ``general.heartbeat_interval`` (1 s by default) of simulated time at INFO:
  ``Process resource usage at simtime NANOS reported by getrusage(): ...``.
- a managed process that ends in another state than its ``expected_final_state``, at ERROR:
  ``process 'HOST.EXE.PID' exited with status Normal(1); expected end state was exited: 0 but was
  exited: 1`` (the status may be ``Signaled(Signal(6))`` or ``StoppedByShadow``, the states
  ``signaled: SIGABRT`` or ``running``); at the end, ``N managed processes in unexpected final state``.
- each ERROR message again on stderr, as ``Error: MESSAGE``.
- with ``general.progress: true`` and stderr not a terminal (it is a pipe here), every 60 s of wall
  time: ``Progress: 20% — simulated: 00:05:12.000/00:26:00, realtime: 00:01:32, processes failed: 0``.
- ``** Starting Shadow 3.3.0``, then ``** Shadow completed successfully`` or ``** Shadow did not
  complete successfully: ...`` on stderr.

Nothing polls: the main thread blocks reading Shadow's output, and a timer thread refreshes the line
while Shadow is quiet; the line changes at most once a second on a terminal (every ten seconds
otherwise), and the events are read only when it does.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from monerosim_actors.backends.progress import ProgressDisplay, Tally, format_duration, summary
from monerosim_actors.backends.tail import EventTail
from monerosim_actors.defaults import DATA_DIR, EVENTS_FILE, PLAN_FILE, SHADOW_FILE, host_data_dir

log = logging.getLogger(__name__)

LOG_FILE = "shadow.log"
INSTALL_HINT = """\
Shadow is not installed (no `shadow` on PATH; name it with --shadow-bin PATH).
To get it, build Shadow 3.3.0 (or later) from source and put `shadow` on PATH:
https://shadow.github.io/docs/guide/install_shadow.html
A stock 3.3.0 works: gen gives every process the project's compatibility shim (README, "Running the
output under Shadow"). Meanwhile, `--backend local` runs the same scenario on this machine."""
MAX_NOTES = 40
"""Warnings, errors and other lines shown while Shadow runs, and apart from them the processes that
ended badly; the rest are only in shadow.log (and the processes in the summary)."""
MAX_NAMES = 10
"""Hosts named in one line of the end's report; the others are counted."""
LOG_TAILS = 5
"""How many of the processes that ended badly get the end of their stderr in the summary."""
TAIL_LINES = 10
READ_BYTES = 1 << 16

_LOG_LINE = re.compile(
    r"^(?P<real>\d+:\d\d:\d\d\.\d+) \[(?P<tid>\d+):(?P<thread>[^\]]*)\] (?P<sim>\d+:\d\d:\d\d\.\d+|n/a) "
    r"\[(?P<level>ERROR|WARN|INFO|DEBUG|TRACE)\] \[(?:(?P<host>[^:\]]+):(?P<ip>[^\]]*)|n/a)\] "
    r"\[(?P<source>[^\]]*)\] \[(?P<module>[^\]]*)\] ?(?P<message>.*)$")
_PROGRESS_LINE = re.compile(
    r"^Progress: (?P<percent>-?\d+)% \S+ simulated: (?P<sim>\d+:\d\d:\d\d\.\d+)/(?P<end>\d+:\d\d:\d\d), "
    r"realtime: (?P<real>\d+:\d\d:\d\d), processes failed: (?P<failed>\d+)")
_FINAL_STATE = re.compile(
    r"^process '(?P<process>[^']+)' exited with status (?P<status>.+?); "
    r"expected end state was (?P<expected>.+) but was (?P<actual>.+)$")
_HEARTBEAT_TIME = re.compile(r"\bat simtime (\d+)\b")
_SIMULATION_DONE = re.compile(r"^Finished simulation$|\bmanaged processes in unexpected final state$")


def locate(shadow_bin: str | None) -> str | None:
    """The Shadow binary: ``shadow_bin`` if it is an executable (or a name on PATH), else ``shadow``."""
    candidate = shadow_bin or "shadow"
    if os.sep in candidate:
        return os.path.abspath(candidate) if os.access(candidate, os.X_OK) and os.path.isfile(candidate) else None
    return shutil.which(candidate)


# -- Shadow's lines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    """One of Shadow's log lines."""

    real_s: float
    """Wall seconds since Shadow started."""
    sim: str | None
    """The simulated time as Shadow wrote it (``00:05:00.000000000``), None outside a host."""
    sim_s: float | None
    """The simulated seconds: of the line, or of the heartbeat its message reports."""
    level: str
    host: str | None
    message: str


@dataclass(frozen=True)
class ProgressLine:
    """Shadow's ``general.progress`` line."""

    percent: int
    sim_s: float
    end_s: float
    real_s: float
    failed: int
    """Managed processes that have ended in an unexpected state so far."""


def parse_line(line: str) -> LogLine | ProgressLine | None:
    """What one line of Shadow's output says; None for the rest (its banner, ``Error:`` echoes, a crash)."""
    if m := _LOG_LINE.match(line):
        message = m["message"]
        sim_s = None if m["sim"] == "n/a" else _seconds(m["sim"])
        if sim_s is None and (beat := _HEARTBEAT_TIME.search(message)):
            sim_s = int(beat[1]) / 1e9
        return LogLine(real_s=_seconds(m["real"]), sim=None if m["sim"] == "n/a" else m["sim"], sim_s=sim_s,
                       level=m["level"], host=m["host"], message=message)
    if m := _PROGRESS_LINE.match(line):
        return ProgressLine(percent=int(m["percent"]), sim_s=_seconds(m["sim"]), end_s=_seconds(m["end"]),
                            real_s=_seconds(m["real"]), failed=int(m["failed"]))
    return None


def _seconds(hms: str) -> float:
    hours, minutes, seconds = hms.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@dataclass(frozen=True)
class ProcessEnd:
    """A managed process that ended in another state than the config expects (a Shadow ERROR)."""

    host: str
    process: str
    """Shadow's name for it: ``HOST.EXE.PID``."""
    status: str
    expected: str
    actual: str
    sim: str | None

    def __str__(self) -> str:
        return (f"process '{self.process}' exited with status {self.status}; expected end state was "
                f"{self.expected} but was {self.actual}" + (f" (at {self.sim[:12]} simulated)" if self.sim else ""))

    def output_file(self, out_dir: str, stream: str) -> str:
        """Where its ``stream`` (stdout or stderr) went: ``shadow.data/hosts/HOST/EXE.PID.STREAM``."""
        base = self.process[len(self.host) + 1:] if self.process.startswith(self.host + ".") else self.process
        return os.path.join(host_data_dir(out_dir, self.host), f"{base}.{stream}")


class ShadowOutput:
    """What Shadow's output has said so far, fed one line at a time; also the progress line's timing.

    It keeps the simulated time (with the wall time Shadow gave with it), the processes that ended
    badly, whether the simulation ran to its end, and Shadow's own failure lines; :meth:`feed` says
    which lines the user should see now.
    """

    def __init__(self, hosts: Iterable[str], stop_time_s: float, *, max_notes: int = MAX_NOTES) -> None:
        """Args:
            hosts: the hosts' names, to tell which host a process of a line without one was on.
            stop_time_s: ``general.stop_time``, for the percentage (a progress line may correct it).
            max_notes: how many lines :meth:`feed` shows of each kind (processes that ended badly;
                other warnings, errors and lines), besides Shadow's ``**`` lines.
        """
        self.hosts = sorted(hosts, key=len, reverse=True)
        self.stop_time_s = stop_time_s
        self.clock: tuple[float, float] | None = None
        """``(simulated, wall)`` seconds of the latest line that gave the simulated time."""
        self.failed = 0
        """Processes in an unexpected final state, as the latest progress line counted them."""
        self.process_ends: list[ProcessEnd] = []
        self.finished = False
        """Shadow ran the simulation to its end (it may have failed afterwards: bad final states)."""
        self.shadow_errors: list[str] = []
        """What Shadow said when it did not complete successfully (its ``**`` lines)."""
        self._max_notes = max_notes
        self._notes = {"process": 0, "other": 0}
        self._seen: set[tuple[str, str]] = set()

    @property
    def sim_s(self) -> float | None:
        return self.clock[0] if self.clock else None

    def feed(self, line: str) -> str | None:
        """Take one line of Shadow's output (without its newline); returns what to show the user, if anything."""
        line = line.rstrip("\r")
        parsed = parse_line(line)
        if isinstance(parsed, ProgressLine):
            self._tick(parsed.sim_s, parsed.real_s)
            self.stop_time_s = parsed.end_s or self.stop_time_s
            self.failed = parsed.failed
            return None
        if isinstance(parsed, LogLine):
            return self._feed_log(parsed)
        if not line.strip():
            return None
        if line.startswith("** "):
            if self.shadow_errors or "did not complete successfully" in line:
                if "See the log for details" not in line:
                    self.shadow_errors.append(line[3:].strip())
            return line  # Shadow's own words to its user
        if line.startswith("Error:") and (not line[7:].strip() or ("ERROR", line[7:]) in self._seen):
            return None  # the stderr echo of an ERROR log line (experimental.report_errors_to_stderr)
        return self._note(("", line), f"shadow: {line}")

    def _feed_log(self, entry: LogLine) -> str | None:
        if entry.sim_s is not None:
            self._tick(entry.sim_s, entry.real_s)
        if _SIMULATION_DONE.search(entry.message):
            self.finished = True
        host, kind = entry.host, "other"
        if entry.level == "ERROR" and (m := _FINAL_STATE.match(entry.message)):
            host, kind = host or self._host_of(m["process"]), "process"
            self.process_ends.append(ProcessEnd(host=host or "?", process=m["process"], status=m["status"],
                                                expected=m["expected"], actual=m["actual"], sim=entry.sim))
        if entry.level not in ("ERROR", "WARN") or not entry.message.strip():
            return None
        where = " ".join(part for part in (entry.sim[:12] if entry.sim else None, host) if part)
        return self._note((entry.level, entry.message),
                          f"shadow {entry.level}" + (f" [{where}]" if where else ":") + f" {entry.message}", kind)

    def _tick(self, sim_s: float, real_s: float) -> None:
        """Keep the latest simulated time (lines of hosts run in parallel come slightly out of order)."""
        if self.clock is None or sim_s >= self.clock[0]:
            self.clock = (sim_s, real_s)

    def _note(self, key: tuple[str, str], text: str, kind: str = "other") -> str | None:
        """``text`` unless the same line was shown already or the notes of its kind ran out (said once)."""
        if key in self._seen or self._notes[kind] > self._max_notes:
            return None
        self._notes[kind] += 1
        if self._notes[kind] > self._max_notes:
            return (f"shadow: more processes ended badly than these {self._max_notes}: the summary names them"
                    if kind == "process" else
                    f"shadow: more warnings and errors than these {self._max_notes}: see {LOG_FILE}")
        self._seen.add(key)
        return text

    def _host_of(self, process: str) -> str | None:
        return next((h for h in self.hosts if process.startswith(h + ".")), None)

    def around(self, elapsed_s: float) -> tuple[str, str]:
        """The progress line's timing: the simulated time, its share of the stop time, its ratio to the
        wall time (both from Shadow's own line), and the processes that ended badly so far."""
        clock = self.clock
        failed = max(self.failed, len(self.process_ends))
        bad = f" | {failed} process{'es' if failed != 1 else ''} ended badly" if failed else ""
        if clock is None:
            return "[sim 0s]", f"Shadow starting ({format_duration(elapsed_s)}){bad}"
        sim_s, real_s = clock
        share = f"{min(100, int(sim_s * 100 / self.stop_time_s))}% of {format_duration(self.stop_time_s)}" \
            if self.stop_time_s > 0 else ""
        ratio = f"{sim_s / real_s:.1f}x real time" if real_s >= 1.0 else ""
        return f"[sim {format_duration(sim_s)}]", ", ".join(p for p in (share, ratio) if p) + bad


# -- running it ----------------------------------------------------------------------------------


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
    proc = subprocess.Popen([binary, SHADOW_FILE], cwd=out_dir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    received: list[int] = []
    restore = _forward_signals(proc, received)
    timer = Ticker(display.refresh_s, display.update) if ticker else None
    try:
        assert proc.stdout is not None
        with open(log_path, "wb") as log_file:
            _pump(proc.stdout, log_file, output, display)
        code = proc.wait()
    finally:
        if timer is not None:
            timer.stop()
        restore()
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
    if tally.actor_failures:
        stream.write(f"monerosim-actors run: failed on {_names(sorted({h for h, _ in tally.actor_failures}))} "
                     "(see the failures above)\n")
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


def _forward_signals(proc: subprocess.Popen[bytes], received: list[int]) -> Callable[[], None]:
    """Pass SIGINT/SIGTERM on to Shadow's process group (from the main thread only: elsewhere the
    caller owns the signals); returns what restores the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for s, h in old.items():
            signal.signal(s, h)

    return restore
