"""Nodes (spec/gateway.md §13): list and read them (any user); enable, disable, drain, ask for a configuration
reload or an image prefetch (admins). A change is written to the node's row, which is what every node obeys, and
handed to this process's dispatcher at once (Deps.node_changed); each change is an audit event."""

import re

from cynode.contract import rfc3339
from cynode.server.apidoc import BOOL, PAGING, STR, TEXT_REQ, TIME, UUID, errors, json_body, obj, ok, op, ref
from cynode.server.audit import audit
from cynode.server.auth import authenticate, require_admin
from cynode.server.deps import Reply
from cynode.server.errors import BadRequest, NotFound
from cynode.server.jsonio import is_uuid, page, page_params, read_json

MAX_IMAGE_REF_LENGTH = 512
# An image reference has no white space and no control characters (the white space str.strip() knows, C0 and C1).
IMAGE_REF_PATTERN = re.compile(r"^[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$")
STATUS_OF = {"enable": "active", "disable": "inactive", "drain": "drained"}


def node_json(node) -> dict:
    """The node object; optional fields without a value are omitted. Never a token."""
    body = {"node_id": node.id, "node_slug": node.slug, "status": node.status, "enabled": node.status != "inactive",
            "drained": node.status == "drained", "last_heartbeat": rfc3339(node.last_seen_at),
            "capability_summary": node.capability_summary}
    optional = {"config_version": node.config_version, "config_ack_status": node.config_ack_status,
                "config_ack_at": rfc3339(node.config_ack_at), "worker_api_target_url": node.worker_api_target_url}
    body.update({key: value for key, value in optional.items() if value is not None})
    body.update(created_at=rfc3339(node.created_at), updated_at=rfc3339(node.updated_at))
    return body


def _find(deps, node_ref: str):
    """A node by id or slug; 404 otherwise."""
    node = deps.store.node(node_ref.lower()) if is_uuid(node_ref) else deps.store.node_by_slug(node_ref)
    if node is None:
        raise NotFound("Node not found")
    return node


def list_nodes(deps, req):
    authenticate(deps, req)
    limit, offset = page_params(req.query)
    return page([node_json(node) for node in deps.store.nodes(limit + 1, offset)], limit, offset, "nodes")


def get_node(deps, req, node_ref):
    authenticate(deps, req)
    return node_json(_find(deps, node_ref))


def _set_status(deps, req, node_ref: str, action: str):
    require_admin(deps, req)
    node = _find(deps, node_ref)
    changed = deps.store.set_node_status(node.id, STATUS_OF[action])
    deps.node_changed(changed)
    audit(deps, req, f"node.{action}", "node", node.id,
          details={"node_slug": node.slug, "from": node.status, "to": changed.status})
    return changed


def enable_node(deps, req, node_ref):
    return {"node_id": _set_status(deps, req, node_ref, "enable").id, "enabled": True}


def disable_node(deps, req, node_ref):
    return {"node_id": _set_status(deps, req, node_ref, "disable").id, "enabled": False}


def drain_node(deps, req, node_ref):
    return {"node_id": _set_status(deps, req, node_ref, "drain").id, "drained": True}


def refresh_config(deps, req, node_ref):
    require_admin(deps, req)
    node = deps.store.request_node_config(_find(deps, node_ref).id)
    deps.node_changed(node)
    audit(deps, req, "node.refresh_config", "node", node.id,
          details={"node_slug": node.slug, "config_version": node.config_version})
    return Reply(202, {"node_id": node.id, "refresh_config_requested": True})


def _image_ref(body: dict) -> str:
    image_ref = body.get("image_ref")
    if image_ref is None or image_ref == "":
        raise BadRequest("image_ref is required")
    if (not isinstance(image_ref, str) or len(image_ref) > MAX_IMAGE_REF_LENGTH
            or not IMAGE_REF_PATTERN.fullmatch(image_ref)):
        raise BadRequest(f"image_ref must be 1-{MAX_IMAGE_REF_LENGTH} characters without spaces or control characters")
    return image_ref


