"""The live progress of a local run, and its summary at the end, both from the hosts' event logs.

:class:`Tally` counts what the events say (it ignores events it does not know, and fields that are
missing or of the wrong type); :class:`ProgressDisplay` feeds it from an
:class:`~monerosim_actors.backends.tail.EventTail` and writes one line to stderr: refreshed in place
about every second on a terminal, a plain line every ten seconds otherwise (a CI log).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from monerosim_actors.backends.tail import EventTail

PLAIN_EVERY_S = 10.0
"""How often a line is written when stderr is not a terminal."""


@dataclass
class Tally:
    """What the event logs of a run say so far."""

    expected_processes: dict[str, int]
    """Host -> how many programs (monerod, wallet) must be ready before the host counts as ready."""
    started: set[str] = field(default_factory=set)
    ready_processes: dict[str, set[str]] = field(default_factory=dict)
    stopped: dict[str, Any] = field(default_factory=dict)
    """Host -> the exit code its runtime logged in ``host_stopped``."""
    height: int = 0
    blocks_by_pool: Counter[str] = field(default_factory=Counter)
    users_funded: int = 0
    payments_sent: int = 0
    payments_failed: int = 0
    """Payments given up (``payment_failed`` without ``will_retry``)."""
    payments_retried: int = 0
    """Attempts that failed and will be tried again (locked funds, mostly: change unlocks 10 blocks on)."""
    payments_confirmed: int = 0
    messages: int = 0
    actor_failures: list[tuple[str, str]] = field(default_factory=list)
    """(host, what) of every ``actor_failed`` event: a role that crashed fails the run."""
    actor_errors: Counter[str] = field(default_factory=Counter)
    """Host -> how many ``actor_error`` events (the role went on) it logged."""
    warnings: dict[str, str] = field(default_factory=dict)
    """What the summary should point out, by topic: the first actor error of each host, a failed
    bootstrap. Not failures: the hosts went on."""

    def feed(self, host: str, event: dict[str, Any]) -> None:
        """Count one event of ``host``."""
        kind = event.get("event")
        if kind == "host_started":
            self.started.add(host)
        elif kind == "process_ready":
            self.ready_processes.setdefault(host, set()).add(str(event.get("name")))
        elif kind == "host_stopped":
            self.stopped[host] = event.get("exit_code")
        elif kind == "block_seen" and isinstance(event.get("height"), int):
            self.height = max(self.height, event["height"])
        elif kind == "block_mined":
            self.blocks_by_pool[str(event.get("pool_id", host))] += 1
        elif kind == "user_funded":
            self.users_funded += 1
        elif kind == "payment_sent":
            self.payments_sent += 1
        elif kind == "payment_failed" and event.get("will_retry") is True:
            self.payments_retried += 1
        elif kind == "payment_failed":
            self.payments_failed += 1
        elif kind == "payment_confirmed":
            self.payments_confirmed += 1
        elif kind == "msg_sent":
            self.messages += 1
        elif kind == "actor_error":
            self.actor_errors[host] += 1
            self.warnings.setdefault(f"error:{host}", f"host {host}: {event.get('where', '?')}: "
                                     f"{event.get('error_type', '')}: {str(event.get('error', ''))[:300]}")
        elif kind == "bootstrap_step" and event.get("step") == "failed":
            self.warnings["bootstrap"] = f"the bootstrap failed ({event.get('reason', '?')}): no user was funded"
        elif kind == "actor_failed":
            self.actor_failures.append((host, f"actor {event.get('actor')} failed: "
                                              f"{event.get('error_type', '')}: {event.get('error', '')}"))

    def feed_all(self, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for host, event in events:
            self.feed(host, event)

    @property
    def hosts_ready(self) -> int:
        return sum(1 for host in self.started
                   if len(self.ready_processes.get(host, ())) >= self.expected_processes.get(host, 0))

    @property
    def blocks(self) -> str:
        if not self.blocks_by_pool:
            return "0"
        per_pool = " ".join(f"{pool}:{n}" for pool, n in sorted(self.blocks_by_pool.items()))
        return f"{sum(self.blocks_by_pool.values())} ({per_pool})"

    def line(self) -> str:
        """One line of the numbers, for the display and the summary alike."""
        return (f"hosts ready {self.hosts_ready}/{len(self.expected_processes)}"
                f" | height {self.height} | blocks {self.blocks}"
                f" | funded {self.users_funded}"
                f" | payments {self.payments_sent} sent, {self.payments_confirmed} confirmed"
                + (f", {self.payments_failed} failed" if self.payments_failed else "")
                + (f", {self.payments_retried} retries" if self.payments_retried else "")
                + f" | bus msgs {self.messages}"
                + (f" | {len(self.actor_failures)} actor(s) FAILED" if self.actor_failures else ""))


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, s = divmod(seconds, 60)
    return f"{minutes}m{s:02d}s" if minutes else f"{s}s"


class ProgressDisplay:
    """Feeds a :class:`Tally` from the event logs and shows it; call :meth:`update` about every second."""

    def __init__(self, tally: Tally, tail: EventTail, stream: TextIO, *, scenario_end_s: float,
                 tty: bool | None = None, clock: Any = time.monotonic) -> None:
        """Args:
            tally: the counters to feed.
            tail: where the events come from.
            stream: where the line goes (stderr).
            scenario_end_s: real seconds from now to the scenario's end, for "time left".
            tty: whether to refresh the line in place; by default, whether ``stream`` is a terminal.
            clock: monotonic seconds (a test seam).
        """
        self.tally = tally
        self.tail = tail
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._clock = clock
        self._started = clock()
        self._end = self._started + scenario_end_s
        self._last_plain: float | None = None
        self._width = 0

    def update(self) -> None:
        """Read new events and show the line (on a terminal always; otherwise every ten seconds)."""
        self.tally.feed_all(self.tail.read())
        now = self._clock()
        left = self._end - now
        when = f"{format_duration(left)} left" if left > 0 else "scenario over, stopping"
        text = f"[{format_duration(now - self._started)}] {self.tally.line()} | {when}"
        if self.tty:
            pad = " " * max(0, self._width - len(text))
            self.stream.write(f"\r{text}{pad}")
            self._width = len(text)
        elif self._last_plain is None or now - self._last_plain >= PLAIN_EVERY_S:
            self.stream.write(text + "\n")
            self._last_plain = now
        self.stream.flush()

    def finish(self) -> None:
        """Read the last events and end the in-place line, so what follows starts on a fresh one."""
        self.tally.feed_all(self.tail.read())
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()


def summary(tally: Tally, *, duration_s: float, exit_codes: dict[str, int | None], out_dir: str,
            failures: list[str], interrupted: str | None) -> str:
    """The text shown at the end of a run: what happened, where the output is, what to do next.

    Args:
        exit_codes: host -> its runtime's exit code (None when it never ran).
        failures: the runner's failures; the roles' ``actor_failed`` events are added to them.
        interrupted: the signal's name when the run was interrupted.
    """
    ok = sum(1 for code in exit_codes.values() if code == 0)
    cleanly = sum(1 for code in tally.stopped.values() if code == 0)
    failures = [*failures, *(f"host {host}: {what}" for host, what in tally.actor_failures)]
    if interrupted:
        verdict = f"interrupted by {interrupted}"
    elif failures:
        verdict = "FAILED"
    else:
        verdict = "finished"
    lines = [
        f"run {verdict} after {format_duration(duration_s)}",
        f"  hosts: {ok}/{len(exit_codes)} exited 0, {cleanly} logged a clean stop",
        f"  chain height {tally.height}, blocks mined {tally.blocks}",
        f"  users funded {tally.users_funded}; payments {tally.payments_sent} sent, "
        f"{tally.payments_confirmed} confirmed, {tally.payments_failed} failed"
        + (f" ({tally.payments_retried} attempts retried later, e.g. while funds were locked)"
           if tally.payments_retried else ""),
        f"  messages on the bus: {tally.messages}",
    ]
    if failures:
        lines.append("failures:")
        lines += [f"  {f}" for f in failures]
    if tally.warnings:
        errors = sum(tally.actor_errors.values())
        lines.append(f"warnings ({errors} actor_error events in all; the first of each host):" if errors
                     else "warnings:")
        lines += [f"  {w}" for w in tally.warnings.values()]
    lines.append(f"output: {out_dir}")
    lines.append(f"next:   monerosim-actors analyze {out_dir}")
    return "\n".join(lines)
