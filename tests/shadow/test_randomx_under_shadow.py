"""RandomX shared or private, under a real Shadow: the same seed gives the same chain.

The quickstart, cut to ten simulated minutes, runs twice with one seed: once with
``monero.randomx: shared`` (every monerod maps the machine's cache file) and once ``private`` (each
fills its own, as Debian ships it). Shadow runs are deterministic, and the library changes no hash,
so both runs must end with the same blocks, block for block. The shared run's monerods must each
have said that they mapped the file, and the private run's must not have loaded the library.
Skipped where ``shadow`` is not on PATH.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monerosim_actors.events.read import read_events
from tests.conftest import require_binary
from tests.shadow.test_examples_under_shadow import SHADOW, SHADOW_SKIP_REASON

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "configs" / "quickstart.yaml"
DURATION_S = 600

pytestmark = [pytest.mark.shadow, pytest.mark.e2e, pytest.mark.skipif(SHADOW is None, reason=SHADOW_SKIP_REASON)]


def _run(tmp_path: Path, randomx: str) -> Path:
    doc = yaml.safe_load(SCENARIO.read_text())
    doc["simulation"]["duration"] = DURATION_S
    doc.setdefault("monero", {})["randomx"] = randomx
    config = tmp_path / f"quickstart_{randomx}.yaml"
    config.write_text(yaml.safe_dump(doc))
    out = tmp_path / randomx
    ran = subprocess.run([sys.executable, "-m", "monerosim_actors", "run", str(config), "-o", str(out),
                          "--backend", "shadow"], cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, check=False)
    assert ran.returncode == 0, f"Shadow run ({randomx}) failed:\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    return out


def _chain(out: Path) -> list[tuple[int, str]]:
    """The blocks the block controller's node saw, in order (every node ends on this chain)."""
    events = read_events(str(out / "shadow.data" / "hosts" / "block-controller" / "events.jsonl"))
    return [(e["height"], e["hash"]) for e in events if e["event"] == "block_seen"]


def _said(out: Path) -> list[str]:
    return [p.read_text() for p in sorted((out / "shadow.data" / "hosts").glob("*/monerod.stderr"))]


@pytest.mark.timeout(1800)
def test_the_same_seed_gives_the_same_blocks_with_and_without_sharing(tmp_path: Path) -> None:
    require_binary("monerod")
    shared, private = _run(tmp_path, "shared"), _run(tmp_path, "private")
    chain = _chain(shared)
    assert len(chain) > 60, f"only {len(chain)} blocks: the run did not get past its bootstrap"
    assert chain == _chain(private)
    said = _said(shared)
    assert said and all("shared from" in s and "private" not in s for s in said), said
    assert not any("monerosim-randomx" in s for s in _said(private))
