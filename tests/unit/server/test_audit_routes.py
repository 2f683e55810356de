"""The audit log through the real app (WSGI, real SQLite store): what each audited route records, who may read
which events, and the reading routes' input rules."""

import logging

import pytest

from cynode.store.models import AuditEvent
from tests.support.server import PASSWORD, Backend

UA = {"User-Agent": "audit-test/1"}


def events(backend, token: str, query: str = "") -> list[dict]:
    response = backend.call("GET", "/v1/audit" + query, token=token)
    assert response.status == 200, response.body
    return response.json["events"]


def admin_events(backend, **match) -> list[dict]:
    """Every event (as the admin sees them), oldest first, keeping those whose fields equal `match`."""
    listed = events(backend, backend.session().access, "?limit=200")
    return [e for e in reversed(listed) if all(e.get(k) == v for k, v in match.items())]


def login(backend, handle: str, password: str = PASSWORD, **kwargs):
    return backend.call("POST", "/v1/auth/login", body={"handle": handle, "password": password}, headers=UA,
                        **kwargs)


# --- what is recorded ---------------------------------------------------------------------------------------


def test_a_login_is_recorded_with_actor_address_and_user_agent(backend):
    alice = backend.add_user("alice")
    assert login(backend, "alice", remote_addr="10.1.2.3").status == 200
    [event] = admin_events(backend, action="login_success")
    assert event == {"event_id": event["event_id"], "ts": event["ts"], "actor_id": alice.id, "actor_handle": "alice",
                     "action": "login_success", "resource_type": "auth", "resource_id": alice.id,
                     "decision": "allow", "success": True, "ip_address": "10.1.2.3", "user_agent": "audit-test/1"}
    assert list(event) == ["event_id", "ts", "actor_id", "actor_handle", "action", "resource_type", "resource_id",
                           "decision", "success", "ip_address", "user_agent"]


def test_failed_logins_name_a_known_user_and_never_an_unknown_handle_or_a_password(backend):
    alice = backend.add_user("alice")
    backend.store.create_user("nopass", None)
    assert login(backend, "alice", "wrong-password").status == 401
    assert login(backend, "my-Secret-pass", "x").status == 401  # a password typed into the handle field
    assert login(backend, "nopass", "whatever1").status == 401
    backend.store.set_user_active(alice.id, False)
    assert login(backend, "alice").status == 401
    failures = admin_events(backend, action="login_failure")
    assert [(e.get("actor_id"), e.get("resource_id"), e["details"]["reason"], e["decision"], e["success"])
            for e in failures] == [
        (alice.id, alice.id, "invalid password", "deny", False), (None, None, "user not found", "deny", False),
        (backend.store.user_by_handle("nopass").id, backend.store.user_by_handle("nopass").id,
         "no password credential", "deny", False),
        (alice.id, alice.id, "user inactive", "deny", False)]
    stored = " ".join(str(row.__data__) for row in AuditEvent.select())
    assert "my-Secret-pass" not in stored and "wrong-password" not in stored and PASSWORD not in stored


def test_a_rate_limited_login_is_a_denied_failure(tmp_path):
    backend = Backend(tmp_path, login_limit_per_ip=1)
    try:
        backend.add_user("alice")
        assert login(backend, "alice").status == 200
        assert login(backend, "alice").status == 429
        [event] = admin_events(backend, action="login_failure")
        assert (event["details"], event["decision"], "actor_id" in event) == ({"reason": "rate limited"}, "deny",
                                                                                False)
    finally:
        backend.close()


def test_refresh_and_logout_are_recorded_and_a_replayed_refresh_token_names_its_user(backend):
    alice = backend.add_user("alice")
    tokens = login(backend, "alice").json
    renewed = backend.call("POST", "/v1/auth/refresh", body={"refresh_token": tokens["refresh_token"]})
    assert renewed.status == 200
    assert backend.call("POST", "/v1/auth/refresh", body={"refresh_token": tokens["refresh_token"]}).status == 401
    assert backend.call("POST", "/v1/auth/refresh", body={"refresh_token": "never-issued"}).status == 401
    second = login(backend, "alice").json
    assert backend.call("POST", "/v1/auth/logout", token=second["access_token"]).status == 204
    seen = [(e["action"], e.get("actor_id"), e["decision"], (e.get("details") or {}).get("reason"))
            for e in admin_events(backend) if e["action"] != "login_success"]
    assert seen == [("refresh_success", alice.id, "allow", None), ("refresh_failure", alice.id, "deny", "reused"),
                    ("refresh_failure", None, "deny", "unknown"), ("logout", alice.id, "allow", None)]
    assert tokens["refresh_token"] not in str([row.__data__ for row in AuditEvent.select()])


