"""The Shadow compatibility shim: a preload library that lets our hosts run under a stock Shadow 3.3.

``shadow_compat.c`` (beside this file) says which calls it answers and why. It is compiled once per
machine (:mod:`monerosim_actors.native`) and ``gen`` copies it into OUT
(:data:`monerosim_actors.defaults.SHIM_FILE`).
"""

from __future__ import annotations

from pathlib import Path

from monerosim_actors import native

SOURCE = Path(__file__).with_name("shadow_compat.c")
NO_COMPILER_HINT = ("install a C compiler (Debian: apt-get install gcc) or, if your Shadow needs no "
                    "shim (a build newer than 3.3.0 that implements sched_* and accepts IP_TOS and "
                    "TCP_NODELAY off), set shadow.compat_shim: false in the scenario")


def cached_name() -> str:
    """The shim's file name in the cache."""
    return native.cached_name(SOURCE)


def build(cache: Path | None = None) -> Path:
    """The shim, compiled into ``cache`` (default :func:`monerosim_actors.native.cache_dir`) unless it is there.

    Raises:
        PreloadBuildError: no C compiler on PATH, the cache cannot be written, or compiling failed.
    """
    return native.build_library(SOURCE, "the Shadow compatibility shim", no_compiler_hint=NO_COMPILER_HINT,
                                cache=cache)
