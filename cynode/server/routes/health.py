"""Liveness and readiness, for load balancers and `cynode cli status`."""

from cynode.server.deps import Reply
from cynode.server.openapi import document

TEXT = {"Content-Type": "text/plain; charset=utf-8"}


def healthz(_deps, _req):
    return Reply(200, "ok", TEXT)


def readyz(deps, _req):
    try:
        deps.store.ping()
    except Exception as exc:  # pylint: disable=broad-exception-caught  # any database failure means not ready
        return Reply(503, f"database unavailable: {type(exc).__name__}", TEXT)
    if deps.dispatcher is None or deps.dispatcher.stopping:
        return Reply(503, "dispatcher not running", TEXT)
    return Reply(200, "; ".join(("ready", *deps.notes)), TEXT)


def openapi(deps, _req):
    return document(deps.settings.job_max_timeout_seconds)


ROUTES = [
    ("GET", "/healthz", healthz),
    ("GET", "/readyz", readyz),
    ("GET", "/openapi.json", openapi),
]
