"""Who is calling: bearer-token authentication (a session's access token or a personal API token) and the admin
check."""

from cynode.server.errors import Forbidden, Unauthorized
from cynode.server.security import API_TOKEN_PREFIX, token_hash
from cynode.store.records import ApiTokenAuth


def header_text(req, name: str) -> str:
    """A request header as text ("" when absent). Its bytes are decoded as UTF-8 with U+FFFD for what is not
    (bottle's own `req.headers` raises UnicodeDecodeError there: a 500 any client could cause, after the action
    and before its audit event)."""
    raw = req.environ.get("HTTP_" + name.upper().replace("-", "_"), "")
    return raw.encode("latin-1", "replace").decode("utf-8", "replace")


def bearer_token(req) -> str:
    scheme, _, token = header_text(req, "Authorization").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing authorization header")
    return token.strip()


def authenticate(deps, req):
    """The caller's live session, or their live API token (checked on every request, so logout, revoke and
    disabling take effect at once). Either has `.user`; is_api_token() tells them apart."""
    token = bearer_token(req)
    digest = token_hash(token)
    caller = None
    # The prefix picks the one table to look in. A session token is random urlsafe text and may start with the
    # prefix too (one in 2^24), so an unknown prefixed token still gets the session lookup.
    if token.startswith(API_TOKEN_PREFIX):
        caller = deps.store.api_token_for(digest)
    if caller is None:
        caller = deps.store.session_for_access(digest)
    if caller is None or not caller.user.is_active:
        raise Unauthorized("Invalid or expired token")
    if is_api_token(caller):
        deps.store.touch_api_token(caller)
    req.environ["cynode.user_id"] = caller.user.id  # for the request log
    req.environ["cynode.user"] = caller.user  # for the audit of a refusal (server/audit.py)
    return caller


def is_api_token(caller) -> bool:
    return isinstance(caller, ApiTokenAuth)


def require_session(deps, req):
    """authenticate(), refusing API tokens: what they must not do (mint more tokens, revoke them, log out)."""
    caller = authenticate(deps, req)
    if is_api_token(caller):
        raise Forbidden("API tokens cannot manage API tokens")
    return caller


def require_admin(deps, req):
    session = authenticate(deps, req)
    if not session.user.is_admin:
        raise Forbidden("Admin required")
    return session


def client_ip(deps, req) -> str:
    if deps.settings.trust_proxy_headers:
        forwarded = header_text(req, "X-Forwarded-For").split(",")[0].strip()
        return forwarded or header_text(req, "X-Real-IP").strip() or req.environ.get("REMOTE_ADDR", "")
    return req.environ.get("REMOTE_ADDR", "")
