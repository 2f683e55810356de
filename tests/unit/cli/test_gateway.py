"""How the client talks to a gateway (spec/cli.md §6): headers, error text and exit codes for every kind of answer.

The real server gives problem+json errors only, so the other error shapes and broken bodies come from a fake.
"""

import json

import pytest

from cynode import __version__
from tests.unit.cli.conftest import dead_url


@pytest.fixture(name="fake_cli")
def fixture_fake_cli(cli, fake):
    """The CLI pointed at the fake gateway, with a token."""

    def run(*argv, **kwargs):
        return cli(*argv, env={"CYNORK_GATEWAY_URL": fake.url, "CYNORK_TOKEN": "tok-123"}, **kwargs)

    return run


def test_headers_and_bearer_only_where_needed(fake, fake_cli):
    fake.answer(200, "ok", "text/plain")
    fake_cli("status")
    fake.answer(200, json.dumps({"id": "u1", "handle": "h"}))
    fake_cli("auth", "whoami")
    health, me = fake.requests
    for seen in (health, me):
        assert seen.headers["User-Agent"] == f"cynork/{__version__}"
        assert seen.headers["Accept"] == "application/json"
    assert "Authorization" not in health.headers
    assert me.headers["Authorization"] == "Bearer tok-123"


def test_login_sends_json_without_a_bearer(fake, fake_cli):
    fake.answer(401, json.dumps({"detail": "Invalid credentials"}), "application/problem+json")
    assert fake_cli("auth", "login", "--handle", "h", "--password-stdin", stdin="pw").code == 3
    [seen] = fake.requests
    assert (seen.method, seen.path) == ("POST", "/v1/auth/login")
    assert seen.headers["Content-Type"] == "application/json" and "Authorization" not in seen.headers
    assert json.loads(seen.body) == {"handle": "h", "password": "pw"}
    assert fake_cli("auth", "login", "--user", "other", "--password-stdin", stdin="pw").code == 3
    assert json.loads(fake.requests[-1].body)["handle"] == "other"  # --user is an alias of --handle


def test_path_segments_from_user_input_are_percent_encoded(fake, fake_cli):
    fake.answer(404, json.dumps({"detail": "User not found"}), "application/problem+json")
    result = fake_cli("users", "disable", "a/b c?")
    assert (result.code, result.stderr) == (4, "Error: 404 Not Found: User not found\n")
    assert fake.requests[0].path == "/v1/users/a%2Fb%20c%3F/disable"


@pytest.mark.parametrize("status, body, content_type, code, message", [
    (400, {"type": "t", "title": "Bad Request", "status": 400, "detail": "handle is required"},
     "application/problem+json", 6, "400 Bad Request: handle is required"),
    (403, {"detail": "Admin required"}, "application/problem+json", 3, "403 Forbidden: Admin required"),
    (409, {"detail": "handle 'x' is taken"}, "application/problem+json", 5, "409 Conflict: handle 'x' is taken"),
    (422, {"detail": "nope"}, "application/problem+json", 6, "422 Unprocessable Entity: nope"),
    (400, {"error": "policy violation", "category": "secrets", "triggering_text": "AKIA"}, "application/json", 6,
     "400 Bad Request: policy violation (category=secrets)"),
    (404, {"error": "no such thing"}, "application/json", 4, "404 Not Found: no such thing"),
    (503, {"error": {"message": "model unavailable", "type": "cynodeai_error", "code": None}}, "application/json",
     7, "503 Service Unavailable: model unavailable"),
    (502, "<html>bad gateway</html>", "text/html", 7, "502 Bad Gateway"),
    (429, ["not", "an", "object"], "application/json", 7, "429 Too Many Requests"),
    (405, {"detail": 42}, "application/problem+json", 7, "405 Method Not Allowed"),
    (500, {"error": {"no": "message"}}, "application/json", 7, "500 Internal Server Error"),
])
def test_error_text_and_exit_code_for_each_error_shape(fake, fake_cli, status, body, content_type, code, message):
    fake.answer(status, body if isinstance(body, str) else json.dumps(body), content_type)
    result = fake_cli("-o", "json", "auth", "whoami")
    assert (result.code, result.stderr, result.stdout) == (code, f"Error: {message}\n", ""), result


def test_a_huge_error_body_is_read_only_in_part(fake, fake_cli):
    fake.answer(500, json.dumps({"detail": "x" * 10000}), "application/problem+json")
    result = fake_cli("auth", "whoami")
    assert (result.code, result.stderr) == (7, "Error: 500 Internal Server Error\n")


@pytest.mark.parametrize("body", ["<html>surprise</html>", ""])
def test_an_unreadable_success_body_exits_7(fake, fake_cli, body):
    fake.answer(200, body, "text/html")
    result = fake_cli("-o", "json", "auth", "whoami")
    assert (result.code, result.stdout) == (7, "")
    assert result.stderr == "Error: gateway sent an unreadable response to GET /v1/users/me\n"


def test_status_needs_ok_in_the_body(fake, fake_cli):
    fake.answer(200, "starting", "text/plain")
    result = fake_cli("status")
    assert (result.code, result.stderr) == (7, "Error: gateway unreachable: health check did not answer ok\n")
    fake.answer(503, "", "text/plain")
    assert fake_cli("status").stderr == "Error: gateway unreachable: 503 Service Unavailable\n"


def test_a_bare_array_is_accepted_for_a_list(fake, fake_cli):
    fake.answer(200, json.dumps([{"id": "u1", "handle": "a", "is_admin": False, "is_active": True}]))
    result = fake_cli("-o", "json", "users", "list")
    assert result.json == {"users": [{"id": "u1", "handle": "a", "is_admin": False, "is_active": True}],
                           "next_cursor": ""}


def test_connection_refused_exits_7_naming_the_gateway(cli):
    url = dead_url()
    result = cli("auth", "whoami", env={"CYNORK_GATEWAY_URL": url, "CYNORK_TOKEN": "t"})
    assert (result.code, result.stdout) == (7, "")
    assert result.stderr.startswith(f"Error: cannot reach gateway at {url}: ")
    assert result.stderr.endswith("Connection refused\n") and result.stderr.count("\n") == 1
