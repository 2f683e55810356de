"""Preference routes through the real app (WSGI, real SQLite store): what an API client sees (spec/gateway.md §11)."""

import json
import urllib.parse

import pytest

from cynode.server.projects import default_project_id
from cynode.store.models import AuditEvent
from tests.support.server import Backend

ENTRY_KEYS = {"scope_type", "scope_id", "key", "value", "value_type", "version", "updated_at", "updated_by"}


@pytest.fixture(name="alice")
def fixture_alice(backend):
    user = backend.add_user("alice")
    return user, backend.session(user).access


def put(backend, token, key, **body):
    return backend.call("PUT", f"/v1/prefs/{urllib.parse.quote(key, safe='')}", token=token, body=body)


def test_set_get_list_delete_round_trip_in_my_user_scope(backend, alice):
    user, token = alice
    made = backend.call("POST", "/v1/prefs", token=token,
                        body={"scope_type": "user", "key": "language.preferred", "value": "en", "reason": "i read"})
    assert made.status == 200
    assert made.json == {"scope_type": "user", "scope_id": user.id, "key": "language.preferred", "value": "en",
                         "value_type": "string", "version": 1, "updated_at": made.json["updated_at"],
                         "updated_by": "alice", "ok": True}
    again = put(backend, token, "language.preferred", scope_type="user", scope_id=user.id, value=["en", "fr"],
                value_type="array", expected_version=1)
    assert (again.status, again.json["version"], again.json["value"]) == (200, 2, ["en", "fr"])
    got = backend.call("GET", "/v1/prefs/language.preferred?scope_type=user", token=token)
    assert got.status == 200 and set(got.json) == ENTRY_KEYS and got.json["value"] == ["en", "fr"]
    listed = backend.call("GET", "/v1/prefs?scope_type=user", token=token)
    assert [e["key"] for e in listed.json["preferences"]] == ["language.preferred"]
    assert "next_cursor" not in listed.json
    gone = backend.call("DELETE", "/v1/prefs/language.preferred?scope_type=user&reason=done", token=token)
    assert (gone.status, gone.json) == (200, {"deleted": True, "key": "language.preferred"})
    assert backend.call("GET", "/v1/prefs/language.preferred?scope_type=user", token=token).json["detail"] == \
        "Preference not found"
    assert backend.call("DELETE", "/v1/prefs/language.preferred?scope_type=user", token=token).status == 404
    assert backend.call("DELETE", "/v1/prefs/language.preferred?scope_type=user&expected_version=0",
                        token=token).status == 404
    history = backend.store.preference_history("user", user.id, "language.preferred")
    assert [(h.new_value, h.reason) for h in history] == [('"en"', "i read"), ('["en","fr"]', None), (None, "done")]


def test_effective_is_not_taken_for_a_key_and_is_a_reserved_key(backend, alice):
    _, token = alice
    assert backend.call("GET", "/v1/prefs/effective", token=token).json == {"effective": {}, "sources": []}
    refused = backend.call("POST", "/v1/prefs", token=token, body={"scope_type": "user", "key": "effective",
                                                                   "value": 1})
    assert refused.status == 400 and "reserved" in refused.json["detail"]
    for method in ("PUT", "DELETE"):
        other = backend.call(method, "/v1/prefs/effective", token=token, body={"scope_type": "user", "value": 1})
        assert (other.status, other.header("Allow")) == (405, "GET")


def test_a_key_with_a_slash_or_non_ascii_is_reachable_by_path(backend, alice):
    _, token = alice
    assert put(backend, token, "a/b.é", scope_type="user", value=True).status == 200
    got = backend.call("GET", "/v1/prefs/" + urllib.parse.quote("a/b.é", safe="") + "?scope_type=user", token=token)
    assert (got.status, got.json["key"], got.json["value_type"]) == (200, "a/b.é", "boolean")
    gone = backend.call("DELETE", "/v1/prefs?scope_type=user&key=" + urllib.parse.quote("a/b.é"), token=token)
    assert gone.json == {"deleted": True, "key": "a/b.é"}


