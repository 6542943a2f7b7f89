"""The RandomX sharing library and its files, from Python.

Every monerod of a regtest run hashes with the same seed key (the genesis block's hash) until its
chain passes height 2048 + 64, so one cache file (256 MiB) serves every node of every run on the
machine, and one dataset file (2 GiB) serves every mining node that mines in RandomX's fast mode.
The files are written here, before a run starts (``gen`` and ``run`` call :func:`ensure`), by the
library itself through ctypes: monerod only ever reads them, so no run waits on another's lock, and
a node that finds no valid file fills a private cache as it would have without the library (and
says why on its stderr).
"""

from __future__ import annotations

import ctypes
import enum
import logging
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from monerosim_actors import native
from monerosim_actors.errors import RandomxFilesError

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("randomx_share.c")
LIBRANDOMX = "librandomx.so.0"
"""Debian's RandomX (package librandomx0), which Debian's monerod links dynamically."""
DIR_ENV = "MONEROSIM_RANDOMX_DIR"
"""Where the shared files are: read by the library in monerod, and here (default: the machine cache's
``randomx`` folder)."""
FAST_ENV = "MONEROSIM_RANDOMX_FAST"
"""Set in a monerod's environment: its RandomX VMs hash in fast mode on the shared dataset."""
STAND_IN_ENV = "MONEROSIM_RANDOMX_STAND_IN"
"""Set in a monerod's environment: keyed Blake2b stands in for RandomX (``monero.randomx: stand_in``)."""
REGTEST_SEED_KEY = bytes.fromhex("418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e3")
"""The seed key of every regtest block below height 2048 + 64: the genesis block's hash (monerod's
``get_block_header_by_height 0``)."""
FAST_FROM_DIFFICULTY = 100
"""Every monerod hashes in fast mode at this difficulty and above. Light mode makes about 31 hashes a
second on one core here and fast mode 441 (``bench/randomx_sharing.py``); a pool's block takes
``difficulty`` hashes on average, so at 100 light mode already spends 3 s a block, more than mapping
the 2 GiB dataset costs once per run; and each node's verification of each block drops from ~32 ms to
~2 ms, which a network of a hundred nodes pays for every block. Below it, the 2 GiB of page cache
would outweigh what it saves."""


class Kind(enum.IntEnum):
    """What a shared file holds (the library's ``enum kind``)."""

    CACHE = 1
    DATASET = 2


def files_dir() -> Path:
    """The folder of the shared files."""
    return Path(os.environ[DIR_ENV]) if os.environ.get(DIR_ENV) else native.cache_dir() / "randomx"


def build() -> Path:
    """The library, compiled once per machine.

    Raises:
        PreloadBuildError: no C compiler, or compiling failed (no librandomx0 to link).
    """
    return native.build_library(SOURCE, "the RandomX sharing library", libraries=(f"-l:{LIBRANDOMX}",))


def file_path(kind: Kind, key: bytes = REGTEST_SEED_KEY, folder: Path | None = None) -> Path:
    """Where the file of ``kind`` for ``key`` is (the library's ``file_path``)."""
    return (folder or files_dir()) / f"{kind.name.lower()}-{key.hex()}.bin"


def stand_in_environment(library: str) -> dict[str, str]:
    """What a monerod needs to hash with the stand-in for RandomX: the library preloaded, and the switch."""
    return {"LD_PRELOAD": library, STAND_IN_ENV: "1"}


def monerod_environment(library: str, *, fast: bool) -> dict[str, str]:
    """What a monerod needs to use the shared files: the library preloaded (``library``, the copy
    in OUT), the files' folder, and at a high difficulty, fast mode."""
    env = {"LD_PRELOAD": library, DIR_ENV: str(files_dir())}
    if fast:
        env[FAST_ENV] = "1"
    return env


def _library() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(build()))
    lib.monerosim_randomx_problem.restype = ctypes.c_char_p
    lib.monerosim_randomx_problem.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    lib.monerosim_randomx_write.restype = ctypes.c_int
    lib.monerosim_randomx_write.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32,
                                            ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
    return lib


def problem(path: Path, kind: Kind, key: bytes = REGTEST_SEED_KEY) -> str | None:
    """Why the library would not use the file at ``path``; None when it would."""
    found = _library().monerosim_randomx_problem(os.fsencode(path), kind, key, len(key))
    return None if found is None else found.decode(errors="replace")


def write(path: Path, kind: Kind, key: bytes = REGTEST_SEED_KEY) -> None:
    """Compute the file of ``kind`` for ``key`` with librandomx and write it to ``path`` (atomically).

    Raises:
        RandomxFilesError: naming the step that failed.
    """
    error = ctypes.create_string_buffer(1024)
    threads = len(os.sched_getaffinity(0))
    code = _library().monerosim_randomx_write(os.fsencode(path), kind, key, len(key), threads, error, len(error))
    if code != 0:
        raise RandomxFilesError(f"cannot write the shared RandomX {kind.name.lower()} {path}: "
                                f"{error.value.decode(errors='replace')}")


def ensure(kinds: Iterable[Kind], key: bytes = REGTEST_SEED_KEY) -> None:
    """Every file of ``kinds`` for ``key`` valid in :func:`files_dir`, written where it is missing or
    wrong (once per machine: a cache in about a second, the dataset in 35 s on two cores).

    Raises:
        RandomxFilesError: the folder or a file cannot be written.
        PreloadBuildError: the library cannot be compiled.
    """
    folder = files_dir()
    for kind in kinds:
        path = file_path(kind, key, folder)
        why = problem(path, kind, key)
        if why is None:
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RandomxFilesError(f"cannot create {folder} for the shared RandomX files: {e.strerror or e} "
                                    f"(set {DIR_ENV} to another folder)") from None
        if path.exists():
            log.warning("writing %s again: %s", path, why)
        size = "256 MiB" if kind is Kind.CACHE else "2 GiB"
        print(f"writing the shared RandomX {kind.name.lower()} ({size}, once per machine) to {path}",
              file=sys.stderr)
        started = time.monotonic()
        write(path, kind, key)
        log.info("wrote %s in %.1f s", path, time.monotonic() - started)
