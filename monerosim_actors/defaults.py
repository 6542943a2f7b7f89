"""Constants every stage agrees on: ports, host names of the services, file names in OUT.

Every host has its own address, so every host uses the same ports.
"""

from __future__ import annotations

MONEROD_P2P_PORT = 18080
MONEROD_RPC_PORT = 18081
MONEROD_ZMQ_RPC_PORT = 18082
MONEROD_ZMQ_PUB_PORT = 18083
WALLET_RPC_PORT = 18088
BUS_PORT = 5555
"""The ROUTER port of a host that offers a coordination service."""

BLOCK_CONTROLLER_HOST = "block-controller"
MARKETPLACE_DIRECTORY_HOST = "marketplace-directory"

PLAN_FILE = "plan.json"
SHADOW_FILE = "shadow.yaml"
GML_FILE = "network.gml"
HOSTS_DIR = "hosts"
SHIM_FILE = "shadow_compat.so"
"""The Shadow compatibility shim (monerosim_actors.shadow.shim), copied into OUT by gen."""
RANDOMX_FILE = "randomx_share.so"
"""The RandomX sharing library (monerosim_actors.randomx), copied into OUT by gen."""
WALLET_CERT_FILE = "wallet_cert.so"
"""The wallet certificate library (monerosim_actors.wallet_cert), copied into OUT by gen."""
DATA_DIR = "shadow.data"
"""Shadow's data directory inside OUT; the local backend writes the same layout."""
SHADOW_LOG_FILE = "shadow.log"
"""Where the shadow backend keeps all Shadow prints, in OUT."""
REPORT_DIR = "report"
"""Where ``analyze`` writes the report by default, inside the first run folder."""
REPORT_SUMMARY_FILE = "summary.json"
"""The report's headline numbers (:mod:`monerosim_actors.analysis.summary`), in the report folder."""
RUN_OUTPUTS = (DATA_DIR, SHADOW_LOG_FILE, REPORT_DIR)
"""What running and analysing a generated folder add to it (``gen --force`` replaces them too)."""
GEN_MARKER_FILE = "generated.json"
"""gen's list of the files it wrote into OUT: ``--force`` replaces a folder only when it holds this
and nothing besides those files and :data:`RUN_OUTPUTS`."""
EVENTS_FILE = "events.jsonl"
MONEROD_DIR = "monerod"
WALLET_DIR = "wallet"


def host_data_dir(out_dir: str, host: str) -> str:
    """Where a host's runtime, monerod and wallet keep their files, under either backend."""
    return f"{out_dir}/{DATA_DIR}/hosts/{host}"
