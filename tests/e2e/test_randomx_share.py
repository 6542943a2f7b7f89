"""Real monerods with the RandomX sharing library, started by the runtime as a run starts them.

Two nodes of one run map the one cache file (their ``smaps`` name it, and neither holds a private
256 MiB cache); a node given a damaged file fills a private cache, says why, and still mines; a pool
in fast mode mines blocks at difficulty 200 that a node without the library accepts; with the
stand-in, a pool mines blocks at the seed's difficulty in an instant, a node with the stand-in accepts
them and one without rejects them.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from monerosim_actors.plan.model import HostPlan
from monerosim_actors.randomx import share
from monerosim_actors.runtime.system import HostSystem
from tests.e2e.conftest import wait_for_event
from tests.e2e.plans import host_plan, loopback
from tests.e2e.test_monerod import events_of

pytestmark = pytest.mark.e2e

GROUP = 24
ADDRESS = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
CACHE_KB = 256 * 1024


@pytest.fixture(scope="module")
def library() -> str:
    share.ensure([share.Kind.CACHE, share.Kind.DATASET])  # the machine's, once (the dataset: ~35 s)
    return str(share.build())


def _sharing(plan: HostPlan, library: str, *, fast: bool = False, difficulty: int | None = None) -> HostPlan:
    return _with(plan, share.monerod_environment(library, fast=fast), difficulty)


def _with(plan: HostPlan, environment: dict[str, str], difficulty: int | None = None) -> HostPlan:
    assert plan.monerod is not None
    monerod = dataclasses.replace(plan.monerod, environment=environment,
                                  difficulty=difficulty or plan.monerod.difficulty)
    return dataclasses.replace(plan, monerod=monerod)


def _monerod_pid(system: HostSystem) -> int:
    return [e for e in events_of(system, "process_started") if e["name"] == "monerod"][-1]["pid"]


def _mappings(pid: int) -> list[tuple[str, int]]:
    """(path or '' for anonymous, size in kB) of every mapping of ``pid``."""
    return [(name, size) for name, size, _ in _smaps(pid)]


def _smaps(pid: int) -> list[tuple[str, int, int]]:
    """(path or '' for anonymous, size in kB, resident kB) of every mapping of ``pid``."""
    found = []
    name, size = "", 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if "-" in fields[0] and ":" not in fields[0]:
                name = fields[5] if len(fields) > 5 else ""
            elif fields[0] == "Size:":
                size = int(fields[1])
            elif fields[0] == "Rss:":
                found.append((name, size, int(fields[1])))
    return found


def _stderr(system: HostSystem) -> str:
    return Path(system.data_dir, "monerod.stderr").read_text()


def test_two_monerods_of_a_run_map_the_one_cache_file(start_host: Callable[..., HostSystem], library: str) -> None:
    systems = [start_host(_sharing(host_plan(f"node-{i}", loopback(GROUP, i), wallet=False), library))
               for i in range(2)]
    for system in systems:  # a block makes RandomX initialise its cache
        assert system.daemon is not None
        system.daemon.generateblocks(1, ADDRESS)
    cache = str(share.file_path(share.Kind.CACHE))
    for system in systems:
        maps = _mappings(_monerod_pid(system))
        assert (cache, CACHE_KB) in maps, f"{system.host} does not map {cache}"
        assert not [m for m in maps if m[0] in ("", "[heap]") and m[1] >= CACHE_KB], \
            f"{system.host} still holds a private 256 MiB mapping"
        assert "shared from" in _stderr(system) and "private" not in _stderr(system)

    # killed mid-run, the node is restarted by its supervisor and maps the file again
    node = systems[0]
    assert node.daemon is not None
    os.kill(_monerod_pid(node), signal.SIGKILL)
    wait_for_event(os.path.join(node.data_dir, "events.jsonl"), "process_restarted", name="monerod")
    node.daemon.generateblocks(1, ADDRESS)
    assert (cache, CACHE_KB) in _mappings(_monerod_pid(node))


def test_a_damaged_file_is_never_used_and_the_node_still_mines(start_host: Callable[..., HostSystem],
                                                               library: str, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    damaged = share.file_path(share.Kind.CACHE, folder=folder)
    shutil.copyfile(share.file_path(share.Kind.CACHE), damaged)
    with open(damaged, "r+b") as f:
        f.seek(4096 + 2**27)
        f.write(b"\0" * 64)
    plan = _sharing(host_plan("damaged", loopback(GROUP, 2), wallet=False), library)
    assert plan.monerod is not None
    plan = dataclasses.replace(plan, monerod=dataclasses.replace(
        plan.monerod, environment={**plan.monerod.environment, share.DIR_ENV: str(folder)}))
    system = start_host(plan)
    assert system.daemon is not None
    generated = system.daemon.generateblocks(2, ADDRESS)
    assert len(generated.hashes) == 2
    assert "filling a private cache" in _stderr(system) and "(corrupt)" in _stderr(system)
    assert (str(damaged), CACHE_KB) not in _mappings(_monerod_pid(system))


def test_blocks_mined_in_fast_mode_are_accepted_by_a_node_without_the_library(
        start_host: Callable[..., HostSystem], library: str) -> None:
    pool = start_host(_sharing(host_plan("fast-pool", loopback(GROUP, 3), wallet=False), library,
                               fast=True, difficulty=200))
    plain_plan = host_plan("plain", loopback(GROUP, 4), wallet=False)
    assert plain_plan.monerod is not None
    plain = start_host(dataclasses.replace(plain_plan, monerod=dataclasses.replace(plain_plan.monerod,
                                                                                    difficulty=200)))
    assert pool.daemon is not None and plain.daemon is not None
    # one block per call: each stays well inside the RPC's timeout on a loaded machine (the first
    # also maps and checks the 2 GiB dataset)
    mined = [h for _ in range(3) for h in pool.daemon.generateblocks(1, ADDRESS).hashes]
    assert "fast mode on the dataset" in _stderr(pool)
    for block_hash in mined:  # the plain node checks each block's proof of work with its own RandomX
        blob = _rpc(pool, "get_block", {"hash": block_hash})["blob"]
        assert _rpc(plain, "submit_block", [blob])["status"] == "OK"
    assert plain.daemon.get_info().top_block_hash == mined[-1]
    assert not Path(plain.data_dir, "monerod.stderr").read_text().count("monerosim-randomx")


def test_stand_in_blocks_are_checked_by_nodes_with_the_stand_in_and_rejected_by_others(
        start_host: Callable[..., HostSystem]) -> None:
    """At the seed's difficulty (1000) ten blocks are one quick call; the stand-in's nodes hold no
    RandomX cache; a node without the library checks the blocks with RandomX and refuses them."""
    stand_in = share.stand_in_environment(str(share.build()))
    pool, node = (start_host(_with(host_plan(name, loopback(GROUP, 5 + i), wallet=False), stand_in, 1000))
                  for i, name in enumerate(("stand-in-pool", "stand-in-node")))
    plain_plan = host_plan("plain-1000", loopback(GROUP, 7), wallet=False)
    plain = start_host(_with(plain_plan, {}, 1000))
    assert pool.daemon is not None and node.daemon is not None and plain.daemon is not None
    mined = pool.daemon.generateblocks(10, ADDRESS).hashes
    assert len(mined) == 10
    for block_hash in mined:
        blob = _rpc(pool, "get_block", {"hash": block_hash})["blob"]
        assert _rpc(node, "submit_block", [blob])["status"] == "OK"
    assert node.daemon.get_info().top_block_hash == mined[-1]
    held = [m for m in _smaps(_monerod_pid(pool)) if m[1] >= CACHE_KB and m[2] > 1024]
    assert not held, f"the stand-in's pool holds RandomX memory: {held}"
    first = _rpc(pool, "get_block", {"hash": mined[0]})["blob"]
    refused = requests.post(f"{plain.config.host.node.rpc_url}/json_rpc", timeout=120,  # type: ignore[union-attr]
                            json={"jsonrpc": "2.0", "id": "0", "method": "submit_block", "params": [first]},
                            proxies={"http": "", "https": ""}).json()
    assert "error" in refused, refused
    assert plain.daemon.get_info().height == 1


def _rpc(system: HostSystem, method: str, params: object) -> dict:
    assert system.config.host.node is not None
    reply = requests.post(f"{system.config.host.node.rpc_url}/json_rpc", timeout=120,
                          json={"jsonrpc": "2.0", "id": "0", "method": method, "params": params},
                          proxies={"http": "", "https": ""}).json()
    assert "result" in reply, reply
    return reply["result"]
