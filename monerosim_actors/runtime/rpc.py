"""Typed clients for monerod's and monero-wallet-rpc's JSON-RPC, one ``requests.Session`` each.

Errors are translated once, here: no answer in time -> :class:`RpcTimeout`; no connection (refused,
reset, closed before an answer) -> :class:`RpcConnectionError`; an answer with a JSON-RPC ``error``
or a daemon ``status`` other than ``OK`` -> :class:`RpcResponseError` carrying the code and message
(a daemon status becomes code :data:`STATUS_CODE` with the status as message, e.g. ``BUSY`` from
``generateblocks`` while a regtest node with peers is not synchronised); an answer that is not JSON
or lacks a field the call reads (a ``KeyError``/``ValueError``/``TypeError`` while reading it) ->
:class:`RpcMalformedAnswer`, raised ``from`` the original. Only idempotent reads are retried (on
:class:`RpcTimeout` or :class:`RpcConnectionError`); anything that changes state (mining,
transfers, wallet files, stopping) is sent exactly once. Every call has a timeout; a call blocks only
on HTTP. Calls go straight to the program, never through a proxy named in the environment.
Amounts are atomic units (1 XMR = 10**12).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import requests

from monerosim_actors.errors import RpcConnectionError, RpcMalformedAnswer, RpcResponseError, RpcTimeout

STATUS_CODE = 0
"""``RpcResponseError.code`` when monerod answers with a non-OK ``status`` instead of an error."""
STATUS_BUSY = "BUSY"
DEFAULT_TIMEOUT_S = 60.0
RETRIES = 2
"""Extra attempts of an idempotent call after an :class:`RpcTimeout` or :class:`RpcConnectionError`."""
RETRY_BACKOFF_S = 0.25


@contextmanager
def _reading(method: str) -> Iterator[None]:
    """Turn what reading an answer raises (a missing field, a wrong type) into :class:`RpcMalformedAnswer`."""
    try:
        yield
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        raise RpcMalformedAnswer(method, f"answer not as expected: {type(e).__name__}: {e}") from e


class _Client:
    """HTTP plumbing shared by both clients: JSON-RPC and plain JSON endpoints, errors, retries."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT_S, *, keep_alive: bool = True) -> None:
        """``url`` is the program's base URL, e.g. ``http://127.0.0.1:18081``.

        ``keep_alive=False`` asks the program to close the connection after each answer: for a program
        on another host (a public node), whose RPC connections are a bounded resource the simulated
        network shares (monerod's ``--rpc-max-connections``, 100 by default, and 3 per public
        address). An idle connection kept by the runtime would take a slot that a real wallet-only
        user does not take, and 50 users on one public node would fill them."""
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        # The programs are always on the host's own address or a public node's: a proxy from the
        # environment (http_proxy, HTTPS_PROXY, ...) would receive every call, readiness probes
        # included, and .netrc credentials are not ours to send either.
        self._session.trust_env = False
        if not keep_alive:
            self._session.headers["Connection"] = "close"
        self._ids = itertools.count(1)

    def close(self) -> None:
        self._session.close()

    def _json_rpc(self, method: str, params: dict[str, Any] | None = None, *,
                  idempotent: bool = False, retries: int = RETRIES, timeout: float | None = None) -> Any:
        payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or {}}
        answer = self._post(method, "/json_rpc", payload, idempotent, retries, timeout)
        if not isinstance(answer, dict):
            raise RpcMalformedAnswer(method, f"unexpected answer {str(answer)[:200]}")
        if "error" in answer:
            with _reading(method):
                err = answer["error"] or {}
                code, message = int(err.get("code", STATUS_CODE)), str(err.get("message", ""))
            raise RpcResponseError(method, code, message)
        return answer.get("result", {})

    def _endpoint(self, path: str, body: dict[str, Any] | None = None, *, idempotent: bool = False,
                  retries: int = RETRIES, timeout: float | None = None) -> Any:
        return self._post(path.lstrip("/"), path, body or {}, idempotent, retries, timeout)

    def _post(self, method: str, path: str, payload: dict[str, Any], idempotent: bool, retries: int,
              timeout: float | None) -> Any:
        attempts = 1 + (retries if idempotent else 0)
        for attempt in range(attempts):
            try:
                response = self._session.post(self.url + path, json=payload,
                                              timeout=timeout if timeout is not None else self.timeout)
            except requests.RequestException as e:
                if attempt + 1 < attempts:
                    time.sleep(RETRY_BACKOFF_S * 2**attempt)
                    continue
                what = f"{self.url}: {type(e).__name__}: {e}"
                if isinstance(e, requests.Timeout):  # ConnectTimeout is a ConnectionError too: a timeout
                    raise RpcTimeout(method, f"no answer in time from {what}") from e
                raise RpcConnectionError(method, f"no connection to {what}") from e
            if response.status_code != 200:
                raise RpcResponseError(method, response.status_code, f"HTTP {response.status_code}")
            try:
                return response.json()
            except ValueError as e:
                raise RpcMalformedAnswer(method, f"not JSON: {response.text[:200]!r}") from e
        raise AssertionError("unreachable")


