"""Scenario -> Plan: names, addresses, placement, peers, seeds, params and processes."""

from __future__ import annotations

import ipaddress
import random
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from monerosim_actors import defaults
from monerosim_actors.plan.monero_args import monerod_argv, wallet_argv
from monerosim_actors.errors import ScenarioError
from monerosim_actors.plan.model import Plan, host_config
from monerosim_actors.vocabulary import MANAGED_MONEROD_FLAGS, MANAGED_WALLET_FLAGS
from monerosim_actors.plan.planner import _peer_graph, build_plan, host_seed
from monerosim_actors.scenario.load import load_scenario
from monerosim_actors.scenario.roles import BUILTIN_ROLE_CLASSES

from scenario_helpers import EXE, base_doc, load_doc

REPO = Path(__file__).resolve().parents[2]
OUT = "/abs/out"


def _plan(tmp_path: Path, doc: dict | None = None, **kw: object) -> Plan:
    return build_plan(load_doc(tmp_path, doc or base_doc()), out_dir=OUT, **kw)  # type: ignore[arg-type]


def test_builtin_role_classes_match_pyproject_entry_points() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["monerosim_actors.roles"] == BUILTIN_ROLE_CLASSES


def test_hosts_in_start_order_with_names_roles_and_classes(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    assert [(h.name, h.agent_id, h.role) for h in plan.hosts] == [
        ("block-controller", "block_controller", "block_controller"),
        ("marketplace-directory", "marketplace_directory", "marketplace_directory"),
        ("pool-a", "pool_a", "mining_pool"), ("pool-b", "pool_b", "mining_pool"),
        ("marketplace-0", "marketplace_0", "marketplace"),
        ("user-0", "user_0", "regular_user"), ("user-1", "user_1", "regular_user")]
    assert all(h.role_class == BUILTIN_ROLE_CLASSES[h.role] for h in plan.hosts)
    starts = [h.start_time_s for h in plan.hosts]
    assert starts == sorted(starts) and starts[:2] == [0, 0] and starts[2] > 0
    directory = plan.host(defaults.MARKETPLACE_DIRECTORY_HOST)
    assert directory.monerod is None and directory.wallet is None
    assert all(h.monerod is not None and h.wallet is not None for h in plan.hosts if h is not directory)


def test_services_and_bus_ports(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    bc, md = plan.services["block_controller"], plan.services["marketplace_directory"]
    assert (bc.host, bc.port) == (defaults.BLOCK_CONTROLLER_HOST, defaults.BUS_PORT)
    assert (md.host, md.ip) == (defaults.MARKETPLACE_DIRECTORY_HOST, plan.host(md.host).ip)
    assert [h.name for h in plan.hosts if h.bus_port == defaults.BUS_PORT] == [bc.host, md.host]


@pytest.mark.parametrize(("addressing", "first"), [("shadow", "11.0.0.1"), ("loopback", "127.10.0.1")])
def test_addresses_are_unique_and_skip_network_and_broadcast(tmp_path: Path, addressing: str, first: str) -> None:
    doc = base_doc()
    doc["network"]["agents"]["regular_users"]["count"] = 600
    plan = _plan(tmp_path, doc, addressing=addressing)
    ips = [ipaddress.IPv4Address(h.ip) for h in plan.hosts]
    assert str(ips[0]) == first and len(set(ips)) == len(ips)
    assert all(int(ip) & 0xFF not in (0, 255) for ip in ips)
    assert ipaddress.IPv4Address("127.0.0.1") not in ips
    assert all(ip.is_loopback == (addressing == "loopback") for ip in ips)
    wallet = plan.hosts[5].wallet
    assert wallet is not None and wallet.daemon_address == f"{plan.hosts[5].ip}:{defaults.MONEROD_RPC_PORT}"


def test_params_have_the_names_the_roles_read(tmp_path: Path) -> None:
    doc = base_doc()
    doc["network"]["agents"]["regular_users"]["config"] = {"amount_max": 3, "mood": "happy"}
    doc["network"]["agents"]["mining_pools"] = [{"id": "a", "hashrate_share": 3, "config": {"x": 1}},
                                                {"id": "b", "hashrate_share": 1}]
    doc["coordination"] = {"registration_timeout": 100, "mine_timeout": "20 s"}
    plan = _plan(tmp_path, doc)
    assert plan.host("user-1").params == {"transaction_frequency": 0.1, "wallet_initial_balance": 10.0,
                                          "amount_min": 0.1, "amount_max": 3.0, "mood": "happy"}
    assert plan.host("marketplace-0").params == {"wallet_count": 10}
    assert plan.host("a").params == {"pool_id": "a", "hashrate_share": 0.75, "x": 1}
    bc = plan.host("block-controller").params
    assert bc["pools"] == [{"pool_id": "a", "host": "a", "hashrate_share": 0.75},
                           {"pool_id": "b", "host": "b", "hashrate_share": 0.25}]
    assert bc["users"] == [{"user_id": "user_0", "host": "user-0", "wallet_initial_balance": 10.0,
                            "transaction_frequency": 0.1},
                           {"user_id": "user_1", "host": "user-1", "wallet_initial_balance": 10.0,
                            "transaction_frequency": 0.1}]
    assert "outputs_per_user" not in bc  # the controller's rule decides
    assert bc["marketplaces"] == [{"marketplace_id": "marketplace_0", "host": "marketplace-0"}]
    assert (bc["registration_timeout_s"], bc["mine_timeout_s"], bc["schedule"], bc["block_time_s"]) == (
        100.0, 20.0, "exponential", 120.0)
    md = plan.host("marketplace-directory").params
    assert md == {"marketplaces": bc["marketplaces"],
                  "users": [{"user_id": "user_0", "host": "user-0"}, {"user_id": "user_1", "host": "user-1"}]}


def test_outputs_per_user_goes_to_the_controller_not_the_users(tmp_path: Path) -> None:
    doc = base_doc()
    doc["network"]["agents"]["regular_users"]["config"] = {"outputs_per_user": 12, "transaction_frequency": 0.3}
    plan = _plan(tmp_path, doc)
    bc = plan.host("block-controller").params
    assert bc["outputs_per_user"] == 12
    assert {u["transaction_frequency"] for u in bc["users"]} == {0.3}
    assert "outputs_per_user" not in plan.host("user-0").params


def test_custom_roles_run_what_they_declare(tmp_path: Path) -> None:
    doc = base_doc()
    doc["network"]["agents"]["custom"] = [
        {"name": "Spam_Bot", "class": "json:JSONDecoder", "count": 2, "wallet": False, "config": {"rate": 5}},
        {"name": "observer", "class": "json:JSONDecoder", "count": 1, "monerod": False}]
    plan = _plan(tmp_path, doc)
    bots = [h for h in plan.hosts if h.role == "Spam_Bot"]
    assert [(h.name, h.agent_id) for h in bots] == [("spam-bot-0", "Spam_Bot_0"), ("spam-bot-1", "Spam_Bot_1")]
    assert all(h.monerod is not None and h.wallet is None and h.params == {"rate": 5} for h in bots)
    (observer,) = [h for h in plan.hosts if h.role == "observer"]
    assert observer.monerod is None and observer.wallet is None and observer.role_class == "json:JSONDecoder"
    assert plan.hosts[-1] is observer


def test_every_host_loads_the_message_modules_of_every_role_in_the_plan(tmp_path: Path) -> None:
    doc = base_doc()
    doc["network"]["agents"]["custom"] = [{"name": "browser", "count": 1, "wallet": False,
                                           "class": "monerosim_actors.actors.example_browser:Browser"}]
    plan = _plan(tmp_path, doc)
    assert "monerosim_actors.actors.example_browser" in plan.message_modules
    assert set(plan.message_modules) == {h.role_class.partition(":")[0] for h in plan.hosts}
    assert host_config(plan, plan.host("block-controller")).message_modules == plan.message_modules


def _remote_doc(users: dict, public: dict | None = None) -> dict:
    doc = base_doc()
    doc["network"]["agents"]["regular_users"] = {"count": 6, "config": users}
    doc["network"]["agents"]["public_nodes"] = public or {"count": 3}
    return doc


def test_remote_users_run_a_wallet_on_a_public_node(tmp_path: Path) -> None:
    plan = _plan(tmp_path, _remote_doc({"node": "remote"}))
    public = [h for h in plan.hosts if h.role == "public_node"]
    assert [h.name for h in public] == ["public-node-0", "public-node-1", "public-node-2"]
    assert plan.hosts.index(public[0]) == 2, "public nodes start right after the services"
    assert all(h.monerod is not None and h.wallet is None and not h.remote for h in public)
    users = [h for h in plan.hosts if h.role == "regular_user"]
    by_name = {h.name: h for h in public}
    for user in users:
        assert user.monerod is None and user.remote
        node = by_name[user.node.host]
        assert user.wallet.daemon_address == f"{node.ip}:{node.monerod.rpc_port}"
        assert not user.wallet.trusted_daemon
        assert user.node.chain_feed == f"tcp://{node.ip}:{node.monerod.zmq_pub_port}"
    own = plan.host("marketplace-0")
    assert own.node.host == own.name and own.wallet.trusted_daemon and not own.remote
    argv = wallet_argv("wallet", users[0], "/d")
    assert "--untrusted-daemon" in argv and "--trusted-daemon" not in argv
    assert argv[argv.index("--daemon-address") + 1] == users[0].wallet.daemon_address
    assert "--trusted-daemon" in wallet_argv("wallet", own, "/d")
    peers = {p for h in plan.hosts if h.monerod for p in h.monerod.peers}
    assert not any(p.startswith(u.ip + ":") for u in users for p in peers), "wallet-only hosts are no peers"
    assert plan.host("block-controller").params["users"][0]["host"] == "user-0"


def test_remote_node_selection_random_is_seeded_round_robin_turns_named_is_fixed(tmp_path: Path) -> None:
    def chosen(users: dict, seed: int = 1) -> list[str]:
        plan = _plan(tmp_path, _remote_doc(users), seed=seed)
        return [h.node.host for h in plan.hosts if h.role == "regular_user"]

    assert chosen({"node": "remote", "remote_node": "round_robin"}) == [f"public-node-{i % 3}" for i in range(6)]
    assert chosen({"node": "remote", "remote_node": "public_node_1"}) == ["public-node-1"] * 6
    randomly = chosen({"node": "remote"})
    assert randomly == chosen({"node": "remote"}) and len(set(randomly)) > 1
    assert any(chosen({"node": "remote"}, seed=s) != randomly for s in range(2, 6))


def test_relay_only_public_nodes_serve_no_wallet(tmp_path: Path) -> None:
    doc = _remote_doc({}, {"count": 2, "public": False})
    plan = _plan(tmp_path, doc)
    relays = [h for h in plan.hosts if h.role == "public_node"]
    assert all(h.params["public"] is False for h in relays)
    assert all(not h.remote for h in plan.hosts)


def test_peer_graph_is_connected_bounded_and_seeded() -> None:
    for n, count in [(2, 3), (3, 3), (10, 1), (500, 3), (50, 8)]:
        peers = _peer_graph(n, count, random.Random(f"1/{n}"))
        assert all(1 <= len(p) <= min(count, n - 1) and i not in p for i, p in enumerate(peers))
        if n > 2:
            mutual = [(i, j) for i, p in enumerate(peers) for j in p if i in peers[j]]
            assert not mutual, "a node dials one that dials it back: one of them loses an outgoing link"
        if n >= 4 * count:
            assert all(len(p) == count for p in peers), "a large graph gives every node all its peers"
        seen, todo = {0}, [0]
        adjacent: dict[int, set[int]] = {i: set() for i in range(n)}
        for i, p in enumerate(peers):
            for j in p:
                adjacent[i].add(j)
                adjacent[j].add(i)
        while todo:
            for j in adjacent[todo.pop()] - seen:
                seen.add(j)
                todo.append(j)
        assert len(seen) == n
    assert _peer_graph(1, 3, random.Random(1)) == [[]]
    assert _peer_graph(20, 3, random.Random("a")) == _peer_graph(20, 3, random.Random("a"))
    assert _peer_graph(20, 3, random.Random("a")) != _peer_graph(20, 3, random.Random("b"))


def test_peers_are_monerod_p2p_endpoints(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    p2p = {f"{h.ip}:{defaults.MONEROD_P2P_PORT}" for h in plan.hosts if h.monerod is not None}
    for h in plan.hosts:
        if h.monerod is not None:
            assert set(h.monerod.peers) <= p2p - {f"{h.ip}:{defaults.MONEROD_P2P_PORT}"}
            assert 1 <= len(h.monerod.peers) <= 3  # 6 nodes: not every one can dial 3 without a mutual pair


def test_seed_changes_peers_and_host_seeds_only(tmp_path: Path) -> None:
    scenario = load_doc(tmp_path, base_doc())
    a, b = build_plan(scenario, out_dir=OUT), build_plan(scenario, seed=99, out_dir=OUT)
    assert a.seed == 1 and b.seed == 99
    assert a.host("user-0").seed == host_seed(1, "user-0") != b.host("user-0").seed
    assert [h.ip for h in a.hosts] == [h.ip for h in b.hosts]
    assert len({h.seed for h in a.hosts}) == len(a.hosts)
    assert build_plan(scenario, out_dir=OUT).to_json() == a.to_json()


def test_runtime_process_and_launch_shadow(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    (runtime,) = plan.host("user-0").processes
    assert runtime.name == "runtime" and runtime.path == EXE
    assert runtime.args == ("-m", "monerosim_actors.runtime.host", "--config", f"{OUT}/hosts/user-0.json")
    assert runtime.environment["PYTHONUNBUFFERED"] == "1" and runtime.environment["PYTHONHASHSEED"] == "0"
    doc = base_doc()
    doc["monero"]["launch"] = "shadow"
    doc["monero"]["monerod_args"] = ["--log-level", "1"]
    plan = _plan(tmp_path, doc)
    user = plan.host("user-0")
    names = [p.name for p in user.processes]
    assert names == ["runtime", "monerod", "wallet"]
    _, monerod, wallet = user.processes
    data_dir = defaults.host_data_dir(OUT, "user-0")
    assert f"{data_dir}/monerod" in monerod.args and monerod.args[-2:] == ("--log-level", "1")
    assert wallet.start_time_s > monerod.start_time_s == user.start_time_s
    assert [p.name for p in plan.host("marketplace-directory").processes] == ["runtime"]
    assert plan.launch_mode == "shadow"


def test_regions_placement_by_weight_and_pins(tmp_path: Path) -> None:
    doc = base_doc()
    doc["network"]["agents"]["regular_users"]["count"] = 300
    doc["network"]["agents"]["mining_pools"][0]["region"] = "b"
    doc["coordination"] = {"region": "c"}
    doc["network"]["topology"] = {
        "type": "regions",
        "regions": [{"name": "a", "weight": 2}, {"name": "b", "weight": 1}, {"name": "c", "weight": 0}],
        "links": [{"between": ["a", "b"], "latency": "10 ms"}, {"between": ["b", "c"], "latency": "10 ms"}]}
    plan = _plan(tmp_path, doc)
    assert plan.host("block-controller").network_node_id == 2
    assert plan.host("marketplace-directory").network_node_id == 2
    assert plan.host("pool-a").network_node_id == 1
    users = Counter(h.network_node_id for h in plan.hosts if h.role == "regular_user")
    assert users == {0: 200, 1: 100}
    assert plan.network.kind == "regions" and plan.network.gml is not None
    assert all(h.bandwidth_down is None for h in plan.hosts)


def test_gml_nodes_without_bandwidth_give_hosts_one(tmp_path: Path) -> None:
    plan = build_plan(load_scenario(REPO / "configs" / "gml_example.yaml"), out_dir=OUT)
    on_node = {h.name: (h.network_node_id, h.bandwidth_down) for h in plan.hosts}
    assert on_node["pool-alpha"] == (0, None)
    assert {bw for node, bw in on_node.values() if node == 1} == {"100 Mbit"}


def test_hosts_starting_after_the_end_are_refused(tmp_path: Path) -> None:
    doc = base_doc()
    doc["simulation"]["duration"] = 20
    doc["network"]["agents"]["regular_users"]["count"] = 5000
    with pytest.raises(ScenarioError, match="starts at .* make the duration longer"):
        _plan(tmp_path, doc)


def test_out_dir_must_be_absolute(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="absolute"):
        build_plan(load_doc(tmp_path, base_doc()), out_dir="relative/out")


def test_plan_round_trips_through_json(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    assert Plan.from_json(plan.to_json()) == plan


def test_the_flags_the_scenario_may_not_set_are_those_the_command_lines_set(tmp_path: Path) -> None:
    """The scenario refuses extra flags from vocabulary.MANAGED_*_FLAGS; they must be what
    monero_args really writes (trusted and untrusted wallets, Shadow and loopback addresses)."""
    def flags(argv: list[str]) -> set[str]:
        return {a for a in argv if a.startswith("--") and a != "--add-exclusive-node"}

    monerods: set[str] = set()
    wallets: set[str] = set()
    for doc in (base_doc(), _remote_doc({"node": "remote"})):
        for addressing in ("shadow", "loopback"):
            for host in _plan(tmp_path, doc, addressing=addressing).hosts:
                if host.monerod is not None:
                    monerods |= flags(monerod_argv("monerod", host, "/d"))
                if host.wallet is not None:
                    wallets |= flags(wallet_argv("wallet", host, "/d"))
    assert monerods == MANAGED_MONEROD_FLAGS
    assert wallets == MANAGED_WALLET_FLAGS
