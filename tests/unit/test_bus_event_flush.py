"""The bus's per-message event lines are buffered and flushed once per batch, never left unwritten.

``bench/bus_throughput.py`` found a flush per line to be a third of the CPU time of each message;
the bus now writes msg_sent/msg_received with ``EventLog.emit_deferred`` and its transport thread
flushes before it sleeps again. These tests pin both halves: deferred lines reach the file on
``flush``, and a bus with a real event log has every message line on disk without being closed.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

import pytest

from monerosim_actors.coordination.messages import GetVendors
from monerosim_actors.runtime.bus import Bus
from monerosim_actors.events.read import read_events
from monerosim_actors.runtime.events import EventLog
from monerosim_actors.runtime.inbox import RoleInbox
from tests.e2e.plans import host_config, host_plan, service


def test_deferred_lines_reach_the_file_on_flush(tmp_path: Path) -> None:
    log = EventLog(str(tmp_path / "events.jsonl"), "h")
    log.emit_deferred("bus", "msg_sent", id="h:1")
    assert read_events(log.path) == []
    log.flush()
    assert [e["id"] for e in read_events(log.path)] == ["h:1"]
    log.emit("runtime", "x")  # an ordinary emit flushes what was deferred before it, in order
    log.emit_deferred("bus", "msg_sent", id="h:2")
    log.close()  # and close writes the rest
    assert [e["event"] for e in read_events(log.path)] == ["msg_sent", "x", "msg_sent"]
    with pytest.raises(ValueError):
        log.emit_deferred("bus", "e", t=1)


class Box:
    def __init__(self) -> None:
        self.q: queue.Queue[Any] = queue.Queue()

    def tell(self, message: Any) -> None:
        self.q.put(message)


@pytest.mark.e2e
def test_message_lines_are_on_disk_while_the_bus_runs(tmp_path: Path) -> None:
    svc_plan = host_plan("svc", "127.70.201.1", monerod=False, wallet=False, bus_port=5555)
    cli_plan = host_plan("cli", "127.70.201.2", monerod=False, wallet=False)
    services = {"svc": service(svc_plan)}
    made = []
    for plan in (svc_plan, cli_plan):
        log, inbox, box = EventLog(str(tmp_path / f"{plan.name}.jsonl"), plan.name), RoleInbox(), Box()
        inbox.attach(box)
        bus = Bus(host_config(plan, services=services), log, inbox)
        bus.start()
        made.append((bus, log, box))
    (svc, svc_log, svc_box), (cli, cli_log, _) = made
    try:
        ids = [cli.send("svc", GetVendors(request=i)) for i in range(50)]
        for _ in ids:
            svc_box.q.get(timeout=10)

        def on_disk(path: str, event: str) -> list[str]:
            return [e["id"] for e in read_events(path) if e["event"] == event]

        waited = threading.Event()
        for _ in range(500):  # the flush follows the delivery within the same batch
            if on_disk(svc_log.path, "msg_received") == ids and on_disk(cli_log.path, "msg_sent") == ids:
                break
            waited.wait(0.01)
        assert on_disk(cli_log.path, "msg_sent") == ids
        assert on_disk(svc_log.path, "msg_received") == ids
    finally:
        for bus, log, _ in made:
            bus.stop()
            log.close()