def test_user_administration_is_recorded_on_the_target_user(backend):
    admin = backend.session().access
    created = backend.call("POST", "/v1/users", token=admin, body={"handle": "bob", "password": "password-1"}).json
    for action in ("disable", "enable", "revoke_sessions"):
        assert backend.call("POST", f"/v1/users/bob/{action}", token=admin).status in (200, 204)
    seen = [(e["action"], e["resource_id"], e["actor_id"]) for e in admin_events(backend)]
    assert seen == [(action, created["id"], backend.admin.id)
                    for action in ("user_created", "user_disabled", "user_reenabled", "session_revoked")]
    assert "password-1" not in str([row.__data__ for row in AuditEvent.select()])


def test_task_create_and_cancel_are_recorded(backend):
    alice = backend.add_user("alice")
    token = backend.session(alice).access
    task = backend.call("POST", "/v1/tasks", token=token, body={"prompt": "hello"}).json
    assert backend.call("POST", f"/v1/tasks/{task['id']}/cancel", token=token).status == 200
    seen = [(e["action"], e["resource_type"], e["resource_id"], e["actor_id"]) for e in events(backend, token)]
    assert seen == [("task.cancel", "task", task["id"], alice.id), ("task.create", "task", task["id"], alice.id)]


def test_api_token_create_and_revoke_are_recorded_without_the_token(backend):
    login_token = backend.session().access
    created = backend.call("POST", "/v1/tokens", token=login_token, body={"name": "ci"}).json
    assert backend.call("DELETE", f"/v1/tokens/{created['token_id']}", token=login_token).status == 204
    seen = admin_events(backend, resource_type="api_token")
    assert [(e["action"], e["resource_id"]) for e in seen] == [("api_token.create", created["token_id"]),
                                                               ("api_token.revoke", created["token_id"])]
    assert seen[0]["details"]["name"] == "ci"
    assert created["token"] not in str([row.__data__ for row in AuditEvent.select()])


def test_a_chat_is_recorded_with_its_outcome_and_never_its_content(backend):
    token = backend.session().access
    assert backend.call("POST", "/v1/chat", token=token, body={"message": "my secret plan"}).status == 503
    [event] = admin_events(backend, action="chat.completion")
    assert (event["resource_type"], event["decision"], event["success"]) == ("chat", "allow", False)
    assert event["details"]["outcome"] == "error" and event["details"]["error_code"] == "model_unavailable"
    assert isinstance(event["details"]["duration_ms"], int)
    assert "secret plan" not in str([row.__data__ for row in AuditEvent.select()])


# --- refusals -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, resource_type", [
    ("POST", "/v1/users", "auth"), ("GET", "/v1/users", "auth"), ("POST", "/v1/users/admin/disable", "auth")])
def test_each_403_is_one_denied_event_with_actor_and_address(backend, method, path, resource_type):
    bob = backend.add_user("bob")
    response = backend.call(method, path, token=backend.session(bob).access, body={"handle": "x", "password": "y"},
                            headers=UA, remote_addr="10.9.8.7")
    assert response.status == 403
    [event] = admin_events(backend, action="access_denied")
    assert (event["actor_id"], event["actor_handle"], event["decision"], event["success"], event["resource_type"],
            event["ip_address"], event["user_agent"]) == (bob.id, "bob", "deny", False, resource_type, "10.9.8.7",
                                                          "audit-test/1")
    assert event["details"] == {"method": method, "path": path, "reason": "Admin required"}


def test_another_users_task_and_an_api_token_managing_tokens_are_denied_events(backend):
    alice, bob = backend.add_user("alice"), backend.add_user("bob")
    task = backend.call("POST", "/v1/tasks", token=backend.session(alice).access, body={"prompt": "x"}).json
    assert backend.call("GET", f"/v1/tasks/{task['id']}", token=backend.session(bob).access).status == 403
    api = backend.call("POST", "/v1/tokens", token=backend.session(bob).access, body={"name": "ci"}).json["token"]
    assert backend.call("POST", "/v1/tokens", token=api, body={"name": "more"}).status == 403
    denied = [(e["resource_type"], e.get("resource_id"), e["actor_id"]) for e in events(
        backend, backend.session(bob).access, "?resource_type=task") + events(
        backend, backend.session(bob).access, "?resource_type=api_token") if e["decision"] == "deny"]
    assert denied == [("task", task["id"], bob.id), ("api_token", None, bob.id)]


