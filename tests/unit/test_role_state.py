"""State a role keeps on disk so that a restarted host resumes: the file itself, and the block
controller that does not bootstrap again and continues its schedule's draws after a restart."""

from __future__ import annotations

from pathlib import Path


from monerosim_actors.role import state as role_state
from monerosim_actors import testing as role_fakes
from tests.unit.test_block_controller import _net


def test_state_round_trips_and_a_missing_or_torn_file_is_empty(tmp_path: Path) -> None:
    assert role_state.load(str(tmp_path), "r") == {}
    role_state.save(str(tmp_path), "r", {"a": 1})
    assert role_state.load(str(tmp_path), "r") == {"a": 1}
    (tmp_path / "r.state.json").write_text('{"a": ')
    assert role_state.load(str(tmp_path), "r") == {}
    role_state.save(None, "r", {"a": 2})  # no data dir: nothing kept
    assert role_state.load(None, "r") == {}


def _schedule(net: role_fakes.FakeNet) -> list[tuple[int, str]]:
    return [(e["order"], e["pool_id"]) for e in net.events("block-controller").named("mine_ordered")
            if e["phase"] == "schedule"]


def test_a_restarted_controller_resumes_the_schedule_without_a_second_bootstrap(tmp_path: Path) -> None:
    reference, _ = _net()
    reference.start()
    reference.run(until=120 * 40)

    first, _ = _net(data_dir=str(tmp_path))
    first.start()
    first.run(until=120 * 20)
    before = _schedule(first)
    second, _ = _net(data_dir=str(tmp_path))  # the same host started again: same data dir, fresh memory
    second.start()
    second.run(until=120 * 20)
    ev = second.events("block-controller")
    assert ev.named("controller_resumed")[0]["blocks_drawn"] == len(before) + 1  # one more was pending
    assert not ev.named("bootstrap_step") and not ev.named("bootstrap_done")
    after = _schedule(second)
    assert after and after[0][0] > before[-1][0]  # order numbers go on, never reused
    # the draws continue where they stopped: the block that fell due while down is the one skipped
    expected = [p for _, p in _schedule(reference)]
    assert [p for _, p in before] == expected[:len(before)]
    assert [p for _, p in after] == expected[len(before) + 1:len(before) + 1 + len(after)]


def test_analysis_reports_a_pause_in_the_schedule_as_a_gap(tmp_path: Path) -> None:
    """A controller down for a while: the orders before and after, a long pause between them."""
    import json
    import shutil

    from monerosim_actors.analysis import load_run, summarize
    from tests.unit.test_analysis import GOLDEN
    shutil.copytree(GOLDEN / "run", tmp_path / "run")
    log = next((tmp_path / "run").glob("shadow.data/hosts/block-controller/events.jsonl"))
    block_time = load_run(tmp_path / "run").plan.consensus.block_time_s
    last = [json.loads(line) for line in log.read_text().splitlines()][-1]
    t = last["t"] + 1000 * block_time
    lines = [{"t": t + i * block_time, "host": "block-controller", "actor": "block_controller", "event": e, **f}
             for i, (e, f) in enumerate([
                 ("controller_resumed", {"bootstrap_height": 80, "next_order": 9, "blocks_drawn": 4}),
                 ("mine_ordered", {"order": 9, "pool_id": "pool_alpha", "pool_host": "pool-alpha", "count": 1,
                                   "phase": "schedule"})])]
    with log.open("a") as f:
        f.writelines(json.dumps(line) + "\n" for line in lines)
    blocks = summarize(load_run(tmp_path / "run"))["blocks"]
    assert blocks["controller_resumed"] == 1
    (gap,) = blocks["schedule_gaps"]
    assert gap["duration_s"] > 1000 * block_time


def test_a_restarted_directory_asks_missing_marketplaces_again_until_they_register() -> None:
    """Right after a restart the marketplaces' connections are not back and the first request is lost."""
    from monerosim_actors.coordination.marketplace_directory import MarketplaceDirectory
    from monerosim_actors.coordination.messages import RegisterVendors, VendorsRequested
    from monerosim_actors.testing import deliver
    net = role_fakes.FakeNet()
    net.add(MarketplaceDirectory, "marketplace-directory", "marketplace_directory",
            {"marketplaces": [{"marketplace_id": "m0", "host": "market-0"}]}, node=False)
    net.start()
    net.run(until=25)
    asked = [e for e in net.sent if isinstance(e.body, VendorsRequested) and e.dst == "market-0"]
    assert len(asked) == 3  # at 0, 10 and 20 s
    deliver(net, "market-0", "marketplace-directory", RegisterVendors(marketplace_id="m0", addresses=("a",)))
    net.run(until=60)
    assert len([e for e in net.sent if isinstance(e.body, VendorsRequested)]) == 3
