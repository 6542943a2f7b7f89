"""State a role keeps on disk so that a restarted host resumes: the file itself, and the block
controller that does not bootstrap again and continues its schedule's draws after a restart."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from monerosim_actors import role_state
from monerosim_actors.runtime.context import HostContext
from tests.unit import role_fakes
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


def test_a_restarted_controller_resumes_the_schedule_without_a_second_bootstrap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference, _ = _net()
    reference.start()
    reference.run(until=120 * 40)

    monkeypatch.setattr(role_fakes, "HostContext", functools.partial(HostContext, data_dir=str(tmp_path)))
    first, _ = _net()
    first.start()
    first.run(until=120 * 20)
    before = _schedule(first)
    second, _ = _net()  # the same host started again: same data dir, fresh memory
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
