"""Latency against the network: which message opened its connection, and how runs report it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from monerosim_actors.analysis import load_run, summarize, write_report
from monerosim_actors.analysis.connections import first_on_connection

GOLDEN = Path(__file__).parents[1] / "golden" / "analysis"
SERVICES = {"controller", "directory"}


def messages(*rows: tuple[str, str, float, float | None]) -> pd.DataFrame:
    """Rows of (src, dst, sent_at, recv_at), in send order."""
    src, dst, sent, recv = zip(*rows)
    return pd.DataFrame({"src": src, "dst": dst, "sent_at": sent,
                         "recv_at": [np.nan if r is None else r for r in recv]})


def starts(*rows: tuple[str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["host", "t"])


def test_only_the_clients_first_delivered_message_opens_the_connection() -> None:
    m = messages(("user", "directory", 1.0, None),      # lost: it opened nothing seen
                 ("user", "directory", 2.0, 2.1),       # first delivered on user's DEALER
                 ("directory", "user", 2.2, 2.3),       # the reply, same connection
                 ("user", "directory", 3.0, 3.1),
                 ("user", "controller", 4.0, 4.1),      # another service, another connection
                 ("controller", "user", 5.0, 5.1))
    flags = first_on_connection(m, SERVICES, starts(("user", 0.0), ("directory", 0.0)))
    assert flags.tolist() == [False, True, False, False, True, False]


def test_a_service_that_speaks_first_opens_nothing() -> None:
    m = messages(("controller", "pool", 1.0, 1.1), ("pool", "controller", 2.0, 2.1))
    assert first_on_connection(m, SERVICES, starts()).tolist() == [False, True]


def test_two_services_talk_over_one_connection_each_way() -> None:
    m = messages(("controller", "directory", 1.0, 1.1), ("directory", "controller", 2.0, 2.1),
                 ("controller", "directory", 3.0, 3.1))
    assert first_on_connection(m, SERVICES, starts()).tolist() == [True, True, False]


def test_a_restart_at_either_end_opens_a_new_connection() -> None:
    m = messages(("pool", "controller", 1.0, 1.1),
                 ("pool", "controller", 2.0, 2.1),
                 ("pool", "controller", 11.0, 11.1),    # the pool's runtime started again at 10
                 ("pool", "controller", 12.0, 12.1),
                 ("pool", "controller", 19.9, 20.3),    # queued while the controller restarted
                 ("pool", "controller", 21.0, 21.1))
    s = starts(("pool", 0.0), ("pool", 10.0), ("controller", 0.0), ("controller", 20.0))
    assert first_on_connection(m, SERVICES, s).tolist() == [True, False, True, False, True, False]


def test_a_local_run_reports_zero_paths_and_says_why(tmp_path: Path) -> None:
    out = tmp_path / "local"
    shutil.copytree(GOLDEN / "run", out)
    plan = json.loads((out / "plan.json").read_text())
    plan["addressing"] = "loopback"
    (out / "plan.json").write_text(json.dumps(plan))
    run = load_run(out)
    delivered = run.messages[run.messages["recv_at"].notna()]
    assert (delivered["path_ms"] == 0.0).all()
    assert (delivered["excess_ms"] == delivered["latency_ms"]).all()
    network = summarize(run)["network"]
    assert network["backend"] == "local"
    assert [(r["path_ms"], r["excess_p50_pct"]) for r in network["by_path"]] == [(0.0, None)]
    report = write_report([run], tmp_path / "report").read_text()
    assert "Local backend: the hosts talk over loopback" in report
    assert "modelled syscall latency" not in report


def test_the_report_states_the_path_the_excess_and_the_remainder(tmp_path: Path) -> None:
    report = write_report([load_run(GOLDEN / "run")], tmp_path).read_text()
    assert "## Latency against the network" in report
    assert "the graph generated from the scenario's regions (`network.gml`)" in report
    assert ("5 first messages: excess p50 15 ms, p90 36 ms. 10 steady-state messages (the other "
            "delivered ones): excess p50 15 ms, p90 25 ms, p99 25 ms.") in report
    assert "| 35 | 2 | 7 | 50 | 15 | 42.857 | 1 | 15 |" in report
    assert "The remainder under Shadow is its modelled syscall latency." in report
    assert "(`experimental.unblocked_syscall_latency`: 1 us, Shadow's default)" in report


def test_a_generated_folder_run_locally_is_told_by_its_hosts_addresses(tmp_path: Path) -> None:
    """``run OUT`` on the local backend keeps gen's plan (laid out for Shadow) and places it on
    loopback at run time: the hosts' ``host_started`` lines say where they ran."""
    out = tmp_path / "local"
    shutil.copytree(GOLDEN / "run", out)
    for log in out.glob("shadow.data/hosts/*/events.jsonl"):
        log.write_text(log.read_text().replace('"ip": "11.0.', '"ip": "127.10.'))
    run = load_run(out)
    assert run.plan.addressing == "loopback"
    assert summarize(run)["network"]["backend"] == "local"
    assert summarize(load_run(GOLDEN / "run"))["network"]["backend"] == "shadow"


def test_a_routes_first_message_is_first_on_its_connection() -> None:
    """A tipper's first message to another tipper opens its route; the answer rides on it."""
    m = pd.DataFrame({"src": ["tipper-0", "tipper-1", "tipper-0"], "dst": ["tipper-1", "tipper-0", "tipper-1"],
                      "sent_at": [1.0, 2.0, 3.0], "recv_at": [1.1, 2.1, 3.1]})
    assert first_on_connection(m, SERVICES, starts(), routes={("tipper-0", "tipper-1")}).tolist() == \
        [True, False, False]
