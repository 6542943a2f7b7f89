"""`run --backend local`'s verdict: a host whose runtime exited 0 without ever running (no
``host_stopped``) fails the run, and the command says which host and why."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from monerosim_actors.commands.run import _run_local
from monerosim_actors.plan.model import ProcessPlan
from tests.unit.local_backend_plans import FakeHost, fake_plan


def test_a_runtime_that_never_ran_its_host_fails_the_run_naming_it(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    plan = fake_plan([FakeHost("h0"), FakeHost("h1")])
    silent = ProcessPlan("runtime", "/bin/true", (), 0.0)
    plan = replace(plan, hosts=(plan.hosts[0], replace(plan.hosts[1], processes=(silent,))))
    assert _run_local(plan, str(tmp_path), 1.0, "127.60.0.1") == 1
    out, err = capsys.readouterr()
    assert "run FAILED after " in out and "1 logged a clean stop" in out
    assert "  host h1: runtime exited 0 without logging host_stopped" in out
    assert err.splitlines()[-1] == "monerosim-actors run: failed on h1 (see the failures above)"
