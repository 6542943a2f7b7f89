"""The shipped option lists are what the installed monerod and monero-wallet-rpc print, and
arguments resolve as boost::program_options resolves them (any unambiguous prefix of a long option).

When a Monero release changes the options, write the lists again and review the diff:

    MONEROSIM_REGEN_MONERO_OPTIONS=1 .venv/bin/pytest tests/unit/test_monero_options.py
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from monerosim_actors.scenario import monero_options
from monerosim_actors.scenario.monero_options import Argument, Problem, parse, resolve
from monerosim_actors.vocabulary import MANAGED_MONEROD_FLAGS, MANAGED_WALLET_FLAGS
from tests.conftest import require_binary

REGENERATE = os.environ.get("MONEROSIM_REGEN_MONERO_OPTIONS") == "1"
HEADER = ("# The long options of {program} {version}, one a line, as `{program} --help` prints them;\n"
          "# ' arg' when the option takes a value. tests/unit/test_monero_options.py checks this list\n"
          "# against the installed binary (MONEROSIM_REGEN_MONERO_OPTIONS=1 writes it again).\n")


@pytest.mark.parametrize("program", ["monerod", "monero-wallet-rpc"])
def test_the_shipped_lists_are_what_the_installed_binaries_print(program: monero_options.Program) -> None:
    binary = require_binary(program)
    result = subprocess.run([binary, "--help"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=120, check=False)
    printed = monero_options.options_in_help(result.stdout)
    assert result.returncode == 0 and len(printed) > 50, result.stdout + result.stderr
    version = result.stdout.split("(", 1)[1].split(")", 1)[0]
    if REGENERATE:
        path = Path(monero_options.__file__).with_name(f"{program}.options")
        path.write_text(HEADER.format(program=program, version=version)
                        + "".join(f"{name}{' arg' if arg else ''}\n" for name, arg in printed.items()))
        monero_options.options.cache_clear()
    assert version.startswith(monero_options.MONERO_VERSION + "."), version
    assert list(monero_options.options(program).items()) == list(printed.items())


def test_the_help_parser_reads_names_and_values_and_skips_descriptions() -> None:
    text = ("Options:\n  --help                                Produce help message\n"
            "  --config-file arg (=/root/.bitmonero/bitmonero.conf)\n"
            "                                        Specify --not-this one\n"
            "  --p2p-use-ipv6                        Enable IPv6 for p2p\n  --log-level arg\n")
    assert monero_options.options_in_help(text) == {"--help": False, "--config-file": True,
                                                    "--p2p-use-ipv6": False, "--log-level": True}


@pytest.mark.parametrize(("program", "written", "option"), [
    ("monerod", "--zmq-pu", "--zmq-pub"),
    ("monerod", "--p2p-use-ipv", "--p2p-use-ipv6"),
    ("monerod", "--config-fil", "--config-file"),
    ("monerod", "--deta", "--detach"),
    ("monerod", "--p2p-bind-port", "--p2p-bind-port"),  # whole, though also a prefix of --p2p-bind-port-ipv6
    ("monero-wallet-rpc", "--wallet-d", "--wallet-dir"),
])
def test_a_prefix_is_the_option_it_begins(program: monero_options.Program, written: str, option: str) -> None:
    assert resolve(program, written) == option


def test_an_ambiguous_or_unknown_option_says_what_it_could_be() -> None:
    with pytest.raises(ValueError, match=r"^--rpc-bind is ambiguous: it begins --rpc-bind-port, "
                                         r"--rpc-bind-ip, --rpc-bind-ipv6-address, and monerod would refuse"):
        resolve("monerod", "--rpc-bind")
    with pytest.raises(ValueError, match="^--zmq-pubb is not an option of monerod v0.18; did you mean '--zmq-pub'"):
        resolve("monerod", "--zmq-pubb")
    with pytest.raises(ValueError, match="not an option of monero-wallet-rpc"):
        resolve("monero-wallet-rpc", "--regtest")


def test_values_are_taken_as_the_program_takes_them() -> None:
    found, problems = parse("monerod", ["--log-level", "1", "--zmq-pu=tcp://0.0.0.0:1", "--no-ig",
                                        "--out-peers", "-1", "--add-peer=--odd"])
    assert found == [Argument(0, "--log-level", "--log-level", "1"),
                     Argument(2, "--zmq-pu", "--zmq-pub", "tcp://0.0.0.0:1"),
                     Argument(3, "--no-ig", "--no-igd"), Argument(4, "--out-peers", "--out-peers", "-1"),
                     Argument(6, "--add-peer", "--add-peer", "--odd")]
    assert problems == []


def test_what_the_program_would_refuse_or_misread_is_a_problem_at_its_item() -> None:
    _, problems = parse("monerod", ["status", "--no-igd=1", "--log-level", "--offline", "-x", "--", "--max-log-files"])
    assert [(p.index, p.message.split(":")[0].split(" takes")[0].split(" needs")[0]) for p in problems] == [
        (0, "'status' is neither an option (--name, --name=value) nor the value of the option before it"),
        (1, "--no-igd"), (2, "--log-level"), (4, "'-x' is neither an option (--name, --name=value) nor the value "
                                                 "of the option before it"),
        (5, "'--' is neither an option (--name, --name=value) nor the value of the option before it"),
        (6, "--max-log-files")]
    assert "daemon command" in problems[0].message and "takes no value" in problems[1].message
    assert "needs a value" in problems[2].message and "needs a value" in problems[5].message
    assert parse("monero-wallet-rpc", ["x"])[1] == [Problem(0, "'x' is neither an option (--name, --name=value) nor "
                                                             "the value of the option before it: monero-wallet-rpc "
                                                             "would refuse it")]


def test_every_flag_monerosim_actors_manages_is_an_option_of_its_program() -> None:
    assert MANAGED_MONEROD_FLAGS <= set(monero_options.options("monerod"))
    assert MANAGED_WALLET_FLAGS <= set(monero_options.options("monero-wallet-rpc"))
