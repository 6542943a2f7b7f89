"""The progress display and summary: counts from event logs read as they grow, never failing on
unknown events, bad lines or a line still being written."""

from __future__ import annotations

import io
import json
from pathlib import Path

from monerosim_actors.backends.progress import ProgressDisplay, Tally, format_duration, summary
from monerosim_actors.backends.tail import EventTail


def line(event: str, **fields: object) -> str:
    return json.dumps({"t": 1.0, "host": "x", "actor": "a", "event": event, **fields}) + "\n"


def test_tail_reads_only_complete_lines_and_remembers_where_it_stopped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tail = EventTail({"h": str(path), "missing": str(tmp_path / "nope.jsonl")})
    assert list(tail.read()) == []
    path.write_text(line("host_started") + '{"event": "msg_se')
    assert [e["event"] for _, e in tail.read()] == ["host_started"]
    with path.open("a") as f:
        f.write('nt"}\n')
    assert [(h, e["event"]) for h, e in tail.read()] == [("h", "msg_sent")]
    assert list(tail.read()) == []


def test_tail_skips_lines_that_are_not_json_objects(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("garbage\n[1, 2]\n\n" + line("block_seen", height=3) + "\x00\xff\n")
    assert [e["event"] for _, e in EventTail({"h": str(path)}).read()] == ["block_seen"]


def test_tally_counts_what_the_display_shows() -> None:
    tally = Tally(expected_processes={"pool-a": 1, "user-0": 2, "block-controller": 0})
    feed = [
        ("block-controller", {"event": "host_started"}),
        ("pool-a", {"event": "host_started"}), ("pool-a", {"event": "process_ready", "name": "monerod"}),
        ("user-0", {"event": "host_started"}), ("user-0", {"event": "process_ready", "name": "monerod"}),
        ("pool-a", {"event": "block_mined", "pool_id": "pool_a", "height": 5}),
        ("pool-a", {"event": "block_mined", "pool_id": "pool_a", "height": 6}),
        ("pool-b", {"event": "block_mined", "pool_id": "pool_b", "height": 7}),
        ("user-0", {"event": "block_seen", "height": 7}), ("user-0", {"event": "block_seen", "height": "8"}),
        ("block-controller", {"event": "user_funded", "user_id": "user_0"}),
        ("user-0", {"event": "payment_sent"}), ("user-0", {"event": "payment_sent"}),
        ("user-0", {"event": "payment_failed"}), ("m", {"event": "payment_confirmed"}),
        ("user-0", {"event": "payment_failed", "reason": "locked_funds", "will_retry": True}),
        ("user-0", {"event": "msg_sent"}), ("user-0", {"event": "something_new", "x": [1]}),
        ("user-0", {"no_event": True}), ("user-0", {"event": "host_stopped", "exit_code": 0}),
    ]
    tally.feed_all(feed)
    assert tally.hosts_ready == 2  # user-0 has one of its two programs ready
    assert tally.height == 7
    assert tally.blocks == "3 (pool_a:2 pool_b:1)"
    assert (tally.users_funded, tally.payments_sent, tally.payments_failed, tally.payments_confirmed,
            tally.messages) == (1, 2, 1, 1, 1)
    assert tally.stopped == {"user-0": 0}
    assert tally.line() == ("hosts ready 2/3 | height 7 | blocks 3 (pool_a:2 pool_b:1) | funded 1"
                            " | payments 2 sent, 1 confirmed, 1 failed, 1 retries | bus msgs 1")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_display_refreshes_in_place_on_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(line("block_seen", height=12))
    stream, clock = io.StringIO(), Clock()
    display = ProgressDisplay(Tally({"h": 0}), EventTail({"h": str(path)}), stream, scenario_end_s=90,
                              tty=True, clock=clock)
    display.update()
    clock.now += 1
    display.update()
    clock.now += 100
    display.finish()
    parts = stream.getvalue().split("\r")
    assert parts[0] == "" and len(parts) == 3
    assert parts[1].startswith("[0s] hosts ready 0/1 | height 12 |") and parts[1].endswith("| 1m30s left")
    assert parts[2].startswith("[1s] ") and parts[2].endswith("1m29s left\n")


def test_display_writes_a_plain_line_every_ten_seconds_otherwise(tmp_path: Path) -> None:
    stream, clock = io.StringIO(), Clock()
    display = ProgressDisplay(Tally({}), EventTail({}), stream, scenario_end_s=15, tty=False, clock=clock)
    for _ in range(25):
        display.update()
        clock.now += 1
    display.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in stream.getvalue()
    assert lines[0].startswith("[0s] ") and lines[1].startswith("[10s] ") and lines[2].startswith("[20s] ")
    assert lines[2].endswith("scenario over, stopping")


def test_summary_says_what_happened_where_the_output_is_and_what_next() -> None:
    tally = Tally({"a": 0, "b": 0})
    tally.feed_all([("a", {"event": "host_stopped", "exit_code": 0}),
                    ("a", {"event": "block_mined", "pool_id": "p"}),
                    ("a", {"event": "payment_failed", "will_retry": True})])
    text = summary(tally, duration_s=75, exit_codes={"a": 0, "b": 1}, out_dir="/o",
                   failures=["host b: runtime exited with code 1"], interrupted=None)
    assert text.splitlines()[0] == "run FAILED after 1m15s"
    assert "hosts: 1/2 exited 0, 1 logged a clean stop" in text
    assert "blocks mined 1 (p:1)" in text
    assert "0 failed (1 attempts retried later, e.g. while funds were locked)" in text
    assert "  host b: runtime exited with code 1" in text
    assert text.endswith("output: /o\nnext:   monerosim-actors analyze /o")
    interrupted = summary(tally, duration_s=5, exit_codes={}, out_dir="/o", failures=[], interrupted="SIGINT")
    assert interrupted.startswith("run interrupted by SIGINT after 5s")


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 9.6, 60, 3599, -3)] == ["0s", "10s", "1m00s", "59m59s", "0s"]


def test_a_failed_actor_is_shown_and_fails_the_summary() -> None:
    tally = Tally({"c": 0})
    tally.feed("c", {"event": "actor_failed", "actor": "block_controller", "error_type": "ValueError",
                     "error": "bad"})
    assert tally.line().endswith("| 1 actor(s) FAILED")
    text = summary(tally, duration_s=1, exit_codes={"c": 0}, out_dir="/o", failures=[], interrupted=None)
    assert text.startswith("run FAILED")
    assert "  host c: actor block_controller failed: ValueError: bad" in text


def test_actor_errors_and_a_failed_bootstrap_are_pointed_out_without_failing_the_run() -> None:
    tally = Tally({"p": 0, "c": 0})
    tally.feed_all([
        ("p", {"event": "actor_error", "where": "setup", "error_type": "RpcTimeout", "error": "open_wallet"}),
        ("p", {"event": "actor_error", "where": "task", "error_type": "RpcTimeout", "error": "later"}),
        ("c", {"event": "bootstrap_step", "step": "failed", "reason": "no_pools"}),
        ("c", {"event": "bootstrap_step", "step": "start"}),
    ])
    text = summary(tally, duration_s=1, exit_codes={"p": 0, "c": 0}, out_dir="/o", failures=[],
                   interrupted=None)
    assert text.startswith("run finished")
    assert "warnings (2 actor_error events in all; the first of each host):" in text
    assert "  host p: setup: RpcTimeout: open_wallet" in text and "later" not in text
    assert "  the bootstrap failed (no_pools): no user was funded" in text
