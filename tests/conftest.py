"""Fixtures shared by every test: binaries that must exist on CI, and no process left behind.

Importing this file also puts the repository root on ``sys.path`` (``tests`` is a package), so tests
can import helpers such as ``tests.e2e.plans``.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from monerosim_actors.backends import groups


def require_binary(name: str) -> str:
    """The path of ``name``; skips the test when it is missing, except with ``CI`` set, where it fails."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package 'monero')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def processes_matching(needle: str) -> list[tuple[int, str]]:
    """``(pid, cmdline)`` of live (not zombie) processes with an argument that contains ``needle``."""
    return [(info.pid, " ".join(info.argv)) for info in groups.naming(needle)]


def assert_no_process_left(needle: str, timeout: float = 120.0) -> None:
    """Fail (after killing them) if processes whose command line contains ``needle`` are still alive.

    Use a needle unique to the test, e.g. its data directory or its IP address. Waits for processes
    that are on their way out (they may be slow to go on a loaded machine) and returns as soon as
    none is left; ``timeout`` is a net, not a budget (``0``: they must be gone already).
    """
    deadline = time.monotonic() + timeout
    left = processes_matching(needle)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = processes_matching(needle)
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, f"processes left behind: {left}"


@pytest.fixture
def no_process_left() -> Iterator[list[str]]:
    """Append needles to the yielded list; at teardown none of them may match a live process."""
    needles: list[str] = []
    yield needles
    for needle in needles:
        assert_no_process_left(needle)


class RecordingEvents:
    """An event sink (``emit(actor, event, **fields)``) that keeps events in memory and can be waited on."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._cond = threading.Condition()

    def emit(self, actor: str, event: str, **fields: Any) -> None:
        with self._cond:
            self.items.append({"actor": actor, "event": event, **fields})
            self._cond.notify_all()

    def wait_for(self, event: str, count: int = 1, timeout: float = 120.0, **match: Any) -> list[dict[str, Any]]:
        """The events named ``event`` with fields ``match``, once there are ``count``; returns as soon
        as they are there (``timeout`` is a net against a hang, not a budget)."""
        def found() -> list[dict[str, Any]]:
            return [e for e in self.items if e["event"] == event
                    and all(e.get(k) == v for k, v in match.items())]
        with self._cond:
            assert self._cond.wait_for(lambda: len(found()) >= count, timeout), \
                f"waited {timeout:g} s (a safety net) for {count} x {event} {match}; got {self.items}"
            return found()


@pytest.fixture(autouse=True, scope="session")
def _shim_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Build the Shadow compatibility shim into a folder of the test session, not the user's cache
    (child processes, such as a ``monerosim-actors gen`` a test starts, inherit it)."""
    from monerosim_actors.native import CACHE_ENV
    from monerosim_actors.randomx import share as randomx_share

    # The shared RandomX files stay the machine's (2.3 GB, written once per machine, not per session).
    os.environ.setdefault(randomx_share.DIR_ENV, str(randomx_share.files_dir()))
    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("shim-cache"))
    yield
    if old is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = old