def test_a_failing_audit_write_is_logged_and_the_403_still_answered(backend, caplog):
    bob = backend.add_user("bob")
    backend.store.db.execute_sql('DROP TABLE "audit_event"')
    with caplog.at_level(logging.ERROR, logger="cynode.audit"):
        response = backend.call("POST", "/v1/users", token=backend.session(bob).access, body={})
    assert (response.status, response.json["detail"]) == (403, "Admin required")
    assert "access_denied" in caplog.text
    assert login(backend, "bob").status == 200  # an allowed action goes through as well


def test_a_401_on_an_ordinary_route_is_not_an_event(backend):
    assert backend.call("GET", "/v1/tasks", token="not-a-token").status == 401
    assert backend.call("GET", "/v1/tasks").status == 401
    assert admin_events(backend) == []


# --- reading ------------------------------------------------------------------------------------------------


def test_users_see_only_their_own_events_and_admins_all(backend):
    alice, bob = backend.add_user("alice"), backend.add_user("bob")
    alice_token, bob_token = backend.session(alice).access, backend.session(bob).access
    backend.call("POST", "/v1/tasks", token=alice_token, body={"prompt": "a"})
    backend.call("POST", "/v1/tasks", token=bob_token, body={"prompt": "b"})
    assert login(backend, "nobody-here").status == 401
    assert {e["actor_id"] for e in events(backend, alice_token)} == {alice.id}
    assert events(backend, alice_token, f"?actor_id={bob.id}") == []  # another's events: none visible
    assert [e["actor_id"] for e in events(backend, alice_token, f"?actor_id={alice.id}")] == [alice.id]
    everything = events(backend, backend.session().access)
    assert [e["action"] for e in everything] == ["login_failure", "task.create", "task.create"]
    assert "actor_id" not in everything[0]  # the unknown user's failed login: no actor, admins only
    assert [e["actor_id"] for e in events(backend, backend.session().access, f"?actor_id={bob.id}")] == [bob.id]
    bobs = events(backend, bob_token)[0]["event_id"]
    assert backend.call("GET", f"/v1/audit/{bobs}", token=bob_token).json["actor_id"] == bob.id
    assert backend.call("GET", f"/v1/audit/{bobs.upper()}", token=bob_token).status == 200
    assert backend.call("GET", f"/v1/audit/{bobs}", token=backend.session().access).status == 200
    hidden = backend.call("GET", f"/v1/audit/{bobs}", token=alice_token)
    assert (hidden.status, hidden.json["detail"]) == (404, "Audit event not found")
    anonymous = everything[0]["event_id"]
    assert backend.call("GET", f"/v1/audit/{anonymous}", token=alice_token).status == 404


