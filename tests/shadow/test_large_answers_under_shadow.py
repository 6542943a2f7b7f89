"""monerod's RPC answers larger than Shadow's 64 KiB per send reach another host whole.

Shadow 3.3.0's TCP takes at most 65535 bytes per ``send`` while the socket stays writable, and
monerod's and wallet-rpc's servers (boost::asio, edge-triggered epoll) then wait for a writability
edge that never comes: without the shim's ``send``, every answer over 128 KiB stopped after two such
chunks (a wallet refreshing blocks of hundreds of transactions waited 3.5 minutes per try). Here one
host's monerod mines 250 blocks and a client on another host reads their headers in ranges of 10 to
250 blocks (8 KB to 210 KB of JSON), each within a second of simulated time. Skipped where
``shadow`` is not on PATH.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monerosim_actors.plan.monero_args import monerod_argv
from monerosim_actors.randomx import share
from monerosim_actors.shadow import shim
from tests.conftest import require_binary
from tests.e2e.plans import binaries, host_plan
from tests.shadow.test_examples_under_shadow import SHADOW, SHADOW_SKIP_REASON

pytestmark = [pytest.mark.shadow, pytest.mark.e2e, pytest.mark.skipif(SHADOW is None, reason=SHADOW_SKIP_REASON)]

NODE_IP, CLIENT_IP = "11.0.0.2", "11.0.0.3"
BLOCKS = 250
RANGES = (10, 100, 160, 250)
"""Block-header ranges to read: the first two fit in 128 KiB, the last two do not."""
ADDRESS = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
"""A mainnet address, which a regtest node takes as a miner's."""

CLIENT = r"""
import json, sys, time
import requests

url, blocks, ranges, address = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
session = requests.Session()
session.trust_env = False

def call(method, params=None):
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
    return session.post(url, json=body, timeout=30)

while True:  # monerod answers once it is up; a refused connection costs no simulated time to speak of
    try:
        call("get_info")
        break
    except requests.ConnectionError:
        time.sleep(1)
assert call("generateblocks", {"amount_of_blocks": blocks, "wallet_address": address}).json()["result"]
for n in ranges:
    began = time.time()
    try:
        answer = call("get_block_headers_range", {"start_height": 0, "end_height": n - 1})
        got = {"headers": len(answer.json()["result"]["headers"]), "bytes": len(answer.content)}
    except (requests.RequestException, ValueError, KeyError) as e:
        got = {"error": f"{type(e).__name__}: {e}"[:300]}
    print(json.dumps({"range": n, "seconds": time.time() - began, **got}), flush=True)
"""


@pytest.mark.timeout(600)
def test_answers_over_128_kib_reach_another_host_whole(tmp_path: Path) -> None:
    require_binary("monerod")
    library, randomx = shim.build(), share.build()
    node = host_plan("node", NODE_IP, wallet=False)
    (tmp_path / "client.py").write_text(CLIENT)
    environment = {"LD_PRELOAD": str(library), "PYTHONUNBUFFERED": "1"}
    argv = monerod_argv(binaries().monerod, node, str(tmp_path / "node"))
    config = {
        "general": {"stop_time": 300, "model_unblocked_syscall_latency": True,
                    "data_directory": str(tmp_path / "shadow.data")},
        "network": {"graph": {"type": "1_gbit_switch"}},
        "hosts": {
            "node": {"network_node_id": 0, "ip_addr": NODE_IP, "processes": [{
                "path": argv[0], "args": argv[1:], "start_time": 1, "expected_final_state": "running",
                "environment": {**environment, **share.stand_in_environment(str(randomx)),
                                "LD_PRELOAD": f"{library}:{randomx}"}}]},
            "client": {"network_node_id": 0, "ip_addr": CLIENT_IP, "processes": [{
                "path": sys.executable, "start_time": 2, "expected_final_state": {"exited": 0},
                "args": [str(tmp_path / "client.py"), f"http://{NODE_IP}:{node.monerod.rpc_port}/json_rpc",
                         str(BLOCKS), json.dumps(RANGES), ADDRESS],
                "environment": environment}]},
        },
    }
    (tmp_path / "shadow.yaml").write_text(yaml.safe_dump(config))
    ran = subprocess.run([SHADOW, str(tmp_path / "shadow.yaml")], cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout[-3000:]
    stdout = next((tmp_path / "shadow.data" / "hosts" / "client").glob("*.stdout")).read_text()
    answers = [json.loads(line) for line in stdout.splitlines()]
    assert [a["range"] for a in answers] == list(RANGES)
    for answer in answers:
        assert answer.get("headers") == answer["range"], answer
        assert answer["seconds"] < 1.0, answer
    assert answers[-1]["bytes"] > 2 * 65535, "the largest answer needs more than two of Shadow's sends"
