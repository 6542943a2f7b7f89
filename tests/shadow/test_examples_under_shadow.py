"""The example scenarios under a real Shadow: ``run --backend shadow``, then ``analyze``.

Each scenario runs to the end under Shadow (stock 3.3.0 with the project's compatibility shim), and
its analysed logs must show a whole run: every host stopped cleanly, every pool mined scheduled
blocks, payments were confirmed, every node ended within 2 blocks of the others, and no bus message
arrived sooner than the network path between its two hosts allows (Shadow's clock is shared by
all hosts, so that is a law, not a tolerance). ``regions_example`` also answers two more questions:
the bus's steady-state latency against paths of 10, 45 and 110 ms, and whether wallet-only hosts
pay and are paid through their public nodes. Skipped where ``shadow`` is not on PATH.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_binary

ROOT = Path(__file__).resolve().parents[2]
SHADOW = shutil.which("shadow")
SHADOW_SKIP_REASON = ("Shadow is not installed (no `shadow` on PATH): build Shadow 3.3.0 from its release "
                      "tag and put it on PATH (docs/shadow.md, 'Which Shadow')")

pytestmark = [pytest.mark.shadow, pytest.mark.e2e, pytest.mark.skipif(SHADOW is None, reason=SHADOW_SKIP_REASON)]

EXAMPLES = ["quickstart", "custom_role", "regions_example", "gml_example"]
REGIONS_PATHS_MS = {10.0, 45.0, 110.0}
"""The paths between ``regions_example``'s regions and the coordination services' (europe)."""
STEADY_TOLERANCE = 0.01
"""The steady-state p50 may exceed the path by at most 1%: what remains is Shadow's modelled time for
the system calls and clock reads on the way, tens of microseconds."""
HEIGHT_SPREAD = 2
"""Nodes may end this many blocks apart: a block mined in the last moments may not have reached all."""


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monerosim_actors", *args], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)


def _run_and_analyze(config: Path, out: Path) -> None:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    ran = _cli("run", str(config), "-o", str(out), "--backend", "shadow")
    assert ran.returncode == 0, f"Shadow run failed:\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    analyzed = _cli("analyze", str(out))
    assert analyzed.returncode == 0, f"analyze failed:\n{analyzed.stderr[-3000:]}"
    assert (out / "report" / "report.md").is_file()


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Runs and analyses an example under Shadow the first time a test asks for it, and gives later
    askers the same output folder.

    A Shadow run of an example takes minutes, most of them the nodes' start; the tests that read the
    same example share one run instead of each making its own. Every test still runs alone (with
    ``-k``): it then makes the run itself. A run that failed is not kept, so each asker sees the failure.
    """
    done: dict[str, Path] = {}

    def run(example: str) -> Path:
        if example not in done:
            out = tmp_path_factory.mktemp(example) / example
            _run_and_analyze(ROOT / "configs" / f"{example}.yaml", out)
            done[example] = out
        return done[example]
    return run


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("example", EXAMPLES)
def test_example_runs_to_the_end_under_shadow(example: str, example_run: Callable[[str], Path]) -> None:
    _assert_whole_run(example_run(example))


@pytest.mark.timeout(1800)
def test_wallet_only_hosts_pay_and_are_paid_through_their_public_node(
        example_run: Callable[[str], Path]) -> None:
    from monerosim_actors.analysis import load_run

    run = load_run(example_run("regions_example"))
    remote = {h.name: h for h in run.plan.hosts if h.remote}
    assert {h.role for h in remote.values()} == {"regular_user", "marketplace"}
    started = run.events["process_started"]
    programs = started.groupby("host")["name"].agg(set).to_dict()
    for name, host in remote.items():
        assert programs[name] == {"wallet"}, f"{name} ran {programs[name]}, not only its wallet"
        argv = started.loc[started["host"] == name, "argv"].iloc[0]
        assert "--untrusted-daemon" in argv and host.wallet.daemon_address in argv
    assert programs["public-node-0"] == programs["public-node-1"] == {"monerod"}
    confirmed = run.payments[run.payments["confirmed_at"].notna()]
    assert set(confirmed["user"]) == {n for n, h in remote.items() if h.role == "regular_user"}, \
        "every wallet-only user had a payment confirmed"
    assert set(confirmed["marketplace"]) == {n for n, h in remote.items() if h.role == "marketplace"}, \
        "every wallet-only marketplace was paid"
    seen = set(run.block_seen["node"])
    assert not seen & set(remote), "a wallet-only host logs no block_seen of its own"


