"""The shadow backend's reading of Shadow's output, line by line (lines: ``shadow_lines.py``)."""

from __future__ import annotations

import pytest

from monerosim_actors.backends import shadow
from monerosim_actors.backends.shadow_output import LogLine, ProgressLine, ShadowOutput, parse_line
from tests.unit.shadow_lines import (BAD_END, BAD_END_LINE, BUILD_INFO, COMPLETED, ECHOES, FAILED_CHAIN,
                                     FINISHED, NOT_COMPLETED, PROGRESS, RUNNING, SIDECHANNEL, STARTING,
                                     heartbeat)


def test_a_log_line_gives_its_level_host_times_and_message() -> None:
    entry = parse_line(BAD_END_LINE)
    assert entry == LogLine(real_s=100.2501, sim="00:05:30.000000000", sim_s=330.0, level="ERROR", host="pool-a",
                            message=BAD_END)


def test_outside_a_host_the_heartbeat_gives_the_simulated_time() -> None:
    entry = parse_line(heartbeat("00:00:44.000100", 132_000_000_001))
    assert isinstance(entry, LogLine) and entry.sim is None and entry.host is None
    assert entry.sim_s == pytest.approx(132.0) and entry.real_s == pytest.approx(44.0001)
    running = parse_line(RUNNING)
    assert isinstance(running, LogLine) and running.sim_s is None and running.message == "Running simulation"


def test_the_progress_line() -> None:
    assert parse_line(PROGRESS) == ProgressLine(percent=20, sim_s=132.0, end_s=660.0, real_s=44.0, failed=0)
    assert parse_line("Progress: 100% — simulated: 01:00:00.500/01:00:00, realtime: 10:00:00, "
                      "processes failed: 3") == ProgressLine(100, 3600.5, 3600.0, 36000.0, 3)


@pytest.mark.parametrize("line", [STARTING, COMPLETED, "Error: Caused by:", "", "garbage [INFO] x",
                                  "00:00:01 [1:shadow] n/a [INFO] [n/a] [a:1] [m] seconds without micros"])
def test_other_lines_are_not_parsed(line: str) -> None:
    assert parse_line(line) is None


def feed_all(output: ShadowOutput, lines: list[str]) -> list[str]:
    return [note for line in lines if (note := output.feed(line)) is not None]


def test_what_the_user_sees_while_shadow_runs() -> None:
    output = ShadowOutput(["pool-a", "user-0"], 660.0)
    notes = feed_all(output, [STARTING, BUILD_INFO, SIDECHANNEL, RUNNING, heartbeat("00:00:10.000000", 10**9),
                              PROGRESS, BAD_END_LINE, f"Error: {BAD_END}", SIDECHANNEL, "Progress: 50% bogus",
                              FINISHED, *FAILED_CHAIN, *ECHOES, *NOT_COMPLETED])
    assert notes == [
        STARTING,
        "shadow WARN: Speculative Store Bypass sidechannel mitigation is enabled (perhaps by seccomp?). "
        "This typically adds ~30% performance overhead.",
        f"shadow ERROR [00:05:30.000 pool-a] {BAD_END}",
        "shadow: Progress: 50% bogus",  # not Shadow's progress line: shown, never a failure
        "shadow ERROR: Failed to run the simulation", "shadow ERROR: Caused by:",
        "shadow ERROR:     1 managed processes in unexpected final state",
        *NOT_COMPLETED,
    ]
    assert output.finished and output.shadow_errors == ["Shadow did not complete successfully: Failed to run the "
                                                         "simulation", "1 managed processes in unexpected final state"]
    [end] = output.process_ends
    assert (end.host, end.process, end.status, end.expected, end.actual) == (
        "pool-a", "pool-a.monerod.1001", "Normal(1)", "exited: 0", "exited: 1")
    assert str(end) == BAD_END + " (at 00:05:30.000 simulated)"
    assert end.output_file("/o", "stderr") == "/o/shadow.data/hosts/pool-a/monerod.1001.stderr"


