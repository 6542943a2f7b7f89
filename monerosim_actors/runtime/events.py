"""The event log: ``events.jsonl``, one JSON object per line, the only thing analysis reads.

Every line starts with ``t`` (``time.time()``), ``host``, ``actor`` and ``event``, then the event's
own fields (documented in ``docs/events.md``). Each line is written and flushed on its own under a
lock, so a crash loses at most the line being written and any thread (an actor, the bus thread, a
process waiter) can emit without going through an actor. The one exception is the bus's per-message
lines (``msg_sent``, ``msg_received``): it writes them with :meth:`EventLog.emit_deferred` and flushes
once per batch of frames, before its thread sleeps again, because a flush per line was a third of the
CPU time of every message (``bench/bus_throughput.py``).
"""

from __future__ import annotations

import json
import threading
from typing import IO, Any

from monerosim_actors.runtime.clock import Clock, SystemClock

RESERVED = ("t", "host", "actor", "event")


class EventLog:
    """Appends events of one host to a JSON-lines file; thread-safe, never blocks on an actor."""

    def __init__(self, path: str, host: str, clock: Clock | None = None) -> None:
        """Open ``path`` for appending (a restarted host keeps its earlier lines).

        Raises:
            OSError: the file cannot be opened for writing.
        """
        self.path = path
        self.host = host
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._file: IO[str] | None = open(path, "a", encoding="utf-8")  # noqa: SIM115 closed by close()

    def emit(self, actor: str, event: str, **fields: Any) -> None:
        """Write one event line now; after :meth:`close` the event is silently discarded.

        Raises:
            ValueError: a field is named like a reserved key (``t``, ``host``, ``actor``, ``event``).
        """
        self._write(actor, event, fields, flush=True)

    def emit_deferred(self, actor: str, event: str, **fields: Any) -> None:
        """Like :meth:`emit`, but the line may stay in the buffer until the next :meth:`flush`.

        For a hot path that flushes once per batch (the bus, per frame).
        """
        self._write(actor, event, fields, flush=False)

    def flush(self) -> None:
        """Write out the lines :meth:`emit_deferred` buffered."""
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def _write(self, actor: str, event: str, fields: dict[str, Any], *, flush: bool) -> None:
        clash = [k for k in fields if k in RESERVED]
        if clash:
            raise ValueError(f"event {event}: field(s) {clash} are reserved")
        with self._lock:
            if self._file is None:
                return
            record = {"t": self._clock.now(), "host": self.host, "actor": actor, "event": event}
            record.update(fields)
            self._file.write(_ENCODER.encode(record) + "\n")
            if flush:
                self._file.flush()

    def close(self) -> None:
        """Flush and close the file; later :meth:`emit` calls are ignored."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _plain(value: Any) -> Any:
    """JSON for the few non-JSON values events carry (tuples are already lists; sets and bytes)."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, bytes):
        return value.hex()
    return repr(value)


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_plain)
"""One encoder for every line (``json.dumps`` with options builds a new one per call)."""


def read_events(path: str) -> list[dict[str, Any]]:
    """All complete events of a file (a torn last line, from a crash, is skipped)."""
    events = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return events
