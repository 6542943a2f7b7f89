"""The shadow backend without Shadow: whole runs of a fake ``shadow`` that prints Shadow 3.3.0's
lines (``shadow_lines.py``) and writes the hosts' events as a run would."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from monerosim_actors.backends import groups, shadow
from monerosim_actors.backends.shadow_output import ShadowOutput
from monerosim_actors.plan.model import MonerodPlan
from tests.unit.local_backend_plans import FakeHost, fake_plan
from tests.unit.shadow_lines import (BAD_END, BAD_END_LINE, BUILD_INFO, COMPLETED, ECHOES, FAILED_CHAIN,
                                     FINISHED, NOT_COMPLETED, PROGRESS, RUNNING, SIDECHANNEL, STARTING,
                                     STILL_RUNNING, heartbeat)


FAKE_SHADOW = """\
#!{python}
# A fake Shadow 3.3: plays the steps in {steps} (in OUT, its working directory) and exits.
import json, os, signal, sys
if sys.argv[1:] != ["shadow.yaml"]:
    sys.exit("usage: shadow shadow.yaml")
for step in json.load(open({steps!r})):
    kind, args = step[0], step[1:]
    if kind in ("out", "err"):
        print(args[0], file=sys.stdout if kind == "out" else sys.stderr, flush=True)
    elif kind == "event":
        host, event = args
        os.makedirs(f"shadow.data/hosts/{{host}}", exist_ok=True)
        with open(f"shadow.data/hosts/{{host}}/events.jsonl", "a") as f:
            f.write(json.dumps({{"t": 1.0, "host": host, "actor": "a", **event}}) + "\\n")
    elif kind == "file":
        os.makedirs(os.path.dirname(args[0]), exist_ok=True)
        with open(args[0], "w") as f:
            f.write(args[1])
    elif kind == "wait_for_signal":
        def stop(signum, frame):
            print("00:00:09.000000 [7:shadow] n/a [INFO] [n/a] [shadow.rs:42] [shadow_rs::shadow] "
                  f"Received signal {{signum}}. Flushing log and exiting", flush=True)
            sys.exit(1)
        signal.signal(signal.SIGINT, stop)
        print("fake shadow waits for a signal", file=sys.stderr, flush=True)
        while True:
            signal.pause()
    elif kind == "pid":
        with open(args[0], "w") as f:
            f.write(str(os.getpid()))
    elif kind == "exit":
        sys.exit(args[0])
"""


def fake_shadow(tmp_path: Path, steps: list[list[object]]) -> Path:
    path = tmp_path / "bin" / "shadow"
    path.parent.mkdir(exist_ok=True)
    (tmp_path / "steps.json").write_text(json.dumps(steps))
    path.write_text(FAKE_SHADOW.format(python=sys.executable, steps=str(tmp_path / "steps.json")))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def write_out(tmp_path: Path) -> Path:
    """OUT with the plan.json of two hosts: pool-a (a monerod) and user-0 (none), 11 simulated minutes."""
    out = tmp_path / "out"
    out.mkdir()
    plan = fake_plan([FakeHost("pool-a"), FakeHost("user-0")], duration_s=600, stop_time_s=660)
    monerod = MonerodPlan(18080, 18081, 18082, 18083, 1, ())
    plan = replace(plan, hosts=(replace(plan.hosts[0], monerod=monerod), plan.hosts[1]))
    (out / "plan.json").write_text(plan.to_json())
    (out / "shadow.yaml").write_text("# not read by the fake\n")
    return out


def ev(host: str, event: str, **fields: object) -> list[object]:
    return ["event", host, {"event": event, **fields}]


STOPPED = [ev("pool-a", "host_stopped", exit_code=0), ev("user-0", "host_stopped", exit_code=0)]
"""Both hosts' runtimes logging their clean stop, as they do at a run's end."""


class Clock:
    """Ten seconds later at every call: each refresh of the display is due."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 10.0
        return self.now


def start_and_run(out: Path, steps: list[list[object]]) -> list[list[object]]:
    return [["err", STARTING], ["out", BUILD_INFO], ["out", RUNNING],
            ev("pool-a", "host_started"), ev("pool-a", "process_ready", name="monerod"), ev("user-0", "host_started"),
            ["out", heartbeat("00:00:02.000000", 10**9)], ["err", PROGRESS],
            ev("pool-a", "block_mined", pool_id="pool_a", height=2), ev("user-0", "block_seen", height=2),
            ev("user-0", "user_funded"), ev("user-0", "payment_sent"), ev("user-0", "msg_sent"),
            ev("pool-a", "msg_sent"), *steps]


