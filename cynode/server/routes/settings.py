"""System settings (spec/gateway.md §12): everyone reads, admins write; versioned like preferences, with their change
history. The known keys are checked when set; `agents.project_manager.model.local_default_ollama_model` replaces
the configured inference model for the next prompt task or chat (Store.model_override)."""

from cynode.server.apidoc import INT, IN, PAGING, STORABLE, STR, TIME, errors, json_body, obj, ok, op, ref
from cynode.server.audit import audit
from cynode.server.auth import authenticate, require_admin
from cynode.server.entries import (MAX_KEY_LENGTH, MAX_REASON_LENGTH, VALUE_TYPES, body_key, check_key, entry_json,
                                   expected_version, reason, typed_value, value_schema)
from cynode.server.errors import BadRequest, Conflict, NotFound
from cynode.server.jsonio import page, page_params, query_text, read_json
from cynode.server.routes.prefs import KEY
from cynode.store.preferences import MODEL_SETTING, VersionConflict

MAX_MODEL_NAME = 256
# key -> (value_type, allowed values or None)
KNOWN = {
    MODEL_SETTING: ("string", None),
    "agents.project_manager.model.selection.execution_mode": ("string", ("auto", "force_local", "force_external")),
    "agents.project_manager.model.selection.mode": ("string", ("auto_sliding_scale", "fixed_model")),
    "agents.project_manager.model.selection.prefer_orchestrator_host": ("boolean", None),
}


def _check_known(key: str, value, value_type: str) -> None:
    if key not in KNOWN:
        return
    wanted, allowed = KNOWN[key]
    if value_type != wanted:
        raise BadRequest(f"{key} must be a {wanted}")
    if allowed and value not in allowed:
        raise BadRequest(f"{key} must be one of: {', '.join(allowed)}")
    if key == MODEL_SETTING and len(value) > MAX_MODEL_NAME:
        raise BadRequest(f"{key}: at most {MAX_MODEL_NAME} characters")
    if key == MODEL_SETTING and (not value.isprintable() or " " in value):
        # it goes to the inference server and into every chat answer and model list people's terminals show
        raise BadRequest(f"{key}: a model name has no spaces, control or invisible formatting characters")


def list_settings(deps, req):
    authenticate(deps, req)
    query = query_text(req)
    limit, offset = page_params(req.query)
    if "key" in query:
        setting = deps.store.setting(check_key(query["key"]))
        return {"settings": [entry_json(setting)] if setting and offset == 0 else []}
    prefix = query.get("key_prefix") or None
    if prefix is not None and len(prefix) > MAX_KEY_LENGTH:
        raise BadRequest(f"key_prefix: at most {MAX_KEY_LENGTH} characters")
    settings = deps.store.settings(prefix, limit + 1, offset)
    return page([entry_json(s) for s in settings], limit, offset, "settings")


def get_setting(deps, req, key):
    authenticate(deps, req)
    setting = deps.store.setting(check_key(key))
    if setting is None:
        raise NotFound("Setting not found")
    return entry_json(setting)


def set_setting(deps, req, key=None):
    """POST /v1/settings (key in the body) and PUT /v1/settings/<key> (admins)."""
    user = require_admin(deps, req).user
    body = read_json(req)
    key = body_key(body) if key is None else check_key(key)
    value, value_type = typed_value(body)
    _check_known(key, value, value_type)
    expected, why = expected_version(body.get("expected_version")), reason(body)
    try:
        setting, created = deps.store.set_setting(key, value, value_type, by=user.handle, reason=why,
                                                  expected_version=expected)
    except VersionConflict:
        raise Conflict("version conflict") from None
    audit(deps, req, "setting.set", "system_setting", key, details={"version": setting.version, "created": created})
    return {**entry_json(setting), "ok": True}


