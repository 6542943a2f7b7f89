"""The sweep's progress line: runs done, running, failed and waiting, and the time left.

One line on stderr, redrawn in place on a terminal; in a log a new line only when a count changes or
every :data:`LOG_EVERY_S` seconds. The time left is the runs not finished at the rate runs have
finished so far in this session (it has none before the first one ends).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from monerosim_actors.backends.progress import format_duration

LOG_EVERY_S = 60.0


class SweepProgress:
    """Prints the progress of ``total`` runs to ``stream``."""

    def __init__(self, total: int, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()
        self.clock = clock
        self.last: tuple[int, int, int] | None = None
        self.last_at = 0.0

    def line(self, done: int, running: int, failed: int, elapsed_s: float) -> str:
        waiting = self.total - done - running - failed
        finished = done + failed
        if finished and finished < self.total:
            left = f"about {format_duration(elapsed_s / finished * (self.total - finished))} left"
        elif finished:
            left = "finished"
        else:
            left = "time left known when the first run ends"
        return (f"sweep: {done}/{self.total} done, {running} running, {failed} failed, {waiting} waiting | "
                f"{format_duration(elapsed_s)} elapsed, {left}")

    def show(self, done: int, running: int, failed: int, elapsed_s: float) -> None:
        counts = (done, running, failed)
        now = self.clock()
        if not self.tty and counts == self.last and now - self.last_at < LOG_EVERY_S:
            return
        self.last, self.last_at = counts, now
        text = self.line(done, running, failed, elapsed_s)
        self.stream.write(f"\r\x1b[K{text}" if self.tty else text + "\n")
        self.stream.flush()

    def failed(self, run_id: str, folder: str, reason: str, log_file: str, *, worker: str | None = None,
               tail: str = "") -> None:
        """Say at once that a run failed, where it ran, where it is, why, and the last lines it printed."""
        where = f" on {worker}" if worker else ""
        lines = "".join(f"  | {line}\n" for line in tail.splitlines())
        self.stream.write(("\n" if self.tty else "") + f"run {run_id} failed{where} ({reason}): {folder} "
                          f"(its output: {log_file})\n{lines}")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
