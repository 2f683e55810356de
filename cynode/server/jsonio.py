"""Reading JSON requests and shaping JSON responses."""

import json
import uuid

from cynode.contract import LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX
from cynode.server.errors import BadRequest


def rfc3339(moment) -> str | None:
    """UTC, second precision, `Z` suffix (spec/gateway.md §1)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def read_json(request, *, allow_empty: bool = False) -> dict:
    """The request body as a JSON object, or 400. (Size is enforced before routing.)"""
    raw = request.body.read()
    if not raw.strip() and allow_empty:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Invalid request body") from None
    if not isinstance(data, dict):
        raise BadRequest("Invalid request body")
    return data


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
