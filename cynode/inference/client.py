"""Chat with an inference backend over HTTP: Ollama's /api/chat or an OpenAI-compatible /v1/chat/completions
(vLLM, llama.cpp's server, LM Studio, LiteLLM...), streamed, on urllib3.

Used by prompt jobs (the dispatcher) and the chat routes (the server); knows neither. Every failure is an
InferenceError naming the backend's URL and the cause, never the API key. An answer is read as it arrives:
closing the stream, or setting the `cancel` event, closes the upstream connection at once.
"""

import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field
from typing import Iterator

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util import parse_url

PROBE_PATHS = {"ollama": "/api/tags", "openai": "/v1/models"}
CHAT_PATHS = {"ollama": "/api/chat", "openai": "/v1/chat/completions"}


class InferenceError(Exception):
    """The backend could not answer. `transient`: worth retrying (refused, timed out, upstream 5xx);
    `timeout`: the backend stayed silent past the read timeout (or never accepted the connection in time)."""

    def __init__(self, url: str, cause: str, *, status: int | None = None, transient: bool = False,
                 timeout: bool = False):
        super().__init__(f"inference backend {url}: {cause}")
        self.url, self.cause, self.status, self.transient, self.timeout = url, cause, status, transient, timeout


class Canceled(Exception):
    """The caller's cancel event was set while the answer streamed."""


@dataclass(frozen=True)
class Backend:
    """Where and how to reach the model. `api_key` is sent as a bearer token and nowhere else."""

    url: str
    api: str = "ollama"
    model: str = ""
    api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 120.0

    @classmethod
    def from_settings(cls, settings) -> "Backend | None":
        if not settings.inference_url:
            return None
        return cls(settings.inference_url.rstrip("/"), settings.inference_api, settings.inference_model,
                   settings.inference_api_key, settings.inference_connect_timeout, settings.inference_read_timeout)


class Client:
    """One backend, one connection pool; safe to share between threads."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._pool = urllib3.PoolManager(maxsize=16, retries=False,
                                         timeout=urllib3.Timeout(connect=backend.connect_timeout,
                                                                 read=backend.read_timeout))

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.backend.api_key:
            headers["Authorization"] = f"Bearer {self.backend.api_key}"
        return headers

    def probe(self) -> bool:
        """Whether the backend answers its cheapest listing at all (any HTTP status below 500)."""
        try:
            response = self._pool.request("GET", self.backend.url + PROBE_PATHS[self.backend.api],
                                          headers=self._headers(), timeout=urllib3.Timeout(total=2.0))
        except urllib3.exceptions.HTTPError:
            return False
        return response.status < 500

    def chat(self, messages: list[dict], **options) -> str:
        """The whole answer (see stream)."""
        return "".join(self.stream(messages, **options))

    def stream(self, messages: list[dict], *, model: str | None = None, temperature: float | None = None,
               max_tokens: int | None = None, cancel: threading.Event | None = None) -> Iterator[str]:
        """The answer's text, piece by piece as the backend sends it. Raises InferenceError, or Canceled once
        `cancel` is set (the upstream request is closed at once, even while the backend is silent)."""
        body = json.dumps(self._body(messages, model or self.backend.model, temperature, max_tokens)).encode()
        # A connection of its own, not the pool's: the cancel watcher must be able to shut its socket down at
        # any moment, also while the backend has not sent its headers yet (Ollama loading a model).
        conn = self._connection()
        watcher = _CancelWatcher(conn, cancel)
        try:
            response = self._send(conn, body, watcher)
            if response.status != 200:
                raise _status_error(self.backend.url, response)
            parse = _ollama_pieces if self.backend.api == "ollama" else _openai_pieces
            for piece in parse(self.backend.url, _lines(response)):
                if watcher.canceled:
                    raise Canceled()
                if piece:
                    yield piece
        except (urllib3.exceptions.HTTPError, OSError, InferenceError) as exc:
            if watcher.canceled:
                raise Canceled() from None
            if isinstance(exc, InferenceError):
                raise
            raise _transport_error(self.backend.url, exc) from None
        finally:
            watcher.stop()
            conn.close()  # whether read to the end or abandoned mid-answer: the backend stops either way

    def _connection(self):
        url = parse_url(self.backend.url)
        kind = HTTPSConnection if url.scheme == "https" else HTTPConnection
        return kind(url.host, url.port or (443 if url.scheme == "https" else 80),
                    timeout=self.backend.connect_timeout)

    def _send(self, conn, body: bytes, watcher: "_CancelWatcher"):
        """Connect, send the request, wait for the response's headers (the read timeout applies)."""
        conn.connect()
        if watcher.canceled:
            raise Canceled()
        conn.timeout = self.backend.read_timeout  # getresponse() and the body reads use it from here on
        path = (parse_url(self.backend.url).path or "").rstrip("/") + CHAT_PATHS[self.backend.api]
        conn.request("POST", path, body=body, headers=self._headers(), preload_content=False)
        return conn.getresponse()

    def _body(self, messages, model, temperature, max_tokens) -> dict:
        body = {"model": model, "messages": messages, "stream": True}
        if self.backend.api == "ollama":
            options = {k: v for k, v in (("temperature", temperature), ("num_predict", max_tokens)) if v is not None}
            if options:
                body["options"] = options
        else:
            body.update({k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None})
        return body


