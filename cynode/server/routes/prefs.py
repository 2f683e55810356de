"""Preferences (spec/gateway.md §11): entries per scope (system, user, group, project, task), versioned upserts and
deletes with their change history, and the effective merge for a task or a project.

Who may touch a scope: the system scope is read by anyone and written by admins; a user scope only by that user
(admins: any); the group scope by admins only (there are no memberships yet); a project scope by the user whose
default project it is (server/projects.py) or an admin; a task scope by the task's owner or an admin, and another
user's task is not found when read, as in the task routes' reads.
"""

from dataclasses import dataclass

from cynode.server.apidoc import INT, IN, PAGING, STORABLE, STR, TIME, errors, json_body, obj, ok, op, ref
from cynode.server.audit import audit
from cynode.server.auth import authenticate
from cynode.server.entries import (KEY_CHAR, MAX_KEY_LENGTH, MAX_REASON_LENGTH, VALUE_TYPES, body_key, check_key,
                                   entry_json, expected_version, reason, typed_value, value_schema)
from cynode.server.errors import BadRequest, Conflict, Forbidden, NotFound
from cynode.server.jsonio import is_uuid, page, page_params, query_text, read_json
from cynode.server.projects import default_project_id, project_owner
from cynode.store.preferences import VersionConflict

SCOPE_TYPES = ("system", "user", "group", "project", "task")
RESERVED_KEYS = ("effective",)
KEY_IN_PATH = "(?!effective$).+"


@dataclass(frozen=True)
class Scope:
    """A checked scope: `id` None for the system."""

    type: str
    id: str | None

    def resource_id(self, key: str) -> str:
        return f"{self.type}:{self.id or ''}:{key}"


def _scope_id(source: dict, scope_type: str) -> str | None:
    scope_id = source.get("scope_id")
    if scope_id in (None, ""):
        if scope_type in ("group", "project", "task"):
            raise BadRequest(f"scope_id is required for the {scope_type} scope")
        return None
    if scope_type == "system":
        raise BadRequest("the system scope has no scope_id")
    if not isinstance(scope_id, str) or not is_uuid(scope_id):
        raise BadRequest("scope_id must be a UUID")
    return scope_id.lower()


def scope_of(deps, user, source: dict, *, write: bool) -> Scope:
    """The scope a request names, checked against the caller (spec/gateway.md §11)."""
    scope_type = source.get("scope_type")
    if scope_type in (None, ""):
        raise BadRequest("scope_type is required")
    if scope_type not in SCOPE_TYPES:
        raise BadRequest("scope_type must be one of: " + ", ".join(SCOPE_TYPES))
    scope_id = _scope_id(source, scope_type)
    if scope_type == "user":
        scope_id = scope_id or user.id
    _authorise(deps, user, scope_type, scope_id, write)
    return Scope(scope_type, scope_id)


def _authorise(deps, user, scope_type: str, scope_id: str | None, write: bool) -> None:
    """403 (404 for what the caller may not know exists) unless the caller may read or write the scope."""
    if scope_type in ("system", "group"):
        if (write or scope_type == "group") and not user.is_admin:
            raise Forbidden("Admin required")
    elif scope_type == "user":
        if scope_id != user.id and not user.is_admin:
            raise Forbidden("Not your preferences")
        if scope_id != user.id and deps.store.user_by_id(scope_id) is None:
            raise NotFound("User not found")
    elif scope_type == "project":
        _check_project(deps, user, scope_id)
    else:
        task = deps.store.task_by_id(scope_id)
        if task is None or (task.owner_id != user.id and not user.is_admin and not write):
            raise NotFound("Task not found")
        if task.owner_id != user.id and not user.is_admin:
            raise Forbidden("Not task owner")


def _check_project(deps, user, project_id: str) -> None:
    if project_id == default_project_id(user.id):
        return
    if not user.is_admin:
        raise Forbidden("Not your project")
    if project_owner(deps.store, project_id) is None:
        raise NotFound("Project not found")


def list_prefs(deps, req):
    user = authenticate(deps, req).user
    query = query_text(req)
    scope = scope_of(deps, user, query, write=False)
    limit, offset = page_params(req.query)
    prefix = query.get("key_prefix") or None
    if prefix is not None and len(prefix) > MAX_KEY_LENGTH:
        raise BadRequest(f"key_prefix: at most {MAX_KEY_LENGTH} characters")
    entries = deps.store.preferences(scope.type, scope.id, prefix, limit + 1, offset)
    return page([entry_json(e) for e in entries], limit, offset, "preferences")


