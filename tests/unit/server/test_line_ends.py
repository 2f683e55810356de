"""Names, keys and references a client sends end where the text ends: one final newline is not let through by a
`$`-anchored pattern (Python's `$` also matches just before a final "\\n"). Such a name looks exactly like the
one without it in a table, yet is another name: `alice\\n` beside `alice`, a setting key that escapes its
known-key check, a credential name or provider with a control character the rules forbid."""

import pytest

from tests.support.server import PASSWORD

CREDENTIAL = {"provider": "github", "name": "gh-token", "secret": "s3cret", "credential_type": "api_key"}
MODEL = "agents.project_manager.model.local_default_ollama_model"


def _admin(backend):
    return backend.session().access


@pytest.mark.parametrize("field", ["provider", "name", "credential_type"])
def test_a_credential_field_with_a_final_newline_is_refused(backend, field):
    response = backend.call("POST", "/v1/credentials", token=_admin(backend),
                            body={**CREDENTIAL, field: CREDENTIAL[field] + "\n"})
    assert response.status == 400, response.body
    assert backend.call("GET", "/v1/credentials", token=_admin(backend)).json["credentials"] == []


@pytest.mark.parametrize("body", [{"name": "notes\n"}, {"scope": "project", "scope_id": "p1\n"}])
def test_a_skill_name_or_scope_id_with_a_final_newline_is_refused(backend, body):
    response = backend.call("POST", "/v1/skills/load", token=_admin(backend), body={"content": "# hi", **body})
    assert response.status == 400, response.body


def test_a_preference_key_with_a_final_newline_is_refused(backend):
    token = _admin(backend)
    body = {"scope_type": "user", "key": "theme\n", "value": "dark"}
    assert backend.call("POST", "/v1/prefs", token=token, body=body).status == 400
    assert backend.call("DELETE", "/v1/prefs?scope_type=user&key=theme%0A", token=token).status == 400
    assert backend.call("GET", "/v1/prefs?scope_type=user", token=token).json["preferences"] == []


def test_a_setting_key_with_a_final_newline_cannot_shadow_a_known_key(backend):
    response = backend.call("POST", "/v1/settings", token=_admin(backend), body={"key": MODEL + "\n", "value": 5})
    assert response.status == 400, response.body
    assert backend.call("GET", "/v1/settings", token=_admin(backend)).json["settings"] == []


def test_an_image_ref_with_a_final_newline_is_refused(backend):
    backend.store.register_node("local", {}, "cpu=1")
    response = backend.call("POST", "/v1/nodes/local/prefetch-image", token=_admin(backend),
                            body={"image_ref": "alpine:3\n"})
    assert response.status == 400, response.body
    assert "prefetch_requests" not in backend.store.node_by_slug("local").metadata


def test_a_handle_or_a_token_name_with_a_final_newline_is_refused(backend):
    response = backend.call("POST", "/v1/users", token=_admin(backend), body={"handle": "admin2\n",
                                                                             "password": PASSWORD})
    assert response.status == 400, response.body
    assert backend.store.user_by_handle("admin2\n") is None
    assert backend.call("POST", "/v1/tokens", token=_admin(backend), body={"name": "ci\n"}).status == 400