@pytest.mark.parametrize("event_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "x" * 80])
def test_an_unknown_or_malformed_event_id_is_404(backend, event_id):
    response = backend.call("GET", f"/v1/audit/{event_id}", token=backend.session().access)
    assert (response.status, response.json["detail"]) == (404, "Audit event not found")


def test_filters_by_resource_type_action_and_time(backend):
    token = backend.session().access
    backend.call("POST", "/v1/tasks", token=token, body={"prompt": "a"})
    backend.call("POST", "/v1/tokens", token=token, body={"name": "ci"})
    ts = events(backend, token)[0]["ts"]
    assert [e["action"] for e in events(backend, token, "?resource_type=task")] == ["task.create"]
    assert [e["action"] for e in events(backend, token, "?action=api_token.create")] == ["api_token.create"]
    assert len(events(backend, token, f"?since={ts}")) >= 1
    assert all(e["ts"] < ts for e in events(backend, token, f"?until={ts}"))  # until is exclusive
    assert events(backend, token, "?since=2999-01-01T00:00:00Z") == []
    assert len(events(backend, token, "?until=2999-01-01T01:00:00%2B01:00&since=2000-01-01t00:00:00.5z")) == 2


@pytest.mark.parametrize("query", ["since=yesterday", "until=", "until=2026-11-30", "since=2026-11-30T08:00:00",
                                   "until=2026-02-30T00:00:00Z", "since=2026-11-30T25:00:00Z", "limit=0",
                                   "limit=201", "cursor=x"])
def test_bad_filters_are_400(backend, query):
    response = backend.call("GET", f"/v1/audit?{query}", token=backend.session().access)
    assert response.status == 400, response.body
    assert response.header("Content-Type") == "application/problem+json"


def test_paging_walks_every_event_once(backend):
    token = backend.session().access
    for n in range(5):
        backend.call("POST", "/v1/tokens", token=token, body={"name": f"t{n}"})
    first = backend.call("GET", "/v1/audit?limit=2", token=token).json
    assert len(first["events"]) == 2 and first["next_cursor"] == "2"
    seen = [e["event_id"] for e in first["events"]]
    cursor = first["next_cursor"]
    while cursor:
        page = backend.call("GET", f"/v1/audit?limit=2&cursor={cursor}", token=token).json
        seen += [e["event_id"] for e in page["events"]]
        cursor = page.get("next_cursor")
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
@pytest.mark.parametrize("path", ["/v1/audit", "/v1/audit/00000000-0000-0000-0000-000000000000"])
def test_events_cannot_be_written_through_the_api(backend, method, path):
    token = backend.session().access
    backend.call("POST", "/v1/tasks", token=token, body={"prompt": "a"})
    before = AuditEvent.select().count()
    response = backend.call(method, path, token=token, body={"action": "x"})
    assert response.status == 405 and response.header("Allow") == "GET"
    assert AuditEvent.select().count() == before


def test_reading_needs_a_login(backend):
    assert backend.call("GET", "/v1/audit").status == 401
    assert backend.call("GET", "/v1/audit/00000000-0000-0000-0000-000000000000").status == 401


# --- what a client cannot do to the log ---------------------------------------------------------------------

# A header's bytes as waitress hands them over (latin-1 in the environ): 0x85 alone is not UTF-8.
NOT_UTF8 = "curl\x85/8"


def test_a_user_agent_that_is_not_utf8_neither_fails_the_request_nor_escapes_the_log(backend):
    """Any client chooses its User-Agent. One that is not UTF-8 must not turn an action that went through into a
    500 (the client retries: two tasks) nor leave it out of the audit log (a login guessed without a trace)."""
    alice = backend.add_user("alice")
    headers = {"User-Agent": NOT_UTF8}
    token = backend.session(alice).access
    made = backend.call("POST", "/v1/tasks", token=token, body={"prompt": "x"}, headers=headers)
    assert made.status == 201, made.body
    assert backend.call("POST", "/v1/auth/login", body={"handle": "alice", "password": "wrong-one"},
                        headers=headers).status == 401
    assert backend.call("POST", "/v1/users", token=token, body={}, headers=headers).status == 403
    recorded = {e["action"]: e for e in admin_events(backend)}
    assert {"task.create", "login_failure", "access_denied"} <= set(recorded)
    assert recorded["task.create"]["user_agent"] == "curl\ufffd/8"
    assert backend.call("GET", "/v1/tasks", headers={"Authorization": "Bearer " + NOT_UTF8}).status == 401


def test_a_forwarded_for_that_is_not_utf8_is_no_500_when_proxy_headers_are_trusted(tmp_path):
    backend = Backend(tmp_path / "data", trust_proxy_headers=True, login_limit_per_ip=1000)
    try:
        backend.add_user("alice")
        response = backend.call("POST", "/v1/auth/login", body={"handle": "alice", "password": "wrong-one"},
                                headers={"X-Forwarded-For": "10.0.0.1\x85"})
        assert response.status == 401, response.body
        [event] = admin_events(backend, action="login_failure")
        assert event["ip_address"] == "10.0.0.1\ufffd"
    finally:
        backend.close()


def test_a_refused_request_with_a_huge_path_stores_a_bounded_event(backend):
    """Any user can be refused as often as they like: a 403 on a path of 200 000 characters must not write 200 KB
    into the audit log each time."""
    bob = backend.add_user("bob")
    path = "/v1/nodes/" + "n" * 200_000 + "/drain"
    assert backend.call("POST", path, token=backend.session(bob).access).status == 403
    [row] = AuditEvent.select().where(AuditEvent.action == "access_denied")
    assert len(row.details) + len(row.resource_id) < 2048
    [event] = admin_events(backend, action="access_denied")
    assert event["details"]["path"].startswith("/v1/nodes/nnn") and event["details"]["reason"] == "Admin required"


def test_a_refused_path_cannot_put_terminal_control_sequences_into_the_events_resource_id(backend):
    """The resource id of a refusal comes from the path the caller chose; `cynode cli audit list` prints it in a
    TSV cell as it is, on an admin's terminal: an escape sequence there could retitle, hide or rewrite lines."""
    bob = backend.add_user("bob")
    path = "/v1/nodes/%1B%5D0%3Bowned%07%1B%5B2J%C2%9B31m/drain"
    assert backend.call("POST", path, token=backend.session(bob).access).status == 403
    [event] = admin_events(backend, action="access_denied")
    assert event["resource_id"].isprintable() and event["resource_id"].startswith("\ufffd]0;owned")
    assert event["details"]["path"] == "/v1/nodes/\x1b]0;owned\x07\x1b[2J\x9b31m/drain"  # JSON: escaped on output
