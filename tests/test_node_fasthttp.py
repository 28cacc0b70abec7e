"""The node's lean HTTP path (client/rpc/fasthttp.py) against aiohttp's, on one real node over raw sockets.

The same JSON-RPC bodies are sent plainly (the lean path answers) and with a header that hands the connection to
aiohttp (its handler answers): the answers must be the same. And the HTTP a client may send: pipelined requests
answered in order, a request that arrives a byte at a time, a connection handed to aiohttp halfway (earlier
requests answered by the lean path, later ones by aiohttp), limits and content types refused as aiohttp does."""

from __future__ import annotations

import json
import socket

from test_node_rpc import node_fixture

node = node_fixture()


def _addr(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _request(body: bytes, extra: str = "", version: str = "HTTP/1.1", ctype: str = "application/json") -> bytes:
    head = f"POST / {version}\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def _read_response(sock: socket.socket, buf: bytearray) -> tuple[int, dict[str, str], bytes]:
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before an answer"
        buf += chunk
    end = buf.index(b"\r\n\r\n")
    lines = bytes(buf[:end]).decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(buf) < end + 4 + length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed in a body"
        buf += chunk
    body = bytes(buf[end + 4 : end + 4 + length])
    del buf[: end + 4 + length]
    return status, headers, body


def _exchange(url: str, *requests: bytes, pieces: int = 1) -> list[tuple[int, dict[str, str], bytes]]:
    with socket.create_connection(_addr(url), timeout=30) as sock:
        data = b"".join(requests)
        step = max(1, len(data) // pieces)
        for i in range(0, len(data), step):
            sock.sendall(data[i : i + step])
        buf = bytearray()
        return [_read_response(sock, buf) for _ in requests]


BODIES = [
    b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
    b'{"jsonrpc":"2.0","id":"x","method":"eth_getBalance","params":["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"]}',
    b'[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":2,"method":"net_version"}]',
    b'[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":2,"method":"anvil_getAutomine"}]',
    b'{"jsonrpc":"2.0","method":"eth_chainId"}',  # a notification: empty answer
    b'{"jsonrpc":"2.0","id":3,"method":"nope_nope"}',
    b'{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["0x1234"]}',
    b'{"jsonrpc":"2.0","id":5,"method":"eth_call","params":[{"to":"0x0000000000000000000000000000000000000004",'
    b'"data":"0xabcd"},"latest"]}',
    b'{"jsonrpc":"2.0","id":6,"method":"eth_sendRawTransaction","params":["0xc0"]}',
    b"[]",
    b"not json",
    b"[1e400]",
    '{"jsonrpc":"2.0","id":7,"method":"web3_sha3","params":["0x00"]}'.encode("utf-16"),
]


def _json(body: bytes):
    return json.loads(body) if body else None


def test_lean_and_aiohttp_paths_answer_alike(node):
    for body in BODIES:
        ((s1, h1, b1),) = _exchange(node.url, _request(body))
        # an Origin header (no CORS configured) hands the connection to aiohttp, which answers the same way
        ((s2, h2, b2),) = _exchange(node.url, _request(body, "Origin: http://localhost:9\r\n"))
        assert "server" not in h1 and "aiohttp" in h2.get("server", ""), (h1, h2)  # each path was taken
        assert (s1, _json(b1)) == (s2, _json(b2)), body
        assert h1["content-type"].startswith("application/json") and h2["content-type"].startswith("application/json")


def test_pipelined_requests_are_answered_in_order(node):
    requests = [_request(b'{"jsonrpc":"2.0","id":%d,"method":"eth_chainId"}' % i) for i in range(20)]
    answers = _exchange(node.url, *requests)
    assert [json.loads(b)["id"] for _, _, b in answers] == list(range(20))
    # a byte at a time
    answers = _exchange(node.url, *requests[:3], pieces=len(b"".join(requests[:3])))
    assert [json.loads(b)["id"] for _, _, b in answers] == [0, 1, 2]


def test_a_connection_handed_to_aiohttp_halfway(node):
    plain = _request(b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}')
    chunked = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        b"2f\r\n" + b'{"jsonrpc":"2.0","id":2,"method":"eth_chainId"}' + b"\r\n0\r\n\r\n"
    )
    last = _request(b'{"jsonrpc":"2.0","id":3,"method":"eth_chainId"}')
    answers = _exchange(node.url, plain, chunked, last)
    assert [(s, json.loads(b)["id"]) for s, _, b in answers] == [(200, 1), (200, 2), (200, 3)]
    assert "server" not in answers[0][1] and "aiohttp" in answers[2][1]["server"]


def test_what_the_lean_path_leaves_to_aiohttp(node):
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'
    cases = [
        (_request(body, ctype="text/plain"), 415),
        (_request(body, "Host: evil.example\r\n").replace(b"Host: 127.0.0.1\r\n", b""), 403),
        (
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n",
            413,
        ),
        (_request(body, version="HTTP/1.0"), 200),
        (_request(body, "Connection: close\r\n"), 200),
        (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 200),
        (
            b"POST /other HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
            405,
        ),
    ]
    for request, status in cases:
        ((got, headers, _),) = _exchange(node.url, request)
        assert got in (status, 404) if status == 405 else got == status, (request[:60], got)
        assert "aiohttp" in headers.get("server", ""), request[:60]
