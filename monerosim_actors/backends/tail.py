"""Read the hosts' ``events.jsonl`` files as they grow, one complete line at a time.

Each host's log has its own :class:`~monerosim_actors.events.read.LogReader`, which remembers where
it stopped; a line without its newline yet (the host is writing it, or died while writing it) stays
unread until it is complete, and a line that is not an event is skipped: the display must never
fail because a host did.
"""

from __future__ import annotations

from collections.abc import Iterator

from monerosim_actors.events.read import Event, LogReader


class EventTail:
    """Follows ``events.jsonl`` of a set of hosts, each from where the last read stopped."""

    def __init__(self, paths: dict[str, str]) -> None:
        """Args:
            paths: host name -> path of its events file (it may not exist yet).
        """
        self._readers = {host: LogReader(path) for host, path in paths.items()}

    def read(self) -> Iterator[tuple[str, Event]]:
        """Yield ``(host, event)`` for every complete line written since the last call."""
        for host, reader in self._readers.items():
            try:
                events = reader.read()
            except FileNotFoundError:
                continue
            for event in events:
                yield host, event
