"""The scenario schema: what loads (and with which defaults), and a message for every bad input.

Each invalid case changes one thing in a small valid scenario and asserts on the key path and the
wording of the problem reported, so a message that stops being actionable fails a test.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest

from monerosim_actors.vocabulary import BlockScheduleKind, LaunchMode, TopologyKind
from monerosim_actors.scenario.load import load_scenario
from monerosim_actors.scenario.model import NodeMode

from scenario_helpers import EXE, base_doc, load_doc, problems_of, write_doc

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"


def test_seed_example_is_the_seeds_config_verbatim_and_loads() -> None:
    seed_doc = REPO.parent / "shared" / "seed" / "monerosim-architecture-v2.md"
    if seed_doc.exists():
        text = seed_doc.read_text()
        block = text.split("### User Configuration (config.yaml)\n```yaml\n", 1)[1].split("```", 1)[0]
        assert (CONFIGS / "seed_example.yaml").read_text() == block
    s = load_scenario(CONFIGS / "seed_example.yaml")
    assert s.duration_s == 3600 and s.users is not None and s.users.count == 100
    assert s.users.transaction_frequency == 0.1 and s.users.wallet_initial_balance == 10.0
    assert s.marketplaces is not None and s.marketplaces.count == 5 and s.marketplaces.wallet_count == 20
    assert [(p.id, p.hashrate_share) for p in s.pools] == [("pool_alpha", 0.4), ("pool_beta", 0.3),
                                                           ("pool_gamma", 0.3)]
    assert s.consensus.block_time_s == 120 and s.consensus.difficulty == 1000


def test_defaults_are_filled_in(tmp_path: Path) -> None:
    s = load_doc(tmp_path, base_doc())
    assert s.seed == 1 and s.grace_period_s == 120
    assert s.users is not None
    assert (s.users.transaction_frequency, s.users.wallet_initial_balance, s.users.amount_min,
            s.users.amount_max) == (0.1, 10.0, 0.1, 2.0)
    assert s.marketplaces is not None and s.marketplaces.wallet_count == 10
    assert (s.consensus.block_time_s, s.consensus.difficulty, s.consensus.schedule) == (120, 1, "exponential")
    assert s.topology.kind == "switch" and s.peer_count == 3
    assert (s.coordination.registration_timeout_s, s.coordination.mine_timeout_s) == (300, 60)
    assert s.monero.launch == "runtime" and s.monero.monerod_args == ()
    assert os.path.isabs(s.python) and s.notes == ()


def test_outputs_per_user_is_optional_and_read(tmp_path: Path) -> None:
    from monerosim_actors.coordination.funding_plan import MAX_OUTPUTS_PER_USER
    from monerosim_actors.scenario import agents
    assert agents.MAX_OUTPUTS_PER_USER == MAX_OUTPUTS_PER_USER  # one limit, in two places
    s = load_doc(tmp_path, base_doc())
    assert s.users is not None and s.users.outputs_per_user is None  # the controller's rule decides
    doc = base_doc()
    doc["network"]["agents"]["regular_users"]["config"] = {"outputs_per_user": 12}
    s = load_doc(tmp_path, doc)
    assert s.users is not None and s.users.outputs_per_user == 12 and s.users.extra == {}


def test_time_strings_and_extra_role_config(tmp_path: Path) -> None:
    doc = base_doc()
    doc["simulation"] = {"duration": "1 h", "grace_period": "90 s"}
    doc["network"]["consensus"] = {"block_time": "2 min"}
    doc["network"]["agents"]["regular_users"]["config"] = {"patience": 3, "amount_max": 5}
    s = load_doc(tmp_path, doc)
    assert (s.duration_s, s.grace_period_s, s.consensus.block_time_s) == (3600, 90, 120)
    assert s.users is not None and s.users.extra == {"patience": 3} and s.users.amount_max == 5.0


def test_shares_not_summing_to_one_are_normalised_with_a_note(tmp_path: Path) -> None:
    doc = base_doc()
    doc["network"]["agents"]["mining_pools"] = [{"id": "a", "hashrate_share": 3},
                                                {"id": "b", "hashrate_share": 1}]
    s = load_doc(tmp_path, doc)
    assert any("sum to 4" in n and "divided" in n for n in s.notes)


def test_custom_role_by_entry_point_name_and_by_path(tmp_path: Path) -> None:
    doc = base_doc()
    doc["network"]["agents"]["custom"] = [
        {"name": "lurker", "class": "regular_user", "count": 2, "config": {"k": 1}},
        {"name": "watcher", "class": "json.decoder:JSONDecoder", "count": 1, "monerod": False},
    ]
    s = load_doc(tmp_path, doc)
    lurker, watcher = s.custom
    assert lurker.role_class == "monerosim_actors.actors.regular_user:RegularUser" and lurker.config == {"k": 1}
    assert (watcher.monerod, watcher.wallet) == (False, False)


def test_gml_path_is_relative_to_the_scenario_and_rewritten_one_item_per_line(tmp_path: Path) -> None:
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "net.gml").write_text(
        'graph [ node [ id 0 ] edge [ source 0 target 0 latency "1 ms" ] ]')
    doc = base_doc()
    doc["network"]["topology"] = {"type": "gml", "file": "g/net.gml"}
    s = load_doc(tmp_path, doc)
    assert s.topology.gml is not None and "  node [\n    id 0\n  ]\n" in s.topology.gml
    assert s.topology.places[0].needs_host_bandwidth


def _chain(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """Several changes to the base document, in order."""
    def change(doc: dict[str, Any]) -> None:
        for one in changes:
            one(doc)
    return change


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change to the base document: set the value at a dotted path (``a.b[1].c``)."""
    def change(doc: dict[str, Any]) -> None:
        parts = path.replace("]", "").replace("[", ".").split(".")
        node: Any = doc
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        last = parts[-1]
        if value is _DELETE:
            del node[last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return change


_DELETE = object()
POOLS = "network.agents.mining_pools"
USERS = "network.agents.regular_users"


def _many(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        for c in changes:
            c(doc)
    return change


def _gml(text: str) -> Callable[[dict[str, Any]], None]:
    return _set("network.topology", {"type": "gml", "file": text})


REGIONS = {"type": "regions", "regions": [{"name": "eu"}, {"name": "us"}],
           "links": [{"between": ["eu", "us"], "latency": "40 ms"}]}

INVALID: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("negative duration", _set("simulation.duration", -5), "simulation.duration", "must be > 0 s, got -5"),
    ("bad time string", _set("simulation.duration", "1 fortnight"), "simulation.duration", "is not a time"),
    ("missing duration", _set("simulation", {"seed": 3}), "simulation", "'duration' is required"),
    ("negative seed", _set("simulation.seed", -1), "simulation.seed", "must be >= 0, got -1"),
    ("fractional seed", _set("simulation.seed", 1.5), "simulation.seed", "must be a whole number"),
    ("huge seed", _set("simulation.seed", 2**40), "simulation.seed", "must be <= 4294967295"),
    ("short grace", _set("simulation.grace_period", 5), "simulation.grace_period", "must be >= 10 s"),
    ("zero users", _set(f"{USERS}.count", 0), f"{USERS}.count", "must be >= 1, got 0"),
    ("text count", _set(f"{USERS}.count", "ten"), f"{USERS}.count", "must be a whole number, got a string"),
    ("frequency above 1", _set(f"{USERS}.config", {"transaction_frequency": 1.5}),
     f"{USERS}.config.transaction_frequency", "must be <= 1, got 1.5"),
    ("amount range reversed", _set(f"{USERS}.config", {"amount_min": 3, "amount_max": 1}),
     f"{USERS}.config.amount_min", "must be <= amount_max (1), got 3"),
    ("zero amount", _set(f"{USERS}.config", {"amount_min": 0}), f"{USERS}.config.amount_min", "must be > 0"),
    ("negative balance", _set(f"{USERS}.config", {"wallet_initial_balance": -1}),
     f"{USERS}.config.wallet_initial_balance", "must be >= 0"),
    ("zero outputs per user", _set(f"{USERS}.config", {"outputs_per_user": 0}),
     f"{USERS}.config.outputs_per_user", "must be >= 1, got 0"),
    ("fractional outputs per user", _set(f"{USERS}.config", {"outputs_per_user": 2.5}),
     f"{USERS}.config.outputs_per_user", "must be a whole number, got 2.5"),
    ("huge outputs per user", _set(f"{USERS}.config", {"outputs_per_user": 10**6}),
     f"{USERS}.config.outputs_per_user", "must be <= 1000, got 1000000"),
    ("misspelt outputs key", _set(f"{USERS}.config", {"outputs_per_users": 8}),
     f"{USERS}.config.outputs_per_users", "did you mean 'outputs_per_user'?"),
    ("misspelt user key", _set(f"{USERS}.config", {"transaction_frequncy": 0.2}),
     f"{USERS}.config.transaction_frequncy", "did you mean 'transaction_frequency'?"),
    ("users without marketplaces", _set("network.agents.marketplaces", _DELETE), USERS,
     "network.agents.marketplaces is not given"),
    ("zero wallets", _set("network.agents.marketplaces.config", {"wallet_count": 0}),
     "network.agents.marketplaces.config.wallet_count", "must be >= 1"),
    ("no pools", _set(POOLS, []), POOLS, "must be a non-empty list of pools"),
    ("negative share", _set(f"{POOLS}[1].hashrate_share", -0.3), f"{POOLS}[1].hashrate_share",
     "must be > 0, got -0.3"),
    ("missing share", _set(f"{POOLS}[0].hashrate_share", _DELETE), f"{POOLS}[0]", "'hashrate_share' is required"),
    ("missing gml file key", _set("network.topology", {"type": "gml"}), "network.topology", "'file' is required"),
    ("duplicate pool ids", _set(f"{POOLS}[1].id", "pool_a"), f"{POOLS}[1].id", "duplicate pool id 'pool_a'"),
    ("slash in id", _set(f"{POOLS}[0].id", "../etc"), f"{POOLS}[0].id", "is not usable as a host name"),
    ("space in id", _set(f"{POOLS}[0].id", "pool a"), f"{POOLS}[0].id", "is not usable as a host name"),
    ("non-ascii id", _set(f"{POOLS}[0].id", "pööl"), f"{POOLS}[0].id", "ASCII letters"),
    ("numeric id", _set(f"{POOLS}[0].id", 7), f"{POOLS}[0].id", "must be a string, got int 7"),
    ("ids mapping to one host", _set(f"{POOLS}[1].id", "Pool-A"), f"{POOLS}[1].id",
     "becomes host name 'pool-a', which pool pool_a already has"),
    ("id taken by a user", _set(f"{POOLS}[0].id", "user_1"), f"{POOLS}[0].id",
     "which regular user user_1 already has"),
    ("id taken by a service", _set(f"{POOLS}[0].id", "block_controller"), f"{POOLS}[0].id",
     "which the block controller already has"),
    ("unknown top key", _set("simulaton", {}), "simulaton", "did you mean 'simulation'?"),
    ("unknown consensus key", _set("network.consensus", {"blocktime": 60}), "network.consensus.blocktime",
     "did you mean 'block_time'?"),
    ("bad schedule", _set("network.consensus", {"schedule": "exponentiel"}), "network.consensus.schedule",
     "must be one of exponential, fixed, got 'exponentiel'; did you mean 'exponential'?"),
    ("zero difficulty", _set("network.consensus", {"difficulty": 0}), "network.consensus.difficulty",
     "must be >= 1, got 0"),
    ("zero peers", _set("network.peers", {"count": 0}), "network.peers.count", "must be >= 1"),
    ("unknown topology", _set("network.topology", {"type": "mesh"}), "network.topology.type",
     "must be one of switch, gml, regions"),
    ("missing gml", _gml("nowhere.gml"), "network.topology.file", "cannot read the GML file"),
    ("region on a switch", _set(f"{POOLS}[0].region", "eu"), f"{POOLS}[0].region",
     "regions need network.topology.type 'regions' or 'gml'"),
    ("unknown region", _many(_set("network.topology", REGIONS), _set(f"{POOLS}[0].region", "euu")),
     f"{POOLS}[0].region", "no region 'euu' in network.topology; did you mean 'eu'?"),
    ("disconnected regions", _set("network.topology", {**REGIONS, "links": []}), "network.topology.links",
     "regions us cannot be reached from eu"),
    ("link to a missing region", _set("network.topology", {**REGIONS, "links": [
        {"between": ["eu", "asia"], "latency": "9 ms"}]}), "network.topology.links[0].between[1]",
     "no region 'asia'"),
    ("bad bandwidth", _set("network.topology", {**REGIONS, "regions": [{"name": "eu", "bandwidth_up": "fast"},
                                                                       {"name": "us"}]}),
     "network.topology.regions[0].bandwidth_up", "must be a bandwidth like"),
    ("binary not there", _set("monero.monerod", "/nonexistent/monerod"), "monero.monerod",
     "/nonexistent/monerod is not an executable file"),
    ("binary not on PATH", _set("monero.wallet_rpc", "no-such-wallet-rpc-binary"), "monero.wallet_rpc",
     "is not on PATH"),
    ("bad launch", _set("monero.launch", "docker"), "monero.launch", "must be one of runtime, shadow"),
    ("managed monerod flag", _set("monero.monerod_args", ["--log-level", "1", "--data-dir=/x"]),
     "monero.monerod_args[2]", "--data-dir is set by monerosim-actors"),
    ("args not a list", _set("monero.wallet_args", "--foo"), "monero.wallet_args", "must be a list of strings"),
    ("managed flag as a prefix", _set("monero.monerod_args", ["--data-d=/x"]), "monero.monerod_args[0]",
     "--data-d (that is --data-dir) is set by monerosim-actors"),
    ("listening flag as a prefix", _set("monero.monerod_args", ["--p2p-use-ipv"]), "monero.monerod_args[0]",
     "--p2p-use-ipv (that is --p2p-use-ipv6) would open a socket"),
    ("zmq-pub as a prefix", _set("monero.monerod_args", ["--log-level", "1", "--zmq-pu=tcp://0.0.0.0:1"]),
     "monero.monerod_args[2]", "--zmq-pu (that is --zmq-pub) is set by monerosim-actors"),
    ("config file as a prefix", _set("monero.monerod_args", ["--config-fil=/etc/x.conf"]), "monero.monerod_args[0]",
     "--config-fil (that is --config-file) is refused: monerod would read options from a file"),
    ("detach", _set("monero.wallet_args", ["--detach"]), "monero.wallet_args[0]",
     "--detach is refused: monero-wallet-rpc would fork into the background"),
    ("a second wallet source", _set("monero.wallet_args", ["--wallet-file", "w"]), "monero.wallet_args[0]",
     "--wallet-file is refused: monero-wallet-rpc would refuse to start"),
    ("ambiguous flag", _set("monero.monerod_args", ["--rpc-bind=1"]), "monero.monerod_args[0]",
     "--rpc-bind is ambiguous: it begins --rpc-bind-port, --rpc-bind-ip"),
    ("a prefix of two flags", _set("monero.monerod_args", ["--max-log-file=5"]), "monero.monerod_args[0]",
     "--max-log-file is ambiguous"),
    ("misspelt flag", _set("monero.monerod_args", ["--out-peer=5", "--log-levle", "1"]), "monero.monerod_args[1]",
     "--log-levle is not an option of monerod v0.18; did you mean '--log-level'?"),
    ("a daemon command", _set("monero.monerod_args", ["--no-igd", "status"]), "monero.monerod_args[1]",
     "'status' is neither an option"),
    ("a flag without its value", _set("monero.monerod_args", ["--log-level"]), "monero.monerod_args[0]",
     "--log-level needs a value"),
    ("custom class syntax", _set("network.agents.custom", [{"name": "x", "class": "my module.Class", "count": 1}]),
     "network.agents.custom[0].class", "is neither 'package.module:Class' nor a registered role"),
    ("custom class missing", _set("network.agents.custom", [{"name": "x", "class": "no_such_pkg.mod:C",
                                                             "count": 1}]),
     "network.agents.custom[0].class", "module 'no_such_pkg.mod' cannot be found"),
    ("custom named like a built-in", _set("network.agents.custom", [{"name": "mining_pool", "class": "json:loads",
                                                                     "count": 1}]),
     "network.agents.custom[0].name", "is a built-in role"),
    ("custom wallet without node", _set("network.agents.custom", [{"name": "x", "class": "json:loads", "count": 1,
                                                                   "monerod": False, "wallet": True}]),
     "network.agents.custom[0].wallet", "a wallet needs a monerod"),
    ("remote without public nodes", _set("network.agents.regular_users.config", {"node": "remote"}),
     "network.agents.regular_users.config.node", "needs a public node to use, but there are none"),
    ("remote on relay-only nodes", _chain(_set("network.agents.marketplaces.config", {"node": "remote"}),
                                          _set("network.agents.public_nodes", {"count": 2, "public": False})),
     "network.agents.marketplaces.config.node", "its public nodes have public: false"),
    ("node misspelt", _set("network.agents.regular_users.config", {"node": "remtoe"}),
     "network.agents.regular_users.config.node", "must be one of"),
    ("remote_node unknown", _chain(_set("network.agents.regular_users.config",
                                        {"node": "remote", "remote_node": "public_node_7"}),
                                   _set("network.agents.public_nodes", {"count": 2})),
     "network.agents.regular_users.config.remote_node", "public_node_0 to public_node_1), got 'public_node_7'"),
    ("remote_node without remote", _set("network.agents.regular_users.config", {"remote_node": "random"}),
     "network.agents.regular_users.config.remote_node", "only a host with node: remote"),
    ("custom remote with monerod", _chain(
        _set("network.agents.custom", [{"name": "x", "class": "json:loads", "count": 1, "node": "remote",
                                        "monerod": True}]),
        _set("network.agents.public_nodes", {"count": 1})),
     "network.agents.custom[0].monerod", "runs no monerod of its own"),
    ("public nodes without count", _set("network.agents.public_nodes", {"public": True}),
     "network.agents.public_nodes", "'count' is required"),
    ("custom hosts collide", _set("network.agents.custom", [{"name": "pool", "class": "json:loads", "count": 3},
                                                            {"name": "POOL", "class": "json:loads", "count": 1}]),
     "network.agents.custom[1].name", "'POOL_0' becomes host name 'pool-0'"),
    ("shadow stop_time", _set("shadow.general", {"stop_time": 10}), "shadow.general.stop_time", "is set by gen"),
    ("memory manager on", _set("shadow.experimental", {"use_memory_manager": True}),
     "shadow.experimental.use_memory_manager", "must stay false"),
    ("unknown shadow key", _set("shadow.general", {"paralelism": 2}), "shadow.general.paralelism",
     "did you mean 'parallelism'?"),
    ("unknown shadow section", _set("shadow.hosts", {}), "shadow.hosts", "unknown key"),
    ("compat shim not a bool", _set("shadow.compat_shim", "off"), "shadow.compat_shim",
     "must be true or false"),
    ("pcap not a bool", _set("shadow.host_option_defaults", {"pcap_enabled": "yes please"}),
     "shadow.host_option_defaults.pcap_enabled", "must be true or false"),
    ("unknown host option", _set("shadow.host_option_defaults", {"pcap_capture": 100}),
     "shadow.host_option_defaults.pcap_capture", "did you mean 'pcap_capture_size'?"),
    ("host log level", _set("shadow.host_option_defaults", {"log_level": "loud"}),
     "shadow.host_option_defaults.log_level", "must be one of error, warning, info, debug, trace"),
    ("python missing", _set("python", "/nonexistent/python3"), "python", "is not an executable file"),
    ("section not a mapping", _set("network.agents.marketplaces", [1, 2]), "network.agents.marketplaces",
     "must be a mapping (key: value lines), got a list"),
    ("bad coordination timeout", _set("coordination", {"mine_timeout": 0}), "coordination.mine_timeout",
     "must be > 0 s, got 0"),
]


@pytest.mark.parametrize(("change", "path", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_scenario_is_reported_with_path_and_message(tmp_path: Path, change: Callable[[dict[str, Any]], None],
                                                            path: str, message: str) -> None:
    doc = base_doc()
    change(doc)
    found = problems_of(write_doc(tmp_path, doc))
    matching = [p for p in found if p.path == path and message in p.message]
    assert matching, f"expected {path}: ...{message}... among:\n" + "\n".join(map(str, found))
    assert len(found) == len(set(found)), "a problem is reported once"
    assert all(p.line is not None for p in matching if p.path != "")


def test_at_least_25_distinct_invalid_cases() -> None:
    assert len({c[0] for c in INVALID}) >= 25


def _gml_problem(tmp_path: Path, text: str) -> str:
    (tmp_path / "net.gml").write_text(text)
    doc = base_doc()
    doc["network"]["topology"] = {"type": "gml", "file": "net.gml"}
    (problem,) = problems_of(write_doc(tmp_path, doc))
    assert problem.path == "network.topology.file"
    return problem.message


@pytest.mark.parametrize(("text", "message"), [
    ("graph [\n node [ id 0 ]\n node [ id 1 ]\n edge [ source 0 target 0 latency \"1 ms\" ]\n"
     " edge [ source 1 target 1 latency \"1 ms\" ]\n]", "the graph is not connected: nodes 1 cannot be reached"),
    ("graph [\n node [ id 0 ]\n node [ id 1 ]\n edge [ source 0 target 1 latency \"1 ms\" ]\n"
     " edge [ source 1 target 1 latency \"1 ms\" ]\n]", "nodes without a self-loop edge"),
    ("graph [\n node [ id 0 ]\n edge [ source 0 target 0 ]\n]", "edge 0-0 has no latency"),
    ("graph [\n node [ id 0 ]\n edge [ source 0 target 0 latency \"1 ms\" packet_loss 2 ]\n]",
     "packet_loss must be within [0, 1]"),
    ("graph [\n node [ id 0 ]\n", "a '[' is never closed"),
], ids=["disconnected", "no self-loop", "no latency", "loss above 1", "unclosed"])
def test_bad_gml_files(tmp_path: Path, text: str, message: str) -> None:
    assert message in _gml_problem(tmp_path, text)


def test_non_executable_binary(tmp_path: Path) -> None:
    fake = tmp_path / "monerod"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(stat.S_IRUSR | stat.S_IWUSR)
    doc = base_doc()
    doc["monero"]["monerod"] = "monerod"
    doc["monero"]["wallet_rpc"] = "./monerod"
    found = problems_of(write_doc(tmp_path, doc))
    assert any(p.path == "monero.wallet_rpc" and f"{fake} is not an executable file" in p.message for p in found)


def test_another_python_must_import_the_runtime(tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    doc = base_doc()
    doc["python"] = str(fake)
    (problem,) = problems_of(write_doc(tmp_path, doc))
    assert problem.path == "python" and "cannot import monerosim_actors.runtime.host" in problem.message
    doc["python"] = "/bin/true"  # exits 0 whatever it is asked: no host would ever run
    (problem,) = problems_of(write_doc(tmp_path, doc))
    assert problem.path == "python" and "/bin/true cannot import monerosim_actors.runtime.host" in problem.message
    wrapper = tmp_path / "venv-python"
    wrapper.write_text(f'#!/bin/sh\nexec {EXE} "$@"\n')
    wrapper.chmod(0o755)
    doc["python"] = str(wrapper)
    assert load_doc(tmp_path, doc).python == str(wrapper)


def test_a_missing_section_is_one_problem(tmp_path: Path) -> None:
    doc = base_doc()
    del doc["simulation"]
    (problem,) = problems_of(write_doc(tmp_path, doc))
    assert (problem.path, problem.message) == ("", "'simulation' is required")


@pytest.mark.parametrize(("path", "vocabulary"), [
    ("network.consensus.schedule", BlockScheduleKind), ("network.topology.type", TopologyKind),
    ("monero.launch", LaunchMode), (f"{USERS}.config.node", NodeMode)])
def test_a_word_outside_a_vocabulary_is_answered_with_the_vocabulary(tmp_path: Path, path: str,
                                                                      vocabulary: Any) -> None:
    """The allowed words come from the one ``Literal`` the plan and the roles use too."""
    doc = base_doc()
    _set(path, "nonsense")(doc)
    found = problems_of(write_doc(tmp_path, doc))
    assert [p.message for p in found if p.path == path] == [
        f"must be one of {', '.join(get_args(vocabulary))}, got 'nonsense'"]
