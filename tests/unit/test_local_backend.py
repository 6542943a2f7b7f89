"""The local backend with fake hosts: order and start times, exit codes, failures naming the host,
the end of the run, SIGTERM then SIGKILL, strays left by a dead runtime, and nothing left behind."""

from __future__ import annotations

import json
from dataclasses import replace
import os
import signal
import sys
from pathlib import Path

import pytest

from monerosim_actors.backends import groups
from monerosim_actors.backends.local import LocalBackend, RunResult
from monerosim_actors.plan.model import Plan, ProcessPlan
from tests.unit.local_backend_plans import FakeHost, fake_plan


def events(out: Path, host: str) -> list[dict]:
    path = out / "shadow.data" / "hosts" / host / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(plan: Plan, out: Path, **kwargs: object) -> RunResult:
    result = LocalBackend(plan, str(out), **kwargs).run()  # type: ignore[arg-type]
    for child in result.children:
        assert not groups.group_alive(child.pgid), f"{child.host}/{child.name} left behind"
    return result


def test_hosts_start_in_plan_order_at_their_scaled_times(tmp_path: Path) -> None:
    plan = fake_plan([FakeHost("h0", start_s=0), FakeHost("h1", start_s=2), FakeHost("h2", start_s=2),
                      FakeHost("h3", start_s=4)])
    backend = LocalBackend(plan, str(tmp_path), time_scale=4.0)
    result = backend.run()
    assert result.exit_code == 0 and not result.failures
    assert [c.host for c in result.children] == ["h0", "h1", "h2", "h3"]
    # start_time_s / K after the run's start: 0, 0.5, 0.5, 1.0 s, never before (a busy machine may be late)
    offsets = [c.started_at - backend.started_at for c in result.children]
    for offset, due in zip(offsets, (0.0, 0.5, 0.5, 1.0)):
        assert due <= offset <= due + 1.0, offsets
    assert all(events(tmp_path, h)[0]["event"] == "host_started" for h in ("h0", "h1", "h2", "h3"))


def test_each_process_runs_in_its_data_dir_with_its_output_there_and_its_own_session(tmp_path: Path) -> None:
    result = run(fake_plan([FakeHost("h0"), FakeHost("h1")]), tmp_path)
    for child in result.children:
        data = tmp_path / "shadow.data" / "hosts" / child.host
        assert events(tmp_path, child.host)[0]["cwd"] == str(data)
        assert (data / "runtime.stdout").exists() and (data / "runtime.stderr").exists()
        assert child.pgid == child.popen.pid and child.pgid != os.getpgrp()


def test_the_run_ends_when_every_runtime_exited_not_at_the_stop_time(tmp_path: Path) -> None:
    # a stop time of 11 days: a backend that waited for it would hang until the test's timeout
    result = run(fake_plan([FakeHost("h0", seconds=0.2)], duration_s=10**6, stop_time_s=10**6 + 60), tmp_path)
    assert result.exit_code == 0 and result.interrupted is None


def test_a_failing_host_fails_the_run_and_the_message_names_it_with_its_log(tmp_path: Path) -> None:
    result = run(fake_plan([FakeHost("good"), FakeHost("bad", mode="fail")]), tmp_path)
    assert result.exit_code == 1
    (failure,) = result.failures
    assert failure.host == "bad"
    text = str(failure)
    assert text.startswith("host bad: runtime exited with code 3")
    assert "something broke: the fake was told to fail" in text
    assert "bad/runtime.stderr" in text


def test_a_host_that_cannot_be_started_is_a_failure_naming_it(tmp_path: Path) -> None:
    plan = fake_plan([FakeHost("h0")])
    broken = ProcessPlan("runtime", "/nonexistent/python", plan.hosts[0].processes[0].args, 0.0)
    plan = replace(plan, hosts=(replace(plan.hosts[0], processes=(broken,)),))
    result = run(plan, tmp_path)
    assert result.exit_code == 1
    assert "host h0: cannot start runtime (/nonexistent/python)" in str(result.failures[0])


def test_a_runtime_that_exits_0_without_logging_host_stopped_fails_its_host(tmp_path: Path) -> None:
    # `python: /bin/true` in a scenario: every "runtime" exits 0 at once and no host ever ran
    plan = fake_plan([FakeHost("h0"), FakeHost("h1")])
    silent = ProcessPlan("runtime", "/bin/true", plan.hosts[1].processes[0].args, 0.0)
    plan = replace(plan, hosts=(plan.hosts[0], replace(plan.hosts[1], processes=(silent,))))
    result = run(plan, tmp_path)
    assert result.exit_code == 1
    (failure,) = result.failures
    assert failure.host == "h1"
    assert str(failure).startswith("host h1: runtime exited 0 without logging host_stopped in events.jsonl")
    assert "/bin/true" in str(failure)


def test_hosts_still_running_after_the_stop_time_are_terminated_and_reported(tmp_path: Path) -> None:
    plan = fake_plan([FakeHost("h0", mode="hang"), FakeHost("h1", seconds=0.1)],
                     duration_s=0.5, stop_time_s=1.0)
    result = run(plan, tmp_path, stop_margin_s=0.5)
    assert result.exit_code == 1
    assert [f.host for f in result.failures] == ["h0"]
    assert "still running" in result.failures[0].message
    assert events(tmp_path, "h0")[-1]["event"] == "host_stopped"  # it got SIGTERM and stopped cleanly


