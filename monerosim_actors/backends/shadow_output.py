"""What Shadow's output says, read one line at a time: the simulated time, processes that ended
badly, whether the simulation ran to its end, and the lines a user should see.

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
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from monerosim_actors.backends.progress import format_duration
from monerosim_actors.defaults import SHADOW_LOG_FILE as LOG_FILE, host_data_dir
MAX_NOTES = 40
"""Warnings, errors and other lines shown while Shadow runs, and apart from them the processes that
ended badly; the rest are only in shadow.log (and the processes in the summary)."""

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
        self.host_names = list(hosts)
        self.hosts = sorted(self.host_names, key=len, reverse=True)
        """Longest first, so that a process name is matched to the longest host name it starts with."""
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

    def unstopped(self, stopped: Collection[str]) -> list[str]:
        """The hosts Shadow saw end as expected although their runtime never logged ``host_stopped``
        (``stopped``: the hosts that did), in the plan's order; only once the simulation ran to its end.

        Shadow checks exit codes only, and a runtime that exits 0 at once (``python: /bin/true``)
        passes that check without ever running its host: such a host failed all the same.
        """
        if not self.finished:
            return []
        ended_badly = {end.host for end in self.process_ends}
        return [h for h in self.host_names if h not in ended_badly and h not in stopped]

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
