"""The local backend's run-time choices (time scale, loopback placement) reach the host runtimes
through their environment, never through a generated file, and no role can see the time scale."""

from __future__ import annotations

import dataclasses
import inspect
import ipaddress
import json
from pathlib import Path

import pytest

from monerosim_actors.backends.local import LocalBackend, placed
from monerosim_actors.errors import MonerosimError
from monerosim_actors.plan.addresses import RELOCATION_ENV, Relocation, addresses
from monerosim_actors.plan.model import HostConfig, host_config
from monerosim_actors.plan.planner import build_plan
from monerosim_actors.role import RoleActor
from monerosim_actors.runtime.clock import TIME_SCALE_ENV
from monerosim_actors.runtime.context import HostContext, TimerService
from monerosim_actors.runtime.host import apply_run_choices, run_seconds
from monerosim_actors.scenario.load import load_scenario
from monerosim_actors.testing.net import FakeNet
from tests.unit.local_backend_plans import FakeHost, fake_plan

REPO = Path(__file__).resolve().parents[2]


def _names(obj: object) -> list[str]:
    if dataclasses.is_dataclass(obj):
        return [f.name for f in dataclasses.fields(obj)]
    return list(inspect.signature(obj).parameters)  # type: ignore[arg-type]


@pytest.mark.parametrize("surface", [
    HostConfig, HostContext, RoleActor.after, RoleActor.timeout, TimerService.call_later,
    TimerService.call_timeout, FakeNet.add])
def test_no_role_facing_surface_offers_the_time_scale(surface: object) -> None:
    assert not [name for name in _names(surface) if "scale" in name]


def test_no_role_mentions_the_time_scale() -> None:
    for path in [*REPO.glob("actors/*.py"), *REPO.glob("coordination/*.py")]:
        text = path.read_text()
        assert "time_scale" not in text and "scaled=" not in text, path


def test_a_generated_host_config_holds_no_run_time_choice(tmp_path: Path) -> None:
    plan = build_plan(load_scenario(str(REPO / "configs" / "quickstart.yaml")), out_dir=str(tmp_path))
    text = host_config(plan, plan.hosts[3]).to_json()
    assert "scale" not in text and "127." not in text


def test_the_runtime_takes_the_backends_choices_from_its_environment(tmp_path: Path) -> None:
    plan = build_plan(load_scenario(str(REPO / "configs" / "quickstart.yaml")), out_dir=str(tmp_path))
    config = host_config(plan, plan.host("user-0"))
    assert apply_run_choices(config, {}) == (config, 1.0), "under Shadow: as gen wrote it, K = 1"
    moved, k = apply_run_choices(config, {TIME_SCALE_ENV: "6",
                                          RELOCATION_ENV: f"{plan.hosts[0].ip}>127.63.0.1"})
    assert k == 6.0 and run_seconds(moved, k) == pytest.approx((plan.duration_s - config.host.start_time_s) / 6)
    index = [h.name for h in plan.hosts].index("user-0")
    assert moved.host.ip == list(addresses("127.63.0.1", index + 1))[-1]
    assert moved.services["block_controller"].ip == "127.63.0.1"
    assert moved.host.node is not None and ipaddress.IPv4Address(moved.host.node.ip).is_loopback
    assert moved.host.wallet is not None and moved.host.wallet.daemon_address.startswith("127.63.0.")
    for bad in ({TIME_SCALE_ENV: "0"}, {TIME_SCALE_ENV: "fast"}, {RELOCATION_ENV: "11.0.0.1"}):
        with pytest.raises(MonerosimError):
            apply_run_choices(config, bad)


def test_placing_a_plan_on_loopback_moves_every_address_and_keeps_the_rest(tmp_path: Path) -> None:
    plan = build_plan(load_scenario(str(REPO / "configs" / "gml_example.yaml")), out_dir=str(tmp_path))
    local = placed(plan, "127.64.0.1")
    assert local.addressing == "loopback" and plan.addressing == "shadow"
    by_shadow_ip = {h.ip: l.ip for h, l in zip(plan.hosts, local.hosts)}
    assert all(ipaddress.IPv4Address(ip).is_loopback for ip in by_shadow_ip.values())
    assert len(set(by_shadow_ip.values())) == len(plan.hosts)
    for before, after in zip(plan.hosts, local.hosts):
        assert dataclasses.replace(after, ip=before.ip, monerod=before.monerod, wallet=before.wallet,
                                   node=before.node, processes=before.processes) == before
        if before.monerod is not None and after.monerod is not None:
            assert [by_shadow_ip[p.split(":")[0]] + ":18080" for p in before.monerod.peers] == list(after.monerod.peers)
        for old, new in zip(before.processes, after.processes):  # launch: shadow: monerod's argv too
            assert [Relocation(plan.hosts[0].ip, "127.64.0.1").arg(a) for a in old.args] == list(new.args)
            assert not any(a.startswith(("11.", "tcp://11.")) for a in new.args)
    assert placed(local, "127.65.0.1") == local, "a plan already on loopback stays where it is"


def test_the_local_backend_hands_its_choices_to_each_runtime_in_its_environment(tmp_path: Path) -> None:
    loopback = fake_plan([FakeHost("h0"), FakeHost("h1")])
    shadow = dataclasses.replace(loopback, addressing="shadow", hosts=tuple(
        dataclasses.replace(h, ip=ip) for h, ip in zip(loopback.hosts, addresses("11.0.0.1", 2))))
    result = LocalBackend(shadow, str(tmp_path), time_scale=5.0, first_address="127.66.0.1").run()
    assert result.exit_code == 0
    for host in ("h0", "h1"):
        log = tmp_path / "shadow.data" / "hosts" / host / "events.jsonl"
        started = json.loads(log.read_text().splitlines()[0])
        env = {k: v for k, v in started["env"].items() if k in (TIME_SCALE_ENV, RELOCATION_ENV)}
        assert env == {TIME_SCALE_ENV: "5.0", RELOCATION_ENV: "11.0.0.1>127.66.0.1"}
