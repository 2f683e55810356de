"""Login, refresh (rotating), logout, and the caller's identity."""

from cynode.contract import MAX_HANDLE_LENGTH, MAX_PASSWORD_LENGTH
from cynode.server.audit import ANONYMOUS, audit, deny
from cynode.server.auth import authenticate, client_ip, is_api_token
from cynode.server.deps import Reply
from cynode.server.errors import BadRequest, Forbidden, TooManyRequests, Unauthorized
from cynode.server.jsonio import read_json, text_field
from cynode.server.projects import default_project_id
from cynode.server.routes.users import user_json
from cynode.server.security import new_token, token_hash, verify_password


def _pair(deps) -> tuple[dict, str, str]:
    """A new token pair as the response body, plus the two hashes to store."""
    access_token, refresh_token = new_token(), new_token()
    body = {"access_token": access_token, "refresh_token": refresh_token, "token_type": "Bearer",
            "expires_in": deps.settings.access_token_ttl}
    return body, token_hash(access_token), token_hash(refresh_token)


def _ttls(deps) -> tuple[int, int]:
    return deps.settings.access_token_ttl, deps.settings.refresh_token_ttl


def _check_rate(deps, req, limiter, key) -> None:
    wait = limiter.retry_after(key)
    if wait:
        _login_failure(deps, req, None, "rate limited")
        raise TooManyRequests("Too many login attempts", wait)


def _login_failure(deps, req, user, reason: str) -> None:
    """A refused login. The attempt names its user when the handle is one (they see it in their own log); an
    unknown handle is recorded without it, since it may be a password typed into the wrong field."""
    deny(deps, req, "login_failure", "auth", user.id if user else None, actor=user or ANONYMOUS,
         details={"reason": reason})


def _failure_reason(user, valid: bool) -> str:
    if user is None:
        return "user not found"
    if user.password_hash is None:
        return "no password credential"
    return "invalid password" if not valid else "user inactive"


def _credentials(req) -> tuple[str, str]:
    """Handle and password, capped in length before anything keeps or hashes them."""
    body = read_json(req)
    handle, password = text_field(body, "handle"), text_field(body, "password")
    if len(handle) > MAX_HANDLE_LENGTH:
        raise BadRequest(f"handle: at most {MAX_HANDLE_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadRequest(f"password: at most {MAX_PASSWORD_LENGTH} characters")
    return handle, password


def login(deps, req):
    ip = client_ip(deps, req)
    try:
        _check_rate(deps, req, deps.ip_limiter, ip)
    finally:
        deps.ip_limiter.hit(ip)  # every attempt counts against the address, refused ones too
    handle, password = _credentials(req)
    # Failures count per handle *and address*: guessing from one address cannot lock the owner out elsewhere
    # (the per-address limit above still caps every address).
    failures_key = (handle, ip)
    _check_rate(deps, req, deps.handle_limiter, failures_key)
    user = deps.store.user_by_handle(handle)
    valid = verify_password(password, user.password_hash if user else None)
    if not (valid and user.is_active):
        deps.handle_limiter.hit(failures_key)  # only failures count, so normal use never locks a user out
        _login_failure(deps, req, user, _failure_reason(user, valid))
        raise Unauthorized("Invalid credentials")
    reply, access_hash, refresh_hash = _pair(deps)
    deps.store.create_session(user.id, access_hash, refresh_hash, *_ttls(deps))
    audit(deps, req, "login_success", "auth", user.id, actor=user)
    return reply


def refresh(deps, req):
    token = text_field(read_json(req), "refresh_token")
    reply, access_hash, refresh_hash = _pair(deps)
    user, refused = deps.store.rotate_refresh(token_hash(token), access_hash, refresh_hash, *_ttls(deps))
    if refused:
        deny(deps, req, "refresh_failure", "auth", user.id if user else None, actor=user or ANONYMOUS,
             details={"reason": refused})
        raise Unauthorized("Invalid refresh token")
    audit(deps, req, "refresh_success", "auth", user.id, actor=user)
    return reply


def logout(deps, req):
    """Ends the caller's login at once: this access token and its refresh-token family."""
    caller = authenticate(deps, req)
    if is_api_token(caller):  # it belongs to no login; revoking it is DELETE /v1/tokens/{id}, from a login
        raise Forbidden("an API token cannot log out; revoke it with DELETE /v1/tokens/{id}")
    deps.store.revoke_family(caller.family)
    audit(deps, req, "logout", "auth", caller.user.id)
    return Reply(204)


def me(deps, req):
    user = authenticate(deps, req).user
    return {**user_json(user), "default_project_id": default_project_id(user.id)}


ROUTES = [
    ("POST", "/v1/auth/login", login),
    ("POST", "/v1/auth/refresh", refresh),
    ("POST", "/v1/auth/logout", logout),
    ("GET", "/v1/users/me", me),
]
