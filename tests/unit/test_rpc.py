"""The RPC clients map answers to typed results and failures to RpcTimeout / RpcConnectionError /
RpcResponseError / RpcMalformedAnswer,
and retry only idempotent calls (against a small fake HTTP server speaking monerod's dialect)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monerosim_actors.errors import (RpcConnectionError, RpcError, RpcMalformedAnswer, RpcResponseError,
                                     RpcTimeout)
from monerosim_actors.runtime.rpc import STATUS_CODE, DaemonRpc, GeneratedBlocks, WalletRpc

Handler = Callable[[str, dict[str, Any]], Any]


class FakeServer:
    """Answers each request with ``handler(method_or_path, params)``; counts calls per method."""

    def __init__(self, handler: Handler) -> None:
        self.calls: list[str] = []
        fake = self

        class Req(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/json_rpc":
                    name, params = body["method"], body["params"]
                else:
                    name, params = self.path, body
                fake.calls.append(name)
                answer = handler(name, params)
                if answer == "drop":  # close without an answer
                    self.close_connection = True
                    return
                if isinstance(answer, tuple) and answer[0] == "sleep":  # answer too late
                    time.sleep(answer[1])
                    answer = answer[2]
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.30.250.1", 0), Req)
        self.url = f"http://127.30.250.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], FakeServer]]:
    servers: list[FakeServer] = []

    def start(handler: Handler) -> FakeServer:
        servers.append(FakeServer(handler))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def rpc_result(result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "result": result}


def test_daemon_typed_results(serve) -> None:
    header = {"height": 5, "hash": "h5", "prev_hash": "h4", "timestamp": 9, "reward": 7,
              "num_txes": 0, "difficulty": 1, "depth": 0, "orphan_status": False}
    answers = {
        "get_info": rpc_result({"height": 6, "top_block_hash": "h5", "target_height": 0,
                                "synchronized": True, "outgoing_connections_count": 1,
                                "incoming_connections_count": 2, "tx_pool_size": 3,
                                "nettype": "fakechain", "offline": False, "status": "OK"}),
        "generateblocks": rpc_result({"height": 8, "blocks": ["a", "b"], "status": "OK"}),
        "get_last_block_header": rpc_result({"block_header": header, "status": "OK"}),
        "get_connections": rpc_result({"connections": [{"address": "1.2.3.4:18080", "incoming": True,
                                                        "state": "normal", "height": 6, "peer_id": "p"}],
                                       "status": "OK"}),
        "/get_height": {"height": 6, "status": "OK"},
        "/get_transaction_pool": {"transactions": [{"id_hash": "t1", "fee": 10, "blob_size": 1500,
                                                    "receive_time": 3}], "status": "OK"},
        "/stop_daemon": {"status": "OK"},
    }
    server = serve(lambda name, params: answers[name])
    d = DaemonRpc(server.url, timeout=5)
    info = d.get_info()
    assert (info.height, info.synchronized, info.nettype) == (6, True, "fakechain")
    height, hashes = d.generateblocks(2, "addr")
    assert d.generateblocks(2, "addr") == GeneratedBlocks(8, ("a", "b")) and height == 8
    assert d.get_last_block_header().prev_hash == "h4"
    assert d.get_connections()[0].incoming is True
    assert d.get_height() == 6
    assert d.get_transaction_pool()[0].txid == "t1"
    d.stop_daemon()


def test_empty_pool_has_no_transactions_key(serve) -> None:
    server = serve(lambda name, params: {"status": "OK"})
    assert DaemonRpc(server.url).get_transaction_pool() == []


def test_busy_status_is_a_response_error_and_not_retried(serve) -> None:
    server = serve(lambda name, params: rpc_result({"status": "BUSY"}))
    with pytest.raises(RpcResponseError) as e:
        DaemonRpc(server.url).generateblocks(1, "addr")
    assert (e.value.code, e.value.rpc_message) == (STATUS_CODE, "BUSY")
    assert server.calls == ["generateblocks"]


def test_json_rpc_error_carries_code_and_message(serve) -> None:
    server = serve(lambda name, params: {"jsonrpc": "2.0", "id": 1,
                                         "error": {"code": -13, "message": "No wallet file"}})
    with pytest.raises(RpcResponseError) as e:
        WalletRpc(server.url).get_balance()
    assert (e.value.code, e.value.rpc_message) == (-13, "No wallet file")
    assert "get_balance" in str(e.value)


def test_reads_are_retried_writes_are_not(serve) -> None:
    server = serve(lambda name, params: "drop")
    w = WalletRpc(server.url, timeout=2)
    with pytest.raises(RpcConnectionError):
        w.get_balance()
    assert server.calls == ["get_balance"] * 3
    server.calls.clear()
    with pytest.raises(RpcConnectionError):
        w.transfer([("addr", 5)])
    assert server.calls == ["transfer"]


def test_read_recovers_on_retry(serve) -> None:
    answers = iter(["drop", rpc_result({"balance": 10, "unlocked_balance": 4, "blocks_to_unlock": 3})])
    server = serve(lambda name, params: next(answers))
    b = WalletRpc(server.url, timeout=2).get_balance()
    assert (b.balance, b.unlocked_balance, b.blocks_to_unlock) == (10, 4, 3)


def test_connection_refused_is_a_connection_error_not_a_timeout() -> None:
    with pytest.raises(RpcConnectionError) as e:
        DaemonRpc("http://127.30.250.2:9", timeout=1).get_info(retries=0)
    assert not isinstance(e.value, RpcTimeout) and isinstance(e.value, RpcError)
    assert "get_info" in str(e.value)


def test_no_answer_in_time_is_a_timeout(serve) -> None:
    server = serve(lambda name, params: ("sleep", 1.0, rpc_result({"height": 1})))
    with pytest.raises(RpcTimeout):
        DaemonRpc(server.url, timeout=0.2).get_info(retries=0)


@pytest.mark.parametrize("answer", [rpc_result({"status": "OK"}), rpc_result({"height": "six", "status": "OK"}),
                                    rpc_result(["not", "a", "dict"]), {"error": "no dict"}, b"<html>oops"])
def test_malformed_answer_is_an_rpc_error_naming_the_method(serve, answer: Any) -> None:
    server = serve(lambda name, params: answer)
    with pytest.raises(RpcMalformedAnswer) as e:
        DaemonRpc(server.url).get_info(retries=0)
    assert str(e.value).startswith("get_info: ")
    assert isinstance(e.value, RpcError)


def test_malformed_answer_keeps_the_original_as_its_cause(serve) -> None:
    server = serve(lambda name, params: rpc_result({"fee": 3}))
    with pytest.raises(RpcMalformedAnswer) as e:
        WalletRpc(server.url).transfer([("addr", 5)])
    assert isinstance(e.value.__cause__, KeyError) and "transfer" in str(e.value)
    assert server.calls == ["transfer"]


def test_wallet_calls_send_expected_params(serve) -> None:
    seen: dict[str, dict[str, Any]] = {}
    entry = {"txid": "t", "type": "in", "amount": 5, "fee": 1, "height": 3, "confirmations": 2,
             "timestamp": 1, "address": "a", "unlock_time": 0, "double_spend_seen": False}

    def handler(name: str, params: dict[str, Any]) -> Any:
        seen[name] = params
        return rpc_result({
            "transfer": {"tx_hash": "tx", "fee": 3, "amount": 5, "tx_key": "k"},
            "get_transfers": {"in": [entry], "pool": [dict(entry, type="pool", height=0)]},
            "get_transfer_by_txid": {"transfer": entry},
            "create_address": {"address": "sub", "address_index": 1},
            "get_address": {"address": "main"},
            "refresh": {"blocks_fetched": 4, "received_money": True},
        }.get(name, {}))

    server = serve(handler)
    w = WalletRpc(server.url)
    r = w.transfer([("addrA", 7)], priority=1)
    assert (r.txid, r.fee) == ("tx", 3)
    assert seen["transfer"]["destinations"] == [{"address": "addrA", "amount": 7}]
    assert [t.type for t in w.get_transfers()] == ["in", "pool"]
    assert seen["get_transfers"]["in"] is True
    assert w.get_transfer_by_txid("t").confirmations == 2
    assert w.create_address(label="v").address_index == 1
    assert w.get_address() == "main"
    assert w.refresh().received_money is True
    w.create_wallet("w1")
    assert seen["create_wallet"] == {"filename": "w1", "password": "", "language": "English"}
    w.store()
    w.stop_wallet()


@pytest.mark.parametrize("variable", ["http_proxy", "HTTP_PROXY", "all_proxy"])
def test_calls_never_go_through_a_proxy_from_the_environment(serve, monkeypatch: pytest.MonkeyPatch,
                                                              variable: str) -> None:
    """A proxy in the environment would receive every call, the readiness probes first."""
    proxy = serve(lambda name, params: "drop")
    answers = {"get_version": rpc_result({"version": 65562}), "/get_height": {"height": 6, "status": "OK"}}
    server = serve(lambda name, params: answers[name])
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, proxy.url)
    assert WalletRpc(server.url, timeout=5).get_version() == 65562
    assert DaemonRpc(server.url, timeout=5).get_height() == 6
    assert proxy.calls == [] and server.calls == ["get_version", "/get_height"]