def delete_setting(deps, req, key):
    user = require_admin(deps, req).user
    check_key(key)
    query = query_text(req)
    expected, why = expected_version(query.get("expected_version"), query=True), reason(query)
    try:
        deleted = deps.store.delete_setting(key, by=user.handle, reason=why, expected_version=expected)
    except VersionConflict:
        raise Conflict("version conflict") from None
    if not deleted:
        raise NotFound("Setting not found")
    audit(deps, req, "setting.delete", "system_setting", key)
    return {"deleted": True, "key": key}


ROUTES = [
    ("GET", "/v1/settings", list_settings),
    ("POST", "/v1/settings", set_setting),
    ("GET", "/v1/settings/<key:path>", get_setting),
    ("PUT", "/v1/settings/<key:path>", set_setting),
    ("DELETE", "/v1/settings/<key:path>", delete_setting),
]

# OpenAPI ---------------------------------------------------------------------------------------------------------

_KEY_PARAM = {"name": "key", "in": "path", "required": True, "schema": KEY}


def _known_rules() -> list:
    rules = []
    for key, (value_type, allowed) in KNOWN.items():
        value = {"enum": list(allowed)} if allowed else {"type": value_type}
        if key == MODEL_SETTING:
            value["maxLength"] = MAX_MODEL_NAME
        rules.append({"if": {"required": ["key"], "properties": {"key": {"const": key}}},
                      "then": {"properties": {"value": value}}})
    return rules


def _write_body(with_key: bool) -> dict:
    schema = obj(["value", *(["key"] if with_key else [])], value=ref("Storable"),
                 value_type={"enum": [*VALUE_TYPES, None]},
                 expected_version={"type": ["integer", "null"], "minimum": 0, "maximum": 999_999_999},
                 reason={"type": ["string", "null"], "pattern": "^[^\\x00]*$", "maxLength": MAX_REASON_LENGTH})
    schema["allOf"] = value_schema()["allOf"]
    if with_key:
        schema["properties"]["key"] = KEY
        schema["allOf"] = [*schema["allOf"], *_known_rules()]
    return json_body(schema)


_SAVED = {"allOf": [ref("SystemSetting"), obj(["ok"], ok={"const": True})]}
OPENAPI_SCHEMAS = {
    "SystemSetting": obj(["key", "value", "value_type", "version", "updated_at", "updated_by"], key=STR,
                         value=STORABLE, value_type={"enum": list(VALUE_TYPES)}, version=INT, updated_at=TIME,
                         updated_by=STR),
}
OPENAPI_PATHS = {
    "/v1/settings": {
        "get": op("list system settings by key (or the one named by `key`)", {
            **ok(obj(["settings"], settings={"type": "array", "items": ref("SystemSetting")}, next_cursor=STR)),
            **errors(400, 401)}, params=[*PAGING, {"name": "key", "in": "query", "schema": KEY},
                                         {"name": "key_prefix", "in": "query",
                                          "schema": {**IN, "maxLength": MAX_KEY_LENGTH}}]),
        "post": op("create or update a system setting (admin)", {**ok(_SAVED), **errors(400, 401, 403, 409, 413)},
                   body=_write_body(True)),
    },
    "/v1/settings/{key}": {
        "get": op("one system setting", {**ok(ref("SystemSetting")), **errors(400, 401, 404)},
                  params=[_KEY_PARAM]),
        "put": op("create or update this system setting (admin)", {
            **ok(_SAVED), **errors(400, 401, 403, 409, 413)}, params=[_KEY_PARAM], body=_write_body(False)),
        "delete": op("delete a system setting (admin)", {
            **ok(obj(["deleted", "key"], deleted={"const": True}, key=STR)), **errors(400, 401, 403, 404, 409)},
            params=[_KEY_PARAM, {"name": "expected_version", "in": "query",
                                 "schema": {"type": "integer", "minimum": 0, "maximum": 999_999_999}},
                    {"name": "reason", "in": "query", "schema": {**IN, "maxLength": MAX_REASON_LENGTH}}]),
    },
}