def get_pref(deps, req, key):
    user = authenticate(deps, req).user
    check_key(key, RESERVED_KEYS)
    scope = scope_of(deps, user, query_text(req), write=False)
    entry = deps.store.preference(scope.type, scope.id, key)
    if entry is None:
        raise NotFound("Preference not found")
    return entry_json(entry)


def set_pref(deps, req, key=None):
    """POST /v1/prefs (key in the body) and PUT /v1/prefs/<key>: create or update, 200 either way."""
    user = authenticate(deps, req).user
    body = read_json(req)
    key = body_key(body, RESERVED_KEYS) if key is None else check_key(key, RESERVED_KEYS)
    scope = scope_of(deps, user, body, write=True)
    value, value_type = typed_value(body)
    expected, why = expected_version(body.get("expected_version")), reason(body)
    try:
        entry, created = deps.store.set_preference(scope.type, scope.id, key, value, value_type, by=user.handle,
                                                   reason=why, expected_version=expected)
    except VersionConflict:
        raise Conflict("version conflict") from None
    audit(deps, req, "preference.set", "preference", scope.resource_id(key), details={
        "scope_type": scope.type, "scope_id": scope.id, "key": key, "version": entry.version, "created": created})
    return {**entry_json(entry), "ok": True}


def delete_pref(deps, req, key=None):
    """DELETE /v1/prefs/<key> and DELETE /v1/prefs?key=: 404 when there is no such entry."""
    user = authenticate(deps, req).user
    query = query_text(req)
    if key is None:
        key = query.get("key")
        if not key:
            raise BadRequest("key is required")
    check_key(key, RESERVED_KEYS)
    scope = scope_of(deps, user, query, write=True)
    expected, why = expected_version(query.get("expected_version"), query=True), reason(query)
    try:
        deleted = deps.store.delete_preference(scope.type, scope.id, key, by=user.handle, reason=why,
                                               expected_version=expected)
    except VersionConflict:
        raise Conflict("version conflict") from None
    if not deleted:
        raise NotFound("Preference not found")
    audit(deps, req, "preference.delete", "preference", scope.resource_id(key),
          details={"scope_type": scope.type, "scope_id": scope.id, "key": key})
    return {"deleted": True, "key": key}


def _uuid_param(query: dict, name: str) -> str | None:
    if name not in query:
        return None
    if not is_uuid(query[name]):
        raise BadRequest(f"{name} must be a UUID")
    return query[name].lower()


def effective(deps, req):
    """The merged preferences for a task (its owner, its project, it), a project (the caller and it) or the
    caller alone."""
    user = authenticate(deps, req).user
    query = query_text(req)
    task_id, project_id = _uuid_param(query, "task_id"), _uuid_param(query, "project_id")
    if task_id and project_id:
        raise BadRequest("give task_id or project_id, not both")
    scopes = [("system", None), ("user", user.id)]
    if task_id:
        task = deps.store.task_by_id(task_id)
        if task is None or (task.owner_id != user.id and not user.is_admin):
            raise NotFound("Task not found")
        scopes = [("system", None), ("user", task.owner_id), ("project", default_project_id(task.owner_id)),
                  ("task", task.id)]
    elif project_id:
        _check_project(deps, user, project_id)
        scopes.append(("project", project_id))
    merged, sources = deps.store.effective_preferences(scopes)
    return {"effective": merged, "sources": [{"key": s.key, "scope_type": s.scope_type, "scope_id": s.scope_id,
                                              "version": s.version} for s in sources]}


ROUTES = [
    ("GET", "/v1/prefs", list_prefs),
    ("POST", "/v1/prefs", set_pref),
    ("DELETE", "/v1/prefs", delete_pref),
    ("GET", "/v1/prefs/effective", effective),  # before <key:path>, which would take it
    ("GET", "/v1/prefs/<key:path>", get_pref),
    # Any key, slashes included, but `effective`: that path is GET-only, so PUT or DELETE on it is a 405 (Allow: GET).
    ("PUT", f"/v1/prefs/<key:re:{KEY_IN_PATH}>", set_pref),
    ("DELETE", f"/v1/prefs/<key:re:{KEY_IN_PATH}>", delete_pref),
]

# OpenAPI ---------------------------------------------------------------------------------------------------------

KEY = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": f"^{KEY_CHAR}+$"}
PREF_KEY = {**KEY, "not": {"enum": list(RESERVED_KEYS)}}
_UUID_IN = {"type": "string", "pattern": "^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"}
_SCOPE_PARAMS = [
    {"name": "scope_type", "in": "query", "required": True, "schema": {"enum": list(SCOPE_TYPES)}},
    {"name": "scope_id", "in": "query", "schema": {"anyOf": [_UUID_IN, {"const": ""}]},
     "description": "none (or empty) for system; default for user: the caller; required for group, project and "
                    "task"},
]
_KEY_PARAM = {"name": "key", "in": "path", "required": True, "schema": PREF_KEY}
_WRITE_PARAMS = [{"name": "expected_version", "in": "query", "schema": {"type": "integer", "minimum": 0,
                                                                       "maximum": 999_999_999}},
                 {"name": "reason", "in": "query", "schema": {**IN, "maxLength": MAX_REASON_LENGTH}}]
