"""Node routes through the real app (WSGI, real SQLite store): shapes, admin checks, 404s, bad input, audit, and
that a change reaches this process's dispatcher at once."""

import re
import time

import pytest

from cynode.dispatch.dispatcher import Dispatcher
from cynode.dispatch.sandbox import ProcessRunner
from cynode.store.audit import AuditFilter

CAPS = {"workers": 2, "sandbox": "bwrap", "cpu": 2}
NODE_KEYS = {"node_id", "node_slug", "status", "enabled", "drained", "last_heartbeat", "capability_summary",
             "config_version", "config_ack_status", "config_ack_at", "created_at", "updated_at"}
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture(name="node")
def fixture_node(backend):
    return backend.store.register_node("local", CAPS, "cpu=2 mem=1.0GiB runner=bwrap workers=2 inference=none")


def _events(backend, action=None):
    return backend.store.audit_events(AuditFilter(resource_type="node", action=action), 50, 0)


def test_any_user_lists_nodes_by_slug_with_the_spec_fields_and_pages(backend, node):
    backend.store.register_node("worker-a", CAPS, "s")
    alice = backend.session(backend.add_user("alice")).access
    listed = backend.call("GET", "/v1/nodes", token=alice)
    assert listed.status == 200
    first, second = listed.json["nodes"]
    assert "next_cursor" not in listed.json
    assert set(first) == NODE_KEYS and (first["node_slug"], second["node_slug"]) == ("local", "worker-a")
    assert (first["node_id"], first["status"], first["enabled"], first["drained"]) == (node.id, "active", True, False)
    assert first["config_ack_status"] == "applied" and re.fullmatch(TIME, first["last_heartbeat"])
    paged = backend.call("GET", "/v1/nodes?limit=1", token=alice).json
    assert [n["node_slug"] for n in paged["nodes"]] == ["local"] and paged["next_cursor"] == "1"
    assert backend.call("GET", "/v1/nodes?limit=0", token=alice).status == 400
    assert backend.call("GET", "/v1/nodes").status == 401


def test_an_empty_node_list_is_an_empty_array(backend):
    assert backend.call("GET", "/v1/nodes", token=backend.session().access).json == {"nodes": []}


def test_get_finds_a_node_by_slug_or_id_and_404s_otherwise(backend, node):
    alice = backend.session(backend.add_user("alice")).access
    assert backend.call("GET", "/v1/nodes/local", token=alice).json["node_id"] == node.id
    assert backend.call("GET", f"/v1/nodes/{node.id.upper()}", token=alice).json["node_slug"] == "local"
    missing = backend.call("GET", "/v1/nodes/nowhere", token=alice)
    assert (missing.status, missing.json["detail"]) == (404, "Node not found")


@pytest.mark.parametrize("action, status, reply", [
    ("disable", "inactive", {"enabled": False}),
    ("drain", "drained", {"drained": True}),
    ("enable", "active", {"enabled": True}),
])
def test_admin_status_changes_answer_the_spec_shape_store_the_status_and_are_audited(backend, node, action, status,
                                                                                     reply):
    response = backend.call("POST", f"/v1/nodes/local/{action}", token=backend.session().access)
    assert (response.status, response.json) == (200, {"node_id": node.id, **reply})
    shown = backend.call("GET", "/v1/nodes/local", token=backend.session().access).json
    assert shown["status"] == status and shown["enabled"] == (status != "inactive")
    assert shown["drained"] == (status == "drained")
    [event] = _events(backend, f"node.{action}")
    assert (event.resource_id, event.actor_handle, event.decision, event.success) == (node.id, "admin", "allow", True)
    assert event.details == {"node_slug": "local", "from": "active", "to": status}
    assert event.ip_address == "127.0.0.1"


@pytest.mark.parametrize("action", ["enable", "disable", "drain", "refresh-config", "prefetch-image"])
def test_a_non_admin_is_refused_and_the_refusal_is_audited_once(backend, node, action):
    alice = backend.session(backend.add_user("alice")).access
    response = backend.call("POST", f"/v1/nodes/local/{action}", token=alice, body={"image_ref": "alpine"})
    assert (response.status, response.json["detail"]) == (403, "Admin required")
    assert backend.store.node(node.id).status == "active"
    [event] = _events(backend)
    assert (event.action, event.decision, event.actor_handle) == ("access_denied", "deny", "alice")


