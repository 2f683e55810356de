"""The OpenAPI 3.1 document for every route the server answers (served at GET /openapi.json).

A test compares its paths with the app's routes, and CI runs schemathesis against the live server with it.
"""

import json

from cynode import __version__
from cynode.contract import LIST_LIMIT_MAX, MAX_HANDLE_LENGTH, MAX_PASSWORD_LENGTH, NOT_BLANK, TaskStatus
from cynode.server.routes.tokens import MAX_DAYS, MIN_DAYS
from cynode.server.routes.tokens import MAX_NAME_LENGTH as TOKEN_NAME_MAX
from cynode.server.routes.tokens import NAME_PATTERN as TOKEN_NAME_PATTERN
from cynode.server.routes.users import HANDLE_PATTERN, MIN_PASSWORD_LENGTH, RESERVED_HANDLES

_JSON = "application/json"
_PROBLEM = "application/problem+json"
_NO_NUL = r"^[^\x00]*$"  # text a request sends must be storable: no NUL (and valid Unicode, which JSON text is)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: dict | None, status: str = "200", content_type: str = _JSON) -> dict:
    response = {"description": "success"}
    if schema is not None:
        response["content"] = {content_type: {"schema": schema}}
    return {status: response}


def _errors(*codes: int) -> dict:
    return {str(code): {"description": "error", "content": {_PROBLEM: {"schema": _ref("Problem")}}}
            for code in codes}


def _openai_errors(*codes: int) -> dict:
    """Errors on the OpenAI-compatible routes, 401 included: OpenAI's error object, not problem+json."""
    return {str(code): {"description": "error", "content": {_JSON: {"schema": _ref("OpenAIError")}}}
            for code in codes}


# Any JSON a request may carry, unknown fields included: every string and key storable (jsonio.decode_json).
_STORABLE = {"anyOf": [
    {"type": ["null", "boolean", "number"]},
    {"type": "string", "pattern": _NO_NUL},
    {"type": "array", "items": {"$ref": "#/components/schemas/Storable"}},
    {"type": "object", "propertyNames": {"pattern": _NO_NUL},
     "additionalProperties": {"$ref": "#/components/schemas/Storable"}},
]}
_UNKNOWN_FIELDS = {"propertyNames": {"pattern": _NO_NUL}, "additionalProperties": _ref("Storable")}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {_JSON: {"schema": {**schema, **_UNKNOWN_FIELDS}}}}


def _obj(required: list[str], **props) -> dict:
    return {"type": "object", "required": required, "properties": props}


_STR = {"type": "string"}
_IN = {"type": "string", "pattern": _NO_NUL}
_TEXT_REQ = {"type": "string", "minLength": 1, "pattern": _NO_NUL}
_HANDLE = {"type": "string", "pattern": HANDLE_PATTERN.pattern,
           "not": {"anyOf": [{"pattern": "^" + "".join(f"[{c.upper()}{c}]" for c in name) + "$"}
                             for name in sorted(RESERVED_HANDLES)]}}
_PASSWORD = {"type": "string", "minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH, "pattern": _NO_NUL}
_BOOL = {"type": "boolean"}
_INT = {"type": "integer"}
_TIME = {"type": "string", "format": "date-time"}
_UUID = {"type": "string", "format": "uuid"}
_BEARER = [{"bearer": []}]
_REF_PARAM = {"name": "ref", "in": "path", "required": True, "schema": _TEXT_REQ,
              "description": "task id (UUID) or task name"}
_USER_PARAM = {"name": "ref", "in": "path", "required": True, "schema": _TEXT_REQ,
               "description": "user id (UUID) or handle"}
_PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT_MAX}},
    {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{0,9}$"}},
]