def prefetch_image(deps, req, node_ref):
    """Recorded in the node's metadata. Today's runners (bubblewrap, plain processes) run no images, so no node
    pulls anything: the request is kept for runners that will."""
    require_admin(deps, req)
    node = _find(deps, node_ref)
    image_ref = _image_ref(read_json(req))
    deps.store.request_node_prefetch(node.id, image_ref)
    audit(deps, req, "node.prefetch_image", "node", node.id, details={"node_slug": node.slug, "image_ref": image_ref})
    return Reply(202, {"node_id": node.id, "image_ref": image_ref, "prefetch_requested": True})


ROUTES = [
    ("GET", "/v1/nodes", list_nodes),
    ("GET", "/v1/nodes/<node_ref>", get_node),
    ("POST", "/v1/nodes/<node_ref>/enable", enable_node),
    ("POST", "/v1/nodes/<node_ref>/disable", disable_node),
    ("POST", "/v1/nodes/<node_ref>/drain", drain_node),
    ("POST", "/v1/nodes/<node_ref>/refresh-config", refresh_config),
    ("POST", "/v1/nodes/<node_ref>/prefetch-image", prefetch_image),
]

_NODE_PARAM = {"name": "node_ref", "in": "path", "required": True, "schema": TEXT_REQ,
               "description": "node id (UUID) or slug, e.g. local"}
_STATUS = {"enum": ["registered", "active", "inactive", "drained"]}


def _admin_op(summary: str, schema: dict, status: str = "200", *, codes=(), body=None) -> dict:
    # 400: a reference that is not storable text (spec/gateway.md §1)
    return op(summary, {**ok(schema, status), **errors(400, 401, 403, 404, *codes)}, params=[_NODE_PARAM],
              body=body)


OPENAPI_SCHEMAS = {
    "Node": obj(["node_id", "node_slug", "status", "enabled", "drained", "last_heartbeat", "capability_summary",
                 "created_at", "updated_at"], node_id=UUID, node_slug=STR, status=_STATUS, enabled=BOOL,
                drained=BOOL, last_heartbeat=TIME, capability_summary=STR, config_version=STR,
                config_ack_status={"enum": ["applied", "pending"]}, config_ack_at=TIME, worker_api_target_url=STR,
                created_at=TIME, updated_at=TIME),
}
OPENAPI_PATHS = {
    "/v1/nodes": {"get": op("list nodes, ordered by slug", {
        **ok(obj(["nodes"], nodes={"type": "array", "items": ref("Node")}, next_cursor=STR)), **errors(400, 401)},
        params=PAGING)},
    "/v1/nodes/{node_ref}": {"get": op("get a node by id or slug", {**ok(ref("Node")), **errors(400, 401, 404)},
                                       params=[_NODE_PARAM])},
    "/v1/nodes/{node_ref}/enable": {"post": _admin_op(
        "let a node claim jobs again, at once (admin)", obj(["node_id", "enabled"], node_id=UUID, enabled=BOOL))},
    "/v1/nodes/{node_ref}/disable": {"post": _admin_op(
        "stop a node claiming jobs; running ones finish, queued ones wait (admin)",
        obj(["node_id", "enabled"], node_id=UUID, enabled=BOOL))},
    "/v1/nodes/{node_ref}/drain": {"post": _admin_op(
        "drain a node: running jobs finish, no new ones start (admin)",
        obj(["node_id", "drained"], node_id=UUID, drained=BOOL))},
    "/v1/nodes/{node_ref}/refresh-config": {"post": _admin_op(
        "ask a node to reload its configuration: a new config_version, acknowledged when applied (admin)",
        obj(["node_id", "refresh_config_requested"], node_id=UUID, refresh_config_requested=BOOL), "202")},
    "/v1/nodes/{node_ref}/prefetch-image": {"post": _admin_op(
        "record a request to prefetch an image (today's runners use none: a recorded no-op) (admin)",
        obj(["node_id", "image_ref", "prefetch_requested"], node_id=UUID, image_ref=STR, prefetch_requested=BOOL),
        "202", codes=(413,), body=json_body(obj(["image_ref"], image_ref={
            "type": "string", "minLength": 1, "maxLength": MAX_IMAGE_REF_LENGTH,
            "pattern": IMAGE_REF_PATTERN.pattern})))},
}