def run_fake(tmp_path: Path, out: Path, steps: list[list[object]]) -> tuple[int, str, bytes]:
    binary = fake_shadow(tmp_path, steps)
    stream = io.StringIO()
    code = shadow.run(str(out), str(binary), stream, tty=False, clock=Clock(), ticker=False)
    return code, stream.getvalue(), (out / "shadow.log").read_bytes()


def printed(steps: list[list[object]]) -> bytes:
    return "".join(f"{s[1]}\n" for s in steps if s[0] in ("out", "err")).encode()


def test_a_run_that_ends_well_shows_progress_and_the_local_backends_summary(tmp_path: Path) -> None:
    out = write_out(tmp_path)
    steps = start_and_run(out, [
        ["out", heartbeat("00:01:40.000000", 600 * 10**9)],
        ev("pool-a", "host_stopped", exit_code=0), ev("user-0", "host_stopped", exit_code=0),
        ["out", FINISHED], ["err", COMPLETED], ["exit", 0]])
    code, text, log = run_fake(tmp_path, out, steps)
    assert code == 0
    assert log == printed(steps)  # every byte Shadow printed, in order, and nothing else
    lines = text.splitlines()
    assert lines[0] == (f"running {tmp_path}/bin/shadow shadow.yaml in {out}: 2 hosts, 11m00s simulated; "
                        f"Shadow's output goes to {out}/shadow.log. Ctrl-C stops it.")
    assert STARTING in lines  # before or after the first progress line: as Shadow's output comes
    progress = [line for line in lines if line.startswith("[sim ")]
    assert progress[-1] == ("[sim 10m00s] hosts ready 2/2 | height 2 | blocks 1 (pool_a:1) | funded 1"
                            " | payments 1 sent, 0 confirmed | bus msgs 2 | 90% of 11m00s, 6.0x real time")
    assert COMPLETED in lines and not any("BUILD" in line or "Running simulation" in line for line in lines)
    summary = text[text.index("run finished after "):]
    assert re.match(r"run finished after \S+, 10m00s simulated \(\d+\.\dx real time\)\n", summary)
    assert summary.splitlines()[1:] == [
        "  hosts: 2/2 ended as Shadow expected, 2 logged a clean stop",
        "  chain height 2, blocks mined 1 (pool_a:1)",
        "  users funded 1; payments: 1 decisions, 1 sent, 0 confirmed, 0 failed in the end; "
        "0 failed attempts retried; failures by reason: none",
        "  messages on the bus: 2",
        f"output: {out}",
        f"next:   monerosim-actors analyze {out}"]


def test_processes_that_end_badly_are_shown_as_they_happen_and_named_at_the_end(tmp_path: Path) -> None:
    out = write_out(tmp_path)
    stderr = "".join(f"line {i}\n" for i in range(30)) + "Error: LMDB could not map the file\n"
    steps = start_and_run(out, [
        ["file", "shadow.data/hosts/pool-a/monerod.1001.stderr", stderr],
        ["out", BAD_END_LINE], ["err", f"Error: {BAD_END}"],
        ev("user-0", "actor_failed", actor="regular_user", error_type="RpcTimeout", error="transfer"),
        ["out", STILL_RUNNING], ["err", f"Error: {STILL_RUNNING.split('] ', 6)[-1]}"],
        ["out", FINISHED], *[["out", line] for line in FAILED_CHAIN], *[["err", line] for line in ECHOES],
        *[["err", line] for line in NOT_COMPLETED], ["exit", 1]])
    code, text, log = run_fake(tmp_path, out, steps)
    assert code == 1
    assert log == printed(steps)
    lines = text.splitlines()
    assert f"shadow ERROR [00:05:30.000 pool-a] {BAD_END}" in lines
    assert lines.index(f"shadow ERROR [00:05:30.000 pool-a] {BAD_END}") < lines.index(NOT_COMPLETED[0])
    assert not any(line.startswith("Error:") or line.startswith("shadow: Error:") for line in lines)
    assert [line for line in lines if line.startswith("[sim ")][-1].endswith("| 2 processes ended badly")
    summary = text[text.index("run FAILED after "):].splitlines()
    assert summary[1] == "  hosts: 0/2 ended as Shadow expected (not pool-a, user-0), 0 logged a clean stop"
    failures = summary[summary.index("failures:") + 1:summary.index(f"output: {out}")]
    log_path = f"{out}/shadow.data/hosts/pool-a/monerod.1001.stderr"
    assert failures == [
        f"  host pool-a: {BAD_END} (at 00:05:30.000 simulated) (log: {log_path})",
        *[f"    line {i}" for i in range(21, 30)], "    Error: LMDB could not map the file",
        "  host user-0: process 'user-0.python3.1000' exited with status StoppedByShadow; expected end state "
        "was exited: 0 but was running (at 00:11:00.000 simulated)",
        "  host user-0: actor regular_user failed: RpcTimeout: transfer"]
    assert lines[-1] == (f"monerosim-actors run: Shadow failed (exit code 1) (processes ended badly on pool-a, "
                         f"user-0); see {out}/shadow.log and the hosts' logs in {out}/shadow.data/hosts/")


