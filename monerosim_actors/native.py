"""Preload libraries compiled from the C sources the package ships, once per machine.

Three libraries are preloaded into the programs a run starts: the Shadow compatibility shim
(:mod:`monerosim_actors.shadow.shim`), the RandomX library in monerod (:mod:`monerosim_actors.randomx`)
and the wallet certificate library in wallet-rpc (:mod:`monerosim_actors.wallet_cert`). Each is compiled with the machine's C compiler (``$CC``, else
``cc``) the first time ``gen`` needs it and kept in a cache keyed by the source's hash, so a changed
source is rebuilt and an unchanged one compiles once per machine. ``gen`` copies them into OUT, so a
generated folder runs on its own and its files name the same path wherever the cache is.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from monerosim_actors.errors import PreloadBuildError

CACHE_ENV = "MONEROSIM_CACHE_DIR"
"""Overrides where built libraries are kept (default ``$XDG_CACHE_HOME/monerosim-actors``)."""
COMPILE_FLAGS = ("-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror")


def cache_dir() -> Path:
    """Where built libraries are kept."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "monerosim-actors"


def cached_name(source: Path) -> str:
    """The cache file's name: the source's stem and hash, and the machine (a cache may be shared)."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    return f"{source.stem}-{digest}-{platform.machine()}.so"


def build_library(source: Path, what: str, *, libraries: Sequence[str] = (), no_compiler_hint: str = "",
                  cache: Path | None = None) -> Path:
    """The library compiled from ``source`` into ``cache`` (default :func:`cache_dir`) unless it is there.

    ``what`` names it in errors; ``libraries`` are linker arguments after the source (always linked,
    also those only reached through ``dlsym``). Compiled into a temporary file and renamed into place,
    so two ``gen`` runs at once never see a half-written library.

    Raises:
        PreloadBuildError: no C compiler on PATH, the cache cannot be written, or compiling failed.
    """
    folder = cache or cache_dir()
    target = folder / cached_name(source)
    if target.is_file():
        return target
    compiler_name = os.environ.get("CC") or "cc"
    compiler = shutil.which(compiler_name)
    if compiler is None:
        hint = no_compiler_hint or "install a C compiler (Debian: apt-get install gcc)"
        raise PreloadBuildError(f"{what} needs a C compiler, and there is no {compiler_name!r} on PATH: {hint}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{source.stem}.", suffix=".so", dir=folder)
        os.close(fd)
    except OSError as e:
        raise PreloadBuildError(f"cannot write the cache of {what}, {folder}: {e.strerror or e} "
                                f"(set {CACHE_ENV} to another folder)") from None
    try:
        link = ["-Wl,--no-as-needed", *libraries] if libraries else []
        done = subprocess.run([compiler, *COMPILE_FLAGS, "-o", tmp, str(source), "-ldl", "-lpthread", *link],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PreloadBuildError(f"compiling {what} ({source}) with {compiler} failed "
                                    f"(exit {done.returncode}):\n{done.stderr.strip()[-2000:]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
