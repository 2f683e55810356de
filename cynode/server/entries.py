"""What preferences and system settings share (spec/gateway.md §11, §12): key rules, JSON values with their
value_type, the size cap, expected_version and reason, and the shape of an entry in a response."""

import math
import re

from cynode.contract import rfc3339
from cynode.server.errors import BadRequest
from cynode.server.jsonio import text_field
from cynode.store.preferences import json_text

MAX_KEY_LENGTH = 256
MAX_VALUE_BYTES = 64 * 1024  # the value's compact JSON text, in UTF-8
MAX_REASON_LENGTH = 1024
# One key character: no whitespace (what str.strip() drops; spelled out so Python and the ECMA regexes of clients
# reading the OpenAPI document agree) and no control character (C0, DEL, C1).
KEY_CHAR = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
KEY_PATTERN = re.compile(f"^{KEY_CHAR}{{1,{MAX_KEY_LENGTH}}}$")
VALUE_TYPES = {"string": str, "number": (int, float), "boolean": bool, "object": dict, "array": list,
               "null": type(None)}


def check_key(key, reserved: tuple = ()) -> str:
    """A key as given, or 400."""
    if not isinstance(key, str):
        raise BadRequest("key must be a string")
    if not KEY_PATTERN.fullmatch(key):
        raise BadRequest(f"key must be 1-{MAX_KEY_LENGTH} characters without whitespace or control characters")
    if key in reserved:
        raise BadRequest(f"the key {key!r} is reserved")
    return key


def body_key(body: dict, reserved: tuple = ()) -> str:
    if body.get("key") in (None, ""):
        raise BadRequest("key is required")
    return check_key(body["key"], reserved)


def type_of(value) -> str:
    """The value_type of a JSON value (a boolean is not a number)."""
    if isinstance(value, bool):
        return "boolean"
    return next(name for name, kinds in VALUE_TYPES.items() if isinstance(value, kinds))


def _finite(value) -> bool:
    """No NaN or Infinity anywhere in `value` (Python's decoder takes them; they are not JSON)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return True


def typed_value(body: dict) -> tuple[object, str]:
    """(value, value_type) from a body: `value` is required (null included); `value_type`, when given, must name
    the value's type; the value's JSON is at most MAX_VALUE_BYTES."""
    if "value" not in body:
        raise BadRequest("value is required (any JSON, null included)")
    value, derived = body["value"], type_of(body["value"])
    given = body.get("value_type")
    if given is not None and (not isinstance(given, str) or given not in VALUE_TYPES):
        raise BadRequest("value_type must be one of: " + ", ".join(VALUE_TYPES))
    if given is not None and given != derived:
        raise BadRequest(f"value_type {given!r} does not match the value, which is of type {derived!r}")
    if not _finite(value):
        raise BadRequest("value must be JSON: NaN and Infinity are not numbers there")
    try:
        size = len(json_text(value).encode("utf-8"))
    except RecursionError:
        size = MAX_VALUE_BYTES + 1
    if size > MAX_VALUE_BYTES:
        raise BadRequest(f"value: at most {MAX_VALUE_BYTES} bytes of JSON")
    return value, derived


def expected_version(raw, *, query: bool = False) -> int | None:
    """`expected_version` from a body (a JSON number) or a `query` (text): an integer >= 0, or None when absent."""
    if raw is None or (query and raw == ""):
        return None
    if query:
        raw = int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) else None
    elif isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # JSON has one number type: 3.0 is 3
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 999_999_999:
        raise BadRequest("expected_version must be a whole number from 0 (0: the entry must not exist yet)")
    return raw


def reason(source: dict) -> str | None:
    text = text_field(source, "reason", required=False)
    if text is not None and len(text) > MAX_REASON_LENGTH:
        raise BadRequest(f"reason: at most {MAX_REASON_LENGTH} characters")
    return text


def entry_json(entry) -> dict:
    """A preference entry (with scope) or a setting (without), as the routes return them."""
    body = {"scope_type": entry.scope_type, "scope_id": entry.scope_id} if hasattr(entry, "scope_type") else {}
    body.update(key=entry.key, value=entry.value, value_type=entry.value_type, version=entry.version,
                updated_at=rfc3339(entry.updated_at), updated_by=entry.updated_by)
    return body


def value_schema() -> dict:
    """The OpenAPI rule tying value_type to value."""
    return {"allOf": [{"if": {"required": ["value_type"], "properties": {"value_type": {"const": name}}},
                       "then": {"properties": {"value": {"type": name}}}}
                      for name in VALUE_TYPES]}