def test_a_shadow_that_stops_before_the_simulation_says_why(tmp_path: Path) -> None:
    out = write_out(tmp_path)
    steps = [["err", STARTING],
             ["out", "00:00:00.010000 [71432:shadow] n/a [ERROR] [n/a] [shadow.rs:477] [shadow_rs::shadow] "
                     "Failed to initialize the simulation"],
             ["err", "Error: Failed to initialize the simulation"],
             ["err", "** Shadow did not complete successfully: Failed to initialize the simulation"],
             ["err", "**   Host 'pool-a' has an invalid IP address"], ["err", "** See the log for details"],
             ["exit", 1]]
    code, text, _ = run_fake(tmp_path, out, steps)
    assert code == 1
    summary = text[text.index("run FAILED after "):].splitlines()
    assert summary[0].startswith("run FAILED after ") and "simulated" not in summary[0]
    assert summary[1] == "  hosts: Shadow did not run the simulation to its end, 0 logged a clean stop"
    assert ("  Shadow exited with exit code 1: Shadow did not complete successfully: Failed to initialize the "
            "simulation; Host 'pool-a' has an invalid IP address") in summary


def test_a_role_that_failed_fails_the_run_even_when_shadow_succeeded(tmp_path: Path) -> None:
    out = write_out(tmp_path)
    steps = [ev("user-0", "actor_failed", actor="regular_user", error_type="KeyError", error="x"), *STOPPED,
             ["out", FINISHED], ["err", COMPLETED], ["exit", 0]]
    code, text, _ = run_fake(tmp_path, out, steps)
    assert code == 1
    assert "run FAILED after " in text and "  host user-0: actor regular_user failed: KeyError: x" in text
    assert text.splitlines()[-1] == "monerosim-actors run: failed on user-0 (see the failures above)"


def test_hosts_whose_runtime_never_logged_host_stopped_fail_the_run_though_shadow_succeeded(
        tmp_path: Path) -> None:
    # `python: /bin/true`: every runtime exits 0 at once, which is all Shadow checks
    out = write_out(tmp_path)
    steps = [ev("pool-a", "host_started"), ev("pool-a", "host_stopped", exit_code=0),
             ["out", FINISHED], ["err", COMPLETED], ["exit", 0]]
    code, text, _ = run_fake(tmp_path, out, steps)
    assert code == 1
    assert "run FAILED after " in text and "  hosts: 2/2 ended as Shadow expected, 1 logged a clean stop" in text
    assert (f"  host user-0: its runtime ended as Shadow expected but never logged host_stopped in "
            f"{out}/shadow.data/hosts/user-0/events.jsonl: it never ran the host") in text
    assert "host pool-a:" not in text
    assert text.splitlines()[-1] == "monerosim-actors run: failed on user-0 (see the failures above)"


