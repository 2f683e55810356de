"""Personal API tokens for scripts and CI: create (shown once), list (metadata only), revoke."""

import datetime

from cynode.contract import rfc3339
from cynode.server.audit import audit
from cynode.server.auth import authenticate, require_session
from cynode.server.deps import Reply
from cynode.server.errors import BadRequest, Conflict, NotFound
from cynode.server.jsonio import ONE_LINE, is_uuid, read_json, text_field
from cynode.server.security import new_api_token, token_hash
from cynode.store.tokens import NameTaken

MAX_NAME_LENGTH = 64
MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 1, 365, 90


def _name(body: dict) -> str:
    name = text_field(body, "name")
    if len(name) > MAX_NAME_LENGTH or not ONE_LINE.fullmatch(name):
        raise BadRequest(f"name must be 1-{MAX_NAME_LENGTH} characters, not only spaces, no control characters")
    return name


def _days(body: dict) -> int:
    days = body.get("expires_in_days")
    if days is None:
        return DEFAULT_DAYS
    if isinstance(days, float) and days.is_integer():  # JSON has one number type: 30.0 is 30
        days = int(days)
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise BadRequest(f"expires_in_days must be an integer from {MIN_DAYS} to {MAX_DAYS}")
    return days


def token_json(token) -> dict:
    return {"token_id": token.id, "name": token.name, "created_at": rfc3339(token.created_at),
            "expires_at": rfc3339(token.expires_at), "last_used_at": rfc3339(token.last_used_at)}


def create_token(deps, req):
    user = require_session(deps, req).user  # a leaked API token must not mint more
    body = read_json(req)
    name, days = _name(body), _days(body)
    token = new_api_token()
    expires_at = datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0) + datetime.timedelta(days)
    try:
        stored = deps.store.create_api_token(user.id, name, token_hash(token), expires_at)
    except NameTaken:
        raise Conflict(f"you already have a token named {name!r}") from None
    audit(deps, req, "api_token.create", "api_token", stored.id,
          details={"name": stored.name, "expires_at": rfc3339(stored.expires_at)})
    return Reply(201, {"token_id": stored.id, "name": stored.name, "token": token,
                       "expires_at": rfc3339(stored.expires_at)})


def list_tokens(deps, req):
    user = authenticate(deps, req).user
    return {"tokens": [token_json(token) for token in deps.store.api_tokens(user.id)]}


def revoke_token(deps, req, token_id):
    user = require_session(deps, req).user
    # Another user's token, a revoked or an expired one: all 404, so ids reveal nothing and revoking twice says so.
    if not is_uuid(token_id) or not deps.store.revoke_api_token(user.id, token_id.lower()):
        raise NotFound("Token not found")
    audit(deps, req, "api_token.revoke", "api_token", token_id.lower())
    return Reply(204)


ROUTES = [
    ("POST", "/v1/tokens", create_token),
    ("GET", "/v1/tokens", list_tokens),
    ("DELETE", "/v1/tokens/<token_id>", revoke_token),
]
