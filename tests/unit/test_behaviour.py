"""RoleActor: hook dispatch, tasks with weights, wait times, parameters, errors, determinism."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from scipy import stats

from monerosim_actors.wire import Envelope, Message, Ping
from monerosim_actors.role.actor import RoleActor, between, constant, exponential, task
from monerosim_actors.errors import RpcTimeout
from monerosim_actors.runtime.messages import ChainAdvanced, Delivered, ProcessRestarted, TxpoolAdded
from monerosim_actors.runtime.scheduler import Scheduler
from monerosim_actors.testing import FakeNet


class Shop(RoleActor):
    wait_time = constant(10)
    start_after_s = 100
    greeting = "hi"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.ran: list[tuple[float, str]] = []
        self.seen: list[object] = []

    @task(3)
    def browse(self) -> None:
        self.ran.append((self.ctx.clock.now(), "browse"))

    @task
    def buy(self) -> None:
        self.ran.append((self.ctx.clock.now(), "buy"))

    def on_message(self, body: Message, env: Envelope) -> None:
        self.seen.append(body)

    def on_chain_advanced(self, msg: ChainAdvanced) -> None:
        self.seen.append(msg)

    def on_txpool_added(self, msg: TxpoolAdded) -> None:
        self.seen.append(msg)

    def on_process_restarted(self, msg: ProcessRestarted) -> None:
        self.seen.append(msg)


def _shop(params: dict[str, Any] | None = None, seed: int = 1) -> tuple[FakeNet, Shop]:
    net = FakeNet()
    shop = net.add(Shop, "shop-0", "shop", params or {}, node=False, seed=seed)
    return net, shop


def test_first_task_after_start_after_plus_one_wait_then_every_wait() -> None:
    net, shop = _shop()
    t0 = net.clock.t
    net.start()
    net.run(until=135)
    assert [round(t - t0) for t, _ in shop.ran] == [110, 120, 130]


def test_task_choice_follows_weights() -> None:
    net, shop = _shop({"wait_time": 1})
    net.start()
    net.run(until=100 + 8000.5)
    counts = Counter(name for _, name in shop.ran)
    total = sum(counts.values())
    assert total == 8000
    chi = stats.chisquare([counts["browse"], counts["buy"]], [total * 0.75, total * 0.25])
    assert chi.pvalue > 0.01


def test_params_override_class_attributes() -> None:
    net, shop = _shop({"greeting": "hello", "start_after_s": 0, "wait_time": {"between": [1, 2]},
                       "task_weights": {"buy": 0}, "free_param": 5})
    assert shop.greeting == "hello" and shop.start_after_s == 0
    assert shop.wait_time == between(1, 2)
    assert shop.params["free_param"] == 5
    assert not hasattr(shop, "free_param")
    net.start()
    net.run(until=50)
    assert shop.ran and {name for _, name in shop.ran} == {"browse"}
    assert Shop.greeting == "hi" and Shop.wait_time == constant(10)


def test_params_cannot_replace_methods() -> None:
    _, shop = _shop({"buy": 1, "on_message": 2})
    assert callable(shop.buy) and callable(shop.on_message)


def test_unknown_task_weight_is_an_error() -> None:
    with pytest.raises(ValueError, match="has no task 'steal'"):
        _shop({"task_weights": {"steal": 1}})


def test_stop_and_restart_tasks() -> None:
    net, shop = _shop({"start_after_s": 0})
    net.start()
    net.run(until=25)
    assert len(shop.ran) == 2
    shop.stop_tasks()
    net.run(until=100)
    assert len(shop.ran) == 2 and not shop.tasks_running
    shop.start_tasks()
    net.run(until=10)
    assert len(shop.ran) == 3


def test_same_seed_same_decisions_other_seed_others() -> None:
    def run(seed: int) -> list[str]:
        net, shop = _shop({"wait_time": {"exponential": 5}}, seed=seed)
        net.start()
        net.run(until=2000)
        return [name for _, name in shop.ran]
    assert run(1) == run(1)
    assert run(1) != run(2)


def test_rng_is_seeded_from_seed_host_and_role() -> None:
    _, shop = _shop()
    import random
    assert shop.rng.random() == random.Random("1/shop-0/shop").random()


class Fragile(RoleActor):
    wait_time = constant(1)
    calls = 0

    @task
    def flaky(self) -> None:
        self.calls += 1
        raise RpcTimeout("transfer", "no answer")


def test_a_monerosim_error_in_a_task_is_logged_and_tasks_go_on() -> None:
    net = FakeNet()
    actor = net.add(Fragile, "f-0", "fragile", {}, node=False)
    net.start()
    net.run(until=3.5)
    assert actor.calls == 3
    errors = net.events("f-0").named("actor_error")
    assert len(errors) == 3 and errors[0]["where"] == "flaky" and errors[0]["error_type"] == "RpcTimeout"


def test_reject_logs_msg_rejected() -> None:
    net, shop = _shop()
    env = Envelope(id="x:1", src="x", dst="shop-0", sent_at=1.0, body=Ping(seq=1, payload=""))
    shop.reject(env, "nope")
    assert net.events("shop-0").named("msg_rejected") == [{"id": "x:1", "type": "ping", "src": "x", "reason": "nope"}]


def test_real_actor_dispatches_runtime_messages_and_runs_tasks() -> None:
    """Started as a real pykka actor with the runtime's scheduler: hooks and tasks run in its thread."""
    net = FakeNet()
    scheduler = Scheduler(time_scale=100.0)
    ran = threading.Event()

    class Quick(Shop):
        wait_time = exponential(mean_s=1)
        start_after_s = 0

        @task
        def buy(self) -> None:
            ran.set()

    actor = net.add(Quick, "quick-0", "quick", {}, node=False)
    actor.ctx.scheduler = scheduler
    started = Quick.start(actor.ctx)
    try:
        env = Envelope(id="a:1", src="a", dst="quick-0", sent_at=1.0, body=Ping(seq=2, payload="p"))
        for msg in (Delivered(env), ChainAdvanced(5, ("h",), 1.0), TxpoolAdded(("t",), 1.0),
                    ProcessRestarted("wallet")):
            started.tell(msg)
        assert ran.wait(10), "no task ran"
        seen = started.proxy().seen.get(timeout=5)
        assert seen[0] == Ping(seq=2, payload="p")
        assert [type(m).__name__ for m in seen] == ["Ping", "ChainAdvanced", "TxpoolAdded", "ProcessRestarted"]
    finally:
        started.stop()
        scheduler.stop()


