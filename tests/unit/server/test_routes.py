"""Health, auth and user routes through the real app (WSGI, real SQLite store): what an API client sees."""

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cynode.dispatch.sandbox import ProcessRunner
from cynode.dispatch.dispatcher import Dispatcher
from cynode.inference.client import Backend as InferenceBackend
from cynode.inference.client import Client
from cynode.server.app import make_app
from cynode.server.deps import Deps
from cynode.server.projects import default_project_id
from cynode.inference.probe import InferenceProbe
from cynode.store.store import Store
from tests.bdd.harness import dead_url
from tests.fakes.inference import FakeInference
from tests.support.server import PASSWORD, Backend, call, make_settings


def test_healthz_is_plain_ok(backend):
    response = backend.call("GET", "/healthz")
    assert (response.status, response.body) == (200, b"ok")
    assert response.header("Content-Type").startswith("text/plain")


def test_readyz_reports_what_is_missing(backend):
    assert (backend.call("GET", "/readyz").status, backend.call("GET", "/readyz").body) == (
        503, b"dispatcher not running")
    dispatcher = Dispatcher(backend.store, ProcessRunner(), backend.settings, backend.workspace)
    deps = Deps(backend.settings, backend.store, backend.workspace, dispatcher, notes=("no sandbox",))
    backend.app = make_app(deps)
    assert (backend.call("GET", "/readyz").status, backend.call("GET", "/readyz").body) == (
        200, b"ready; no sandbox; inference: unconfigured")
    dispatcher.stop(grace=0)
    assert backend.call("GET", "/readyz").status == 503


def _ready_body(backend, url: str) -> bytes:
    """/readyz of a server whose inference client talks to `url`."""
    dispatcher = Dispatcher(backend.store, ProcessRunner(), backend.settings, backend.workspace)
    backend.app = make_app(Deps(backend.settings, backend.store, backend.workspace, dispatcher,
                                inference=Client(InferenceBackend(url, "openai", "m"))))
    response = backend.call("GET", "/readyz")
    assert response.status == 200  # the backend's state never makes the server unready
    return response.body


def test_readyz_says_whether_the_inference_backend_answers(backend):
    with FakeInference() as fake:
        assert _ready_body(backend, fake.url) == b"ready; inference: ok"
    assert _ready_body(backend, dead_url()) == b"ready; inference: unreachable"


class _Listing(BaseHTTPRequestHandler):
    """A backend's model listing that counts how often it is asked (HTTP/1.0: one connection per request)."""

    hits: list = []

    def do_GET(self):  # pylint: disable=invalid-name  # http.server's naming
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args):
        return


