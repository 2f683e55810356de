"""The app behind the real HTTP server (waitress, configured as `cynode serve` configures it)."""

import http.client
import json

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
