"""Every error the app answers is one shape: application/problem+json with type, title, status and detail."""

import json
import logging

import pytest

from cynode.contract import PROBLEM_TYPES
from cynode.server.app import DATABASE_RETRY_SECONDS, make_app
from cynode.server.deps import Deps
from cynode.store.store import Store
from tests.support.server import Backend, call, make_settings


@pytest.fixture(name="backend")
def fixture_backend(tmp_path):
    backend = Backend(tmp_path / "data", max_body_bytes=1024, login_limit_per_ip=3)
    yield backend
    backend.close()


def _bad_json(backend):
    return backend.call("POST", "/v1/auth/login", body="{not json", headers={"Content-Type": "application/json"})


def _missing_field(backend):
    return backend.call("POST", "/v1/users", body={"handle": "x"}, token=backend.session().access)


def _no_token(backend):
    return backend.call("GET", "/v1/users/me")


def _bad_token(backend):
    return backend.call("GET", "/v1/users/me", token="not-a-token")


def _not_admin(backend):
    return backend.call("GET", "/v1/users", token=backend.session(backend.add_user("bob")).access)


def _unknown_path(backend):
    return backend.call("GET", "/v1/nothing-here")


def _unknown_user(backend):
    return backend.call("POST", "/v1/users/nobody/disable", token=backend.session().access)


def _wrong_method(backend):
    return backend.call("DELETE", "/v1/auth/login")


def _last_admin(backend):
    return backend.call("POST", f"/v1/users/{backend.admin.id}/disable", token=backend.session().access)


def _too_large(backend):
    return backend.call("POST", "/v1/auth/login", body=b"{" + b" " * 2000 + b"}",
                        headers={"Content-Type": "application/json"})


def _rate_limited(backend):
    for _ in range(backend.settings.login_limit_per_ip):
        backend.call("POST", "/v1/auth/login", body="{}", remote_addr="10.9.9.9")
    return backend.call("POST", "/v1/auth/login", body="{}", remote_addr="10.9.9.9")


def _database_broken(backend):
    backend.store.db.execute_sql('ALTER TABLE "session" RENAME TO "session_gone"')
    return backend.call("GET", "/v1/users/me", token="any-token")


CASES = {
    "bad JSON": (_bad_json, 400),
    "missing field": (_missing_field, 400),
    "no token": (_no_token, 401),
    "bad token": (_bad_token, 401),
    "not admin": (_not_admin, 403),
    "unknown path": (_unknown_path, 404),
    "unknown user": (_unknown_user, 404),
    "wrong method": (_wrong_method, 405),
    "last admin": (_last_admin, 409),
    "body too large": (_too_large, 413),
    "rate limited": (_rate_limited, 429),
    "database broken": (_database_broken, 500),
}


@pytest.mark.parametrize("case", CASES)
def test_every_error_is_a_problem_document(backend, case, caplog):
    make, status = CASES[case]
    with caplog.at_level(logging.ERROR, logger="cynode.http"):
        response = make(backend)
    assert response.status == status
    assert response.header("Content-Type") == "application/problem+json"
    body = json.loads(response.body)
    kind, title = PROBLEM_TYPES[status]
    assert (body["type"], body["title"], body["status"]) == (kind, title, status)
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == response.header("X-Request-Id")


def test_status_specific_headers(backend):
    assert "POST" in _wrong_method(backend).header("Allow")
    retry_after = _rate_limited(backend).header("Retry-After")
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60


def test_a_500_tells_nothing_about_the_internals_and_logs_the_cause(backend, caplog):
    with caplog.at_level(logging.ERROR, logger="cynode.http"):
        response = _database_broken(backend)
    assert response.json["detail"] == "Internal server error"
    assert "session" not in response.body.decode() and "Error" not in response.json["detail"]
    [record] = [r for r in caplog.records if r.name == "cynode.http"]
    assert record.getMessage().startswith("unhandled error request_id=" + response.header("X-Request-Id"))
    assert record.exc_info is not None


def test_a_database_that_is_away_is_a_503_to_retry_with_one_log_line_and_no_traceback(tmp_path, caplog):
    store = Store("postgresql://root@127.0.0.1:1/nothing")  # nothing listens on port 1
    app = make_app(Deps(make_settings(tmp_path), store, None))
    try:
        with caplog.at_level(logging.WARNING, logger="cynode.http"):
            response = call(app, "GET", "/v1/tasks", token="any-token")
            openai = call(app, "GET", "/v1/models", token="any-token")
    finally:
        store.close()
    assert (response.status, response.header("Content-Type"), response.header("Retry-After")) == \
        (503, "application/problem+json", str(DATABASE_RETRY_SECONDS))
    assert response.json["detail"] == "database unavailable"
    assert openai.status == 503 and openai.json["error"]["code"] == "database_unavailable"  # OpenAI's shape there
    messages = [(r.getMessage(), r.exc_info) for r in caplog.records if r.name == "cynode.http"]
    assert [(m.split(":", 1)[0], info) for m, info in messages] == [
        (f"database unavailable request_id={response.header('X-Request-Id')}", None),
        (f"database unavailable request_id={openai.header('X-Request-Id')}", None)]