SCHEMAS = {
    "Problem": _obj(["type", "title", "status"], type=_STR, title=_STR, status=_INT, detail=_STR, instance=_STR),
    "Tokens": _obj(["access_token", "refresh_token", "token_type", "expires_in"], access_token=_STR,
                   refresh_token=_STR, token_type={"const": "Bearer"}, expires_in=_INT),
    "User": _obj(["id", "handle", "is_active", "is_admin", "created_at"], id=_UUID, handle=_STR, email=_STR,
                 is_active=_BOOL, is_admin=_BOOL, created_at=_TIME),
    "Task": _obj(["id", "task_id", "status", "task_name", "input_mode", "prompt", "created_at", "updated_at"],
                 id=_UUID, task_id=_UUID, status={"enum": [s.value for s in TaskStatus]}, task_name=_STR,
                 summary=_STR, input_mode={"enum": ["prompt", "script", "commands"]}, prompt=_STR,
                 timeout_seconds=_INT, created_at=_TIME, updated_at=_TIME,
                 attachments={"type": "array", "items": _STR}),
    "Storable": _STORABLE,
    "TaskCreate": {
        "type": "object",
        **_UNKNOWN_FIELDS,
        "properties": {"prompt": _IN, "input_mode": {"enum": ["prompt", "script", "commands", ""]}, "task_name": _IN,
                       "commands": {"type": "array", "minItems": 1, "maxItems": 100,
                                    "items": {"type": "string", "pattern": NOT_BLANK, "not": {"pattern": "\x00"}}},
                       "timeout_seconds": {"type": ["integer", "null"], "minimum": 1}},
        "anyOf": [  # prompt/script text; or commands as a list; or commands as the lines of `prompt`
            {"required": ["prompt"], "not": {"required": ["commands"]},
             "properties": {"input_mode": {"enum": ["prompt", "script", ""]}, "prompt": {"pattern": NOT_BLANK}}},
            {"required": ["input_mode", "commands"], "properties": {"input_mode": {"const": "commands"}}},
            {"required": ["input_mode", "prompt"], "not": {"required": ["commands"]},
             "properties": {"input_mode": {"const": "commands"}, "prompt": {"pattern": NOT_BLANK}}},
        ],
    },
    "Job": _obj(["id", "status"], id=_UUID, status=_STR, result=_STR, started_at=_TIME, ended_at=_TIME),
    "OpenAIError": _obj(["error"], error=_obj(["message", "type", "param", "code"], message=_STR, type=_STR,
                                              param={"type": "null"}, code=_STR)),
    "Model": _obj(["id", "object", "created", "owned_by"], id=_STR, object={"const": "model"}, created=_INT,
                  owned_by=_STR),
    "ChatMessage": {**_obj(["role", "content"], role={"enum": ["system", "user", "assistant"]}, content={"anyOf": [
        _IN, {"type": "array", "minItems": 1, "items": {**_obj(["type", "text"], type={"const": "text"}, text=_IN),
                                                         **_UNKNOWN_FIELDS}}]}), **_UNKNOWN_FIELDS},
    "ChatCompletionRequest": {
        **_obj(["messages"],
               messages={"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/ChatMessage"},
                         "contains": {"type": "object", "properties": {"role": {"const": "user"}}}},
               model={"type": ["string", "null"], "pattern": _NO_NUL,
                      "description": "absent, empty or the id GET /v1/models lists; any other id is a 404"},
               temperature={"type": ["number", "null"], "minimum": 0, "maximum": 2},
               max_tokens={"type": ["integer", "null"], "minimum": 1},
               max_completion_tokens={"type": ["integer", "null"], "minimum": 1},
               stream={"type": ["boolean", "null"], "description": "true: server-sent events, OpenAI chunks"}),
        **_UNKNOWN_FIELDS},
    "ChatCompletion": _obj(["id", "object", "created", "model", "choices"], id=_STR,
                           object={"const": "chat.completion"}, created=_INT, model=_STR, choices={
                               "type": "array", "items": _obj(["index", "message", "finish_reason"], index=_INT,
                                                              finish_reason=_STR, message=_obj(
                                                                  ["role", "content"], role={"const": "assistant"},
                                                                  content=_STR))}),
    "ApiToken": _obj(["token_id", "name", "created_at", "expires_at", "last_used_at"], token_id=_UUID, name=_STR,
                     created_at=_TIME, expires_at=_TIME, last_used_at={**_TIME, "type": ["string", "null"]}),
    "ApiTokenCreated": _obj(["token_id", "name", "token", "expires_at"], token_id=_UUID, name=_STR,
                            token={"type": "string", "pattern": "^cyn_"}, expires_at=_TIME),
    "Artifact": _obj(["artifact_id", "name", "content_type", "size_bytes"], artifact_id=_UUID, name=_STR,
                     content_type=_STR, size_bytes=_INT, created_at=_TIME),
}

