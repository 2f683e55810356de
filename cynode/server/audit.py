"""Recording audit events from request handlers (spec/gateway.md §15): who, what, on which resource, allowed or
denied, from where. A refusal (403) is recorded once, centrally, by the app's error handling (`record_denial`)."""

import logging

from cynode.server.auth import client_ip

LOG = logging.getLogger("cynode.audit")

# The resource type of a refused request, from the first path segment after /v1.
RESOURCE_TYPES = {
    "tasks": "task", "users": "auth", "auth": "auth", "tokens": "api_token", "chat": "chat", "models": "chat",
    "prefs": "preference", "settings": "system_setting", "credentials": "credential", "creds": "credential",
    "nodes": "node", "skills": "skill", "audit": "audit",
}


def audit(deps, req, action: str, resource_type: str, resource_id: str | None = None, *, actor=None,
          **outcome) -> None:
    """Record one event for this request. `actor` defaults to the authenticated caller (None: anonymous);
    `outcome` may set decision ('allow' or 'deny'), success and details (a JSON object, never a secret)."""
    actor = actor or req.environ.get("cynode.user")
    deps.store.record_audit(action=action, resource_type=resource_type, resource_id=resource_id,
                            actor_id=actor.id if actor else None, actor_handle=actor.handle if actor else None,
                            ip_address=client_ip(deps, req), user_agent=req.headers.get("User-Agent"), **outcome)


def record_denial(deps, req, detail: str, route_args: dict) -> None:
    """A 403: `access_denied` on the resource the path names, with the method, path and reason as details.
    Never fails the response: a broken audit write is logged instead."""
    segments = req.path.strip("/").split("/")
    resource_type = RESOURCE_TYPES.get(segments[1] if len(segments) > 1 else "", "api")
    resource_id = next(iter(route_args.values()), None)
    try:
        audit(deps, req, "access_denied", resource_type, resource_id, decision="deny", success=False,
              details={"method": req.method, "path": req.path, "reason": detail})
    except Exception:  # pylint: disable=broad-exception-caught  # the refusal itself must still be answered
        LOG.exception("could not record a denied request")