@pytest.mark.parametrize("body, detail", [
    ({"scope_type": "user", "key": "k", "value": "x", "value_type": "number"}, "does not match"),
    ({"scope_type": "user", "key": "k", "value": 1, "value_type": "integer"}, "value_type must be one of"),
    ({"scope_type": "user", "key": "k", "value": 1, "value_type": {"a": 1}}, "value_type must be one of"),
    ({"scope_type": "user", "key": "k"}, "value is required"),
    ({"scope_type": "user", "key": "a b", "value": 1}, "without whitespace"),
    ({"scope_type": "user", "key": "k\u0085", "value": 1}, "without whitespace"),
    ({"scope_type": "user", "key": "x" * 257, "value": 1}, "1-256"),
    ({"scope_type": "user", "key": "", "value": 1}, "key is required"),
    ({"scope_type": "user", "key": 5, "value": 1}, "key must be a string"),
    ({"scope_type": "planet", "key": "k", "value": 1}, "scope_type must be one of"),
    ({"key": "k", "value": 1}, "scope_type is required"),
    ({"scope_type": "system", "scope_id": "6f1c2a8e-4d0b-5c7e-9a31-2b8f0e6d4c15", "key": "k", "value": 1},
     "no scope_id"),
    ({"scope_type": "task", "key": "k", "value": 1}, "scope_id is required"),
    ({"scope_type": "project", "scope_id": "nope", "key": "k", "value": 1}, "must be a UUID"),
    ({"scope_type": "user", "key": "k", "value": 1, "expected_version": -1}, "expected_version"),
    ({"scope_type": "user", "key": "k", "value": 1, "expected_version": "1"}, "expected_version"),
    ({"scope_type": "user", "key": "k", "value": 1, "reason": 7}, "reason must be a string"),
])
def test_bad_input_is_400_naming_the_problem(backend, alice, body, detail):
    response = backend.call("POST", "/v1/prefs", token=alice[1], body=body)
    assert response.status == 400 and detail in response.json["detail"], response.json


def test_a_value_over_64_kib_of_json_is_400_and_one_at_the_limit_is_kept(tmp_path):
    backend = Backend(tmp_path / "big", max_body_bytes=200_000)
    try:
        token = backend.session().access
        body = {"scope_type": "user", "key": "k", "value": "é" * 32767}  # 2 quotes + 65534 bytes
        assert backend.call("POST", "/v1/prefs", token=token, body=body).status == 200
        body["value"] += "x"
        response = backend.call("POST", "/v1/prefs", token=token, body=body)
        assert (response.status, response.json["detail"]) == (400, "value: at most 65536 bytes of JSON")
    finally:
        backend.close()


def test_nan_is_not_a_json_number(backend, alice):
    response = backend.call("POST", "/v1/prefs", token=alice[1],
                            body='{"scope_type": "user", "key": "k", "value": NaN}')
    assert response.status == 400


def test_a_stale_expected_version_is_409_and_the_entry_stays(backend, alice):
    _, token = alice
    put(backend, token, "k", scope_type="user", value=1)
    stale = put(backend, token, "k", scope_type="user", value=2, expected_version=0)
    assert (stale.status, stale.json["detail"]) == (409, "version conflict")
    assert backend.call("DELETE", "/v1/prefs/k?scope_type=user&expected_version=3", token=token).status == 409
    assert backend.call("GET", "/v1/prefs/k?scope_type=user", token=token).json["value"] == 1


def test_only_admins_write_the_system_scope_and_everyone_reads_it(backend, alice):
    _, token = alice
    refused = put(backend, token, "k", scope_type="system", value=1)
    assert (refused.status, refused.json["detail"]) == (403, "Admin required")
    denial = AuditEvent.get(AuditEvent.action == "access_denied")
    assert (denial.decision, denial.resource_type, denial.actor_handle) == ("deny", "preference", "alice")
    admin = backend.session().access
    assert put(backend, admin, "k", scope_type="system", value=1).json["scope_id"] is None
    assert backend.call("GET", "/v1/prefs/k?scope_type=system", token=token).json["value"] == 1
    assert backend.call("DELETE", "/v1/prefs/k?scope_type=system", token=token).status == 403


def test_another_users_scope_is_403_and_admins_may_write_any_existing_user(backend, alice):
    user, token = alice
    bob = backend.add_user("bob")
    assert put(backend, token, "k", scope_type="user", scope_id=bob.id, value=1).status == 403
    assert backend.call("GET", f"/v1/prefs?scope_type=user&scope_id={bob.id}", token=token).status == 403
    admin = backend.session().access
    assert put(backend, admin, "k", scope_type="user", scope_id=user.id, value=1).json["updated_by"] == "admin"
    missing = put(backend, admin, "k", scope_type="user", scope_id=default_project_id(user.id), value=1)
    assert (missing.status, missing.json["detail"]) == (404, "User not found")
    assert put(backend, admin, "k", scope_type="group", scope_id=user.id, value=1).status == 200
    assert put(backend, token, "k", scope_type="group", scope_id=user.id, value=1).status == 403


def test_a_project_scope_is_my_default_project_or_an_admins(backend, alice):
    user, token = alice
    me = backend.call("GET", "/v1/users/me", token=token).json
    assert me["default_project_id"] == default_project_id(user.id)
    mine = put(backend, token, "k", scope_type="project", scope_id=me["default_project_id"], value="p")
    assert mine.status == 200
    bob = backend.add_user("bob")
    assert put(backend, token, "k", scope_type="project", scope_id=default_project_id(bob.id), value=1).status == 403
    admin = backend.session().access
    assert put(backend, admin, "k", scope_type="project", scope_id=default_project_id(bob.id), value=1).status == 200
    unknown = put(backend, admin, "k", scope_type="project", scope_id=user.id, value=1)  # a user id is no project
    assert (unknown.status, unknown.json["detail"]) == (404, "Project not found")


