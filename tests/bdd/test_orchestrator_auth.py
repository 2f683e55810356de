"""Steps for features/orchestrator/initial_auth.feature: the gateway's health, auth and user routes over HTTP.

The shared steps (servers, sending requests, problem checks) live in conftest.py.
"""

import json
import re
import signal
from datetime import datetime, timezone

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.bdd.conftest import TIMESTAMP, UUID
from tests.bdd.harness import request

scenarios("orchestrator/initial_auth.feature")


def _is_accepted(world, token: str) -> bool:
    """Whether GET /v1/users/me takes this token; anything but 200 or a 401 problem fails the test."""
    response = world.send("GET", "/v1/users/me", token=token)
    assert response.status in (200, 401), (response.status, response.body)
    return response.status == 200


# --- login and sessions -------------------------------------------------------------------------------------


@then("the access and refresh tokens are different non-empty strings")
def _token_pair(world):
    body = world.response.json
    access, refresh = body["access_token"], body["refresh_token"]
    assert isinstance(access, str) and isinstance(refresh, str) and access and refresh and access != refresh
    world.sessions["that login"] = body


@when('I send GET "/v1/users/me" with the access token from that login')
def _me_with_login_token(world):
    world.send("GET", "/v1/users/me", token=world.token("that login"))


@then("I remember the problem body")
def _remember_problem(world):
    world.remembered["problem"] = world.response.json


@then(parsers.parse('the problem body equals the remembered one apart from "{key}"'))
def _same_problem(world, key):
    first, second = dict(world.remembered["problem"]), dict(world.response.json)
    assert first.pop(key) != second.pop(key)  # the request id differs, as it must
    assert first == second


@given(parsers.parse('"{handle}" has logged in over HTTP as session "{session}"'))
def _http_login(world, handle, session):
    world.sessions[session] = world.server.login(handle, world.passwords[handle])


@when(parsers.parse('I send GET "/v1/users/me" with the refresh token of session "{session}"'))
def _me_with_refresh_token(world, session):
    world.send("GET", "/v1/users/me", token=world.token(session, "refresh"))


@when(parsers.parse('I refresh session "{old}" into session "{new}"'))
def _refresh(world, old, new):
    response = world.send("POST", "/v1/auth/refresh", body={"refresh_token": world.token(old, "refresh")})
    if response.status == 200:
        world.sessions[new] = response.json


@given(parsers.parse('I have refreshed session "{old}" into session "{new}"'))
def _refreshed(world, old, new):
    _refresh(world, old, new)
    assert world.response.status == 200, world.response.body


@then(parsers.parse('session "{new}" has different tokens from session "{old}"'))
def _rotated(world, new, old):
    for kind in ("access", "refresh"):
        assert world.token(new, kind) != world.token(old, kind), kind


@then(parsers.parse('the access token of session "{session}" is accepted'))
def _accepted(world, session):
    assert _is_accepted(world, world.token(session))


@then(parsers.parse('the access token of session "{session}" is rejected'))
def _rejected(world, session):
    assert not _is_accepted(world, world.token(session))
    assert world.response.json["detail"] == "Invalid or expired token"


# --- limits -------------------------------------------------------------------------------------------------


@when(parsers.re(r"I send (?P<count>\d+) login requests with body '(?P<body>.*)'"))
def _send_many(world, count, body):
    world.responses = [world.send("POST", "/v1/auth/login", body=body) for _ in range(int(count))]


@then(parsers.parse("each of them was answered with status {status:d}"))
def _each_status(world, status):
    assert [r.status for r in world.responses] == [status] * len(world.responses)


@then(parsers.parse("the response has a Retry-After header of {low:d} to {high:d} seconds"))
def _retry_after(world, low, high):
    value = world.response.header("Retry-After")
    assert value is not None and value.isdigit() and low <= int(value) <= high, world.response.headers


@when(parsers.re(r'I send POST "(?P<path>[^"]+)" with a (?P<chunked>chunked )?JSON body of (?P<size>\d+) bytes'))
def _send_sized(world, path, chunked, size):
    size = int(size)
    body = json.dumps({"pad": ""})
    body = json.dumps({"pad": "x" * (size - len(body))})
    assert len(body) == size
    world.send("POST", path, body=body, headers={"Content-Type": "application/json"}, chunked=bool(chunked))


# --- response details ---------------------------------------------------------------------------------------


@then(parsers.parse('the response header "{name}" lists "{value}"'))
def _header_lists(world, name, value):
    listed = [item.strip() for item in (world.response.header(name) or "").split(",")]
    assert value in listed, world.response.headers


@then(parsers.parse('the response JSON field "{key}" holds a UUID'))
def _field_uuid(world, key):
    assert re.fullmatch(UUID, world.response.json[key]), world.response.json


@then(parsers.parse('the response JSON field "{key}" holds an RFC 3339 UTC timestamp'))
def _field_timestamp(world, key):
    value = world.response.json[key]
    assert re.fullmatch(TIMESTAMP, value), value
    moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs((moment - datetime.now(timezone.utc)).total_seconds()) < 300, value  # the time of creation


@then(parsers.parse('the listed users include "{first}" and "{second}"'))
def _listed(world, first, second):
    handles = [user["handle"] for user in world.response.json["users"]]
    assert {first, second} <= set(handles), handles
    assert "next_cursor" not in world.response.json  # everything fit on one page


# --- bootstrap, log, shutdown -------------------------------------------------------------------------------


@then(parsers.parse('the server log shows a generated password for "{handle}"'))
def _generated_password(world, handle):
    match = re.search(rf"created user '{handle}' with password: (\S+)", world.server.log())
    assert match, world.server.log()
    world.passwords[handle] = match.group(1)
    assert len(match.group(1)) >= 16


@then(parsers.parse('"{handle}" can log in over HTTP with the generated password'))
def _login_generated(world, handle):
    world.sessions[handle] = world.server.login(handle, world.passwords[handle])
    assert _is_accepted(world, world.token(handle))


@then("the server log contains neither the admin password nor any token of this scenario")
def _log_clean(world):
    log = world.server.log()
    secrets = [world.server.admin_password] + [session[key] for session in world.sessions.values()
                                               for key in ("access_token", "refresh_token")]
    assert len(secrets) == 5  # the password and two token pairs
    assert not [secret for secret in secrets if secret in log]


@when("the server receives SIGTERM")
def _sigterm(world):
    world.server.process.send_signal(signal.SIGTERM)


@then(parsers.parse("the server exits with code 0 within {seconds:d} seconds"))
def _exits(world, seconds):
    assert world.server.process.wait(timeout=seconds) == 0, world.server.log()
    world.server.stop()


@then("the server no longer accepts connections")
def _closed(world):
    with pytest.raises(ConnectionRefusedError):
        request(world.server.url, "GET", "/healthz")
