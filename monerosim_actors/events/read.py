"""Reading ``events.jsonl``: the one parser of event lines, for whole logs and for logs still growing.

A line is an event when it is a JSON object whose ``event`` is a string and whose ``t`` is a number
(``docs/events.md``); anything else (a line damaged by a crash, a stray write) is skipped and
counted, never raised: a log is read as it is. The writer flushes line by line, so only the last
line can be incomplete, and a host that starts again ends such a line before it appends
(:class:`monerosim_actors.runtime.events.EventLog`). Logs written before it did hold the restarted
host's first event glued to the torn line; a damaged line that ends with a whole event (a line as
the writer starts them, ``{"t"``, to the end) yields that event. A log still being written (a run in
progress) is read up to its last newline and the rest is left for the next read, when it is
complete; a log read as final (the run is over) has its cut last line decoded too (it may hold a
whole event) and is marked torn.

Parsing is the cost that grows with a run, so lines are decoded a chunk at a time with one
``json.loads`` call per chunk (about 1.5 times faster than one call per line), falling back to line
by line only for a chunk that holds a damaged line. The standard library decodes: the writer falls
back to it for what orjson refuses (integers beyond 64 bits), which orjson could not read back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Event = dict[str, Any]

CHUNK_BYTES = 8 * 2**20
"""Bytes of lines decoded at once; bounds the memory held as Python dicts before a consumer turns
them into something smaller (about 40,000 events)."""


class LogReader:
    """One ``events.jsonl``, read from where the last read stopped.

    Not thread-safe: one reader per consumer.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0
        """Bytes consumed so far: every line before it was decoded."""
        self.events = 0
        """Events read so far."""
        self.bad_lines = 0
        """Lines that were not events (skipped) so far, a cut last line included."""
        self.torn = False
        """A final read found the file ending mid-line (the host stopped while writing it)."""

    def chunks(self, *, final: bool = False) -> Iterator[list[Event]]:
        """The events of the lines written since the last read, a chunk at a time.

        Args:
            final: the log is complete: decode a last line that has no newline too (and set
                :attr:`torn`). Otherwise such a line is left for a later read.

        Raises:
            FileNotFoundError: there is no log (yet).
        """
        with self.path.open("rb") as f:
            f.seek(self.offset)
            rest = b""
            while block := f.read(CHUNK_BYTES):
                data = rest + block
                end = data.rfind(b"\n") + 1
                rest = data[end:]
                if end:
                    self.offset += end
                    yield self._events(data[:end].split(b"\n"))
        if final and rest.strip():
            self.offset += len(rest)
            self.torn = True
            yield self._events([rest])

    def read(self, *, final: bool = False) -> list[Event]:
        """The events written since the last read, in file order (see :meth:`chunks`)."""
        return [event for chunk in self.chunks(final=final) for event in chunk]

    def _events(self, lines: list[bytes]) -> list[Event]:
        lines = [line for line in lines if line and not line.isspace()]
        events = [value for value in decode_lines(lines) if is_event(value)]
        self.events += len(events)
        self.bad_lines += len(lines) - len(events)
        return events


def read_events(path: str | Path) -> list[Event]:
    """Every event of a complete log (a torn last line, from a crash, is skipped unless whole).

    Raises:
        FileNotFoundError: there is no log.
    """
    return LogReader(path).read(final=True)


def is_event(value: object) -> bool:
    """Whether a decoded line is an event: an object with a string ``event`` and a number ``t``."""
    return (type(value) is dict and type(value.get("event")) is str
            and type(value.get("t")) in (float, int))


def decode_lines(lines: list[bytes]) -> list[object]:
    """Decode JSON lines: one call for all of them, line by line if one is damaged (it decodes to None)."""
    if not lines:
        return []
    try:
        values = json.loads(b"[" + b",".join(lines) + b"]")
        if len(values) == len(lines):
            return values
    except ValueError:
        pass
    return [_decode_line(line) for line in lines]


LINE_START = b'{"t"'
"""How the writer starts every line: its first key is ``t``."""


def _decode_line(line: bytes) -> object:
    """The line's value; for a damaged line, the whole event glued after a torn one, if any."""
    start = 0
    while start >= 0:
        try:
            value = json.loads(line[start:])
        except ValueError:
            start = line.find(LINE_START, start + 1)
            continue
        if start == 0 or is_event(value):
            return value
        start = line.find(LINE_START, start + 1)
    return None
