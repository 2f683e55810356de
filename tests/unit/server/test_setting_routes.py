"""System setting routes through the real app (spec/gateway.md §12): everyone reads, admins write, known keys are
checked, and the model setting changes the model chat asks the (fake) inference backend for."""

import pytest

from cynode.inference.client import Backend as InferenceBackend
from cynode.inference.client import Client
from cynode.store.models import AuditEvent
from cynode.store.preferences import MODEL_SETTING
from tests.fakes.inference import FakeInference
from tests.support.server import Backend

MODE = "agents.project_manager.model.selection.execution_mode"


def test_admins_write_everyone_reads_and_deletes_are_admin_only(backend):
    admin = backend.session().access
    made = backend.call("POST", "/v1/settings", token=admin, body={"key": MODE, "value": "force_local",
                                                                   "reason": "no egress"})
    assert made.status == 200
    assert made.json == {"key": MODE, "value": "force_local", "value_type": "string", "version": 1,
                         "updated_at": made.json["updated_at"], "updated_by": "admin", "ok": True}
    user = backend.session(backend.add_user("alice")).access
    assert backend.call("GET", f"/v1/settings/{MODE}", token=user).json["value"] == "force_local"
    assert [s["key"] for s in backend.call("GET", "/v1/settings", token=user).json["settings"]] == [MODE]
    assert backend.call("GET", f"/v1/settings?key={MODE}", token=user).json["settings"][0]["version"] == 1
    assert backend.call("GET", "/v1/settings?key=none", token=user).json == {"settings": []}
    for method, path, body in (("POST", "/v1/settings", {"key": MODE, "value": "auto"}),
                               ("PUT", f"/v1/settings/{MODE}", {"value": "auto"}),
                               ("DELETE", f"/v1/settings/{MODE}", None)):
        refused = backend.call(method, path, token=user, body=body)
        assert (refused.status, refused.json["detail"]) == (403, "Admin required")
    denials = AuditEvent.select().where(AuditEvent.action == "access_denied")
    assert [(d.resource_type, d.decision, d.actor_handle) for d in denials] == [
        ("system_setting", "deny", "alice")] * 3
    assert backend.call("DELETE", f"/v1/settings/{MODE}", token=admin).json == {"deleted": True, "key": MODE}
    assert backend.call("GET", f"/v1/settings/{MODE}", token=user).json["detail"] == "Setting not found"
    assert backend.call("DELETE", f"/v1/settings/{MODE}", token=admin).status == 404
    changes = AuditEvent.select().where(AuditEvent.resource_type == "system_setting",
                                        AuditEvent.decision == "allow").order_by(AuditEvent.ts)
    assert [(c.action, c.resource_id) for c in changes] == [("setting.set", MODE), ("setting.delete", MODE)]
    assert [h.reason for h in backend.store.setting_history(MODE)] == ["no egress", None]


@pytest.mark.parametrize("key, value", [
    (MODE, "sometimes"), (MODE, 1), ("agents.project_manager.model.selection.mode", "random"),
    ("agents.project_manager.model.selection.prefer_orchestrator_host", "yes"), (MODEL_SETTING, 3),
    (MODEL_SETTING, "m" * 257),
    # the model name travels to the inference server, into /v1/models and chat answers, and onto people's
    # terminals: no escape sequences, line breaks or white space
    (MODEL_SETTING, "qwen\x1b]0;owned\x07"), (MODEL_SETTING, "qwen\r\nX-Injected: 1"), (MODEL_SETTING, "qwen 3"),
    (MODEL_SETTING, "qwen\u202e"),
])
def test_known_keys_are_checked(backend, key, value):
    response = backend.call("POST", "/v1/settings", token=backend.session().access, body={"key": key, "value": value})
    assert response.status == 400 and key in response.json["detail"], response.json


def test_unknown_keys_take_any_json_and_versions_guard_updates(backend):
    admin = backend.session().access
    assert backend.call("PUT", "/v1/settings/x.y", token=admin, body={"value": {"a": 1}}).json["version"] == 1
    stale = backend.call("PUT", "/v1/settings/x.y", token=admin, body={"value": 2, "expected_version": 0})
    assert (stale.status, stale.json["detail"]) == (409, "version conflict")
    wrong = backend.call("PUT", "/v1/settings/x.y", token=admin, body={"value": 2, "value_type": "string"})
    assert wrong.status == 400
    assert backend.call("PUT", "/v1/settings/x.y", token=admin,
                        body={"value": 2, "expected_version": 1}).json["version"] == 2


def test_the_model_setting_is_the_model_chat_asks_for_and_lists(tmp_path):
    with FakeInference(model="fake-model") as fake:
        backend = Backend(tmp_path, Client(InferenceBackend(fake.url, "ollama", "fake-model")),
                          inference_model="fake-model")
        try:
            admin = backend.session().access
            assert backend.call("POST", "/v1/chat", token=admin, body={"message": "hi"}).status == 200
            backend.call("POST", "/v1/settings", token=admin, body={"key": MODEL_SETTING, "value": "llama3.2:1b"})
            assert backend.call("POST", "/v1/chat", token=admin, body={"message": "hi"}).status == 200
            completion = backend.call("POST", "/v1/chat/completions", token=admin,
                                      body={"messages": [{"role": "user", "content": "hi"}]})
            assert completion.json["model"] == "llama3.2:1b"
            listed = backend.call("GET", "/v1/models", token=admin).json["data"]
            assert [m["id"] for m in listed] == ["llama3.2:1b"]
            assert [r["body"]["model"] for r in fake.requests] == ["fake-model", "llama3.2:1b", "llama3.2:1b"]
        finally:
            backend.close()
