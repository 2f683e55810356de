"""Personal API token routes through the real app (WSGI, real SQLite store): what an API client sees."""

import datetime
import logging
import uuid

import pytest

from cynode.store.models import ApiToken
from cynode.store.records import utcnow


def create(backend, token: str, **body):
    return backend.call("POST", "/v1/tokens", token=token, body={"name": "ci", **body})


def test_a_created_token_is_shown_once_and_works_as_a_bearer_token(backend):
    login = backend.session().access
    response = create(backend, login, expires_in_days=7)
    assert response.status == 201
    body = response.json
    assert set(body) == {"token_id", "name", "token", "expires_at"} and body["name"] == "ci"
    assert body["token"].startswith("cyn_") and len(body["token"]) > 40
    expires = datetime.datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(expires - (utcnow() + datetime.timedelta(days=7))) < datetime.timedelta(minutes=1)
    me = backend.call("GET", "/v1/users/me", token=body["token"])
    assert (me.status, me.json["handle"]) == (200, "admin")
    assert backend.call("GET", "/v1/tasks", token=body["token"]).status == 200


def test_the_default_lifetime_is_90_days(backend):
    body = create(backend, backend.session().access).json
    expires = datetime.datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(expires - (utcnow() + datetime.timedelta(days=90))) < datetime.timedelta(minutes=1)


def test_the_list_shows_metadata_and_never_the_token(backend):
    login = backend.session().access
    created = create(backend, login).json
    assert backend.call("GET", "/v1/users/me", token=created["token"]).status == 200  # records a use
    listed = backend.call("GET", "/v1/tokens", token=created["token"])  # an API token may list
    assert listed.status == 200
    [token] = listed.json["tokens"]
    assert set(token) == {"token_id", "name", "created_at", "expires_at", "last_used_at"}
    assert token["token_id"] == created["token_id"] and token["last_used_at"] is not None
    assert created["token"] not in listed.body.decode()
    assert ApiToken.get().token_hash not in listed.body.decode()


@pytest.mark.parametrize("body", [
    {"name": ""}, {"name": None}, {"name": 5}, {"name": "x" * 65}, {"name": "   "}, {"name": "a\tb"},
    {"expires_in_days": 0}, {"expires_in_days": 366}, {"expires_in_days": "30"}, {"expires_in_days": True},
    {"expires_in_days": 1.5},
])
def test_bad_input_is_400(backend, body):
    response = create(backend, backend.session().access, **body)
    assert response.status == 400, response.body


def test_names_at_the_limits_are_accepted(backend):
    login = backend.session().access
    assert create(backend, login, name="x" * 64, expires_in_days=365).status == 201
    assert create(backend, login, name="é", expires_in_days=1).status == 201
    assert create(backend, login, name="thirty", expires_in_days=30.0).status == 201  # JSON's 30.0 is 30


def test_a_name_is_unique_per_user_among_live_tokens(backend):
    login = backend.session().access
    first = create(backend, login).json
    assert create(backend, login).status == 409
    bob = backend.session(backend.add_user("bob")).access
    assert create(backend, bob).status == 201  # another user's names are their own
    assert backend.call("DELETE", f"/v1/tokens/{first['token_id']}", token=login).status == 204
    assert create(backend, login).status == 201


def test_revoking_takes_effect_at_once_and_a_second_revoke_is_404(backend):
    login = backend.session().access
    created = create(backend, login).json
    path = f"/v1/tokens/{created['token_id']}"
    assert backend.call("DELETE", path, token=login).status == 204
    assert backend.call("GET", "/v1/users/me", token=created["token"]).status == 401
    assert backend.call("DELETE", path, token=login).status == 404
    assert backend.call("GET", "/v1/tokens", token=login).json == {"tokens": []}


def test_another_users_token_or_no_token_at_all_is_404(backend):
    created = create(backend, backend.session().access).json
    bob = backend.session(backend.add_user("bob")).access
    for token_id in (created["token_id"], str(uuid.uuid4()), "not-a-uuid"):
        response = backend.call("DELETE", f"/v1/tokens/{token_id}", token=bob)
        assert (response.status, response.json["detail"]) == (404, "Token not found")
    assert backend.call("GET", "/v1/tokens", token=bob).json == {"tokens": []}
    assert backend.call("GET", "/v1/users/me", token=created["token"]).status == 200


def test_an_api_token_cannot_mint_revoke_log_out_or_refresh(backend):
    created = create(backend, backend.session().access).json
    api = created["token"]
    for method, path in (("POST", "/v1/tokens"), ("DELETE", f"/v1/tokens/{created['token_id']}")):
        response = backend.call(method, path, token=api, body={"name": "more"})
        assert (response.status, response.json["detail"]) == (403, "API tokens cannot manage API tokens")
    assert backend.call("POST", "/v1/auth/logout", token=api).status == 403
    assert backend.call("POST", "/v1/auth/refresh", body={"refresh_token": api}).status == 401
    assert backend.call("GET", "/v1/users/me", token=api).status == 200  # none of that harmed it


def test_an_expired_token_is_refused(backend):
    created = create(backend, backend.session().access).json
    ApiToken.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).execute()
    assert backend.call("GET", "/v1/users/me", token=created["token"]).status == 401


def test_a_disabled_users_token_stops_working_and_stays_revoked(backend):
    bob = backend.add_user("bob")
    created = create(backend, backend.session(bob).access).json
    admin = backend.session().access
    assert backend.call("POST", "/v1/users/bob/disable", token=admin).status == 200
    assert backend.call("GET", "/v1/users/me", token=created["token"]).status == 401
    assert backend.call("POST", "/v1/users/bob/enable", token=admin).status == 200
    assert backend.call("GET", "/v1/users/me", token=created["token"]).status == 401


def test_an_unknown_prefixed_token_is_401(backend):
    response = backend.call("GET", "/v1/users/me", token="cyn_" + "A" * 43)
    assert (response.status, response.json["detail"]) == (401, "Invalid or expired token")


def test_the_log_never_shows_an_api_token(backend, caplog):
    login = backend.session().access
    with caplog.at_level(logging.INFO, logger="cynode.http"):
        created = create(backend, login).json
        backend.call("GET", "/v1/tasks", token=created["token"])
    assert created["token"] not in caplog.text and "method=GET path=/v1/tasks status=200" in caplog.text