# A scope in a body: the system scope takes no id, group/project/task need one (a user scope defaults to the caller).
_SCOPE_RULES = [
    {"if": {"properties": {"scope_type": {"const": "system"}}},
     "then": {"properties": {"scope_id": {"enum": [None, ""]}}}},
    {"if": {"properties": {"scope_type": {"enum": ["group", "project", "task"]}}},
     "then": {"required": ["scope_id"], "properties": {"scope_id": _UUID_IN}}},
]


def _write_body(*required: str) -> dict:
    schema = obj(["scope_type", "value", *required], scope_type={"enum": list(SCOPE_TYPES)},
                 scope_id={"anyOf": [_UUID_IN, {"enum": [None, ""]}]}, value=ref("Storable"),
                 value_type={"enum": [*VALUE_TYPES, None]},
                 expected_version={"type": ["integer", "null"], "minimum": 0, "maximum": 999_999_999},
                 reason={"type": ["string", "null"], "pattern": "^[^\\x00]*$", "maxLength": MAX_REASON_LENGTH})
    if required:
        schema["properties"]["key"] = PREF_KEY
    schema["allOf"] = [*value_schema()["allOf"], *_SCOPE_RULES]
    return json_body(schema)


_WRITE_ERRORS = errors(400, 401, 403, 404, 409, 413)
OPENAPI_SCHEMAS = {
    "Preference": obj(["scope_type", "scope_id", "key", "value", "value_type", "version", "updated_at",
                       "updated_by"], scope_type={"enum": list(SCOPE_TYPES)},
                      scope_id={"type": ["string", "null"]}, key=STR, value=STORABLE,
                      value_type={"enum": list(VALUE_TYPES)}, version=INT, updated_at=TIME, updated_by=STR),
}
_SAVED = {"allOf": [ref("Preference"), obj(["ok"], ok={"const": True})]}
_EFFECTIVE = obj(["effective", "sources"], effective={"type": "object"}, sources={"type": "array", "items": obj(
    ["key", "scope_type", "scope_id", "version"], key=STR, scope_type=STR, scope_id={"type": ["string", "null"]},
    version=INT)})
_DELETED = obj(["deleted", "key"], deleted={"const": True}, key=STR)
OPENAPI_PATHS = {
    "/v1/prefs": {
        "get": op("list a scope's preferences by key", {
            **ok(obj(["preferences"], preferences={"type": "array", "items": ref("Preference")}, next_cursor=STR)),
            **errors(400, 401, 403, 404)}, params=[*_SCOPE_PARAMS, *PAGING, {
                "name": "key_prefix", "in": "query", "schema": {**IN, "maxLength": MAX_KEY_LENGTH}}]),
        "post": op("create or update a preference (version 1, then +1)", {**ok(_SAVED), **_WRITE_ERRORS},
                   body=_write_body("key")),
        "delete": op("delete a preference named in the query", {**ok(_DELETED), **errors(400, 401, 403, 404, 409)},
                     params=[*_SCOPE_PARAMS, {"name": "key", "in": "query", "required": True, "schema": PREF_KEY},
                             *_WRITE_PARAMS]),
    },
    "/v1/prefs/effective": {"get": op("the merged preferences (system < user < project < task) and where each "
                                      "key came from", {**ok(_EFFECTIVE), **errors(400, 401, 403, 404)},
                                      params=[{"name": "task_id", "in": "query", "schema": _UUID_IN},
                                              {"name": "project_id", "in": "query", "schema": _UUID_IN}])},
    "/v1/prefs/{key}": {
        "get": op("one preference (the key `effective` is GET /v1/prefs/effective)", {
            **ok({"anyOf": [ref("Preference"), _EFFECTIVE]}), **errors(400, 401, 403, 404)},
                  params=[{**_KEY_PARAM, "schema": KEY}, *_SCOPE_PARAMS]),
        "put": op("create or update this preference", {**ok(_SAVED), **_WRITE_ERRORS, **errors(405)},
                  params=[_KEY_PARAM],
                  body=_write_body()),
        "delete": op("delete this preference", {**ok(_DELETED), **errors(400, 401, 403, 404, 405, 409)},
                     params=[_KEY_PARAM, *_SCOPE_PARAMS, *_WRITE_PARAMS]),
    },
}