@pytest.mark.parametrize("action", ["enable", "disable", "drain", "refresh-config", "prefetch-image"])
def test_an_unknown_node_is_404_for_an_admin(backend, action):
    response = backend.call("POST", f"/v1/nodes/nowhere/{action}", token=backend.session().access,
                            body={"image_ref": "alpine"})
    assert (response.status, response.json["detail"]) == (404, "Node not found")


def test_refresh_config_is_202_bumps_the_version_and_leaves_the_ack_pending_without_a_dispatcher(backend, node):
    response = backend.call("POST", "/v1/nodes/local/refresh-config", token=backend.session().access)
    assert (response.status, response.json) == (202, {"node_id": node.id, "refresh_config_requested": True})
    shown = backend.call("GET", "/v1/nodes/local", token=backend.session().access).json
    assert shown["config_version"] != node.config_version and shown["config_ack_status"] == "pending"
    assert "config_ack_at" not in shown  # omitted while unset
    [event] = _events(backend, "node.refresh_config")
    assert event.details == {"node_slug": "local", "config_version": shown["config_version"]}


def test_prefetch_is_202_and_recorded_in_the_node_metadata(backend, node):
    response = backend.call("POST", f"/v1/nodes/{node.id}/prefetch-image", token=backend.session().access,
                            body={"image_ref": "docker.io/library/alpine:3.20"})
    assert (response.status, response.json) == (202, {"node_id": node.id, "image_ref": "docker.io/library/alpine:3.20",
                                                       "prefetch_requested": True})
    [request] = backend.store.node(node.id).metadata["prefetch_requests"]
    assert request["image_ref"] == "docker.io/library/alpine:3.20"
    assert _events(backend, "node.prefetch_image")[0].details["image_ref"] == "docker.io/library/alpine:3.20"


@pytest.mark.parametrize("body, detail", [
    ({}, "image_ref is required"),
    ({"image_ref": ""}, "image_ref is required"),
    ({"image_ref": "   "}, "image_ref must be"),
    ({"image_ref": "alpine latest"}, "image_ref must be"),
    ({"image_ref": "alpine\x1b"}, "image_ref must be"),
    ({"image_ref": "a" * 513}, "image_ref must be"),
    ({"image_ref": 5}, "image_ref must be"),
    ("not json", "Invalid request body"),
])
def test_prefetch_refuses_a_missing_or_bad_image_ref(backend, node, body, detail):
    response = backend.call("POST", "/v1/nodes/local/prefetch-image", token=backend.session().access, body=body)
    assert response.status == 400 and response.json["detail"].startswith(detail)
    assert backend.store.node(node.id).metadata == {} and not _events(backend, "node.prefetch_image")


def test_a_change_reaches_this_process_dispatcher_at_once_and_readyz_tells(backend):
    dispatcher = Dispatcher(backend.store, ProcessRunner(), backend.settings, backend.workspace,
                            heartbeat_seconds=3600)
    backend.deps.dispatcher = dispatcher
    dispatcher.start()  # workers=0: registers and heartbeats, runs nothing
    try:
        admin = backend.session().access
        assert backend.call("POST", "/v1/nodes/local/drain", token=admin).status == 200
        assert not dispatcher.node.gate.is_open and dispatcher.run_once() is False
        ready = backend.call("GET", "/readyz")
        assert ready.status == 200 and "node local drained: no new jobs start" in ready.body.decode()
        assert backend.call("POST", "/v1/nodes/local/disable", token=admin).status == 200
        assert "node local disabled" in backend.call("GET", "/readyz").body.decode()
        assert backend.call("POST", "/v1/nodes/local/enable", token=admin).status == 200
        assert dispatcher.node.gate.is_open and "node local" not in backend.call("GET", "/readyz").body.decode()
        assert backend.call("POST", "/v1/nodes/local/refresh-config", token=admin).status == 202
        deadline = time.monotonic() + 10  # the heartbeat thread is woken at once, off the request thread
        while backend.store.node_by_slug("local").config_ack_status != "applied":
            assert time.monotonic() < deadline, "the refresh was never applied"
            time.sleep(0.01)
    finally:
        dispatcher.stop(grace=0)