_TASK_LIST = _obj(["tasks"], tasks={"type": "array", "items": _ref("Task")}, next_cursor=_STR, next_offset=_INT)
_USER_LIST = _obj(["users"], users={"type": "array", "items": _ref("User")}, next_cursor=_STR)
_RESULT = _obj(["task_id", "status", "jobs"], task_id=_UUID, task_name=_STR, status=_STR,
               jobs={"type": "array", "items": _ref("Job")}, stdout=_STR, stderr=_STR)
_LOGS = _obj(["task_id", "stdout", "stderr"], task_id=_UUID, task_name=_STR, stream=_STR, stdout=_STR, stderr=_STR)
_TEXT = {"type": "string"}


def _op(summary: str, responses: dict, *, auth=True, params=(), body=None) -> dict:
    operation = {"summary": summary, "responses": responses}
    if auth:
        operation["security"] = _BEARER
    if params:
        operation["parameters"] = list(params)
    if body:
        operation["requestBody"] = body
    return operation


def _task_op(summary: str, schema: dict, *codes: int, params=(), content_type=_JSON) -> dict:
    # 400: a reference that is not storable text (spec/gateway.md §1)
    return _op(summary, {**_ok(schema, content_type=content_type), **_errors(400, 401, 403, 404, *codes)},
               params=(_REF_PARAM, *params))


_CHAT_STREAM = {"type": "string", "description": "`data: <chat.completion.chunk JSON>` events, one per piece "
                "of the answer as it arrives, then `data: [DONE]`; a failure mid-answer ends it with "
                "`data: <error object>` and no [DONE]"}

