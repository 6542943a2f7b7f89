"""The live progress of a run, and its summary at the end, both from the hosts' event logs.

Both backends use it. :class:`Tally` counts what the events say (it ignores events it does not
know, and fields that are missing or of the wrong type); :class:`ProgressDisplay` feeds it from an
:class:`~monerosim_actors.backends.tail.EventTail` and writes one line to stderr: refreshed in place
on a terminal, a plain line every ten seconds otherwise (a CI log). What the line says about time
is the backend's: a :class:`Timing` (the local backend's is :class:`ScenarioTiming`, the elapsed
real time and what is left of the scenario; Shadow's says the simulated time). Messages the
backend must show as they happen (an error Shadow logs) go above the line with
:meth:`ProgressDisplay.note`.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from monerosim_actors.backends.tail import EventTail
from monerosim_actors.events.names import EventName

if TYPE_CHECKING:
    from monerosim_actors.plan.model import Plan

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
    mined_heights: Counter[int] = field(default_factory=Counter)
    """Blocks mined per height: a block mined at a height another block already has lost a race
    (it is stale; ``analyze`` names the block that beat it)."""
    users_funded: int = 0
    payment_ids: set[str] = field(default_factory=set)
    """Payment decisions: the ``payment_id`` of every ``payment_intent``, ``payment_sent`` and
    ``payment_failed`` (``analyze`` counts them the same way, in ``summary.json``'s ``payments``)."""
    sent_ids: set[str] = field(default_factory=set)
    failed_ids: set[str] = field(default_factory=set)
    payments_retried: int = 0
    """Attempts that failed and will be tried again (``payment_failed`` with ``will_retry`` true;
    locked funds, mostly: change unlocks 10 blocks on)."""
    payment_failures: Counter[str] = field(default_factory=Counter)
    """Every ``payment_failed``, by its ``reason``."""
    payments_confirmed: int = 0
    messages: int = 0
    actor_failures: list[tuple[str, str]] = field(default_factory=list)
    """(host, what) of every ``actor_failed`` event: a role that crashed fails the run."""
    actor_errors: Counter[str] = field(default_factory=Counter)
    """Host -> how many ``actor_error`` events (the role went on) it logged."""
    warnings: dict[str, str] = field(default_factory=dict)
    """What the summary should point out, by topic: the first actor error of each host, a failed
    bootstrap. Not failures: the hosts went on."""

    @classmethod
    def for_plan(cls, plan: Plan) -> Tally:
        """An empty tally of ``plan``'s hosts: each is ready once its monerod and wallet are."""
        return cls(expected_processes={h.name: int(h.monerod is not None) + int(h.wallet is not None)
                                       for h in plan.hosts})

    def feed(self, host: str, event: dict[str, Any]) -> None:
        """Count one event of ``host``."""
        kind = event.get("event")
        if kind == EventName.HOST_STARTED:
            self.started.add(host)
        elif kind == EventName.PROCESS_READY:
            self.ready_processes.setdefault(host, set()).add(str(event.get("name")))
        elif kind == EventName.HOST_STOPPED:
            self.stopped[host] = event.get("exit_code")
        elif kind == EventName.BLOCK_SEEN and isinstance(event.get("height"), int):
            self.height = max(self.height, event["height"])
        elif kind == EventName.BLOCK_MINED:
            self.blocks_by_pool[str(event.get("pool_id", host))] += 1
            if isinstance(event.get("height"), int):
                self.mined_heights[event["height"]] += 1
        elif kind == EventName.USER_FUNDED:
            self.users_funded += 1
        elif kind in (EventName.PAYMENT_INTENT, EventName.PAYMENT_SENT, EventName.PAYMENT_FAILED):
            payment_id = event.get("payment_id")
            if not isinstance(payment_id, str):  # not logged: a decision of its own
                payment_id = f"{host}:?{len(self.payment_ids)}"
            self.payment_ids.add(payment_id)
            if kind == EventName.PAYMENT_SENT:
                self.sent_ids.add(payment_id)
            elif kind == EventName.PAYMENT_FAILED:
                self.failed_ids.add(payment_id)
            if kind == EventName.PAYMENT_FAILED:
                self.payments_retried += event.get("will_retry") is True
                self.payment_failures[str(event.get("reason", "?"))] += 1
        elif kind == EventName.PAYMENT_CONFIRMED:
            self.payments_confirmed += 1
        elif kind == EventName.MSG_SENT:
            self.messages += 1
        elif kind == EventName.ACTOR_ERROR:
            self.actor_errors[host] += 1
            self.warnings.setdefault(f"error:{host}", f"host {host}: {event.get('where', '?')}: "
                                     f"{event.get('error_type', '')}: {str(event.get('error', ''))[:300]}")
        elif kind == EventName.BOOTSTRAP_STEP and event.get("step") == "failed":
            self.warnings["bootstrap"] = f"the bootstrap failed ({event.get('reason', '?')}): no user was funded"
        elif kind == EventName.ACTOR_FAILED:
            self.actor_failures.append((host, f"actor {event.get('actor')} failed: "
                                              f"{event.get('error_type', '')}: {event.get('error', '')}"))

    def feed_all(self, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for host, event in events:
            self.feed(host, event)

    @property
    def payments_sent(self) -> int:
        """Decisions sent (a ``payment_sent``, after any number of failed attempts)."""
        return len(self.sent_ids)

    @property
    def payments_failed(self) -> int:
        """Decisions that failed in the end: a ``payment_failed`` and never a ``payment_sent`` (given
        up, or still waiting for a retry when the run ended)."""
        return len(self.failed_ids - self.sent_ids)

    def payments(self) -> str:
        """Payment decisions and failures, worded as ``analyze``'s report words them."""
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.payment_failures.items())) or "none"
        return (f"payments: {len(self.payment_ids)} decisions, {self.payments_sent} sent, "
                f"{self.payments_confirmed} confirmed, {self.payments_failed} failed in the end; "
                f"{self.payments_retried} failed attempts retried; failures by reason: {reasons}")

    @property
    def hosts_ready(self) -> int:
        return sum(1 for host in self.started
                   if len(self.ready_processes.get(host, ())) >= self.expected_processes.get(host, 0))

    @property
    def stale(self) -> int:
        """Blocks mined beyond one per height."""
        return sum(n - 1 for n in self.mined_heights.values())

    @property
    def blocks(self) -> str:
        if not self.blocks_by_pool:
            return "0"
        per_pool = " ".join(f"{pool}:{n}" for pool, n in sorted(self.blocks_by_pool.items()))
        stale = f", {self.stale} stale" if self.stale else ""
        return f"{sum(self.blocks_by_pool.values())} ({per_pool}){stale}"

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