class Broken(RoleActor):
    def on_chain_advanced(self, msg: ChainAdvanced) -> None:
        raise KeyError("bug")


def test_a_bug_stops_the_actor_and_is_logged() -> None:
    net = FakeNet()
    actor = net.add(Broken, "b-0", "broken", {}, node=False)
    ref = Broken.start(actor.ctx)
    ref.tell(ChainAdvanced(1, ("h",), 1.0))
    ref.actor_stopped.wait(5)
    assert not ref.is_alive()
    assert net.events("b-0").named("actor_failed")[0]["error_type"] == "KeyError"


class BrokenSetup(RoleActor):
    def setup(self) -> None:
        raise KeyError("no pool")


@pytest.mark.parametrize("where", ["message", "setup"])
def test_a_bug_is_reported_to_the_runtime_after_it_is_logged(where: str) -> None:
    """The runtime's hook is called once ``actor_failed`` is written, for a bug in a message's
    handler and in setup alike (pykka calls on_failure only for the first)."""
    net = FakeNet()
    cls = Broken if where == "message" else BrokenSetup
    actor = net.add(cls, "b-0", "broken", {}, node=False)
    reported: list[tuple[str, str, int]] = []
    done = threading.Event()

    def on_actor_failed(role: str, what: str) -> None:
        reported.append((role, what, len(net.events("b-0").named("actor_failed"))))
        done.set()

    actor.ctx.on_actor_failed = on_actor_failed
    ref = cls.start(actor.ctx)
    if where == "message":
        ref.tell(ChainAdvanced(1, ("h",), 1.0))
    assert done.wait(10), "the runtime was not told"
    assert ref.actor_stopped.wait(10)
    assert reported == [("broken", "KeyError: 'bug'" if where == "message" else "KeyError: 'no pool'", 1)]


def test_the_example_role_runs_with_its_scenario_params() -> None:
    from monerosim_actors.actors.example_browser import Browser
    from monerosim_actors.coordination.marketplace_directory import MarketplaceDirectory
    from monerosim_actors.wire import Pong
    from monerosim_actors.testing import deliver

    net = FakeNet()
    net.add(MarketplaceDirectory, "marketplace-directory", "marketplace_directory", {"marketplaces": []}, node=False)
    browser = net.add(Browser, "browser-0", "browser", {"wait_time": {"exponential": {"mean_s": 30}},
                                                        "task_weights": {"browse": 3, "ping_controller": 1},
                                                        "greeting": "hi"}, talks_to=("browser",))
    net.start()
    net.run(until=3000)
    browsed = net.events("browser-0").named("browsed")
    pings = [e.body for e in net.sent if isinstance(e.body, Ping)]
    assert browsed and pings and all(p.payload == "hi" for p in pings)
    assert 1.5 < len(browsed) / len(pings) < 6
    deliver(net, "block-controller", "browser-0", Pong(seq=pings[0].seq, payload="hi"))
    net.run(until=1)
    assert net.events("browser-0").named("controller_rtt")[0]["seq"] == pings[0].seq
    assert browser.greeting == "hi"


class SlowStart(RoleActor):
    wait_time = constant(1)
    attempts = 0
    ran = 0

    def setup(self) -> None:
        self.attempts += 1
        if self.attempts < 3:
            raise RpcTimeout("create_wallet", "no answer")

    @task
    def work(self) -> None:
        self.ran += 1


def test_a_failed_setup_is_retried_and_tasks_wait_for_it() -> None:
    net = FakeNet()
    actor = net.add(SlowStart, "s-0", "slow", {}, node=False)
    net.start()
    net.run(until=2 * SlowStart.setup_retry_s - 0.5)
    assert actor.attempts == 2 and actor.ran == 0 and not actor.ready
    net.run(until=1.0)
    assert actor.attempts == 3 and actor.ready
    net.run(until=2.0)
    assert actor.ran == 2
    assert [e["where"] for e in net.events("s-0").named("actor_error")] == ["setup", "setup"]
