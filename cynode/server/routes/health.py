"""Liveness and readiness, for load balancers and `cynode cli status`.

/readyz answers 200 `ready; <notes>; inference: <state>` while the database answers and the dispatcher runs:
the notes are caveats such as unisolated jobs, and the state is `ok`, `unconfigured` or `unreachable`. Neither
of the last two makes the server unready: command and script tasks still run, prompt tasks then fail with a
message saying why, and every replica behind a balancer shares the one backend anyway. A node an admin disabled
or drained is a note too, not unreadiness: the API still serves, and the queue waits for another node or for
its enable. So is a gateway started with --no-dispatch: `cynode worker` processes run its jobs.
"""

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
    if (deps.dispatcher is None and not deps.settings.no_dispatch) or (deps.dispatcher and deps.dispatcher.stopping):
        return Reply(503, "dispatcher not running", TEXT)
    inference = deps.inference_probe.state() if deps.inference_probe else "unconfigured"
    notes = (*deps.notes, *(deps.dispatcher.node.notes() if deps.dispatcher else ()))
    return Reply(200, "; ".join(("ready", *notes, f"inference: {inference}")), TEXT)


def openapi(deps, _req):
    return document(deps.settings.job_max_timeout_seconds)


ROUTES = [
    ("GET", "/healthz", healthz),
    ("GET", "/readyz", readyz),
    ("GET", "/openapi.json", openapi),
]
