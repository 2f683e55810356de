"""Reading JSON requests and shaping JSON responses."""

import json
import re
import uuid

from cynode.contract import LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, NOT_BLANK
from cynode.server.errors import BadRequest


# One line of text a person names something with (a token, a provider, a skill): not blank, no control characters.
# Match with fullmatch ($ also matches before a final newline); the OpenAPI document publishes the pattern.
ONE_LINE = re.compile(r"^[^\x00-\x1f\x7f]*" + NOT_BLANK + r"[^\x00-\x1f\x7f]*$")


def query_text(req) -> dict[str, str]:
    """The query string's parameters as text. bottle keeps their values decoded as latin-1; the URL's bytes are
    UTF-8 (app.url_problem refuses any other), so a filter naming `dépôt` would look for `dÃ©pÃ´t`."""
    return {name: req.query.getunicode(name) for name in req.query}


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored (every backend, PostgreSQL included), or None when it can."""
    if "\x00" in text:
        return "NUL characters (\\u0000) are not allowed"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text must be valid Unicode (a lone surrogate such as \\ud800 cannot be stored)"
    return None


def decode_json(raw: bytes, *, what: str = "Invalid request body") -> dict:
    """The one JSON decoder for request bodies: a JSON object whose every string (keys included) can be stored.

    400 `what` for anything else; the detail names the problem for text that cannot be stored. Walking the
    value is iterative, and nesting too deep for the decoder is a 400, never a RecursionError (500).
    """
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError (not UTF-8) is a ValueError
        raise BadRequest(what) from None
    if not isinstance(data, dict):
        raise BadRequest(what)
    todo: list = [data]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            todo.extend(value)  # the keys
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
        elif isinstance(value, str) and (problem := text_problem(value)):
            raise BadRequest(f"{what}: {problem}")
    return data


def read_json(request, *, allow_empty: bool = False) -> dict:
    """The request body as a JSON object, or 400. (Size is enforced before routing.)"""
    raw = request.body.read()
    if not raw.strip() and allow_empty:
        return {}
    return decode_json(raw)


def text_field(data: dict, name: str, *, required: bool = True) -> str | None:
    """A string field as given; 400 naming the field when it is missing (if required) or not a string."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def is_uuid(text: str) -> bool:
    """Whether a path reference is an id (any letter case) rather than a name."""
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


MAX_OFFSET = 999_999_999  # keeps OFFSET inside every backend's integer range


def page_params(query) -> tuple[int, int]:
    """(limit, offset) from `limit` and `cursor`/`offset`; 400 when out of range (spec/gateway.md §2.1)."""
    try:
        limit = int(query.get("limit", LIST_LIMIT_DEFAULT))
        offset = int(query.get("cursor") or query.get("offset") or 0)
    except ValueError:
        raise BadRequest("Invalid limit, offset, or cursor") from None
    if not 1 <= limit <= LIST_LIMIT_MAX or not 0 <= offset <= MAX_OFFSET:
        raise BadRequest("Invalid limit, offset, or cursor")
    return limit, offset


def page(items: list, limit: int, offset: int, key: str) -> dict:
    """A list response from `limit + 1` fetched items: `next_cursor` only when more exist."""
    body = {key: items[:limit]}
    if len(items) > limit:
        body["next_cursor"] = str(offset + limit)
    return body
