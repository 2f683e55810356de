"""Building blocks of the OpenAPI document: schemas, responses and operations, shared by the route modules
that describe their own paths (OPENAPI_PATHS) and by openapi.py."""

from cynode.contract import LIST_LIMIT_MAX

JSON = "application/json"
PROBLEM = "application/problem+json"
NO_NUL = r"^[^\x00]*$"  # text a request sends must be storable: no NUL (and valid Unicode, which JSON text is)


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def ok(schema: dict | None, status: str = "200", content_type: str = JSON) -> dict:
    response = {"description": "success"}
    if schema is not None:
        response["content"] = {content_type: {"schema": schema}}
    return {status: response}


def errors(*codes: int) -> dict:
    return {str(code): {"description": "error", "content": {PROBLEM: {"schema": ref("Problem")}}}
            for code in codes}


def openai_errors(*codes: int) -> dict:
    """Errors on the OpenAI-compatible routes, 401 included: OpenAI's error object, not problem+json."""
    return {str(code): {"description": "error", "content": {JSON: {"schema": ref("OpenAIError")}}}
            for code in codes}


# Any JSON a request may carry, unknown fields included: every string and key storable (jsonio.decode_json).
STORABLE = {"anyOf": [
    {"type": ["null", "boolean", "number"]},
    {"type": "string", "pattern": NO_NUL},
    {"type": "array", "items": {"$ref": "#/components/schemas/Storable"}},
    {"type": "object", "propertyNames": {"pattern": NO_NUL},
     "additionalProperties": {"$ref": "#/components/schemas/Storable"}},
]}
UNKNOWN_FIELDS = {"propertyNames": {"pattern": NO_NUL}, "additionalProperties": ref("Storable")}


def json_body(schema: dict) -> dict:
    return {"required": True, "content": {JSON: {"schema": {**schema, **UNKNOWN_FIELDS}}}}


def obj(required: list[str], **props) -> dict:
    return {"type": "object", "required": required, "properties": props}


STR = {"type": "string"}
IN = {"type": "string", "pattern": NO_NUL}
TEXT_REQ = {"type": "string", "minLength": 1, "pattern": NO_NUL}
BOOL = {"type": "boolean"}
INT = {"type": "integer"}
TIME = {"type": "string", "format": "date-time"}
UUID = {"type": "string", "format": "uuid"}
BEARER = [{"bearer": []}]
PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT_MAX}},
    {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{0,9}$"}},
]


def op(summary: str, responses: dict, *, auth=True, params=(), body=None) -> dict:
    operation = {"summary": summary, "responses": responses}
    if auth:
        operation["security"] = BEARER
    if params:
        operation["parameters"] = list(params)
    if body:
        operation["requestBody"] = body
    return operation
