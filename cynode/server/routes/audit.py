"""Reading the audit log (spec/gateway.md §15): list with filters, newest first, and one event. Admins see every
event; anyone else only the events they are the actor of (others' events are 404, and asking for another
actor's events lists nothing). No route writes: events are appended by the routes they describe
(server/audit.py), and PUT/PATCH/DELETE here are 405 from the router."""

from cynode.contract import parse_rfc3339, rfc3339
from cynode.server.apidoc import BOOL, IN, PAGING, STR, TEXT_REQ, TIME, UUID, errors, obj, ok, op, ref
from cynode.server.auth import authenticate
from cynode.server.errors import BadRequest, NotFound
from cynode.server.jsonio import is_uuid, page, page_params, query_text
from cynode.store.audit import AuditFilter

TEXT_FILTERS = ("resource_type", "actor_id", "action")
TIME_FILTERS = ("since", "until")
_OPTIONAL = ("actor_id", "actor_handle")
_OPTIONAL_AFTER = ("details", "ip_address", "user_agent")


def event_json(event) -> dict:
    """The event object, unset optional fields omitted."""
    body = {"event_id": event.id, "ts": rfc3339(event.ts)}
    body.update((key, getattr(event, key)) for key in _OPTIONAL if getattr(event, key) is not None)
    body.update(action=event.action, resource_type=event.resource_type)
    if event.resource_id is not None:
        body["resource_id"] = event.resource_id
    body.update(decision=event.decision, success=event.success)
    body.update((key, getattr(event, key)) for key in _OPTIONAL_AFTER if getattr(event, key))
    return body


def _moment(query: dict, name: str):
    raw = query.get(name)
    if raw is None:
        return None  # given empty (`until=`), it is no time either: 400
    moment = parse_rfc3339(raw)
    if moment is None:
        raise BadRequest(f"{name} must be an RFC 3339 time, e.g. 2026-11-30T08:00:00Z")
    return moment


def list_events(deps, req):
    user = authenticate(deps, req).user
    limit, offset = page_params(req.query)
    query = query_text(req)
    wanted = {name: query.get(name) or None for name in TEXT_FILTERS}
    times = {name: _moment(query, name) for name in TIME_FILTERS}
    if not user.is_admin:
        if wanted["actor_id"] not in (None, user.id):
            return {"events": []}  # someone else's events: none of them are visible
        wanted["actor_id"] = user.id
    events = deps.store.audit_events(AuditFilter(**wanted, **times), limit + 1, offset)
    return page([event_json(e) for e in events], limit, offset, "events")


def get_event(deps, req, event_id):
    user = authenticate(deps, req).user
    event = deps.store.audit_event(event_id.lower()) if is_uuid(event_id) else None
    if event is None or not (user.is_admin or event.actor_id == user.id):
        raise NotFound("Audit event not found")
    return event_json(event)


ROUTES = [
    ("GET", "/v1/audit", list_events),
    ("GET", "/v1/audit/<event_id>", get_event),
]

OPENAPI_SCHEMAS = {
    "AuditEvent": obj(["event_id", "ts", "action", "resource_type", "decision", "success"], event_id=UUID, ts=TIME,
                      actor_id=UUID, actor_handle=STR, action=STR, resource_type=STR, resource_id=STR,
                      decision={"enum": ["allow", "deny"]}, success=BOOL, details={"type": "object"},
                      ip_address=STR, user_agent=STR),
}

_FILTER_PARAMS = [
    *({"name": name, "in": "query", "schema": IN} for name in TEXT_FILTERS),
    *({"name": name, "in": "query", "schema": {"type": "string", "format": "date-time"}} for name in TIME_FILTERS),
]

OPENAPI_PATHS = {
    "/v1/audit": {"get": op(
        "audit events, newest first: all for an admin, else only the caller's own (since inclusive, until "
        "exclusive)", {**ok(obj(["events"], events={"type": "array", "items": ref("AuditEvent")},
                                next_cursor=STR)), **errors(400, 401)},
        params=[*PAGING, *_FILTER_PARAMS])},
    "/v1/audit/{event_id}": {"get": op("one audit event (404 when it is not yours and you are not an admin)", {
        **ok(ref("AuditEvent")), **errors(401, 404)},
        params=[{"name": "event_id", "in": "path", "required": True, "schema": TEXT_REQ}])},
}
