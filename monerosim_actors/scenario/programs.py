"""The programs every host runs: ``monero`` (monerod, monero-wallet-rpc and their extra flags) and
``python`` (the interpreter of the host runtime).

Each is resolved to an absolute path of an executable on this machine, so gen writes commands that
run. Extra flags are read as the programs read them (:mod:`monerosim_actors.scenario.monero_options`:
an unambiguous prefix is the option it begins), and may not set what monerosim-actors sets for every
host, open sockets on addresses it does not choose, or take the program out of its supervisor's hands.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any, get_args

from monerosim_actors.vocabulary import MANAGED_MONEROD_FLAGS, MANAGED_WALLET_FLAGS, LaunchMode, RandomxMode
from monerosim_actors.scenario import monero_options
from monerosim_actors.scenario.checks import Checker, one_of, string, string_list
from monerosim_actors.scenario.model import MoneroSpec
from monerosim_actors.scenario.source import Path

_LISTEN_FLAG = re.compile(r"^--.*(bind|ipv6|anonymous-inbound|zmq-pub)")
"""monerod / wallet options that open (or move) a listening socket: ``--rpc-restricted-bind-port`` would
listen on 127.0.0.1, ``--p2p-use-ipv6`` on ``::``; the host's own sockets are set by monero_args."""

_EXITS = "would print and exit at once, so its RPC would never answer"
_DETACHES = "would fork into the background and exit, out of its supervisor's (and Shadow's) reach"
_NETWORK = "would run on another network than the nodes' regtest chain"
_NO_LOGIN = "would ask every RPC call for a login the host runtime does not send, so it would never be seen ready"
_COMMON = {
    "--help": _EXITS, "--version": _EXITS, "--detach": _DETACHES,
    "--pidfile": "would need --detach, which is refused: it " + _DETACHES.removeprefix("would "),
    "--config-file": "would read options from a file, where no check of monerosim-actors sees them (a bind "
                     "address, --detach, ...)",
    "--testnet": _NETWORK, "--stagenet": _NETWORK, "--rpc-login": _NO_LOGIN}
_ONE_WALLET = ("would refuse to start: it takes only one of --wallet-file, --generate-from-json and --wallet-dir, "
               "which monerosim-actors sets")
_NODE_TWICE = "would refuse to start: the node is named by --daemon-address, which monerosim-actors sets"
_REFUSED: dict[monero_options.Program, dict[str, str]] = {
    "monerod": {**_COMMON, "--os-version": _EXITS},
    "monero-wallet-rpc": {**_COMMON, "--wallet-file": _ONE_WALLET, "--generate-from-json": _ONE_WALLET,
                          "--daemon-host": _NODE_TWICE, "--daemon-port": _NODE_TWICE,
                          "--prompt-for-password": "would wait for a password on a terminal no host has"},
}
"""Options refused besides the managed and the listening ones, with what they would do to the run.
``--non-interactive`` is managed: monerosim-actors gives it (monerod would otherwise read commands
from stdin), and boost refuses a flag given twice, so the program would not start."""


def read_monero(chk: Checker, root: dict[str, Any]) -> MoneroSpec:
    """``monero``: the binaries (found on this machine), extra flags that do not fight ours, who launches."""
    path: Path = ("monero",)
    m = chk.section(root, (), "monero", ("monerod", "wallet_rpc", "monerod_args", "wallet_args", "launch",
                                              "randomx"))
    monerod = chk.executable(chk.get(m, path, "monerod", string, "/usr/bin/monerod"), path + ("monerod",))
    wallet = chk.executable(chk.get(m, path, "wallet_rpc", string, "/usr/bin/monero-wallet-rpc"),
                            path + ("wallet_rpc",))
    monerod_args = chk.get(m, path, "monerod_args", string_list, ())
    wallet_args = chk.get(m, path, "wallet_args", string_list, ())
    _check_args(chk, path + ("monerod_args",), "monerod", monerod_args or (), MANAGED_MONEROD_FLAGS)
    _check_args(chk, path + ("wallet_args",), "monero-wallet-rpc", wallet_args or (), MANAGED_WALLET_FLAGS)
    return MoneroSpec(monerod, wallet, monerod_args, wallet_args,  # type: ignore[arg-type]
                      chk.get(m, path, "launch", one_of(get_args(LaunchMode)), "runtime"),
                      chk.get(m, path, "randomx", one_of(get_args(RandomxMode)), "stand_in"))


def _check_args(chk: Checker, path: Path, program: monero_options.Program, args: tuple[str, ...],
                owned: frozenset[str]) -> None:
    """Each problem of ``args`` at its item: what the program would refuse, then what we refuse."""
    found, problems = monero_options.parse(program, args)
    for problem in problems:
        chk.fail(path + (problem.index,), problem.message)
    for arg in found:
        if arg.option in owned:
            chk.fail(path + (arg.index,), f"{arg.named} is set by monerosim-actors for every host; remove it")
        elif arg.option in _REFUSED[program]:
            chk.fail(path + (arg.index,), f"{arg.named} is refused: {program} {_REFUSED[program][arg.option]}; "
                                          "remove it")
        elif _LISTEN_FLAG.search(arg.option):
            chk.fail(path + (arg.index,), f"{arg.named} would open a socket on an address monerosim-actors does "
                                          "not choose (every socket binds to its host's own IPv4 address); "
                                          "remove it")


def read_python(chk: Checker, root: dict[str, Any]) -> str | None:
    """The hosts' Python: this one by default; another one must be able to import the runtime, and
    say so (an exit code alone would pass ``/bin/true``, whose hosts would never run)."""
    own = os.path.abspath(sys.executable)
    python = chk.executable(chk.get(root, (), "python", string, own), ("python",))
    if python is None or python == own:
        return python
    said = "monerosim_actors.runtime.host imported"
    try:
        result = subprocess.run([python, "-c", f"import monerosim_actors.runtime.host; print({said!r})"],
                                capture_output=True, stdin=subprocess.DEVNULL, timeout=60, check=False)
        failed = result.returncode != 0 or result.stdout.decode(errors="replace").strip() != said
    except (OSError, subprocess.TimeoutExpired):
        failed = True
    if failed:
        chk.fail(("python",), f"{python} cannot import monerosim_actors.runtime.host; install monerosim-actors "
                              f"into that environment, or leave 'python' out to use {own}")
        return None
    return python
