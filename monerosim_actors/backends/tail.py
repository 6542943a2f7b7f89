"""Read the hosts' ``events.jsonl`` files as they grow, one complete line at a time.

Each file's offset is remembered; a line without its newline yet (the host is writing it, or died
while writing it) stays unread until it is complete. A line that is not a JSON object is skipped:
the display must never fail because a host did.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

Event = dict[str, Any]


class EventTail:
    """Follows ``events.jsonl`` of a set of hosts, each from where the last read stopped."""

    def __init__(self, paths: dict[str, str]) -> None:
        """Args:
            paths: host name -> path of its events file (it may not exist yet).
        """
        self._paths = dict(paths)
        self._offsets = {host: 0 for host in paths}

    def read(self) -> Iterator[tuple[str, Event]]:
        """Yield ``(host, event)`` for every complete line written since the last call."""
        for host, path in self._paths.items():
            try:
                with open(path, "rb") as f:
                    f.seek(self._offsets[host])
                    chunk = f.read()
            except FileNotFoundError:
                continue
            end = chunk.rfind(b"\n")
            if end < 0:
                continue
            self._offsets[host] += end + 1
            for line in chunk[:end].split(b"\n"):
                event = _parse(line)
                if event is not None:
                    yield host, event


def _parse(line: bytes) -> Event | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None

