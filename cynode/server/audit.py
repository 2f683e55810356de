"""Recording audit events from request handlers (spec/gateway.md §15): who, what, on which resource, allowed or
denied, from where. One INSERT per audited request and no extra read: the actor is the caller authenticate()
already loaded (or a user the handler already has). A refusal (403) is recorded once, centrally, by the app's
error handling (`record_denial`). A 401 on an ordinary route is not an event (every expired token would be one);
failed logins and refreshes are, by the auth routes.

Nothing secret goes in: no password, no token, no message content. An audit write that fails is logged and never
fails the request: the action it describes has already happened (or been refused)."""

import logging

from cynode.server.auth import client_ip, header_text

LOG = logging.getLogger("cynode.audit")

ALLOW, DENY = "allow", "deny"
MAX_DENIED_PATH = 512  # a refused request's path in its event: as long as a resource id may be (store/audit.py)

# The resource type of a refused request, from the first path segment after /v1.
RESOURCE_TYPES = {
    "tasks": "task", "users": "auth", "auth": "auth", "tokens": "api_token", "chat": "chat", "models": "chat",
    "prefs": "preference", "settings": "system_setting", "credentials": "credential", "creds": "credential",
    "nodes": "node", "skills": "skill", "audit": "audit",
}


class Anonymous:  # pylint: disable=too-few-public-methods
    """`actor=ANONYMOUS`: an event with no actor even on an authenticated request."""

    id = handle = None


ANONYMOUS = Anonymous()


def who(deps, req, actor=None) -> dict:
    """The request's side of an event: actor (default: the authenticated caller), client address, User-Agent.
    Taken while the request is current, for an event recorded later (a streamed chat answer's end)."""
    actor = actor or req.environ.get("cynode.user")
    return {"actor_id": actor.id if actor else None, "actor_handle": actor.handle if actor else None,
            "ip_address": client_ip(deps, req) or None, "user_agent": header_text(req, "User-Agent") or None}


def record(deps, facts: dict, action: str, resource_type: str, resource_id: str | None = None, **outcome) -> None:
    """Append one event with the request's `facts` (who()); a failure is logged, never raised."""
    try:
        deps.store.record_audit(action=action, resource_type=resource_type, resource_id=resource_id, **facts,
                                **outcome)
    except Exception:  # pylint: disable=broad-exception-caught  # the answer must still go out
        LOG.exception("audit event %s on %s not recorded", action, resource_type)


def audit(deps, req, action: str, resource_type: str, resource_id: str | None = None, *, actor=None,
          **outcome) -> None:
    """Record one event for this request. `actor` defaults to the authenticated caller (none: anonymous;
    ANONYMOUS: none even so); `outcome` may set decision (ALLOW or DENY), success and details (a JSON object,
    never a secret)."""
    record(deps, who(deps, req, actor), action, resource_type, resource_id, **outcome)


def deny(deps, req, action: str, resource_type: str, resource_id: str | None = None, **fields) -> None:
    """A refusal: decision deny, success false."""
    audit(deps, req, action, resource_type, resource_id, decision=DENY, success=False, **fields)


def record_denial(deps, req, detail: str, route_args: dict) -> None:
    """A 403: `access_denied` on the resource the path names, with the method, path (cut short: the caller chose
    it, and may be refused as often as they like) and reason as details. The resource id is plain text (tools
    print it as it is); the path in details is JSON, escaped wherever it is shown."""
    segments = req.path.strip("/").split("/")
    resource_type = RESOURCE_TYPES.get(segments[1] if len(segments) > 1 else "", "api")
    resource_id = next(iter(route_args.values()), None)
    if resource_id is not None:  # any text the caller put in the path: nothing a terminal would act on
        resource_id = "".join(c if c.isprintable() else "\ufffd" for c in resource_id[:MAX_DENIED_PATH])
    deny(deps, req, "access_denied", resource_type, resource_id,
         details={"method": req.method, "path": req.path[:MAX_DENIED_PATH], "reason": detail})
