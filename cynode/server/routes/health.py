"""Liveness and readiness, for load balancers and `cynode cli status`.

/readyz answers 200 `ready; <notes>; inference: <state>` while the database answers and the dispatcher runs:
the notes are caveats such as unisolated jobs, and the state is `ok`, `unconfigured` or `unreachable`. Neither
of the last two makes the server unready: command and script tasks still run, prompt tasks then fail with a
message saying why, and every replica behind a balancer shares the one backend anyway.
"""

import threading
import time
import weakref

from cynode.server.deps import Reply
from cynode.server.openapi import document

TEXT = {"Content-Type": "text/plain; charset=utf-8"}
PROBE_SECONDS = 10.0  # how long an answer about the backend is reused: balancers poll /readyz every few seconds


class InferenceProbe:
    """The backend's state as /readyz reports it, asked at most once per `ttl` seconds (concurrent callers wait
    for the one probe in flight, which takes at most the client's 2 s)."""

    def __init__(self, client, ttl: float = PROBE_SECONDS, clock=time.monotonic):
        self._client, self._ttl, self._clock = client, ttl, clock
        self._lock = threading.Lock()
        self._state, self._checked_at = "", 0.0

    def state(self) -> str:
        with self._lock:
            if not self._state or self._clock() - self._checked_at >= self._ttl:
                self._state = "ok" if self._client.probe() else "unreachable"
                self._checked_at = self._clock()
            return self._state


_PROBES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # inference client -> its probe
_PROBES_LOCK = threading.Lock()


def inference_state(client) -> str:
    """ok | unconfigured | unreachable, for the server's inference client (None: not configured)."""
    if client is None:
        return "unconfigured"
    with _PROBES_LOCK:
        probe = _PROBES.get(client) or _PROBES.setdefault(client, InferenceProbe(client))
    return probe.state()


def healthz(_deps, _req):
    return Reply(200, "ok", TEXT)


def readyz(deps, _req):
    try:
        deps.store.ping()
    except Exception as exc:  # pylint: disable=broad-exception-caught  # any database failure means not ready
        return Reply(503, f"database unavailable: {type(exc).__name__}", TEXT)
    if deps.dispatcher is None or deps.dispatcher.stopping:
        return Reply(503, "dispatcher not running", TEXT)
    return Reply(200, "; ".join(("ready", *deps.notes, f"inference: {inference_state(deps.inference)}")), TEXT)


def openapi(deps, _req):
    return document(deps.settings.job_max_timeout_seconds)


ROUTES = [
    ("GET", "/healthz", healthz),
    ("GET", "/readyz", readyz),
    ("GET", "/openapi.json", openapi),
]
