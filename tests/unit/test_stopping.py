"""The one way to stop processes (runtime.stopping): SIGTERM, a bounded wait for all together,
SIGKILL for the stubborn only; processes that are not our children are held by a pidfd."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from monerosim_actors.backends import groups
from monerosim_actors.runtime.stopping import Held, terminate

IGNORES_TERM = [sys.executable, "-c",
                "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); "
                "time.sleep(600)"]


class Fake:
    """A process that stops on the signals in ``stops_on``, or is already gone."""

    def __init__(self, stops_on: set[int], gone: bool = False) -> None:
        self.stops_on = stops_on
        self.gone = gone
        self.received: list[int] = []

    def signal(self, sig: int) -> bool:
        if self.gone:
            return False
        self.received.append(sig)
        self.gone = sig in self.stops_on
        return True

    def wait(self, timeout: float) -> bool:
        return self.gone


def test_terminate_kills_only_what_ignored_sigterm_and_waits_for_all_together() -> None:
    polite, stubborn, gone = Fake({signal.SIGTERM}), Fake({signal.SIGKILL}), Fake(set(), gone=True)
    waits: list[list[Fake]] = []

    def wait(targets: Sequence[Fake], deadline: float) -> None:
        waits.append(list(targets))

    assert terminate([polite, stubborn, gone], 30.0, wait=wait) == [stubborn]
    assert polite.received == [signal.SIGTERM] and gone.received == []
    assert stubborn.received == [signal.SIGTERM, signal.SIGKILL]
    assert waits == [[polite, stubborn], [stubborn]]


def test_a_held_process_is_signalled_through_its_pidfd_and_waited_for(tmp_path: Path) -> None:
    proc = subprocess.Popen(IGNORES_TERM, stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"\n"  # its handler is in place
        assert Held.open(proc.pid, lambda: False) is None, "not the process meant: not held"
        held = Held.open(proc.pid, lambda: True)
        assert held is not None
        try:
            assert terminate([held], 0.2) == [held]
            assert held.wait(0) and proc.wait(10) == -signal.SIGKILL
            assert not held.signal(signal.SIGTERM), "reaped: nothing is sent, whoever has its pid now"
        finally:
            held.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_strays_are_stopped_one_by_one_through_pidfds(tmp_path: Path) -> None:
    # a stray that ignores SIGTERM, its command line naming OUT, in a session of its own
    proc = subprocess.Popen([*IGNORES_TERM, str(tmp_path)], stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"\n"
        found = groups.stop_strays(str(tmp_path), [sys.executable], 0.2)
        assert [info.pid for info in found] == [proc.pid]
        assert proc.wait(10) == -signal.SIGKILL
        assert groups.stop_strays(str(tmp_path), [sys.executable], 0.2) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
