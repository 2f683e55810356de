"""The app behind the real HTTP server (waitress, configured as `cynode serve` configures it)."""

import http.client
import json
import logging
import socket

import pytest

from cynode.server.app import upload_limit
from tests.support.server import LiveServer


@pytest.fixture(scope="module", name="server")
def fixture_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live"), max_body_bytes=1024)
    yield server
    server.close()


def post_declaring(server, length: int, body: bytes = b"") -> http.client.HTTPResponse:
    host, port = server.url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("POST", "/v1/auth/login")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(length))
    conn.endheaders(body)
    return conn.getresponse()


def test_an_oversized_json_body_is_a_413_problem(server):
    response = post_declaring(server, 2000, b"{" + b" " * 1998 + b"}")
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    assert json.loads(response.read())["detail"] == "request body exceeds 1024 bytes"


def test_a_body_beyond_the_upload_limit_is_a_413_problem_too(server):
    response = post_declaring(server, upload_limit(1024) + 1)
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    problem = json.loads(response.read())
    assert (problem["status"], problem["title"]) == (413, "Payload Too Large")
    assert problem["detail"] == f"request body exceeds {upload_limit(1024)} bytes"
    assert problem["instance"] == response.getheader("X-Request-Id")


def exchange(server, raw: bytes) -> tuple[str, dict, bytes]:
    """Send raw bytes (anything, well-formed or not); the status line, headers and body that come back."""
    host, port = server.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status, {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}, body


@pytest.mark.parametrize("raw, status, title, detail", [
    (b"GET /\nx HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request", "Bare CR or LF found in HTTP message"),
    # no more than waitress reads before it answers, or closing with unread bytes resets the connection
    (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 262_200, 431, "Request Header Fields Too Large",
     "exceeds max_header of 262144"),
    (b"POST /v1/tasks HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "Not Implemented",
     "Transfer-Encoding requested is not supported."),
])
def test_what_waitress_refuses_by_itself_is_a_problem_and_logged(server, caplog, raw, status, title, detail):
    with caplog.at_level(logging.INFO, logger="cynode.http"):
        line, headers, body = exchange(server, raw)
    assert line.split(" ", 2)[1] == str(status)
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert (problem["status"], problem["title"], problem["detail"]) == (status, title, detail)
    assert problem["instance"] == headers["x-request-id"]
    logged = [r.getMessage() for r in caplog.records if r.name == "cynode.http"]
    assert any(f"status={status} " in entry and headers["x-request-id"] in entry for entry in logged), logged


def test_waitress_own_messages_cannot_add_lines_to_the_log(server, caplog):  # pylint: disable=unused-argument
    """waitress logs e.g. "Client disconnected while serving <path>" with the path a client sent."""
    with caplog.at_level(logging.INFO, logger="waitress"):
        logging.getLogger("waitress").info("Client disconnected while serving %s", "/x\n2026-01-01 INFO forged")
    [record] = [r for r in caplog.records if r.name == "waitress"]
    assert record.getMessage() == "Client disconnected while serving /x\\x0a2026-01-01 INFO forged"
