"""The event log: ``events.jsonl``, one JSON object per line, the only thing analysis reads.

Every line starts with ``t`` (``time.time()``), ``host``, ``actor`` and ``event``, then the event's
own fields (documented in ``docs/events.md``). Each line is written and flushed on its own under a
lock, so a crash loses at most the line being written and any thread (an actor, the bus thread, a
process waiter) can emit without going through an actor. The one exception is the bus's per-message
lines (``msg_sent``, ``msg_received``): it hands them over with :meth:`EventLog.emit_deferred`, which
keeps the timestamp and fields and leaves the encoding and the write to :meth:`EventLog.flush`, once
per batch of frames, after the frames went out and before the bus thread sleeps again: a flush per
line was a third of the CPU time of every message, and encoding the line in the sending thread was
on the round trip's critical path (``bench/bus_throughput.py``, ``bench/bus_latency.py``).

Lines are encoded with orjson: the standard library's encoder took 9 us per line, a fifth of the
bus's work per message, against under 1 us.
"""

from __future__ import annotations

import json
import os
import threading
from typing import IO, Any

import orjson

from monerosim_actors.runtime.clock import Clock, SystemClock

RESERVED = frozenset({"t", "host", "actor", "event"})


class EventLog:
    """Appends events of one host to a JSON-lines file; thread-safe, never blocks on an actor."""

    def __init__(self, path: str, host: str, clock: Clock | None = None) -> None:
        """Open ``path`` for appending (a restarted host keeps its earlier lines).

        A host killed while writing leaves a last line without its newline; that line is ended
        first, so the restarted host's first event (``host_started``) is a line of its own instead
        of being glued to the torn one, where a reader would lose both.

        Raises:
            OSError: the file cannot be opened for writing.
        """
        self.path = path
        self.host = host
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = open(path, "a+b")  # noqa: SIM115 closed by close()
        _end_torn_line(self._file)
        self._pending: list[dict[str, Any]] = []
        """Records from :meth:`emit_deferred`, encoded and written by the next flush."""

    def emit(self, actor: str, event: str, **fields: Any) -> None:
        """Write one event line now; after :meth:`close` the event is silently discarded.

        Raises:
            ValueError: a field is named like a reserved key (``t``, ``host``, ``actor``, ``event``).
        """
        _check_fields(event, fields)
        with self._lock:
            if self._file is None:
                return
            self._write_pending()
            self._file.write(_encode(self._record(actor, event, fields)))
            self._file.flush()

    def emit_deferred(self, actor: str, event: str, **fields: Any) -> None:
        """Like :meth:`emit`, but the line is encoded and written only by the next :meth:`flush`.

        For a hot path that flushes once per batch (the bus, per frame). The timestamp is taken now;
        lines keep their order, deferred or not. The fields are kept as they are: pass values that
        nobody changes afterwards.
        """
        _check_fields(event, fields)
        with self._lock:
            if self._file is not None:
                self._pending.append(self._record(actor, event, fields))

    def flush(self) -> None:
        """Encode and write out the lines :meth:`emit_deferred` held."""
        with self._lock:
            if self._file is not None and self._pending:
                self._write_pending()
                self._file.flush()

    def _record(self, actor: str, event: str, fields: dict[str, Any]) -> dict[str, Any]:
        """The line's record, stamped now (the caller holds the lock, so times rise down the file)."""
        record = {"t": self._clock.now(), "host": self.host, "actor": actor, "event": event}
        record.update(fields)
        return record

    def _write_pending(self) -> None:
        """Write the held records ahead of a newer line (caller holds the lock, file open)."""
        assert self._file is not None
        if self._pending:
            self._file.write(b"".join(map(_encode, self._pending)))
            self._pending.clear()

    def close(self) -> None:
        """Flush and close the file; later :meth:`emit` calls are ignored."""
        with self._lock:
            if self._file is not None:
                self._write_pending()
                self._file.close()
                self._file = None


def _end_torn_line(file: IO[bytes]) -> None:
    """Write a newline if the file (opened ``a+b``) is not empty and does not end with one."""
    if file.seek(0, os.SEEK_END) > 0:
        file.seek(-1, os.SEEK_END)
        if file.read(1) != b"\n":
            file.write(b"\n")
            file.flush()


def _check_fields(event: str, fields: dict[str, Any]) -> None:
    if not RESERVED.isdisjoint(fields):
        raise ValueError(f"event {event}: field(s) {sorted(RESERVED.intersection(fields))} are reserved")


def _plain(value: Any) -> Any:
    """JSON for the few non-JSON values events carry (tuples are already lists; sets and bytes)."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, bytes):
        return value.hex()
    return repr(value)


def _encode(record: dict[str, Any]) -> bytes:
    """One line: UTF-8 JSON (keys that are not strings, such as heights, become strings).

    The standard library's encoder takes over for what orjson refuses (integers beyond 64 bits).
    """
    try:
        return orjson.dumps(record, default=_plain, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return (json.dumps(record, ensure_ascii=False, default=_plain) + "\n").encode()