@pytest.mark.timeout(1800)
def test_browsers_tell_each_other_their_tip_over_the_bus(example_run: Callable[[str], Path]) -> None:
    """``custom_role``'s browsers say ``talks_to: [browser]``: their tips reach each other under
    Shadow (they were dropped as ``no_route`` before role hosts could listen), and the report shows
    their latency."""
    from monerosim_actors.analysis import load_run

    out = example_run("custom_role")
    run = load_run(out)
    tips = run.messages[run.messages["type"] == "browser_tip_shared"]
    assert len(tips) > 0 and tips["recv_at"].notna().all(), "every tip sent was received"
    assert set(tips["dst"]) == {"browser-0", "browser-1"}
    assert set(run.events["tip_shared"]["host"]) == {"browser-0", "browser-1"}
    dropped = run.events.get("msg_dropped")
    assert dropped is None or dropped[dropped["reason"] == "no_route"].empty
    assert "browser_tip_shared" in (out / "report" / "report.md").read_text()


@pytest.mark.timeout(1800)
def test_transactions_spread_as_a_correct_run_must(example_run: Callable[[str], Path]) -> None:
    """The quickstart's users run nodes of their own: every node logs `tx_seen`, no node shows a
    transaction sooner after its send than the path from the sender's node allows, the reach times are
    in order, every confirmed payment became public, and the report sets the first spy beside
    Dandelion++'s prediction. (A node that held a transaction on its stem when the block came never
    shows it, nor does the node that fluffed it: so not every node shows every transaction.)"""
    from monerosim_actors.analysis import load_run
    from monerosim_actors.analysis.transactions import law_violations

    out = example_run("quickstart")
    run = load_run(out)
    assert len(run.tx_seen) > 0
    assert law_violations(run.transactions, run.tx_seen, run.plan) == []
    nodes = {h.name for h in run.plan.hosts if h.monerod is not None}
    confirmed = run.transactions[run.transactions["confirmed_at"].notna()]
    assert len(confirmed) > 0
    assert (confirmed["nodes_seen"] >= 1).all(), "every confirmed payment became public"
    assert set(run.tx_seen["node"]) == nodes, "every node showed transactions"
    summary = json.loads((out / "report" / "summary.json").read_text())["transactions"]
    assert summary["spy_all_nodes"]["precision"] is not None and summary["dandelion_prediction"]["precision"]
    assert "Dandelion++'s constants" in (out / "report" / "report.md").read_text()


@pytest.mark.timeout(1800)
def test_steady_state_latency_is_the_path_latency_within_one_percent(
        example_run: Callable[[str], Path]) -> None:
    out = example_run("regions_example")
    network = json.loads((out / "report" / "summary.json").read_text())["network"]
    rows = {row["path_ms"]: row for row in network["by_path"] if row["steady"]}
    assert set(rows) == REGIONS_PATHS_MS, f"paths with steady-state messages: {sorted(rows)}"
    for path_ms, row in rows.items():
        assert path_ms <= row["p50_ms"] <= path_ms * (1 + STEADY_TOLERANCE), row
    report = (out / "report" / "report.md").read_text()
    assert "modelled" in report and "syscall" in report, "the report says what the remainder is"


def _assert_whole_run(out: Path) -> Any:
    """The analysed run in ``out`` is whole: clean stops, scheduled blocks by every pool, confirmed
    payments, nodes within :data:`HEIGHT_SPREAD` blocks, no message faster than its path."""
    from monerosim_actors.analysis import load_run
    from monerosim_actors.analysis.checks import check_consistency
    from monerosim_actors.analysis.paths import faster_than_path
    from monerosim_actors.analysis.summary import final_heights

    run = load_run(out)
    stops = run.events["host_stopped"]
    assert sorted(stops["host"]) == sorted(h.name for h in run.plan.hosts), "every host logged host_stopped"
    assert set(stops["exit_code"]) == {0}
    assert check_consistency(run) == []

    pools = {str(h.params["pool_id"]) for h in run.plan.hosts if h.role == "mining_pool"}
    scheduled = run.blocks[run.blocks["phase"] == "schedule"]
    assert set(scheduled["pool_id"]) == pools, f"pools with scheduled blocks: {set(scheduled['pool_id'])}"

    assert run.payments["confirmed_at"].notna().sum() > 0, "no payment was confirmed"

    heights = {h: v for h, v in final_heights(run).items()}
    assert None not in heights.values(), f"nodes that saw no block: {heights}"
    top = [v for v in heights.values() if v is not None]
    assert max(top) - min(top) <= HEIGHT_SPREAD, f"final heights: {heights}"

    delivered = run.messages[run.messages["recv_at"].notna()]
    assert len(delivered) > 0
    too_fast = faster_than_path(run.messages)
    assert too_fast.empty, f"messages faster than their network path:\n{too_fast.head(10)}"
    return run
