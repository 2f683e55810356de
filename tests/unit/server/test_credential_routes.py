"""Credential routes through the real app (WSGI, real SQLite store): the shapes, who may do what, and the secret
never coming back out — not in a response, the audit log, the database or a job's payload."""

import logging
import urllib.parse
import uuid

import pytest

from cynode.dispatch.dispatcher import Dispatcher
from cynode.dispatch.sandbox import ProcessRunner
from cynode.server.app import make_app
from cynode.server.deps import Deps
from cynode.store.audit import AuditFilter
from cynode.store.models import Credential
from tests.support.server import Backend

SECRET = "ghp_" + uuid.uuid4().hex
META_KEYS = {"id", "credential_id", "owner_type", "owner_id", "provider", "credential_name", "name",
             "credential_type", "is_active", "active", "created_at", "updated_at"}


@pytest.fixture(name="admin")
def fixture_admin(backend):
    token = backend.session().access
    return lambda method, path, **kw: backend.call(method, path, token=token, **kw)


def create(caller, **body):
    return caller("POST", "/v1/credentials", body={"provider": "github", "name": "gh-token", "secret": SECRET, **body})


def _everything_stored(backend) -> str:
    rows = [str(row.__data__) for row in Credential.select()]
    events = [str(e) for e in backend.store.audit_events(AuditFilter(resource_type="credential"), 200, 0)]
    return "\n".join(rows + events)


def test_create_answers_metadata_only_and_the_secret_is_stored_sealed(backend, alice, caplog):
    caplog.set_level(logging.DEBUG)
    response = create(alice)
    assert response.status == 201
    body = response.json
    assert set(body) == META_KEYS and SECRET not in response.body.decode()
    assert (body["owner_type"], body["owner_id"], body["credential_type"], body["active"]) == (
        "user", alice.user.id, "api_key", True)
    assert body["id"] == body["credential_id"] and body["name"] == body["credential_name"] == "gh-token"
    for path in ("/v1/credentials", "/v1/creds", f"/v1/credentials/{body['id']}", f"/v1/creds/{body['id']}"):
        got = alice("GET", path)
        assert got.status == 200 and SECRET not in got.body.decode(), path
    assert alice("GET", "/v1/creds").json["credentials"] == [body]
    assert SECRET not in _everything_stored(backend) and SECRET not in caplog.text
    event = backend.store.audit_events(AuditFilter(action="credential.create"), 10, 0)[0]
    assert (event.resource_type, event.resource_id, event.actor_id, event.decision) == (
        "credential", body["id"], alice.user.id, "allow")


def test_a_duplicate_is_a_409_and_bad_input_a_400(alice):
    assert create(alice).status == 201
    assert create(alice).status == 409
    assert create(alice, provider="gitlab").status == 201
    for body, detail in (({"secret": ""}, "secret is required"), ({"secret": None}, "secret is required"),
                         ({"secret": 5}, "secret must be a string"),
                         ({"provider": ""}, "provider is required"), ({"name": "", "credential_name": ""},
                                                                      "credential_name is required"),
                         ({"name": "has space"}, "credential_name must be"), ({"owner_type": "team"}, "owner_type"),
                         ({"owner_id": "nope"}, "owner_id"), ({"expires_at": "tomorrow"}, "expires_at"),
                         ({"expires_at": "2999-01-01 00:00:00+00:00"}, "RFC 3339"),  # ISO 8601, not RFC 3339
                         ({"expires_at": "2001-01-01T00:00:00Z"}, "future")):
        response = create(alice, **{"name": "other", **body})
        assert response.status == 400 and detail in response.json["detail"], (body, response.json)
    assert alice("POST", "/v1/creds", body=b"[1]", headers={"Content-Type": "application/json"}).status == 400


def test_a_secret_over_64_kib_is_a_400(tmp_path):
    backend = Backend(tmp_path / "data", max_body_bytes=1 << 20)
    try:
        token = backend.session().access
        at_limit = {"provider": "p", "name": "big", "secret": "x" * 65536}
        assert backend.call("POST", "/v1/creds", token=token, body=at_limit).status == 201
        over = backend.call("POST", "/v1/creds", token=token, body={**at_limit, "secret": "é" * 32769})
        assert (over.status, over.json["detail"]) == (400, "secret exceeds 65536 bytes")
    finally:
        backend.close()


def test_group_credentials_and_other_owners_are_for_admins(backend, alice, admin):
    group = str(uuid.uuid4())
    refused = create(alice, owner_type="group", owner_id=group)
    assert refused.status == 403
    denied = backend.store.audit_events(AuditFilter(actor_id=alice.user.id, action="access_denied"), 10, 0)
    assert denied and denied[0].resource_type == "credential" and denied[0].decision == "deny"
    assert create(alice, owner_id=backend.admin.id).status == 403
    assert create(admin, owner_type="group").status == 400  # a group needs its id
    made = create(admin, owner_type="group", owner_id=group)
    assert made.status == 201 and made.json["owner_id"] == group
    assert alice("GET", f"/v1/creds/{made.json['id']}").status == 404
    for_alice = create(admin, owner_id=alice.user.id, name="given")
    assert for_alice.status == 201 and alice("GET", f"/v1/creds/{for_alice.json['id']}").status == 200
    assert create(admin, owner_id=str(uuid.uuid4())).json["detail"] == "owner_id: no such user"