class _CancelWatcher:
    """Shuts the connection's socket down when `cancel` is set, so a read blocked on a silent backend returns."""

    def __init__(self, conn, cancel: threading.Event | None):
        self._conn, self._cancel, self._done = conn, cancel, threading.Event()
        self.canceled = False
        if cancel is not None:
            threading.Thread(target=self._watch, name="cynode-inference-cancel", daemon=True).start()

    def _watch(self) -> None:
        while not self._done.is_set():
            if self._cancel.wait(0.05):
                self.canceled = True
                sock = self._conn.sock
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                return

    def stop(self) -> None:
        self._done.set()


def _lines(response) -> Iterator[bytes]:
    """The body's lines as they arrive (NDJSON and server-sent events are both line-based)."""
    pending = b""
    for chunk in response.stream(4096, decode_content=True):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


def _ollama_pieces(url: str, lines) -> Iterator[str]:
    for line in lines:
        if not line.strip():
            continue
        item = _json(url, line)
        if item.get("error"):
            raise InferenceError(url, f"the backend reported: {item['error']}")
        yield (item.get("message") or {}).get("content") or ""
        if item.get("done"):
            return
    raise InferenceError(url, "the answer ended before the backend said it was done", transient=True)


def _openai_pieces(url: str, lines) -> Iterator[str]:
    for line in lines:
        line = line.strip()
        if not line.startswith(b"data:"):
            continue  # blank separators, comments (": keep-alive"), event names
        data = line[5:].strip()
        if data == b"[DONE]":
            return
        item = _json(url, data)
        if item.get("error"):
            message = item["error"].get("message") if isinstance(item["error"], dict) else item["error"]
            raise InferenceError(url, f"the backend reported: {message}")
        for choice in item.get("choices") or ():
            yield ((choice.get("delta") or {}).get("content")) or ""
    raise InferenceError(url, "the answer ended without data: [DONE]", transient=True)


def _json(url: str, raw: bytes) -> dict:
    try:
        item = json.loads(raw)
    except ValueError:
        raise InferenceError(url, f"the backend sent something that is not JSON: {raw[:80]!r}") from None
    if not isinstance(item, dict):
        raise InferenceError(url, f"the backend sent an unexpected value: {raw[:80]!r}")
    return item


def _status_error(url: str, response) -> InferenceError:
    """An upstream error status, with the backend's own message when it sent one (Ollama's {"error": "..."},
    OpenAI's {"error": {"message": ...}})."""
    raw = response.read(4096, decode_content=True) or b""
    detail = raw.decode("utf-8", "replace").strip()[:200]
    try:
        error = json.loads(raw).get("error")
        detail = (error.get("message") if isinstance(error, dict) else error) or detail
    except (ValueError, AttributeError):
        pass
    cause = f"HTTP {response.status}" + (f": {detail}" if detail else "")
    return InferenceError(url, cause, status=response.status, transient=response.status >= 500)


def _transport_error(url: str, exc: Exception) -> InferenceError:
    reason = getattr(exc, "reason", None) or exc
    # urllib3's NewConnectionError is also a TimeoutError: a refused connection must be named first
    if isinstance(reason, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError)) \
            and "timed out" not in str(reason).lower():
        return InferenceError(url, "connection refused", transient=True)
    if isinstance(reason, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return InferenceError(url, "timed out waiting for the backend", transient=True, timeout=True)
    return InferenceError(url, f"{type(reason).__name__}: {reason}", transient=True)