def _status_ok(method: str, result: Any) -> dict[str, Any]:
    """monerod reports some failures in ``status`` rather than as JSON-RPC errors."""
    if not isinstance(result, dict):
        raise RpcMalformedAnswer(method, f"unexpected answer {str(result)[:200]}")
    status = result.get("status", "OK")
    if status != "OK":
        raise RpcResponseError(method, STATUS_CODE, str(status))
    return result


# --- monerod ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DaemonInfo:
    height: int
    """Number of blocks (top block height + 1)."""
    top_block_hash: str
    target_height: int
    synchronized: bool
    outgoing_connections_count: int
    incoming_connections_count: int
    tx_pool_size: int
    nettype: str
    offline: bool


class GeneratedBlocks(NamedTuple):
    """``generateblocks``' answer; unpacks as ``height, hashes = daemon.generateblocks(...)``."""

    height: int
    """Height of the newest block mined (monerod's answer; ``get_info.height`` is one more)."""
    hashes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BlockHeader:
    height: int
    hash: str
    prev_hash: str
    timestamp: int
    reward: int
    num_txes: int
    difficulty: int
    depth: int
    orphan_status: bool

    @classmethod
    def from_json(cls, h: dict[str, Any]) -> BlockHeader:
        return cls(height=int(h["height"]), hash=str(h["hash"]), prev_hash=str(h.get("prev_hash", "")),
                   timestamp=int(h.get("timestamp", 0)), reward=int(h.get("reward", 0)),
                   num_txes=int(h.get("num_txes", 0)), difficulty=int(h.get("difficulty", 0)),
                   depth=int(h.get("depth", 0)), orphan_status=bool(h.get("orphan_status", False)))


@dataclass(frozen=True, slots=True)
class Connection:
    address: str
    incoming: bool
    state: str
    height: int
    peer_id: str


@dataclass(frozen=True, slots=True)
class PoolTransaction:
    txid: str
    fee: int
    blob_size: int
    receive_time: int


