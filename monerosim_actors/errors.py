"""The one tree of errors the project raises; each is translated once, at the boundary it crosses.

    MonerosimError
    ├── ScenarioError        a scenario file is wrong; carries every problem found (file, line, key path)
    ├── OutputError          an output folder cannot be written or is not what a stage expects
    ├── PreloadBuildError    a preload library (the Shadow shim, RandomX sharing) cannot be compiled
    ├── RandomxFilesError    the shared RandomX cache or dataset cannot be written
    ├── ProcessError         a managed program (monerod, wallet-rpc) failed: host, argv, code, log tail
    ├── RpcError             a JSON-RPC call failed
    │   ├── RpcTimeout       no answer in time (connecting or reading)
    │   ├── RpcConnectionError no connection: refused, reset or dropped before an answer
    │   ├── RpcResponseError the program answered with an error: carries its code and message
    │   └── RpcMalformedAnswer the program answered, but not in the shape the call reads (missing
    │                        field, wrong type, not JSON)
    └── ProtocolError        a bus frame is malformed, unknown, oversized or of another version
"""

from __future__ import annotations

from dataclasses import dataclass


class MonerosimError(Exception):
    """Base of every error this project raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario file, located so that a user can act on it.

    Attributes:
        file: the scenario file's path as the user gave it.
        line: 1-based line of the offending key or value, or None when it is not in the file.
        path: the key path, e.g. ``network.agents.mining_pools[1].hashrate_share``.
        message: what is wrong, e.g. ``must be > 0, got -0.3``.
    """

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(MonerosimError):
    """A scenario file has one or more problems; all of them are reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class OutputError(MonerosimError):
    """An output folder cannot be written, would be overwritten, or is not a run."""


class PreloadBuildError(MonerosimError):
    """A preload library (the Shadow compatibility shim, the RandomX sharing library) cannot be
    compiled: no C compiler, or the compiler failed."""


class RandomxFilesError(MonerosimError):
    """The shared RandomX files cannot be written (no librandomx, no space, no memory)."""


class ProcessError(MonerosimError):
    """A managed program failed to start, to become ready, or to stay up."""

    def __init__(self, message: str, *, host: str = "", argv: list[str] | None = None,
                 returncode: int | None = None, log_tail: str = "") -> None:
        self.host = host
        self.argv = list(argv or [])
        self.returncode = returncode
        self.log_tail = log_tail
        text = f"{host}: {message}" if host else message
        if log_tail:
            text += f"\n--- last lines of its log ---\n{log_tail}"
        super().__init__(text)


class RpcError(MonerosimError):
    """A JSON-RPC call to monerod or monero-wallet-rpc failed."""

    def __init__(self, method: str, message: str) -> None:
        self.method = method
        super().__init__(f"{method}: {message}")


class RpcTimeout(RpcError):
    """The program did not answer in time (connecting or reading)."""


class RpcConnectionError(RpcError):
    """No connection to the program: refused (not up yet, or gone), reset, or closed before an answer.

    A call that changes state may still have been carried out when the connection broke after the
    request was sent.
    """


class RpcMalformedAnswer(RpcError):
    """The program answered, but the answer is not what the call reads: a field is missing or of the
    wrong type, or the body is not JSON. Raised ``from`` the original ``KeyError``/``ValueError``/
    ``TypeError``.
    """


class RpcResponseError(RpcError):
    """The program answered with a JSON-RPC error (or a status other than OK)."""

    def __init__(self, method: str, code: int, message: str) -> None:
        self.code = code
        self.rpc_message = message
        super().__init__(method, f"error {code}: {message}")


class ProtocolError(MonerosimError):
    """A bus frame cannot be accepted; ``reason`` is a short machine-readable word for the event log."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
