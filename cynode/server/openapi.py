"""The OpenAPI 3.1 document for every route the server answers (served at GET /openapi.json).

A test compares its paths with the app's routes, and CI runs schemathesis against the live server with it.
"""

import json

from cynode import __version__
from cynode.contract import MAX_HANDLE_LENGTH, MAX_PASSWORD_LENGTH, NOT_BLANK, TaskStatus
from cynode.server import routes
from cynode.server.jsonio import ONE_LINE
from cynode.server.apidoc import (BOOL, IN, INT, JSON, NO_NUL, PAGING, STORABLE, STR, TEXT_REQ, TIME,
                                    UNKNOWN_FIELDS, UUID, errors, json_body, obj, ok, op, openai_errors, ref)
from cynode.server.routes.tokens import MAX_DAYS, MIN_DAYS
from cynode.server.routes.tokens import MAX_NAME_LENGTH as TOKEN_NAME_MAX
from cynode.server.routes.users import HANDLE_PATTERN, MIN_PASSWORD_LENGTH, RESERVED_HANDLES

_HANDLE = {"type": "string", "pattern": HANDLE_PATTERN.pattern,
           "not": {"anyOf": [{"pattern": "^" + "".join(f"[{c.upper()}{c}]" for c in name) + "$"}
                             for name in sorted(RESERVED_HANDLES)]}}
