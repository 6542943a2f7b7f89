"""The programs every host runs: ``monero`` (monerod, monero-wallet-rpc and their extra flags) and
``python`` (the interpreter of the host runtime).

Each is resolved to an absolute path of an executable on this machine, so gen writes commands that
run. Extra flags may not set what monerosim-actors sets for every host, nor open sockets on addresses
it does not choose.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any, get_args

from monerosim_actors.vocabulary import MANAGED_MONEROD_FLAGS, MANAGED_WALLET_FLAGS, LaunchMode
from monerosim_actors.scenario.checks import Checker, one_of, string, string_list
from monerosim_actors.scenario.model import MoneroSpec
from monerosim_actors.scenario.source import Path

_LISTEN_FLAG = re.compile(r"^--.*(bind|ipv6|anonymous-inbound|zmq-pub)")
"""monerod / wallet flags that open (or move) a listening socket: ``--rpc-restricted-bind-port`` would
listen on 127.0.0.1, ``--p2p-use-ipv6`` on ``::``; the host's own sockets are set by monero_args."""


def read_monero(chk: Checker, root: dict[str, Any]) -> MoneroSpec:
    """``monero``: the binaries (found on this machine), extra flags that do not fight ours, who launches."""
    path: Path = ("monero",)
    m = chk.section(root, (), "monero", ("monerod", "wallet_rpc", "monerod_args", "wallet_args", "launch"))
    monerod = chk.executable(chk.get(m, path, "monerod", string, "/usr/bin/monerod"), path + ("monerod",))
    wallet = chk.executable(chk.get(m, path, "wallet_rpc", string, "/usr/bin/monero-wallet-rpc"),
                            path + ("wallet_rpc",))
    monerod_args = chk.get(m, path, "monerod_args", string_list, ())
    wallet_args = chk.get(m, path, "wallet_args", string_list, ())
    for key, args, owned in (("monerod_args", monerod_args, MANAGED_MONEROD_FLAGS),
                             ("wallet_args", wallet_args, MANAGED_WALLET_FLAGS)):
        for i, arg in enumerate(args or ()):
            flag = arg.split("=", 1)[0]
            if flag in owned:
                chk.fail(path + (key, i), f"{flag} is set by monerosim-actors for every host; remove it")
            elif _LISTEN_FLAG.search(flag):
                chk.fail(path + (key, i), f"{flag} would open a socket on an address monerosim-actors does "
                                          "not choose (every socket binds to its host's own IPv4 address); "
                                          "remove it")
    return MoneroSpec(monerod, wallet, monerod_args, wallet_args,  # type: ignore[arg-type]
                      chk.get(m, path, "launch", one_of(get_args(LaunchMode)), "runtime"))


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
