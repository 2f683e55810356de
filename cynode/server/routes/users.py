"""User administration (admins only)."""

import re

from cynode.contract import MAX_PASSWORD_LENGTH, rfc3339
from cynode.server.audit import audit
from cynode.server.auth import require_admin
from cynode.server.deps import Reply
from cynode.server.errors import BadRequest, Conflict, NotFound
from cynode.server.jsonio import is_uuid, page, page_params, read_json, text_field
from cynode.server.security import hash_password
from cynode.store.store import Conflict as StoreConflict

HANDLE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RESERVED_HANDLES = {"system"}
MIN_PASSWORD_LENGTH = 8


def user_json(user) -> dict:
    body = {"id": user.id, "handle": user.handle, "is_active": user.is_active, "is_admin": user.is_admin,
            "created_at": rfc3339(user.created_at)}
    if user.email:
        body["email"] = user.email
    return body


def check_new_credentials(handle: str, password: str) -> None:
    """Rules for any new account, the bootstrap admin included."""
    if not HANDLE_PATTERN.fullmatch(handle) or handle.lower() in RESERVED_HANDLES:
        raise BadRequest("handle must be 1-64 letters, digits, '.', '_' or '-', start with a letter or digit, "
                         "and not be reserved")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:  # login refuses longer ones before hashing them
        raise BadRequest(f"password: at most {MAX_PASSWORD_LENGTH} characters")


def _find(deps, ref: str):
    """A user by id or by handle; 404 otherwise."""
    user = deps.store.user_by_id(ref.lower()) if is_uuid(ref) else deps.store.user_by_handle(ref)
    if user is None:
        raise NotFound("User not found")
    return user


def create_user(deps, req):
    require_admin(deps, req)
    body = read_json(req)
    handle, password = text_field(body, "handle"), text_field(body, "password")
    email = text_field(body, "email", required=False)
    is_admin = body.get("is_admin", False)
    if not isinstance(is_admin, bool):
        raise BadRequest("is_admin must be a boolean")
    check_new_credentials(handle, password)
    try:
        user = deps.store.create_user(handle, hash_password(password), is_admin=is_admin, email=email)
    except StoreConflict:
        raise Conflict(f"handle {handle!r} is taken") from None
    audit(deps, req, "user_created", "auth", user.id, details={"handle": user.handle, "is_admin": user.is_admin})
    return Reply(201, user_json(user))


def list_users(deps, req):
    require_admin(deps, req)
    limit, offset = page_params(req.query)
    users = deps.store.list_users(limit + 1, offset)
    return page([user_json(u) for u in users], limit, offset, "users")


def _set_active(deps, req, ref: str, active: bool):
    require_admin(deps, req)
    user = _find(deps, ref)
    if not active and user.is_admin and user.is_active and deps.store.count_active_admins() <= 1:
        raise Conflict("cannot disable the last active admin")
    user, running = deps.store.set_user_active(user.id, active)
    deps.cancel_jobs(running)  # disabling canceled their tasks; their running jobs die now, not at their end
    audit(deps, req, "user_reenabled" if active else "user_disabled", "auth", user.id,
          details={"handle": user.handle})
    return user_json(user)


def disable_user(deps, req, ref):
    return _set_active(deps, req, ref, False)


def enable_user(deps, req, ref):
    return _set_active(deps, req, ref, True)


def revoke_sessions(deps, req, ref):
    require_admin(deps, req)
    user = _find(deps, ref)
    revoked = deps.store.revoke_user_sessions(user.id)
    audit(deps, req, "session_revoked", "auth", user.id, details={"handle": user.handle, "sessions": revoked})
    return Reply(204)


ROUTES = [
    ("POST", "/v1/users", create_user),
    ("GET", "/v1/users", list_users),
    ("POST", "/v1/users/<ref>/disable", disable_user),
    ("POST", "/v1/users/<ref>/enable", enable_user),
    ("POST", "/v1/users/<ref>/revoke_sessions", revoke_sessions),
]
