"""The event log writes one complete, flushed JSON line per event, from any thread."""

from __future__ import annotations

import json
import threading

import pytest

from monerosim_actors.events.read import read_events
from monerosim_actors.runtime.events import EventLog


class FakeClock:
    def now(self) -> float:
        return 100.5


def test_line_layout_and_flush(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(str(path), "user-0", FakeClock())
    log.emit("runtime", "process_ready", name="monerod", elapsed_s=1.25, tags=("a", "b"))
    # flushed: visible before close
    line = path.read_text().splitlines()[0]
    assert list(json.loads(line)) == ["t", "host", "actor", "event", "name", "elapsed_s", "tags"]
    assert json.loads(line) == {"t": 100.5, "host": "user-0", "actor": "runtime",
                                "event": "process_ready", "name": "monerod", "elapsed_s": 1.25,
                                "tags": ["a", "b"]}
    log.close()
    log.emit("runtime", "late")  # ignored after close
    assert len(read_events(str(path))) == 1


def test_reserved_field_rejected(tmp_path) -> None:
    log = EventLog(str(tmp_path / "e.jsonl"), "h")
    with pytest.raises(ValueError, match="reserved"):
        log.emit("runtime", "x", host="other")
    log.close()


def test_threads_do_not_interleave(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(str(path), "h")
    payload = "x" * 5000

    def work(n: int) -> None:
        for i in range(200):
            log.emit(f"a{n}", "e", i=i, payload=payload)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 800
    assert all(json.loads(line)["payload"] == payload for line in lines)


def test_torn_last_line_is_skipped(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(str(path), "h")
    log.emit("runtime", "host_started")
    log.close()
    with open(path, "a") as f:
        f.write('{"t": 1, "host": "h", "ev')
    assert [e["event"] for e in read_events(str(path))] == ["host_started"]


def test_a_host_restarted_after_a_torn_line_starts_a_line_of_its_own(tmp_path) -> None:
    """Killed mid-line, restarted: the torn line is lost, the earlier and the new events are not."""
    path = tmp_path / "events.jsonl"
    log = EventLog(str(path), "h")
    log.emit("runtime", "host_started")
    log.close()
    with open(path, "a") as f:
        f.write('{"t": 1, "host": "h", "ev')
    for _ in range(2):  # the second start finds a whole last line and adds no empty one
        log = EventLog(str(path), "h")
        log.emit("runtime", "host_started", restart=True)
        log.close()
    assert [e.get("restart") for e in read_events(str(path))] == [None, True, True]
    assert path.read_bytes().count(b"\n") == 4 and b"\n\n" not in path.read_bytes()


def test_append_keeps_earlier_lines(tmp_path) -> None:
    path = str(tmp_path / "events.jsonl")
    for _ in range(2):
        log = EventLog(path, "h")
        log.emit("runtime", "host_started")
        log.close()
    assert len(read_events(path)) == 2


def test_values_json_has_no_type_for_are_still_written(tmp_path) -> None:
    """Sets, bytes, integer keys and integers beyond 64 bits (orjson refuses those) all make a line."""
    path = tmp_path / "events.jsonl"
    log = EventLog(str(path), "h", FakeClock())
    log.emit("runtime", "odd", ids={"b", "a"}, raw=b"\x01\xff", by_height={7: "x"}, huge=2**70)
    log.close()
    (event,) = read_events(str(path))
    assert (event["ids"], event["raw"], event["by_height"], event["huge"]) == (["a", "b"], "01ff", {"7": "x"}, 2**70)


def test_deferred_lines_are_written_by_flush_in_order_with_the_others(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(str(path), "h")
    log.emit_deferred("bus", "msg_sent", id="h:1")
    assert path.read_bytes() == b""  # held, not yet encoded
    log.emit("runtime", "now")  # a line written at once goes after the held one
    log.emit_deferred("bus", "msg_sent", id="h:2")
    log.flush()
    log.emit_deferred("bus", "msg_sent", id="h:3")
    log.close()  # closing writes what is held
    events = read_events(str(path))
    assert [e.get("id", e["event"]) for e in events] == ["h:1", "now", "h:2", "h:3"]
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