class DaemonRpc(_Client):
    """monerod's RPC (``http://IP:18081``)."""

    def get_info(self, *, retries: int = RETRIES, timeout: float | None = None) -> DaemonInfo:
        r = _status_ok("get_info", self._json_rpc("get_info", idempotent=True, retries=retries,
                                                  timeout=timeout))
        with _reading("get_info"):
            return DaemonInfo(height=int(r["height"]), top_block_hash=str(r.get("top_block_hash", "")),
                              target_height=int(r.get("target_height", 0)),
                              synchronized=bool(r.get("synchronized", False)),
                              outgoing_connections_count=int(r.get("outgoing_connections_count", 0)),
                              incoming_connections_count=int(r.get("incoming_connections_count", 0)),
                              tx_pool_size=int(r.get("tx_pool_size", 0)), nettype=str(r.get("nettype", "")),
                              offline=bool(r.get("offline", False)))

    def get_height(self) -> int:
        """Number of blocks (top block height + 1)."""
        r = _status_ok("get_height", self._endpoint("/get_height", idempotent=True))
        with _reading("get_height"):
            return int(r["height"])

    def generateblocks(self, count: int, wallet_address: str) -> GeneratedBlocks:
        """Mine ``count`` blocks paying ``wallet_address`` (regtest only; never retried).

        Raises:
            RpcResponseError: with message ``BUSY`` while a node with peers is not synchronised.
        """
        r = _status_ok("generateblocks", self._json_rpc(
            "generateblocks", {"amount_of_blocks": count, "wallet_address": wallet_address}))
        with _reading("generateblocks"):
            return GeneratedBlocks(height=int(r["height"]), hashes=tuple(r.get("blocks") or ()))

    def get_block_header_by_height(self, height: int) -> BlockHeader:
        r = _status_ok("get_block_header_by_height", self._json_rpc(
            "get_block_header_by_height", {"height": height}, idempotent=True))
        with _reading("get_block_header_by_height"):
            return BlockHeader.from_json(r["block_header"])

    def get_block_header_by_hash(self, block_hash: str) -> BlockHeader:
        r = _status_ok("get_block_header_by_hash", self._json_rpc(
            "get_block_header_by_hash", {"hash": block_hash}, idempotent=True))
        with _reading("get_block_header_by_hash"):
            return BlockHeader.from_json(r["block_header"])

    def get_last_block_header(self) -> BlockHeader:
        r = _status_ok("get_last_block_header", self._json_rpc("get_last_block_header", idempotent=True))
        with _reading("get_last_block_header"):
            return BlockHeader.from_json(r["block_header"])

    def get_connections(self) -> list[Connection]:
        r = _status_ok("get_connections", self._json_rpc("get_connections", idempotent=True))
        with _reading("get_connections"):
            return [Connection(address=str(c.get("address", "")), incoming=bool(c.get("incoming", False)),
                               state=str(c.get("state", "")), height=int(c.get("height", 0)),
                               peer_id=str(c.get("peer_id", "")))
                    for c in r.get("connections") or ()]

    def get_transaction_pool(self) -> list[PoolTransaction]:
        """The transactions in the pool (monerod's non-JSON-RPC ``/get_transaction_pool``)."""
        r = _status_ok("get_transaction_pool", self._endpoint("/get_transaction_pool", idempotent=True))
        with _reading("get_transaction_pool"):
            return [PoolTransaction(txid=str(t["id_hash"]), fee=int(t.get("fee", 0)),
                                    blob_size=int(t.get("blob_size", 0)),
                                    receive_time=int(t.get("receive_time", 0)))
                    for t in r.get("transactions") or ()]

    def stop_daemon(self, *, timeout: float | None = None) -> None:
        _status_ok("stop_daemon", self._endpoint("/stop_daemon", timeout=timeout))


# --- monero-wallet-rpc -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Balance:
    balance: int
    unlocked_balance: int
    blocks_to_unlock: int


@dataclass(frozen=True, slots=True)
class NewAddress:
    address: str
    address_index: int


@dataclass(frozen=True, slots=True)
class Refreshed:
    blocks_fetched: int
    received_money: bool


@dataclass(frozen=True, slots=True)
class TransferResult:
    txid: str
    fee: int
    amount: int
    tx_key: str


@dataclass(frozen=True, slots=True)
class TransferEntry:
    """One entry of ``get_transfers`` / ``get_transfer_by_txid``."""

    txid: str
    type: str
    """``in``, ``out``, ``pending``, ``failed`` or ``pool``."""
    amount: int
    fee: int
    height: int
    """0 while in the pool."""
    confirmations: int
    timestamp: int
    address: str
    unlock_time: int
    double_spend_seen: bool
    destinations: tuple[tuple[str, int], ...] = ()
    """``(address, amount)`` of an outgoing transfer this wallet made (empty when the wallet only
    found it on chain, e.g. after losing its cache)."""

    @classmethod
    def from_json(cls, t: dict[str, Any]) -> TransferEntry:
        return cls(txid=str(t["txid"]), type=str(t.get("type", "")), amount=int(t.get("amount", 0)),
                   fee=int(t.get("fee", 0)), height=int(t.get("height", 0)),
                   confirmations=int(t.get("confirmations", 0)), timestamp=int(t.get("timestamp", 0)),
                   address=str(t.get("address", "")), unlock_time=int(t.get("unlock_time", 0)),
                   double_spend_seen=bool(t.get("double_spend_seen", False)),
                   destinations=tuple((str(d.get("address", "")), int(d.get("amount", 0)))
                                      for d in t.get("destinations") or ()))