def test_shadow_is_stopped_and_reaped_when_reading_its_output_raises(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = write_out(tmp_path)

    def broken(self: ShadowOutput, line: str) -> str | None:
        raise RuntimeError("the display broke")

    monkeypatch.setattr(ShadowOutput, "feed", broken)
    binary = fake_shadow(tmp_path, [["pid", "shadow.pid"], ["out", RUNNING], ["wait_for_signal"]])
    with pytest.raises(RuntimeError, match="the display broke"):
        shadow.run(str(out), str(binary), io.StringIO(), tty=False, clock=Clock(), ticker=False)
    pid = int((out / "shadow.pid").read_text())
    assert groups.read_proc(pid) is None, "Shadow outlived the runner"


def test_a_log_that_cannot_be_written_stops_the_run_before_shadow_starts(tmp_path: Path) -> None:
    out = write_out(tmp_path)
    (out / "shadow.log").mkdir()
    binary = fake_shadow(tmp_path, [["wait_for_signal"]])
    with pytest.raises(IsADirectoryError):
        shadow.run(str(out), str(binary), io.StringIO(), tty=False, clock=Clock(), ticker=False)
    assert groups.naming(str(binary)) == [], "Shadow was started, and left running"


def test_without_a_plan_it_says_to_generate_out_again(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stream = io.StringIO()
    assert shadow.run(str(out), str(fake_shadow(tmp_path, [["exit", 0]])), stream, ticker=False) == 2
    assert f"cannot read {out}/plan.json" in stream.getvalue()
    assert not (out / "shadow.log").exists()


def test_the_summary_can_go_to_its_own_stream(tmp_path: Path) -> None:
    out = write_out(tmp_path)
    stream, summary_stream = io.StringIO(), io.StringIO()
    code = shadow.run(str(out), str(fake_shadow(tmp_path, [*STOPPED, ["out", FINISHED], ["exit", 0]])), stream,
                      summary_stream=summary_stream, tty=False, ticker=False)
    assert code == 0
    assert summary_stream.getvalue().startswith("run finished after ") and "run finished" not in stream.getvalue()


def test_on_a_terminal_the_line_is_refreshed_in_place_and_notes_go_above_it(tmp_path: Path) -> None:
    out = write_out(tmp_path)
    steps = start_and_run(out, [["out", SIDECHANNEL], *STOPPED, ["out", FINISHED], ["exit", 0]])
    stream = io.StringIO()
    assert shadow.run(str(out), str(fake_shadow(tmp_path, steps)), stream, tty=True, clock=Clock(),
                      ticker=False) == 0
    text = stream.getvalue()
    live, _, rest = text.partition("\nrun finished after ")
    assert "\r[sim " in live and live.count("\n") >= 3  # the first line, the notes
    assert "shadow WARN: Speculative Store Bypass" in live  # above the line if it was drawn yet (test_progress)
    assert rest.splitlines()[1] == "  hosts: 2/2 ended as Shadow expected, 2 logged a clean stop"


def test_the_ticker_refreshes_until_it_is_stopped() -> None:
    import threading

    ticks = threading.Semaphore(0)
    ticker = shadow.Ticker(0.001, ticks.release)
    assert ticks.acquire(timeout=30) and ticks.acquire(timeout=30)
    ticker.stop()


def test_a_signal_to_the_runner_goes_to_shadow_and_the_run_says_it_was_interrupted(tmp_path: Path) -> None:
    out = write_out(tmp_path)
    binary = fake_shadow(tmp_path, [["err", STARTING], ["out", RUNNING], ["wait_for_signal"]])
    code = ("import sys; from monerosim_actors.backends import shadow; "
            f"sys.exit(shadow.run({str(out)!r}, {str(binary)!r}, sys.stderr))")
    runner = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    assert runner.stderr is not None
    seen = []
    for line in runner.stderr:  # blocks until the fake is ready: no sleeping, no timing
        seen.append(line)
        if "fake shadow waits for a signal" in line:
            break
    os.kill(runner.pid, signal.SIGINT)
    rest = runner.stderr.read()
    assert runner.wait() == 128 + signal.SIGINT, seen + [rest]
    assert "run interrupted by SIGINT after " in rest
    assert "  hosts: Shadow did not run the simulation to its end, 0 logged a clean stop" in rest
    assert rest.rstrip().endswith(f"monerosim-actors run: interrupted by SIGINT; Shadow exited with exit code 1. "
                                  f"Partial output in {out}")
    assert "Received signal 2. Flushing log and exiting" in (out / "shadow.log").read_text()

def test_lines_split_across_reads_are_put_together_and_the_log_gets_every_byte(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from monerosim_actors.backends.progress import ProgressDisplay, Tally
    from monerosim_actors.backends.tail import EventTail

    monkeypatch.setattr(shadow, "READ_BYTES", 7)
    data = f"{STARTING}\n{SIDECHANNEL}\r\n{BAD_END_LINE}\nno newline at the end".encode()
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)  # fits in the pipe's buffer
    os.close(write_fd)
    output, stream = ShadowOutput(["pool-a"], 660.0), io.StringIO()
    display = ProgressDisplay(Tally({}), EventTail({}), stream, timing=output, tty=False, clock=Clock())
    with open(read_fd, "rb", buffering=0) as pipe, open(tmp_path / "log", "wb") as log_file:
        shadow._pump(pipe, log_file, output, display)  # type: ignore[arg-type]
    assert (tmp_path / "log").read_bytes() == data
    notes = [line for line in stream.getvalue().splitlines() if not line.startswith("[sim ")]
    assert notes == [STARTING, f"shadow WARN: {SIDECHANNEL.split('] ', 6)[-1]}",
                     f"shadow ERROR [00:05:30.000 pool-a] {BAD_END}", "shadow: no newline at the end"]
