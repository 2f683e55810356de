"""Who is calling: bearer-token authentication and the admin check."""

from cynode.server.errors import Forbidden, Unauthorized
from cynode.server.security import token_hash


def bearer_token(req) -> str:
    scheme, _, token = req.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing authorization header")
    return token.strip()


def authenticate(deps, req):
    """The caller's live session (checked on every request, so logout and revoke take effect at once)."""
    session = deps.store.session_for_access(token_hash(bearer_token(req)))
    if session is None or not session.user.is_active:
        raise Unauthorized("Invalid or expired token")
    req.environ["cynode.user_id"] = session.user.id  # for the request log
    return session


def require_admin(deps, req):
    session = authenticate(deps, req)
    if not session.user.is_admin:
        raise Forbidden("Admin required")
    return session


def client_ip(deps, req) -> str:
    if deps.settings.trust_proxy_headers:
        forwarded = req.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        if forwarded or req.headers.get("X-Real-IP"):
            return forwarded or req.headers["X-Real-IP"].strip()
    return req.environ.get("REMOTE_ADDR", "")
