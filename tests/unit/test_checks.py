"""check_consistency names every host that ended non-zero or whose actor or bus thread died."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from monerosim_actors.analysis import Run, check_consistency, load_run
from monerosim_actors.analysis.checks import host_failures

GOLDEN = Path(__file__).parents[1] / "golden" / "analysis"


@pytest.fixture(scope="module")
def run() -> Run:
    return load_run(GOLDEN / "run")


def _with(run: Run, **events: pd.DataFrame) -> Run:
    return dataclasses.replace(run, events={**run.events, **events})


def _stopped(run: Run, host: str, **fields: object) -> pd.DataFrame:
    """The run's host_stopped lines, ``host``'s with ``fields`` changed."""
    df = run.events["host_stopped"].copy()
    for key, value in fields.items():
        if key not in df:
            df[key] = None
        df.loc[df["host"] == host, key] = value
    return df


def test_a_clean_run_has_no_host_failure(run: Run) -> None:
    assert host_failures(run) == []


def test_a_dead_role_is_named_with_its_host_actor_and_error(run: Run) -> None:
    failed = pd.DataFrame([{"t": 946684800.5, "host": "block-controller", "actor": "block_controller",
                            "event": "actor_failed", "error_type": "KeyError", "error": "'pool_beta'"}])
    stopped = _stopped(run, "block-controller", reason="actor_failed", exit_code=3,
                       detail="block_controller: KeyError: 'pool_beta'")
    problems = check_consistency(_with(run, actor_failed=failed, host_stopped=stopped))
    assert problems == ["host block-controller: actor block_controller failed: KeyError: 'pool_beta'; "
                        "stopped with exit code 3 (actor_failed)"]


def test_an_actor_failure_is_a_problem_even_if_the_host_exited_0(run: Run) -> None:
    # a log from before the runtime stopped on it, or a failure while it was stopping anyway
    failed = pd.DataFrame([{"t": 1.0, "host": "user-0", "actor": "regular_user", "event": "actor_failed",
                            "error_type": "ValueError", "error": "x"}])
    assert host_failures(_with(run, actor_failed=failed)) == [
        "host user-0: actor regular_user failed: ValueError: x"]


def test_a_non_zero_exit_and_a_dead_bus_thread_are_named_in_plan_order(run: Run) -> None:
    stopped = _stopped(run, "user-0", reason="process_failed", exit_code=1,
                       detail="monerod: exited 6 times in a row")
    stopped.loc[stopped["host"] == "pool-alpha", ["reason", "exit_code", "detail"]] = [
        "bus_failed", 3, "bus thread: TypeError: x"]
    bus = pd.DataFrame([{"t": 1.0, "host": "pool-alpha", "actor": "bus", "event": "bus_failed",
                         "error": "TypeError: x"}])
    problems = host_failures(_with(run, host_stopped=stopped, bus_failed=bus))
    order = list(run.hosts["host"])
    assert order.index("pool-alpha") < order.index("user-0")
    assert problems == [
        "host pool-alpha: bus thread failed: TypeError: x; stopped with exit code 3 (bus_failed)",
        "host user-0: stopped with exit code 1 (process_failed: monerod: exited 6 times in a row)",
    ]


def test_a_stop_line_without_an_exit_code_is_no_problem(run: Run) -> None:
    stopped = run.events["host_stopped"].drop(columns=["exit_code"])
    assert host_failures(_with(run, host_stopped=stopped)) == []