def test_a_task_scope_is_its_owners_and_another_users_task_is_not_found_when_read(backend, alice):
    user, token = alice
    task = backend.store.create_task(user.id, "t", "commands", "true", [{"kind": "command", "payload": {}}])
    assert put(backend, token, "k", scope_type="task", scope_id=task.id.upper(), value=1).json["scope_id"] == task.id
    bob = backend.session(backend.add_user("bob")).access
    assert backend.call("GET", f"/v1/prefs/k?scope_type=task&scope_id={task.id}", token=bob).status == 404
    assert put(backend, bob, "k", scope_type="task", scope_id=task.id, value=2).status == 403
    assert backend.call("GET", f"/v1/prefs/effective?task_id={task.id}", token=bob).status == 404
    gone = put(backend, token, "k", scope_type="task", scope_id=user.id, value=1)
    assert (gone.status, gone.json["detail"]) == (404, "Task not found")


def test_effective_merges_task_over_project_over_user_over_system(backend, alice):
    user, token = alice
    admin = backend.session().access
    task = backend.store.create_task(user.id, "t", "commands", "true", [{"kind": "command", "payload": {}}])
    project = default_project_id(user.id)
    put(backend, admin, "style", scope_type="system", value="long")
    put(backend, admin, "lint", scope_type="system", value=True)
    put(backend, token, "style", scope_type="user", value="short")
    put(backend, token, "lang", scope_type="project", scope_id=project, value="python")
    put(backend, token, "lint", scope_type="task", scope_id=task.id, value=None)
    merged = backend.call("GET", f"/v1/prefs/effective?task_id={task.id}", token=token).json
    assert merged["effective"] == {"lang": "python", "lint": None, "style": "short"}
    assert merged["sources"] == [
        {"key": "lang", "scope_type": "project", "scope_id": project, "version": 1},
        {"key": "lint", "scope_type": "task", "scope_id": task.id, "version": 1},
        {"key": "style", "scope_type": "user", "scope_id": user.id, "version": 1}]
    by_admin = backend.call("GET", f"/v1/prefs/effective?task_id={task.id}", token=admin).json
    assert by_admin == merged  # the task's owner is the user, whoever asks
    plain = backend.call("GET", "/v1/prefs/effective", token=token).json["effective"]
    assert plain == {"lint": True, "style": "short"}
    both = backend.call("GET", f"/v1/prefs/effective?task_id={task.id}&project_id={project}", token=token)
    assert both.status == 400


def test_lists_page_by_key_with_a_prefix(backend, alice):
    _, token = alice
    for key in ("c", "a.2", "b", "a.1"):
        put(backend, token, key, scope_type="user", value=key)
    first = backend.call("GET", "/v1/prefs?scope_type=user&limit=2", token=token).json
    assert [e["key"] for e in first["preferences"]] == ["a.1", "a.2"] and first["next_cursor"] == "2"
    rest = backend.call("GET", "/v1/prefs?scope_type=user&limit=2&cursor=2", token=token).json
    assert [e["key"] for e in rest["preferences"]] == ["b", "c"] and "next_cursor" not in rest
    prefixed = backend.call("GET", "/v1/prefs?scope_type=user&key_prefix=a.", token=token).json
    assert [e["key"] for e in prefixed["preferences"]] == ["a.1", "a.2"]
    assert backend.call("GET", "/v1/prefs?scope_type=user&limit=0", token=token).status == 400
    assert backend.call("GET", "/v1/prefs", token=token).status == 400


def test_every_change_is_an_audit_event_without_the_value(backend, alice):
    user, token = alice
    put(backend, token, "secretish", scope_type="user", value="hunter2")
    backend.call("DELETE", "/v1/prefs/secretish?scope_type=user", token=token,
                 headers={"X-Forwarded-For": "10.0.0.9"})
    events = list(AuditEvent.select().order_by(AuditEvent.ts, AuditEvent.action.desc()))
    assert [(e.action, e.resource_type, e.resource_id, e.decision, e.actor_handle) for e in events] == [
        ("preference.set", "preference", f"user:{user.id}:secretish", "allow", "alice"),
        ("preference.delete", "preference", f"user:{user.id}:secretish", "allow", "alice")]
    assert all(e.ip_address == "127.0.0.1" and "hunter2" not in (e.details or "") for e in events)
    assert json.loads(events[0].details)["version"] == 1