def test_the_inference_probe_asks_the_backend_at_most_once_per_ttl():
    now, handler = [100.0], type("Handler", (_Listing,), {"hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        probe = InferenceProbe(Client(InferenceBackend(url)), ttl=10, clock=lambda: now[0])
        assert (probe.state(), handler.hits) == ("ok", ["/api/tags"])
        now[0] += 9.9
        assert (probe.state(), len(handler.hits)) == ("ok", 1)  # still fresh: not asked again
        now[0] += 0.1
        assert (probe.state(), len(handler.hits)) == ("ok", 2)
    finally:
        server.shutdown()
        server.server_close()


def test_readyz_is_503_when_the_database_is_down(tmp_path):
    store = Store("postgresql://root@127.0.0.1:1/nothing")  # nothing listens on port 1
    try:
        response = call(make_app(Deps(make_settings(tmp_path), store, None)), "GET", "/readyz")
    finally:
        store.close()
    assert response.status == 503 and response.body.startswith(b"database unavailable: ")


def test_login_returns_a_bearer_pair_that_works(backend):
    response = backend.call("POST", "/v1/auth/login", body={"handle": "admin", "password": PASSWORD})
    assert response.status == 200
    tokens = response.json
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert (tokens["token_type"], tokens["expires_in"]) == ("Bearer", 900)
    me = backend.call("GET", "/v1/users/me", token=tokens["access_token"]).json
    assert me == {"id": backend.admin.id, "handle": "admin", "is_active": True, "is_admin": True,
                  "created_at": me["created_at"], "default_project_id": default_project_id(backend.admin.id)}
    assert me["created_at"].endswith("Z") and len(me["created_at"]) == 20
    assert backend.call("GET", "/v1/users/me", token=tokens["refresh_token"]).status == 401


@pytest.mark.parametrize("body, detail", [
    ({"handle": "admin"}, "password is required"),
    ({"password": "x"}, "handle is required"),
    ({"handle": "", "password": "x"}, "handle is required"),
    ({"handle": 5, "password": "x"}, "handle must be a string"),
    ([1, 2], "Invalid request body"),
    ({"handle": "h" * 65, "password": "x"}, "handle: at most 64 characters"),
])
def test_login_validation(backend, body, detail):
    response = backend.call("POST", "/v1/auth/login", body=body if isinstance(body, dict) else str(body))
    assert (response.status, response.json["detail"]) == (400, detail)


def test_handle_and_password_lengths_are_capped(tmp_path):
    backend = Backend(tmp_path)  # the default body limit, roomy enough for long passwords
    try:
        longest = backend.call("POST", "/v1/auth/login", body={"handle": "h" * 64, "password": "p" * 1024})
        assert (longest.status, longest.json["detail"]) == (401, "Invalid credentials")
        too_long = backend.call("POST", "/v1/auth/login", body={"handle": "admin", "password": "p" * 1025})
        assert (too_long.status, too_long.json["detail"]) == (400, "password: at most 1024 characters")
        huge = backend.call("POST", "/v1/auth/login", body={"handle": "h" * (2 << 20), "password": "x"})
        assert (huge.status, huge.json["detail"]) == (400, "handle: at most 64 characters")
    finally:
        backend.close()


@pytest.mark.parametrize("raw, problem", [
    (rb'{"handle": "\ud800", "password": "x"}', "text must be valid Unicode"),
    (rb'{"handle": "admin", "password": "a\u0000b"}', "NUL characters"),
])
def test_login_text_that_cannot_be_stored_is_a_400(backend, raw, problem):
    response = backend.call("POST", "/v1/auth/login", body=raw, headers={"Content-Type": "application/json"})
    assert response.status == 400 and response.json["detail"].startswith(f"Invalid request body: {problem}")


@pytest.mark.parametrize("path, detail", [
    ("/v1/tasks/%00", "Invalid path: NUL characters (\\u0000) are not allowed"),
    ("/v1/tasks/ab%FFcd", "Invalid path: text must be UTF-8"),
    ("/v1/tasks/%ED%A0%80", "Invalid path: text must be UTF-8"),  # a lone surrogate, encoded
    ("/v1/tasks?status=%00", "Invalid query string: NUL characters (\\u0000) are not allowed"),
    ("/v1/tasks?name=%C3", "Invalid query string: text must be UTF-8"),
])
def test_urls_that_are_not_storable_text_are_a_400(backend, path, detail):
    response = backend.call("GET", path, token=backend.session().access)
    assert (response.status, response.json["detail"]) == (400, detail)


def test_a_utf8_path_still_names_its_task(backend):
    response = backend.call("GET", "/v1/tasks/caf%C3%A9", token=backend.session().access)
    assert (response.status, response.json["detail"]) == (404, "Task not found")


def test_login_failures_all_look_the_same(backend):
    disabled = backend.add_user("disabled-user")
    backend.store.set_user_active(disabled.id, False)
    for handle, password in (("admin", "wrong-password"), ("no-such-user", PASSWORD), ("disabled-user", PASSWORD)):
        response = backend.call("POST", "/v1/auth/login", body={"handle": handle, "password": password})
        assert (response.status, response.json["detail"]) == (401, "Invalid credentials"), handle


def test_failed_logins_are_limited_per_handle_and_address(tmp_path):
    backend = Backend(tmp_path, login_limit_per_handle=1)
    try:
        wrong = backend.call("POST", "/v1/auth/login", body={"handle": "admin", "password": "nope-nope"},
                             remote_addr="10.0.0.1")
        assert wrong.status == 401
        limited = backend.call("POST", "/v1/auth/login", body={"handle": "admin", "password": PASSWORD},
                               remote_addr="10.0.0.1")
        assert (limited.status, limited.json["detail"]) == (429, "Too many login attempts")
        other = backend.call("POST", "/v1/auth/login", body={"handle": "someone", "password": "x"},
                             remote_addr="10.0.0.1")
        assert other.status == 401  # another handle from the same address is not limited
        owner = backend.call("POST", "/v1/auth/login", body={"handle": "admin", "password": PASSWORD},
                             remote_addr="10.0.0.2")
        assert owner.status == 200  # the guesses at 10.0.0.1 do not lock the owner out at 10.0.0.2
    finally:
        backend.close()


@pytest.mark.parametrize("trust, limited", [(True, True), (False, False)])
def test_proxy_headers_name_the_client_only_when_trusted(tmp_path, trust, limited):
    backend = Backend(tmp_path, login_limit_per_ip=2, trust_proxy_headers=trust)
    try:
        statuses = [backend.call("POST", "/v1/auth/login", body="{}", remote_addr=f"10.0.0.{n}",
                                 headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}).status for n in range(3)]
        assert statuses == ([400, 400, 429] if limited else [400, 400, 400])
        real_ip = [backend.call("POST", "/v1/auth/login", body="{}", remote_addr=f"10.1.0.{n}",
                                headers={"X-Real-IP": "198.51.100.9"}).status for n in range(3)]
        assert real_ip == ([400, 400, 429] if limited else [400, 400, 400])
    finally:
        backend.close()


def test_refresh_rotates_and_a_replay_revokes_the_family(backend):
    first = backend.session()
    response = backend.call("POST", "/v1/auth/refresh", body={"refresh_token": first.refresh})
    assert response.status == 200
    second = response.json
    assert backend.call("GET", "/v1/users/me", token=first.access).status == 401
    assert backend.call("GET", "/v1/users/me", token=second["access_token"]).status == 200
    replay = backend.call("POST", "/v1/auth/refresh", body={"refresh_token": first.refresh})
    assert (replay.status, replay.json["detail"]) == (401, "Invalid refresh token")
    assert backend.call("GET", "/v1/users/me", token=second["access_token"]).status == 401
    again = backend.call("POST", "/v1/auth/refresh", body={"refresh_token": second["refresh_token"]})
    assert again.status == 401
    missing = backend.call("POST", "/v1/auth/refresh", body={})
    assert (missing.status, missing.json["detail"]) == (400, "refresh_token is required")


def test_logout_ends_the_login_at_once(backend):
    tokens = backend.session()
    other = backend.session()
    assert backend.call("POST", "/v1/auth/logout", token=tokens.access).status == 204
    assert backend.call("GET", "/v1/users/me", token=tokens.access).status == 401
    assert backend.call("POST", "/v1/auth/refresh", body={"refresh_token": tokens.refresh}).status == 401
    assert backend.call("GET", "/v1/users/me", token=other.access).status == 200  # other logins stay


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer    ", "token"])
def test_malformed_authorization_is_missing_authorization(backend, header):
    response = backend.call("GET", "/v1/users/me", headers={"Authorization": header})
    assert (response.status, response.json["detail"]) == (401, "Missing authorization header")


def test_bearer_scheme_is_case_insensitive(backend):
    response = backend.call("GET", "/v1/users/me", headers={"Authorization": "bEaReR " + backend.session().access})
    assert response.status == 200


def test_create_user(backend):
    admin = backend.session().access
    response = backend.call("POST", "/v1/users", token=admin, body={
        "handle": "alice", "password": "alice-password", "email": "alice@example.org", "is_admin": True})
    assert response.status == 201
    user = response.json
    assert (user["handle"], user["email"], user["is_admin"], user["is_active"]) == (
        "alice", "alice@example.org", True, True)
    assert backend.call("GET", "/v1/users?limit=5", token=admin).json["users"][1]["handle"] == "alice"


@pytest.mark.parametrize("body, detail", [
    ({"handle": "bob", "password": "x" * 8, "is_admin": "yes"}, "is_admin must be a boolean"),
    ({"handle": "bob", "password": "short"}, "password must be at least 8 characters"),
    ({"handle": "-bob", "password": "x" * 8}, "handle must be 1-64 letters"),
    ({"handle": "b" * 65, "password": "x" * 8}, "handle must be 1-64 letters"),
    ({"handle": "System", "password": "x" * 8}, "handle must be 1-64 letters"),
    ({"handle": "bob", "password": "x" * 8, "email": 7}, "email must be a string"),
])
def test_create_user_validation(backend, body, detail):
    response = backend.call("POST", "/v1/users", token=backend.session().access, body=body)
    assert response.status == 400 and response.json["detail"].startswith(detail)


def test_list_users_pages(backend):
    for handle in ("u1", "u2", "u3"):
        backend.add_user(handle)
    admin = backend.session().access
    first = backend.call("GET", "/v1/users?limit=2", token=admin).json
    assert [u["handle"] for u in first["users"]] == ["admin", "u1"] and first["next_cursor"] == "2"
    last = backend.call("GET", "/v1/users?limit=2&cursor=2", token=admin).json
    assert [u["handle"] for u in last["users"]] == ["u2", "u3"] and "next_cursor" not in last
    by_offset = backend.call("GET", "/v1/users?limit=1&offset=3", token=admin).json
    assert [u["handle"] for u in by_offset["users"]] == ["u3"]
    for query in ("limit=0", "limit=201", "limit=x", "cursor=-1", "offset=abc"):
        response = backend.call("GET", "/v1/users?" + query, token=admin)
        assert (response.status, response.json["detail"]) == (400, "Invalid limit, offset, or cursor"), query


def test_disable_enable_and_revoke_sessions(backend):
    admin = backend.session().access
    bob = backend.add_user("bob")
    bob_tokens = backend.session(bob)
    disabled = backend.call("POST", "/v1/users/bob/disable", token=admin)
    assert (disabled.status, disabled.json["is_active"]) == (200, False)
    assert backend.call("GET", "/v1/users/me", token=bob_tokens.access).status == 401
    enabled = backend.call("POST", f"/v1/users/{bob.id}/enable", token=admin)
    assert enabled.json["is_active"] is True
    fresh = backend.session(bob)
    assert backend.call("POST", f"/v1/users/{bob.id}/revoke_sessions", token=admin).status == 204
    assert backend.call("GET", "/v1/users/me", token=fresh.access).status == 401
    assert backend.call("POST", "/v1/users/ghost/revoke_sessions", token=admin).status == 404
    assert backend.call("POST", "/v1/users/00000000-0000-0000-0000-000000000000/enable", token=admin).status == 404


def test_a_second_admin_can_be_disabled_but_never_the_last(backend):
    other = backend.add_user("root2", admin=True)
    admin = backend.session().access
    assert backend.call("POST", f"/v1/users/{other.id}/disable", token=admin).status == 200
    assert backend.call("POST", "/v1/users/admin/disable", token=admin).status == 409
    assert backend.call("POST", f"/v1/users/{other.id}/disable", token=admin).status == 200  # already disabled


def test_one_log_line_per_request_without_secrets(backend, caplog):
    tokens = backend.session()
    with caplog.at_level(logging.INFO, logger="cynode.http"):
        backend.call("POST", "/v1/auth/login", body={"handle": "", "password": "p@ssw0rd-secret"})
        me = backend.call("GET", "/v1/users/me", token=tokens.access)
        backend.call("POST", "/v1/auth/refresh", body={"refresh_token": tokens.refresh})
    lines = [r.getMessage() for r in caplog.records if r.name == "cynode.http"]
    assert len(lines) == 3
    assert lines[0].startswith("method=POST path=/v1/auth/login status=400 ms=")
    assert f"user={backend.admin.id} request_id={me.header('X-Request-Id')}" in lines[1]
    text = "\n".join(lines)
    for secret in ("p@ssw0rd-secret", tokens.access, tokens.refresh):
        assert secret not in text


def test_disabling_a_user_cancels_their_tasks_and_kills_their_running_job_at_once(backend):
    """No monitor thread runs here (the dispatcher is not started), so only the disable route can kill the job."""
    dispatcher = Dispatcher(backend.store, ProcessRunner(), backend.settings, backend.workspace)
    backend.app = make_app(Deps(backend.settings, backend.store, backend.workspace, dispatcher))
    bob = backend.add_user("bob")
    long = backend.store.create_task(bob.id, "long", "commands", "sleep 30", [("command", {"command": "sleep 30"})])
    later = backend.store.create_task(bob.id, "later", "commands", "true", [("command", {"command": "true"})])
    worker = threading.Thread(target=dispatcher.run_once)
    worker.start()
    deadline = time.monotonic() + 10
    while backend.store.task_by_id(long.id).status != "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # the job's process is up
    started = time.monotonic()
    disabled = backend.call("POST", "/v1/users/bob/disable", token=backend.session().access)
    worker.join(timeout=10)
    assert not worker.is_alive() and time.monotonic() - started < 10
    assert (disabled.status, disabled.json["is_active"]) == (200, False)
    assert [backend.store.task_by_id(t.id).status for t in (long, later)] == ["canceled", "canceled"]
    assert backend.call("POST", "/v1/users/bob/enable", token=backend.session().access).json["is_active"] is True
    assert [backend.store.task_by_id(t.id).status for t in (long, later)] == ["canceled", "canceled"]
    assert dispatcher.run_once() is False


def test_the_request_log_escapes_what_the_client_sent(backend, caplog):
    forged = "/x%0a2026-01-01%2000:00:00,000%20INFO%20cynode.http%20method=GET%20path=/v1/admin%20status=200"
    with caplog.at_level(logging.INFO, logger="cynode.http"):
        backend.call("GET", forged)
        backend.call("GET", "/v1/tasks/caf%C3%A9%E2%80%A8%5C%FF")
        backend.call("GET\x1b[2J", "/healthz")
    lines = [r.getMessage() for r in caplog.records if r.name == "cynode.http"]
    assert lines[0].startswith("method=GET path=/x\\x0a2026-01-01\\x2000:00:00,000\\x20INFO\\x20cynode.http"
                               "\\x20method=GET\\x20path=/v1/admin\\x20status=200 status=404 ms=")
    assert lines[1].startswith("method=GET path=/v1/tasks/caf\u00e9\\u2028\\x5c\\xff status=400 ")
    assert lines[2].startswith("method=GET\\x1b[2J path=/healthz status=")
    assert all("\n" not in line and len(line.split(" ")) == 6 for line in lines), lines