_PASSWORD = {"type": "string", "minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH, "pattern": NO_NUL}
_REF_PARAM = {"name": "ref", "in": "path", "required": True, "schema": TEXT_REQ,
               "description": "task id (UUID) or task name"}
_USER_PARAM = {"name": "ref", "in": "path", "required": True, "schema": TEXT_REQ,
               "description": "user id (UUID) or handle"}

SCHEMAS = {
    "Problem": obj(["type", "title", "status"], type=STR, title=STR, status=INT, detail=STR, instance=STR),
    "Tokens": obj(["access_token", "refresh_token", "token_type", "expires_in"], access_token=STR,
                   refresh_token=STR, token_type={"const": "Bearer"}, expires_in=INT),
    "User": obj(["id", "handle", "is_active", "is_admin", "created_at"], id=UUID, handle=STR, email=STR,
                 is_active=BOOL, is_admin=BOOL, created_at=TIME, default_project_id=UUID),
    "Task": obj(["id", "task_id", "status", "task_name", "input_mode", "prompt", "created_at", "updated_at"],
                 id=UUID, task_id=UUID, status={"enum": [s.value for s in TaskStatus]}, task_name=STR,
                 summary=STR, input_mode={"enum": ["prompt", "script", "commands"]}, prompt=STR,
                 timeout_seconds=INT, created_at=TIME, updated_at=TIME,
                 attachments={"type": "array", "items": STR}),
    "Storable": STORABLE,
    "TaskCreate": {
        "type": "object",
        **UNKNOWN_FIELDS,
        "properties": {"prompt": IN, "input_mode": {"enum": ["prompt", "script", "commands", ""]}, "task_name": IN,
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
    "Job": obj(["id", "status"], id=UUID, status=STR, result=STR, started_at=TIME, ended_at=TIME),
    "OpenAIError": obj(["error"], error=obj(["message", "type", "param", "code"], message=STR, type=STR,
                                              param={"type": "null"}, code=STR)),
    "Model": obj(["id", "object", "created", "owned_by"], id=STR, object={"const": "model"}, created=INT,
                  owned_by=STR),
    "ChatMessage": {**obj(["role", "content"], role={"enum": ["system", "user", "assistant"]}, content={"anyOf": [
        IN, {"type": "array", "minItems": 1, "items": {**obj(["type", "text"], type={"const": "text"}, text=IN),
                                                         **UNKNOWN_FIELDS}}]}), **UNKNOWN_FIELDS},
    "ChatCompletionRequest": {
        **obj(["messages"],
               messages={"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/ChatMessage"},
                         "contains": {"type": "object", "properties": {"role": {"const": "user"}}}},
               model={"type": ["string", "null"], "pattern": NO_NUL,
                      "description": "absent, empty or the id GET /v1/models lists; any other id is a 404"},
               temperature={"type": ["number", "null"], "minimum": 0, "maximum": 2},
               max_tokens={"type": ["integer", "null"], "minimum": 1},
               max_completion_tokens={"type": ["integer", "null"], "minimum": 1},
               stream={"type": ["boolean", "null"], "description": "true: server-sent events, OpenAI chunks"}),
        **UNKNOWN_FIELDS},
    "ChatCompletion": obj(["id", "object", "created", "model", "choices"], id=STR,
                           object={"const": "chat.completion"}, created=INT, model=STR, choices={
                               "type": "array", "items": obj(["index", "message", "finish_reason"], index=INT,
                                                              finish_reason=STR, message=obj(
                                                                  ["role", "content"], role={"const": "assistant"},
                                                                  content=STR))}),
    "ApiToken": obj(["token_id", "name", "created_at", "expires_at", "last_used_at"], token_id=UUID, name=STR,
                     created_at=TIME, expires_at=TIME, last_used_at={**TIME, "type": ["string", "null"]}),
    "ApiTokenCreated": obj(["token_id", "name", "token", "expires_at"], token_id=UUID, name=STR,
                            token={"type": "string", "pattern": "^cyn_"}, expires_at=TIME),
    "Artifact": obj(["artifact_id", "name", "content_type", "size_bytes"], artifact_id=UUID, name=STR,
                     content_type=STR, size_bytes=INT, created_at=TIME),
}

_TASK_LIST = obj(["tasks"], tasks={"type": "array", "items": ref("Task")}, next_cursor=STR, next_offset=INT)
_USER_LIST = obj(["users"], users={"type": "array", "items": ref("User")}, next_cursor=STR)
_RESULT = obj(["task_id", "status", "jobs"], task_id=UUID, task_name=STR, status=STR,
               jobs={"type": "array", "items": ref("Job")}, stdout=STR, stderr=STR)
_LOGS = obj(["task_id", "stdout", "stderr"], task_id=UUID, task_name=STR, stream=STR, stdout=STR, stderr=STR)
_TEXT = {"type": "string"}


def _task_op(summary: str, schema: dict, *codes: int, params=(), content_type=JSON) -> dict:
    # 400: a reference that is not storable text (spec/gateway.md §1)
    return op(summary, {**ok(schema, content_type=content_type), **errors(400, 401, 403, 404, *codes)},
               params=(_REF_PARAM, *params))


_CHAT_STREAM = {"type": "string", "description": "`data: <chat.completion.chunk JSON>` events, one per piece "
                "of the answer as it arrives, then `data: [DONE]`; a failure mid-answer ends it with "
                "`data: <error object>` and no [DONE]"}

PATHS = {
    "/healthz": {"get": op("liveness", ok(_TEXT, content_type="text/plain"), auth=False)},
    "/readyz": {"get": op("readiness", {**ok(_TEXT, content_type="text/plain"),
                                         "503": {"description": "not ready", "content": {"text/plain": {
                                             "schema": _TEXT}}}}, auth=False)},
    "/openapi.json": {"get": op("this document", ok({"type": "object"}), auth=False)},
    "/v1/auth/login": {"post": op("log in", {**ok(ref("Tokens")), **errors(400, 401, 413, 429)}, auth=False,
                                   body=json_body(obj(["handle", "password"],
                                                   handle={**TEXT_REQ, "maxLength": MAX_HANDLE_LENGTH},
                                                   password={**TEXT_REQ, "maxLength": MAX_PASSWORD_LENGTH})))},
    "/v1/auth/refresh": {"post": op("rotate the refresh token", {**ok(ref("Tokens")), **errors(400, 401, 413)},
                                     auth=False, body=json_body(obj(["refresh_token"], refresh_token=TEXT_REQ)))},
    "/v1/auth/logout": {"post": op("end this login (403 for an API token)", {
        **ok(None, "204"), **errors(401, 403)})},
    "/v1/users/me": {"get": op("who am I", {**ok(ref("User")), **errors(401)})},
    "/v1/users": {
        "get": op("list users (admin)", {**ok(_USER_LIST), **errors(400, 401, 403)}, params=PAGING),
        "post": op("create a user (admin)", {**ok(ref("User"), "201"), **errors(400, 401, 403, 409, 413)},
                    body=json_body(obj(["handle", "password"], handle=_HANDLE, password=_PASSWORD,
                                    email={"type": ["string", "null"], "pattern": NO_NUL},
                                    is_admin=BOOL))),
    },
    "/v1/users/{ref}/disable": {"post": op("disable a user and end their sessions (admin)", {
        **ok(ref("User")), **errors(400, 401, 403, 404, 409)}, params=[_USER_PARAM])},
    "/v1/users/{ref}/enable": {"post": op("enable a user (admin)", {
        **ok(ref("User")), **errors(400, 401, 403, 404)}, params=[_USER_PARAM])},
    "/v1/users/{ref}/revoke_sessions": {"post": op("end all sessions of a user (admin)", {
        **ok(None, "204"), **errors(400, 401, 403, 404)}, params=[_USER_PARAM])},
    "/v1/tasks": {
        "get": op("list my tasks, newest first", {**ok(_TASK_LIST), **errors(400, 401)}, params=[
            *PAGING, {"name": "status", "in": "query", "schema": {"enum": [s.value for s in TaskStatus]}}]),
        "post": op("create a task (JSON, or multipart: a `request` JSON part plus `attachments` files)", {
            **ok(ref("Task"), "201"), **errors(400, 401, 413)}, body={"required": True, "content": {
                JSON: {"schema": ref("TaskCreate")},
                "multipart/form-data": {
                    "schema": {**obj(["request"], request=ref("TaskCreate"), attachments={
                        "type": "array", "maxItems": 16,
                        "items": {"type": "string", "contentMediaType": "application/octet-stream"}}),
                               "additionalProperties": False},
                    "encoding": {"request": {"contentType": "application/json"}}}}}),
    },
    "/v1/tasks/{ref}": {"get": _task_op("get a task", ref("Task"))},
    "/v1/tasks/{ref}/result": {"get": _task_op("jobs, their results, and the output once finished", _RESULT)},
    "/v1/tasks/{ref}/cancel": {"post": op("cancel a task (409 when it already finished)", {
        **ok(obj(["task_id", "canceled"], task_id=UUID, task_name=STR, canceled=BOOL, status=STR)),
        **errors(400, 401, 403, 404, 409)}, params=[_REF_PARAM])},
    "/v1/tasks/{ref}/logs": {"get": _task_op("stdout and stderr so far", _LOGS, 400, params=[
        {"name": "stream", "in": "query", "schema": {"enum": ["stdout", "stderr", "all"]}}])},
    "/v1/tasks/{ref}/artifacts": {"get": _task_op("attachments and output files", obj(
        ["task_id", "artifacts"], task_id=UUID, task_name=STR,
        artifacts={"type": "array", "items": ref("Artifact")}))},
    "/v1/tasks/{ref}/artifacts/{artifact_id}": {"get": _task_op(
        "an artifact's bytes", {"type": "string", "contentMediaType": "application/octet-stream"},
        content_type="*/*", params=[{"name": "artifact_id", "in": "path", "required": True, "schema": STR}])},
    "/v1/tokens": {
        "get": op("list my live API tokens, newest first (never the tokens themselves)", {
            **ok(obj(["tokens"], tokens={"type": "array", "items": ref("ApiToken")})), **errors(401)}),
        "post": op("create an API token, shown this once (403 when called with an API token)", {
            **ok(ref("ApiTokenCreated"), "201"), **errors(400, 401, 403, 409, 413)},
            body=json_body(obj(["name"], name={"type": "string", "minLength": 1, "maxLength": TOKEN_NAME_MAX,
                                            "pattern": ONE_LINE.pattern},
                            expires_in_days={"type": ["integer", "null"], "minimum": MIN_DAYS,
                                             "maximum": MAX_DAYS}))),
    },
    "/v1/tokens/{token_id}": {"delete": op("revoke one of my live API tokens at once (403 with an API token)", {
        **ok(None, "204"), **errors(401, 403, 404)}, params=[
            {"name": "token_id", "in": "path", "required": True, "schema": TEXT_REQ}])},
    "/v1/chat": {"post": op("answer one message with the configured model", {
        **ok(obj(["response"], response=STR)), **errors(400, 401, 413, 502, 503, 504)},
        body=json_body(obj(["message"], message={"type": "string", "pattern": NOT_BLANK,
                                                 "not": {"pattern": "\x00"}})))},
    "/v1/models": {"get": op("the models chat can use (OpenAI list; empty while inference is not configured)", {
        **ok(obj(["object", "data"], object={"const": "list"}, data={"type": "array", "items": ref("Model")})),
        **openai_errors(401)})},
    "/v1/chat/completions": {"post": op("an OpenAI-compatible chat completion, whole or streamed", {
        "200": {"description": "success", "content": {JSON: {"schema": ref("ChatCompletion")},
                                                      "text/event-stream": {"schema": _CHAT_STREAM}}},
        **openai_errors(400, 401, 404, 413, 502, 503, 504)},
        body={"required": True, "content": {JSON: {"schema": ref("ChatCompletionRequest")}}})},
}


def document(max_timeout: int) -> dict:
    """The document, with this server's task timeout limit."""
    paths, schemas = dict(PATHS), dict(SCHEMAS)
    for module in routes.modules():
        paths.update(getattr(module, "OPENAPI_PATHS", {}))
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    create = json.loads(json.dumps(schemas["TaskCreate"]))
    create["properties"]["timeout_seconds"]["maximum"] = max_timeout
    schemas["TaskCreate"] = create
    return {
        "openapi": "3.1.0",
        "info": {"title": "cynode User API Gateway", "version": __version__},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