def test_the_timing_is_the_simulated_time_its_share_and_its_ratio_to_the_wall_time() -> None:
    output = ShadowOutput(["pool-a"], 660.0)
    assert output.around(3.2) == ("[sim 0s]", "Shadow starting (3s)")
    output.feed(heartbeat("00:00:00.500000", 10**9))
    assert output.around(9) == ("[sim 1s]", "0% of 11m00s")  # no ratio over less than a wall second
    output.feed(PROGRESS)
    assert output.around(50) == ("[sim 2m12s]", "20% of 11m00s, 3.0x real time")
    output.feed(BAD_END_LINE)
    assert output.around(101) == ("[sim 5m30s]", "50% of 11m00s, 3.3x real time | 1 process ended badly")
    output.feed(PROGRESS.replace("processes failed: 0", "processes failed: 2"))
    assert output.around(102)[1].endswith("| 2 processes ended badly")


def test_a_process_end_without_a_host_field_is_put_on_the_host_its_name_starts_with() -> None:
    output = ShadowOutput(["user-1", "user-10"], 60.0)
    line = BAD_END_LINE.replace("[pool-a:11.0.0.3]", "[n/a]").replace("pool-a.monerod", "user-10.monerod")
    assert output.feed(line) == f"shadow ERROR [00:05:30.000 user-10] {BAD_END.replace('pool-a', 'user-10')}"
    assert output.process_ends[0].host == "user-10"


def test_repeated_warnings_are_shown_once_and_the_notes_are_capped() -> None:
    output = ShadowOutput([], 60.0, max_notes=3)
    warn = SIDECHANNEL.replace("Speculative Store Bypass sidechannel mitigation is enabled", "w{}")
    notes = feed_all(output, [warn.format(i % 5) for i in range(20)] + ["panic!", *NOT_COMPLETED[:2]])
    assert [n.split(" (perhaps")[0] for n in notes] == [
        "shadow WARN: w0", "shadow WARN: w1", "shadow WARN: w2",
        "shadow: more warnings and errors than these 3: see shadow.log", *NOT_COMPLETED[:2]]



def test_processes_that_ended_badly_have_their_own_cap_and_are_all_kept_for_the_summary() -> None:
    output = ShadowOutput([f"user-{i}" for i in range(5)], 60.0, max_notes=2)
    warnings = [SIDECHANNEL.replace("Speculative", f"w{i}") for i in range(4)]
    ends = [BAD_END_LINE.replace("pool-a", f"user-{i}") for i in range(5)]
    notes = feed_all(output, warnings + ends)
    assert [n.split(" [")[0] if n.startswith("shadow ERROR") else n.split(" Store")[0] for n in notes] == [
        "shadow WARN: w0", "shadow WARN: w1", "shadow: more warnings and errors than these 2: see shadow.log",
        "shadow ERROR", "shadow ERROR",
        "shadow: more processes ended badly than these 2: the summary names them"]
    assert [end.host for end in output.process_ends] == [f"user-{i}" for i in range(5)]


def test_the_simulated_time_does_not_go_back_with_a_line_of_a_host_run_a_little_earlier() -> None:
    output = ShadowOutput(["pool-a"], 660.0)
    output.feed(BAD_END_LINE)
    output.feed(BAD_END_LINE.replace("00:05:30.000000000", "00:05:29.990000000"))
    assert output.sim_s == 330.0


def test_the_end_names_at_most_ten_hosts() -> None:
    assert shadow._names([f"h{i}" for i in range(3)]) == "h0, h1, h2"
    assert shadow._names([f"h{i}" for i in range(12)]) == "h0, h1, h2, h3, h4, h5, h6, h7, h8, h9 and 2 more"


# -- whole runs of a fake shadow ---------------------------------------------------------------


def test_a_host_that_ended_as_expected_but_never_logged_host_stopped_is_unstopped() -> None:
    output = ShadowOutput(["user-0", "pool-a", "user-1"], 660.0)
    output.feed(BAD_END_LINE)  # pool-a ended badly: a failure of its own already
    assert output.unstopped({"user-1"}) == [], "the simulation has not run to its end: nobody stopped yet"
    output.feed(FINISHED)
    assert output.unstopped({"user-1"}) == ["user-0"]
    assert output.unstopped({"user-0", "user-1"}) == []