class WalletRpc(_Client):
    """monero-wallet-rpc's RPC (``http://IP:18088``); one wallet file open at a time."""

    def get_version(self, *, retries: int = RETRIES, timeout: float | None = None) -> int:
        r = self._json_rpc("get_version", idempotent=True, retries=retries, timeout=timeout)
        with _reading("get_version"):
            return int(r["version"])

    def create_wallet(self, filename: str, password: str = "", language: str = "English") -> None:
        """Create (and open) a wallet file in the wallet dir; error -21 if it exists."""
        self._json_rpc("create_wallet", {"filename": filename, "password": password, "language": language})

    def open_wallet(self, filename: str, password: str = "") -> None:
        self._json_rpc("open_wallet", {"filename": filename, "password": password})

    def close_wallet(self) -> None:
        self._json_rpc("close_wallet")

    def get_address(self, account_index: int = 0) -> str:
        """The account's primary address."""
        r = self._json_rpc("get_address", {"account_index": account_index}, idempotent=True)
        with _reading("get_address"):
            return str(r["address"])

    def get_addresses(self, account_index: int = 0) -> dict[int, str]:
        """Every address of the account the wallet knows, by subaddress index (0 is the primary)."""
        r = self._json_rpc("get_address", {"account_index": account_index}, idempotent=True)
        with _reading("get_address"):
            return {int(a["address_index"]): str(a["address"]) for a in r.get("addresses") or ()}

    def create_address(self, account_index: int = 0, label: str = "", count: int = 1) -> NewAddress:
        """Add ``count`` subaddresses at the end of the account's table; the first one is returned."""
        r = self._json_rpc("create_address", {"account_index": account_index, "label": label, "count": count})
        with _reading("create_address"):
            return NewAddress(address=str(r["address"]), address_index=int(r["address_index"]))

    def get_balance(self, account_index: int = 0) -> Balance:
        r = self._json_rpc("get_balance", {"account_index": account_index}, idempotent=True)
        with _reading("get_balance"):
            return Balance(balance=int(r.get("balance", 0)),
                           unlocked_balance=int(r.get("unlocked_balance", 0)),
                           blocks_to_unlock=int(r.get("blocks_to_unlock", 0)))

    def get_height(self) -> int:
        r = self._json_rpc("get_height", idempotent=True)
        with _reading("get_height"):
            return int(r["height"])

    def refresh(self, start_height: int | None = None) -> Refreshed:
        params = {} if start_height is None else {"start_height": start_height}
        r = self._json_rpc("refresh", params, idempotent=True)
        with _reading("refresh"):
            return Refreshed(blocks_fetched=int(r.get("blocks_fetched", 0)),
                             received_money=bool(r.get("received_money", False)))

    def transfer(self, destinations: list[tuple[str, int]], *, account_index: int = 0,
                 priority: int = 0, do_not_relay: bool = False) -> TransferResult:
        """Send ``amount`` atomic units to each ``(address, amount)``; never retried."""
        r = self._json_rpc("transfer", {
            "destinations": [{"address": a, "amount": int(n)} for a, n in destinations],
            "account_index": account_index, "priority": priority, "get_tx_key": True,
            "do_not_relay": do_not_relay})
        with _reading("transfer"):
            return TransferResult(txid=str(r["tx_hash"]), fee=int(r.get("fee", 0)),
                                  amount=int(r.get("amount", 0)), tx_key=str(r.get("tx_key", "")))

    def get_transfers(self, *, in_: bool = True, out: bool = True, pending: bool = True,
                      pool: bool = True, failed: bool = False, account_index: int = 0,
                      min_height: int | None = None) -> list[TransferEntry]:
        """Transfers of the account of the kinds asked for (the ``type`` field tells which)."""
        params: dict[str, Any] = {"in": in_, "out": out, "pending": pending, "pool": pool,
                                  "failed": failed, "account_index": account_index}
        if min_height is not None:
            params.update(filter_by_height=True, min_height=min_height)
        r = self._json_rpc("get_transfers", params, idempotent=True)
        with _reading("get_transfers"):
            return [TransferEntry.from_json(t)
                    for kind in ("in", "out", "pending", "pool", "failed") for t in r.get(kind) or ()]

    def get_transfer_by_txid(self, txid: str, account_index: int = 0) -> TransferEntry:
        r = self._json_rpc("get_transfer_by_txid", {"txid": txid, "account_index": account_index},
                           idempotent=True)
        with _reading("get_transfer_by_txid"):
            return TransferEntry.from_json(r["transfer"])

    def store(self, *, timeout: float | None = None) -> None:
        self._json_rpc("store", timeout=timeout)

    def stop_wallet(self, *, timeout: float | None = None) -> None:
        self._json_rpc("stop_wallet", timeout=timeout)
