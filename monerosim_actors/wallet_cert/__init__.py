"""The certificate monero-wallet-rpc makes and never uses, made cheap.

``wallet_cert.c`` (beside this file) is the preload library every wallet-rpc runs with and says why;
:func:`build` compiles it once per machine and :func:`wallet_environment` is what a wallet-rpc needs
to use the copy gen puts into OUT.
"""

from __future__ import annotations

from pathlib import Path

from monerosim_actors import native

SOURCE = Path(__file__).with_name("wallet_cert.c")
LIBCRYPTO = "libcrypto.so.3"
"""OpenSSL 3's libcrypto, which Debian's monero-wallet-rpc links dynamically (package libssl3)."""


def build() -> Path:
    """The library, compiled once per machine.

    Raises:
        PreloadBuildError: no C compiler, or compiling failed.
    """
    return native.build_library(SOURCE, "the wallet certificate library", libraries=(f"-l:{LIBCRYPTO}",))


def wallet_environment(library: str) -> dict[str, str]:
    """What a monero-wallet-rpc runs with: the library (``library``, the copy in OUT) preloaded."""
    return {"LD_PRELOAD": library}