def test_a_host_ignoring_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    plan = fake_plan([FakeHost("h0", mode="stubborn")], duration_s=0.5, stop_time_s=0.5)
    result = run(plan, tmp_path, stop_margin_s=0.5, term_timeout_s=1.0)
    (child,) = result.children
    assert child.killed and child.returncode == -signal.SIGKILL
    assert any("killed" in f.message for f in result.failures)


def test_interrupt_stops_every_group_and_exits_130(tmp_path: Path) -> None:
    plan = fake_plan([FakeHost(f"h{i}", mode="hang") for i in range(3)], duration_s=600, stop_time_s=660)
    backend: LocalBackend

    def interrupt_once_all_started() -> None:
        if all((tmp_path / "shadow.data" / "hosts" / f"h{i}" / "events.jsonl").exists() for i in range(3)):
            backend.interrupt(signal.SIGINT)

    backend = LocalBackend(plan, str(tmp_path), tick_s=0.05, on_tick=interrupt_once_all_started)
    result = backend.run()
    assert result.interrupted == signal.SIGINT and result.exit_code == 130
    assert not result.failures and not result.leftovers
    for i in range(3):
        assert events(tmp_path, f"h{i}")[-1]["event"] == "host_stopped"
    for child in result.children:
        assert not groups.group_alive(child.pgid)


@pytest.fixture
def fake_monerod(tmp_path: Path) -> str:
    """A program called ``monerod`` (a link to the interpreter) for strays and shadow-launched hosts."""
    link = tmp_path / "bin" / "monerod"
    link.parent.mkdir()
    link.symlink_to(sys.executable)
    return str(link)


def test_a_monerod_left_behind_by_its_runtime_is_stopped(tmp_path: Path, fake_monerod: str) -> None:
    out = tmp_path / "out"
    stray = (fake_monerod, "-c", "import threading; threading.Event().wait()", "--data-dir", f"{out}/x")
    plan = fake_plan([FakeHost("h0", mode="orphan", extra=stray)], monerod=fake_monerod)
    result = run(plan, out, term_timeout_s=5.0)
    started = [e for e in events(out, "h0") if e["event"] == "process_started"]
    pid = started[0]["pid"]
    info = groups.read_proc(pid)
    assert info is None or info.zombie, f"the stray monerod {pid} survived the run"
    assert result.exit_code == 0 and not result.leftovers
    assert groups.strays(str(out), [fake_monerod]) == []


def test_shadow_launch_mode_starts_the_hosts_programs_and_stops_them_at_the_end(
        tmp_path: Path, fake_monerod: str) -> None:
    ready = tmp_path / "monerod-ran"
    monerod = ProcessPlan("monerod", fake_monerod, (
        "-c", f"import pathlib, threading; pathlib.Path({str(ready)!r}).touch(); threading.Event().wait()"),
        0.0)
    # the runtime ends once the monerod ran, however long the machine takes to start it
    plan = fake_plan([FakeHost("h0", mode="until", extra=(str(ready),), more=(monerod,))], launch_mode="shadow",
                     monerod=fake_monerod)
    result = run(plan, tmp_path / "out")
    assert ready.exists()
    assert [c.name for c in result.children] == ["runtime", "monerod"]
    monerod_child = result.children[1]
    assert monerod_child.ended_by_parent and monerod_child.returncode is not None
    assert result.exit_code == 0, result.failures


def test_runtime_launch_mode_leaves_the_programs_to_the_runtime(tmp_path: Path, fake_monerod: str) -> None:
    monerod = ProcessPlan("monerod", fake_monerod, ("-c", "raise SystemExit(9)"), 0.0)
    result = run(fake_plan([FakeHost("h0", more=(monerod,))], launch_mode="runtime"), tmp_path)
    assert [c.name for c in result.children] == ["runtime"]


def test_on_tick_is_called_while_the_run_goes_on(tmp_path: Path) -> None:
    count: list[int] = []
    enough = tmp_path / "three-ticks"

    def tick() -> None:
        count.append(1)
        if len(count) == 3:
            enough.touch()

    # the run goes on until the third tick, however slowly the machine starts the host
    run(fake_plan([FakeHost("h0", mode="until", extra=(str(enough),))]), tmp_path / "out", tick_s=0.1, on_tick=tick)
    assert len(count) >= 3


def test_the_grace_after_sigterm_outlasts_the_runtimes_own_worst_graceful_stop(tmp_path: Path) -> None:
    from monerosim_actors.backends.local import TERM_TIMEOUT_S
    from monerosim_actors.runtime import system
    from monerosim_actors.runtime.process import ProcessSpec
    from monerosim_actors.runtime.stopping import KILL_WAIT_S

    spec = ProcessSpec("wallet", (), str(tmp_path), probe=lambda: None, stop_rpc=lambda: None)
    waits = spec.stop_timeout_s + spec.term_timeout_s + KILL_WAIT_S  # a supervisor's, after its stop RPC
    worst = (system.PROBE_TIMEOUT_S + system.ROLE_STOP_TIMEOUT_S
             + system.WALLET_STORE_TIMEOUT_S + system.PROBE_TIMEOUT_S + waits  # the wallet: store, stop
             + system.PROBE_TIMEOUT_S + waits)  # monerod: stop_daemon
    assert system.graceful_stop_bound_s() == worst == 180.0
    assert LocalBackend(fake_plan([FakeHost("h0")]), str(tmp_path)).term_timeout_s == TERM_TIMEOUT_S > worst