PATHS = {
    "/healthz": {"get": _op("liveness", _ok(_TEXT, content_type="text/plain"), auth=False)},
    "/readyz": {"get": _op("readiness", {**_ok(_TEXT, content_type="text/plain"),
                                         "503": {"description": "not ready", "content": {"text/plain": {
                                             "schema": _TEXT}}}}, auth=False)},
    "/openapi.json": {"get": _op("this document", _ok({"type": "object"}), auth=False)},
    "/v1/auth/login": {"post": _op("log in", {**_ok(_ref("Tokens")), **_errors(400, 401, 413, 429)}, auth=False,
                                   body=_body(_obj(["handle", "password"],
                                                   handle={**_TEXT_REQ, "maxLength": MAX_HANDLE_LENGTH},
                                                   password={**_TEXT_REQ, "maxLength": MAX_PASSWORD_LENGTH})))},
    "/v1/auth/refresh": {"post": _op("rotate the refresh token", {**_ok(_ref("Tokens")), **_errors(400, 401, 413)},
                                     auth=False, body=_body(_obj(["refresh_token"], refresh_token=_TEXT_REQ)))},
    "/v1/auth/logout": {"post": _op("end this login (403 for an API token)", {
        **_ok(None, "204"), **_errors(401, 403)})},
    "/v1/users/me": {"get": _op("who am I", {**_ok(_ref("User")), **_errors(401)})},
    "/v1/users": {
        "get": _op("list users (admin)", {**_ok(_USER_LIST), **_errors(400, 401, 403)}, params=_PAGING),
        "post": _op("create a user (admin)", {**_ok(_ref("User"), "201"), **_errors(400, 401, 403, 409, 413)},
                    body=_body(_obj(["handle", "password"], handle=_HANDLE, password=_PASSWORD,
                                    email={"type": ["string", "null"], "pattern": _NO_NUL},
                                    is_admin=_BOOL))),
    },
    "/v1/users/{ref}/disable": {"post": _op("disable a user and end their sessions (admin)", {
        **_ok(_ref("User")), **_errors(400, 401, 403, 404, 409)}, params=[_USER_PARAM])},
    "/v1/users/{ref}/enable": {"post": _op("enable a user (admin)", {
        **_ok(_ref("User")), **_errors(400, 401, 403, 404)}, params=[_USER_PARAM])},
    "/v1/users/{ref}/revoke_sessions": {"post": _op("end all sessions of a user (admin)", {
        **_ok(None, "204"), **_errors(400, 401, 403, 404)}, params=[_USER_PARAM])},
    "/v1/tasks": {
        "get": _op("list my tasks, newest first", {**_ok(_TASK_LIST), **_errors(400, 401)}, params=[
            *_PAGING, {"name": "status", "in": "query", "schema": {"enum": [s.value for s in TaskStatus]}}]),
        "post": _op("create a task (JSON, or multipart: a `request` JSON part plus `attachments` files)", {
            **_ok(_ref("Task"), "201"), **_errors(400, 401, 413)}, body={"required": True, "content": {
                _JSON: {"schema": _ref("TaskCreate")},
                "multipart/form-data": {
                    "schema": {**_obj(["request"], request=_ref("TaskCreate"), attachments={
                        "type": "array", "maxItems": 16,
                        "items": {"type": "string", "contentMediaType": "application/octet-stream"}}),
                               "additionalProperties": False},
                    "encoding": {"request": {"contentType": "application/json"}}}}}),
    },
    "/v1/tasks/{ref}": {"get": _task_op("get a task", _ref("Task"))},
    "/v1/tasks/{ref}/result": {"get": _task_op("jobs, their results, and the output once finished", _RESULT)},
    "/v1/tasks/{ref}/cancel": {"post": _op("cancel a task (409 when it already finished)", {
        **_ok(_obj(["task_id", "canceled"], task_id=_UUID, task_name=_STR, canceled=_BOOL, status=_STR)),
        **_errors(400, 401, 403, 404, 409)}, params=[_REF_PARAM])},
    "/v1/tasks/{ref}/logs": {"get": _task_op("stdout and stderr so far", _LOGS, 400, params=[
        {"name": "stream", "in": "query", "schema": {"enum": ["stdout", "stderr", "all"]}}])},
    "/v1/tasks/{ref}/artifacts": {"get": _task_op("attachments and output files", _obj(
        ["task_id", "artifacts"], task_id=_UUID, task_name=_STR,
        artifacts={"type": "array", "items": _ref("Artifact")}))},
    "/v1/tasks/{ref}/artifacts/{artifact_id}": {"get": _task_op(
        "an artifact's bytes", {"type": "string", "contentMediaType": "application/octet-stream"},
        content_type="*/*", params=[{"name": "artifact_id", "in": "path", "required": True, "schema": _STR}])},
    "/v1/tokens": {
        "get": _op("list my live API tokens, newest first (never the tokens themselves)", {
            **_ok(_obj(["tokens"], tokens={"type": "array", "items": _ref("ApiToken")})), **_errors(401)}),
        "post": _op("create an API token, shown this once (403 when called with an API token)", {
            **_ok(_ref("ApiTokenCreated"), "201"), **_errors(400, 401, 403, 409, 413)},
            body=_body(_obj(["name"], name={"type": "string", "minLength": 1, "maxLength": TOKEN_NAME_MAX,
                                            "pattern": TOKEN_NAME_PATTERN.pattern},
                            expires_in_days={"type": ["integer", "null"], "minimum": MIN_DAYS,
                                             "maximum": MAX_DAYS}))),
    },
    "/v1/tokens/{token_id}": {"delete": _op("revoke one of my live API tokens at once (403 with an API token)", {
        **_ok(None, "204"), **_errors(401, 403, 404)}, params=[
            {"name": "token_id", "in": "path", "required": True, "schema": _TEXT_REQ}])},
    "/v1/chat": {"post": _op("answer one message with the configured model", {
        **_ok(_obj(["response"], response=_STR)), **_errors(400, 401, 413, 502, 503, 504)},
        body=_body(_obj(["message"], message={"type": "string", "pattern": NOT_BLANK, "not": {"pattern": "\x00"}})))},
    "/v1/models": {"get": _op("the models chat can use (OpenAI list; empty while inference is not configured)", {
        **_ok(_obj(["object", "data"], object={"const": "list"}, data={"type": "array", "items": _ref("Model")})),
        **_openai_errors(401)})},
    "/v1/chat/completions": {"post": _op("an OpenAI-compatible chat completion, whole or streamed", {
        "200": {"description": "success", "content": {_JSON: {"schema": _ref("ChatCompletion")},
                                                      "text/event-stream": {"schema": _CHAT_STREAM}}},
        **_openai_errors(400, 401, 404, 413, 502, 503, 504)},
        body={"required": True, "content": {_JSON: {"schema": _ref("ChatCompletionRequest")}}})},
}


def document(max_timeout: int) -> dict:
    """The document, with this server's task timeout limit."""
    schemas = dict(SCHEMAS)
    create = json.loads(json.dumps(schemas["TaskCreate"]))
    create["properties"]["timeout_seconds"]["maximum"] = max_timeout
    schemas["TaskCreate"] = create
    return {
        "openapi": "3.1.0",
        "info": {"title": "cynode User API Gateway", "version": __version__},
        "paths": PATHS,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
