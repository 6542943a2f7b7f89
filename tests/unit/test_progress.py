"""The progress display and summary: counts from event logs read as they grow, never failing on
unknown events, bad lines or a line still being written; the backend's timing and notes above the line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from monerosim_actors.backends.progress import ProgressDisplay, ScenarioTiming, Tally, format_duration, summary
from monerosim_actors.backends.tail import EventTail


def line(event: str, **fields: object) -> str:
    return json.dumps({"t": 1.0, "host": "x", "actor": "a", "event": event, **fields}) + "\n"


def test_tail_reads_only_complete_lines_and_remembers_where_it_stopped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tail = EventTail({"h": str(path), "missing": str(tmp_path / "nope.jsonl")})
    assert list(tail.read()) == []
    path.write_text(line("host_started") + '{"t": 2.0, "event": "msg_se')
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
        ("user-0", {"event": "payment_sent", "payment_id": "u:1"}),
        ("user-0", {"event": "payment_sent", "payment_id": "u:2"}),
        ("user-0", {"event": "payment_failed", "payment_id": "u:3"}), ("m", {"event": "payment_confirmed"}),
        ("user-0", {"event": "payment_failed", "payment_id": "u:1", "reason": "locked_funds", "will_retry": True}),
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
                    ("a", {"event": "payment_failed", "payment_id": "a:1", "reason": "locked_funds",
                           "will_retry": True})])
    text = summary(tally, duration_s=75, exit_codes={"a": 0, "b": 1}, out_dir="/o",
                   failures=["host b: runtime exited with code 1"], interrupted=None)
    assert text.splitlines()[0] == "run FAILED after 1m15s"
    assert "hosts: 1/2 exited 0, 1 logged a clean stop" in text
    assert "blocks mined 1 (p:1)" in text
    assert ("payments: 1 decisions, 0 sent, 0 confirmed, 1 failed in the end; 1 failed attempts "
            "retried; failures by reason: locked_funds 1") in text
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


class Fixed:
    """A timing whose text says how long the display has run, to see which calls drew the line."""

    def around(self, elapsed_s: float) -> tuple[str, str]:
        return f"<{elapsed_s:g}>", "end"


def test_a_timing_says_what_comes_before_and_after_the_numbers(tmp_path: Path) -> None:
    stream, clock = io.StringIO(), Clock()
    display = ProgressDisplay(Tally({"h": 0}), EventTail({}), stream, timing=Fixed(), tty=False, clock=clock)
    display.update()
    assert stream.getvalue() == "<0> hosts ready 0/1 | height 0 | blocks 0 | funded 0 | payments 0 sent, " \
                                "0 confirmed | bus msgs 0 | end\n"


def test_scenario_timing_is_the_local_backends() -> None:
    assert ScenarioTiming(90).around(1) == ("[1s]", "1m29s left")
    assert ScenarioTiming(90).around(90) == ("[1m30s]", "scenario over, stopping")


def test_on_a_terminal_refreshes_can_be_spaced_and_events_are_read_only_when_the_line_is_drawn(
        tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    stream, clock = io.StringIO(), Clock()
    display = ProgressDisplay(Tally({"h": 0}), EventTail({"h": str(path)}), stream, timing=Fixed(), tty=True,
                              clock=clock, tty_every_s=1.0)
    display.update()
    path.write_text(line("block_seen", height=4))
    clock.now += 0.5
    display.update()  # not due: nothing drawn, nothing read
    assert stream.getvalue().count("\r") == 1 and display.tally.height == 0
    clock.now += 0.5
    display.update()
    assert stream.getvalue().count("\r") == 2 and display.tally.height == 4
    assert display.refresh_s == 1.0


def test_a_note_goes_above_the_live_line_which_is_drawn_again(tmp_path: Path) -> None:
    stream, clock = io.StringIO(), Clock()
    display = ProgressDisplay(Tally({}), EventTail({}), stream, timing=Fixed(), tty=True, clock=clock)
    display.note("before any line")
    display.update()
    live = stream.getvalue().rsplit("\r", 1)[1]
    display.note("shadow ERROR: it broke")
    display.finish()
    after = stream.getvalue().split("before any line\n", 1)[1]
    assert after == f"\r{live}\r{' ' * len(live)}\rshadow ERROR: it broke\n{live}\n"
    display.note("after the end")
    assert stream.getvalue().endswith(f"{live}\nafter the end\n")


def test_a_note_is_a_plain_line_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(Tally({}), EventTail({}), stream, timing=Fixed(), tty=False, clock=Clock())
    display.update()
    display.note("shadow WARN: careful")
    display.update()  # not due: the note does not redraw the line either
    assert stream.getvalue().splitlines()[1:] == ["shadow WARN: careful"]


def test_a_display_needs_a_timing() -> None:
    with pytest.raises(TypeError):
        ProgressDisplay(Tally({}), EventTail({}), io.StringIO())


def test_tally_for_a_plan_expects_each_hosts_programs() -> None:
    from dataclasses import replace

    from monerosim_actors.plan.model import MonerodPlan, WalletPlan
    from tests.unit.local_backend_plans import FakeHost, fake_plan

    plan = fake_plan([FakeHost("a"), FakeHost("b"), FakeHost("c")])
    monerod = MonerodPlan(18080, 18081, 18082, 18083, 1, ())
    wallet = WalletPlan(18088, "127.0.0.1:18081")
    plan = replace(plan, hosts=(plan.hosts[0], replace(plan.hosts[1], monerod=monerod),
                                replace(plan.hosts[2], monerod=monerod, wallet=wallet)))
    assert Tally.for_plan(plan).expected_processes == {"a": 0, "b": 1, "c": 2}


def test_summary_can_say_the_hosts_ends_and_the_simulated_time_instead() -> None:
    tally = Tally({"a": 0, "b": 0})
    tally.feed("a", {"event": "host_stopped", "exit_code": 0})
    text = summary(tally, duration_s=100, hosts="1/2 ended as Shadow expected (not: b)", simulated_s=540,
                   out_dir="/o", failures=["host b: process 'b.python3.1000' exited with status Normal(1)"],
                   interrupted=None)
    assert text.splitlines()[:2] == ["run FAILED after 1m40s, 9m00s simulated (5.4x real time)",
                                     "  hosts: 1/2 ended as Shadow expected (not: b), 1 logged a clean stop"]
    short = summary(tally, duration_s=0.5, hosts="?", simulated_s=3, out_dir="/o", failures=[], interrupted=None)
    assert short.splitlines()[0] == "run finished after 0s, 3s simulated"


def test_on_a_terminal_a_line_wider_than_it_is_cut_so_it_can_be_drawn_over() -> None:
    stream, width = io.StringIO(), [30]
    display = ProgressDisplay(Tally({}), EventTail({}), stream, timing=Fixed(), tty=True, clock=Clock(),
                              columns=lambda: width[0])
    display.update()
    assert stream.getvalue() == "\r<0> hosts ready 0/0 | height…"
    width[0] = 0  # unknown: as it is
    display.update()
    assert stream.getvalue().endswith("| bus msgs 0 | end")


def test_the_width_is_asked_of_the_terminal_and_unknown_for_anything_else(tmp_path: Path) -> None:
    import os
    import pty

    display = ProgressDisplay(Tally({}), EventTail({}), io.StringIO(), timing=Fixed(), tty=True)
    assert display._columns() is None
    master, slave = pty.openpty()
    try:
        with open(slave, "w", closefd=False) as terminal:
            assert ProgressDisplay(Tally({}), EventTail({}), terminal, timing=Fixed())._columns() == \
                os.get_terminal_size(slave).columns
    finally:
        os.close(master)
        os.close(slave)


def test_the_end_summary_counts_payments_as_the_report_does() -> None:
    """Decisions by payment_id: a failed attempt later sent is a retry, not a failed decision; a
    decision never sent failed in the end; failures are counted by reason."""
    from monerosim_actors.analysis import load_run, summarize
    from monerosim_actors.analysis.report import payments_line

    golden = Path(__file__).parents[1] / "golden" / "analysis" / "run"
    tally = Tally({})
    for log in sorted(golden.glob("shadow.data/hosts/*/events.jsonl")):
        for line in log.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            tally.feed(event["host"], event)
    expected = ("payments: 3 decisions, 2 sent, 1 confirmed, 1 failed in the end; 1 failed attempts "
                "retried; failures by reason: not enough unlocked money 2")
    assert tally.payments() == expected
    assert payments_line(summarize(load_run(golden))["payments"]) == expected
    text = summary(tally, duration_s=1, exit_codes={}, out_dir="/o", failures=[], interrupted=None)
    assert expected in text


def test_a_second_block_at_one_height_is_counted_stale_in_the_line_and_the_summary() -> None:
    tally = Tally(expected_processes={})
    tally.feed_all([("pool-a", {"event": "block_mined", "pool_id": "pool_a", "height": 104}),
                    ("pool-b", {"event": "block_mined", "pool_id": "pool_b", "height": 104}),
                    ("pool-a", {"event": "block_mined", "pool_id": "pool_a", "height": 105}),
                    ("pool-a", {"event": "block_mined", "pool_id": "pool_a"})])
    assert tally.stale == 1
    assert "| blocks 4 (pool_a:3 pool_b:1), 1 stale |" in tally.line()
    text = summary(tally, duration_s=1, out_dir="out", failures=[], interrupted=None)
    assert "blocks mined 4 (pool_a:3 pool_b:1), 1 stale" in text