class Timing(Protocol):
    """What the progress line says about time, before and after the tally's numbers."""

    def around(self, elapsed_s: float) -> tuple[str, str]:
        """``(head, tail)`` of the line, ``elapsed_s`` real seconds after the display was made."""
        ...


@dataclass(frozen=True)
class ScenarioTiming:
    """The local backend's: ``[elapsed]`` before the numbers, the scenario's time left after them."""

    end_s: float
    """Real seconds from the display's start to the scenario's end."""

    def around(self, elapsed_s: float) -> tuple[str, str]:
        left = self.end_s - elapsed_s
        return (f"[{format_duration(elapsed_s)}]",
                f"{format_duration(left)} left" if left > 0 else "scenario over, stopping")


class ProgressDisplay:
    """Feeds a :class:`Tally` from the event logs and shows it, with the backend's :class:`Timing`.

    Thread-safe: a backend may call :meth:`update` from a timer thread while another thread reads
    its program's output and calls :meth:`note` and :meth:`update`.
    """

    def __init__(self, tally: Tally, tail: EventTail, stream: TextIO, *, scenario_end_s: float | None = None,
                 timing: Timing | None = None, tty: bool | None = None, clock: Callable[[], float] = time.monotonic,
                 tty_every_s: float = 0.0, plain_every_s: float = PLAIN_EVERY_S,
                 columns: Callable[[], int | None] | None = None) -> None:
        """Args:
            tally: the counters to feed.
            tail: where the events come from.
            stream: where the line goes (stderr).
            scenario_end_s: real seconds from now to the scenario's end: the local backend's timing,
                ``ScenarioTiming(scenario_end_s)``, when ``timing`` is not given.
            timing: what the line says about time.
            tty: whether to refresh the line in place; by default, whether ``stream`` is a terminal.
            clock: monotonic seconds (a test seam).
            tty_every_s: on a terminal, the least time between two refreshes (0: every call; the
                local backend calls about every second, Shadow's output can come many times a second).
            plain_every_s: otherwise, how often a line is written.
            columns: the terminal's width, or None when unknown (a test seam; by default asked of
                ``stream`` at each refresh). A line refreshed in place is cut to fit: a line that
                wraps cannot be drawn over.
        """
        if timing is None:
            if scenario_end_s is None:
                raise TypeError("ProgressDisplay needs scenario_end_s or timing")
            timing = ScenarioTiming(scenario_end_s)
        self.tally = tally
        self.tail = tail
        self.stream = stream
        self.timing = timing
        self.tty = stream.isatty() if tty is None else tty
        self._clock = clock
        self._started = clock()
        self._every = tty_every_s if self.tty else plain_every_s
        self._columns = columns or self._stream_columns
        self._last: float | None = None
        self._text = ""
        self._width = 0
        self._lock = threading.Lock()

    @property
    def refresh_s(self) -> float:
        """How often the line changes at most (a timer driving :meth:`update` needs no finer tick)."""
        return max(self._every, 1.0)

    def update(self) -> None:
        """Read new events and show the line, if it is due: on a terminal every call (at most every
        ``tty_every_s``), otherwise every ``plain_every_s``. Events are read only when it is."""
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self._every:
                return
            self._last = now
            self.tally.feed_all(self.tail.read())
            head, tail = self.timing.around(now - self._started)
            self._show(f"{head} {self.tally.line()} | {tail}")

    def note(self, text: str) -> None:
        """Show ``text`` as lines of their own, above the live line, which is drawn again below it."""
        with self._lock:
            if self.tty and self._width:
                self.stream.write(f"\r{' ' * self._width}\r{text}\n{self._text}")
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def finish(self) -> None:
        """Read the last events and end the in-place line, so what follows starts on a fresh one."""
        with self._lock:
            self.tally.feed_all(self.tail.read())
            if self.tty and self._width:
                self.stream.write("\n")
                self.stream.flush()
                self._width = 0

    def _stream_columns(self) -> int | None:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):  # not a file, not a terminal, closed
            return None

    def _show(self, text: str) -> None:
        if self.tty:
            columns = self._columns()
            if columns and len(text) >= columns:
                text = text[:columns - 2] + "…"
            pad = " " * max(0, self._width - len(text))
            self.stream.write(f"\r{text}{pad}")
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self._text = text
        self.stream.flush()


