"""The shared RandomX files: what the library refuses to map, and why (real librandomx, no monerod).

The cache for the regtest key is the machine's (written once by the session, about a second); each
test damages a copy of it in its own folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monerosim_actors.randomx import share

pytestmark = pytest.mark.skipif(not Path("/usr/lib/x86_64-linux-gnu", share.LIBRANDOMX).exists(),
                                reason="no librandomx.so.0 (Debian package librandomx0, which monerod needs too)")

HEADER = 4096


@pytest.fixture(scope="module")
def good_cache() -> Path:
    share.ensure([share.Kind.CACHE])
    return share.file_path(share.Kind.CACHE)


def _copy(good: Path, folder: Path, key: bytes = share.REGTEST_SEED_KEY) -> Path:
    target = share.file_path(share.Kind.CACHE, key, folder)
    shutil.copyfile(good, target)
    return target


def test_the_machines_cache_is_valid_for_the_regtest_key(good_cache: Path) -> None:
    assert share.problem(good_cache, share.Kind.CACHE) is None
    assert good_cache.stat().st_size == HEADER + 256 * 2**20


def test_a_truncated_file_is_refused(good_cache: Path, tmp_path: Path) -> None:
    path = _copy(good_cache, tmp_path)
    with open(path, "r+b") as f:
        f.truncate(HEADER + 2**20)
    assert "wrong size" in (share.problem(path, share.Kind.CACHE) or "")


def test_a_flipped_byte_is_refused(good_cache: Path, tmp_path: Path) -> None:
    path = _copy(good_cache, tmp_path)
    with open(path, "r+b") as f:
        f.seek(HEADER + 123_456_789)
        byte = f.read(1)
        f.seek(HEADER + 123_456_789)
        f.write(bytes([byte[0] ^ 1]))
    assert "does not match its checksum (corrupt)" in (share.problem(path, share.Kind.CACHE) or "")


def test_a_file_for_another_key_is_refused(good_cache: Path, tmp_path: Path) -> None:
    other = bytes(32)
    path = _copy(good_cache, tmp_path, key=other)  # the regtest key's data under another key's name
    assert "made for another key" in (share.problem(path, share.Kind.CACHE, other) or "")


def test_a_file_of_another_kind_or_format_is_refused(good_cache: Path, tmp_path: Path) -> None:
    path = _copy(good_cache, tmp_path)
    with open(path, "r+b") as f:
        f.write(b"something else entirely")
    assert "not a monerosim-actors RandomX file" in (share.problem(path, share.Kind.CACHE) or "")
    missing = tmp_path / "nothing.bin"
    assert "No such file" in (share.problem(missing, share.Kind.CACHE) or "")


def test_ensure_writes_a_missing_or_damaged_file_again(good_cache: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(share.DIR_ENV, str(tmp_path))
    path = _copy(good_cache, tmp_path)
    with open(path, "r+b") as f:
        f.truncate(HEADER)
    share.ensure([share.Kind.CACHE])
    assert share.problem(path, share.Kind.CACHE) is None
    assert path.read_bytes() == good_cache.read_bytes(), "the same key gives the same bytes"
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temporary file left"
