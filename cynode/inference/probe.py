"""Whether the inference backend answers, as /readyz reports it: asked at most once per `ttl` seconds."""

import threading
import time

PROBE_SECONDS = 10.0  # how long an answer about the backend is reused: balancers poll /readyz every few seconds


class InferenceProbe:
    """`state()` is `ok` or `unreachable`; concurrent callers wait for the one probe in flight, which takes at most
    the client's 2 s."""

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