def summary(tally: Tally, *, duration_s: float, out_dir: str, failures: list[str], interrupted: str | None,
            exit_codes: dict[str, int | None] | None = None, hosts: str | None = None,
            simulated_s: float | None = None) -> str:
    """The text shown at the end of a run: what happened, where the output is, what to do next.

    Args:
        duration_s: the run's wall time.
        failures: the runner's failures; the roles' ``actor_failed`` events are added to them.
        interrupted: the signal's name when the run was interrupted.
        exit_codes: host -> its runtime's exit code (None when it never ran), said as "N/M exited 0".
        hosts: what to say of the hosts' ends instead, when the runner did not see their exit codes
            (Shadow checks them, and logs only those that ended badly).
        simulated_s: the simulated time the run covered (under Shadow), said with its ratio to the wall time.
    """
    if hosts is None:
        codes = exit_codes or {}
        hosts = f"{sum(1 for code in codes.values() if code == 0)}/{len(codes)} exited 0"
    cleanly = sum(1 for code in tally.stopped.values() if code == 0)
    failures = [*failures, *(f"host {host}: {what}" for host, what in tally.actor_failures)]
    if interrupted:
        verdict = f"interrupted by {interrupted}"
    elif failures:
        verdict = "FAILED"
    else:
        verdict = "finished"
    lines = [
        f"run {verdict} after {format_duration(duration_s)}" + (
            f", {format_duration(simulated_s)} simulated{_ratio(simulated_s, duration_s)}"
            if simulated_s is not None else ""),
        f"  hosts: {hosts}, {cleanly} logged a clean stop",
        f"  chain height {tally.height}, blocks mined {tally.blocks}",
        f"  users funded {tally.users_funded}; {tally.payments()}",
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


def _ratio(simulated_s: float, wall_s: float) -> str:
    return f" ({simulated_s / wall_s:.1f}x real time)" if wall_s >= 1.0 else ""