def test_another_users_credential_is_a_404_everywhere_and_admins_see_all(backend, alice, admin):
    mine = create(admin, name="admins").json["id"]
    for method, path, body in (("GET", "", None), ("POST", "/rotate", {"secret": "x"}), ("POST", "/disable", None),
                               ("PATCH", "", {"is_active": False})):
        response = alice(method, f"/v1/creds/{mine}{path}", body=body)
        assert (response.status, response.json["detail"]) == (404, "Credential not found"), path
    assert alice("GET", "/v1/creds/not-an-id").status == 404
    assert alice("GET", "/v1/creds").json == {"credentials": []}
    assert alice("GET", f"/v1/creds?owner_id={backend.admin.id}").json == {"credentials": []}
    create(alice)
    assert len(admin("GET", "/v1/credentials").json["credentials"]) == 2
    assert [c["name"] for c in admin("GET", f"/v1/creds?owner_id={alice.user.id}").json["credentials"]] == [
        "gh-token"]
    assert backend.store.credential_by_id(mine).is_active


def test_rotate_disable_and_enable(backend, alice, admin):
    cred = create(alice).json
    before = backend.store.credential_by_id(cred["id"]).credential_ciphertext
    rotated = alice("POST", f"/v1/creds/{cred['id']}/rotate", body={"secret": "new-" + SECRET})
    assert rotated.status == 200 and rotated.json["rotated"] is True and "new-" not in rotated.body.decode()
    assert backend.store.credential_by_id(cred["id"]).credential_ciphertext != before
    assert alice("POST", f"/v1/creds/{cred['id']}/rotate", body={"secret": ""}).status == 400
    disabled = alice("POST", f"/v1/creds/{cred['id']}/disable")
    assert disabled.status == 200 and disabled.json["disabled"] is True and disabled.json["active"] is False
    assert alice("GET", "/v1/creds?active=false").json["credentials"][0]["id"] == cred["id"]
    assert alice("GET", "/v1/creds?active=true").json["credentials"] == []
    assert alice("GET", "/v1/creds?active=maybe").status == 400
    assert alice("PATCH", f"/v1/creds/{cred['id']}", body={"is_active": True}).status == 403
    assert alice("PATCH", f"/v1/creds/{cred['id']}", body={"is_active": "yes"}).status == 400
    assert admin("PATCH", f"/v1/credentials/{cred['id']}", body={"is_active": True}).json["active"] is True
    actions = [e.action for e in backend.store.audit_events(AuditFilter(resource_type="credential"), 20, 0)]
    assert {"credential.create", "credential.rotate", "credential.disable", "credential.enable",
            "access_denied"} <= set(actions)
    assert SECRET not in _everything_stored(backend)


def test_list_paging(alice):
    for number in range(3):
        create(alice, name=f"n{number}")
    first = alice("GET", "/v1/creds?limit=2").json
    assert [c["name"] for c in first["credentials"]] == ["n0", "n1"] and first["next_cursor"] == "2"
    assert [c["name"] for c in alice("GET", "/v1/creds?cursor=2").json["credentials"]] == ["n2"]
    assert alice("GET", "/v1/creds?limit=0").status == 400


def test_the_provider_filter_matches_a_provider_named_in_any_script(alice):
    create(alice, provider="dépôt-ünïcode")
    create(alice, provider="github", name="other")
    listed = alice("GET", "/v1/creds?provider=" + urllib.parse.quote("dépôt-ünïcode")).json["credentials"]
    assert [c["provider"] for c in listed] == ["dépôt-ünïcode"]


def _task(caller, *credentials, **body):
    return caller("POST", "/v1/tasks", body={"input_mode": "commands", "commands": ["true"],
                                             "credentials": list(credentials), **body})


def test_a_task_names_only_its_owners_usable_credentials_and_stores_only_ids(backend, alice, admin):
    cred = create(alice).json
    made = _task(alice, "gh-token")
    assert made.status == 201
    job = backend.store.jobs_for_task(made.json["id"])[0]
    assert job.payload["credentials"] == [cred["id"]] and SECRET not in str(job.payload)
    assert _task(alice, cred["id"]).status == 201
    admins = create(admin, name="admins-only").json["id"]
    unknown = _task(alice, "no-such").json["detail"]
    for ref in ("admins-only", admins):  # exists, but is not alice's: the same answer as a missing one
        response = _task(alice, ref)
        assert response.status == 400
        assert response.json["detail"] == unknown.replace("'no-such'", repr(ref))
    assert "only for script and commands" in alice("POST", "/v1/tasks", body={
        "prompt": "hi", "credentials": ["gh-token"]}).json["detail"]
    assert _task(alice, 5).status == 400
    create(alice, provider="gitlab")
    assert "name the one you mean" in _task(alice, "gh-token").json["detail"]
    alice("POST", f"/v1/creds/{cred['id']}/disable")
    assert _task(alice, cred["id"]).status == 400


def test_a_job_receives_the_secret_as_an_env_var_and_loses_it_once_disabled(backend, alice):
    dispatcher = Dispatcher(backend.store, ProcessRunner(), backend.settings, backend.workspace,
                            secretbox=backend.secretbox)
    backend.app = make_app(Deps(backend.settings, backend.store, backend.workspace, dispatcher,
                                secretbox=backend.secretbox))
    cred = create(alice, name="gh.token").json
    _task(alice, "gh.token", commands=['test "$CYNODE_CRED_GH_TOKEN" = "$EXPECTED" || exit 9'.replace(
        "$EXPECTED", SECRET)], task_name="uses")
    queued = _task(alice, "gh.token", task_name="later")
    assert queued.status == 201
    assert dispatcher.run_once()
    result = alice("GET", "/v1/tasks/uses/result").json
    assert result["status"] == "completed", result
    alice("POST", f"/v1/creds/{cred['id']}/disable")
    assert dispatcher.run_once()
    later = alice("GET", "/v1/tasks/later/result").json
    assert later["status"] == "failed" and "was disabled after the task was created" in later["jobs"][0]["result"]
