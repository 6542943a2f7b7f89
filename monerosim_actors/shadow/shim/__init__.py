"""The Shadow compatibility shim: a preload library that lets our hosts run under a stock Shadow 3.3.

``shadow_compat.c`` (beside this file) says which calls it answers and why. It is compiled with the
machine's C compiler (``$CC``, else ``cc``) the first time ``gen`` needs it and kept in a cache keyed
by the source's hash, so a changed source is rebuilt and an unchanged one compiles once per machine.
``gen`` copies it into OUT (:data:`monerosim_actors.defaults.SHIM_FILE`), so that a generated folder
runs on its own and its ``shadow.yaml`` names the same path wherever the cache is.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from monerosim_actors.errors import ShimBuildError

SOURCE = Path(__file__).with_name("shadow_compat.c")
CACHE_ENV = "MONEROSIM_CACHE_DIR"
"""Overrides where built shims are kept (default ``$XDG_CACHE_HOME/monerosim-actors``)."""
COMPILE_FLAGS = ("-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror")
NO_COMPILER_HINT = ("install a C compiler (Debian: apt-get install gcc) or, if your Shadow needs no "
                    "shim (a build newer than 3.3.0 that implements sched_* and accepts IP_TOS and "
                    "TCP_NODELAY off), set shadow.compat_shim: false in the scenario")


def cache_dir() -> Path:
    """Where built shims are kept."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "monerosim-actors"


def cached_name() -> str:
    """The cache file's name: the source's hash and the machine (a cache may be shared by several)."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    return f"shadow_compat-{digest}-{platform.machine()}.so"


def build(cache: Path | None = None) -> Path:
    """The shim for this source, compiled into ``cache`` (default :func:`cache_dir`) unless it is there.

    Compiled into a temporary file and renamed into place, so two ``gen`` runs at once never see a
    half-written library.

    Raises:
        ShimBuildError: no C compiler on PATH, the cache cannot be written, or compiling failed.
    """
    folder = cache or cache_dir()
    target = folder / cached_name()
    if target.is_file():
        return target
    compiler_name = os.environ.get("CC") or "cc"
    compiler = shutil.which(compiler_name)
    if compiler is None:
        raise ShimBuildError(f"the Shadow compatibility shim needs a C compiler, and there is no "
                             f"{compiler_name!r} on PATH: {NO_COMPILER_HINT}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".shadow_compat.", suffix=".so", dir=folder)
        os.close(fd)
    except OSError as e:
        raise ShimBuildError(f"cannot write the shim's cache {folder}: {e.strerror or e} "
                             f"(set {CACHE_ENV} to another folder)") from None
    try:
        done = subprocess.run([compiler, *COMPILE_FLAGS, "-o", tmp, str(SOURCE), "-ldl"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ShimBuildError(f"compiling the Shadow compatibility shim ({SOURCE}) with {compiler} "
                                 f"failed (exit {done.returncode}):\n{done.stderr.strip()[-2000:]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
