"""Answering a chat with the configured model, for the chat routes: backend errors as API errors, the answer as
server-sent events, and one stored exchange per request (sizes, outcome, timing; never the content)."""

import json
import logging
import time
import urllib.parse
import uuid

from cynode.inference.client import InferenceError
from cynode.server import audit
from cynode.server.errors import ApiError, openai_code, openai_error_body
from cynode.store.records import ChatExchangeRecord

LOG = logging.getLogger("cynode.chat")
MODEL_FIELD_MAX = 256  # the stored model name (an unknown id a client asked for can be any length)


def not_configured() -> ApiError:
    return ApiError("Inference is not configured: set CYNODE_INFERENCE_URL (and CYNODE_INFERENCE_MODEL) on the "
                    "server", status=503, code="model_unavailable")


def backend_error(exc: InferenceError, request_id: str | None) -> ApiError:
    """504 when the backend stayed silent too long, else 502. The detail names the cause, not the backend's
    address (that goes to the server log); neither ever holds the backend's API key."""
    LOG.warning("chat request_id=%s: %s", request_id, exc)
    if exc.timeout:
        return ApiError("Completion timed out: the inference backend did not answer in time", status=504,
                        code="cynodeai_completion_timeout")
    cause, host = exc.cause.replace(exc.url, "the backend"), urllib.parse.urlsplit(exc.url).hostname
    if host:  # e.g. a name that did not resolve
        cause = cause.replace(host, "the backend")
    return ApiError(f"Completion failed: {cause}", status=502, code="orchestrator_inference_failed")


class Exchange:
    """One chat request: what it asked, how much of the answer went out, and how it ended, stored exactly once.

    As a context manager around the handler: an ApiError (or any other error) leaving the block is recorded as
    the outcome before it propagates. A stream records its own outcome when it ends (EventStream).
    """

    def __init__(self, deps, req, user_id: str, route: str, *, stream: bool = False):
        self.deps, self.user_id, self.route, self.stream = deps, user_id, route, stream
        self.request_id = req.environ.get("cynode.request_id")
        self.audit_facts = audit.who(deps, req)
        self.started = time.perf_counter()
        self.model = deps.settings.inference_model
        self.messages: list[dict] = []
        self.answer_bytes = self.answer_chars = 0
        self._recorded = False

    def __enter__(self) -> "Exchange":
        return self

    def __exit__(self, kind, error, _traceback) -> None:
        if isinstance(error, ApiError):
            self.finish("timeout" if error.status == 504 else "error", openai_code(error.status, error.code))
        elif error is not None:
            self.finish("error", "internal_error")

    def asked(self, messages: list, model: str) -> None:
        self.messages, self.model = messages, model[:MODEL_FIELD_MAX]

    def answered(self, piece: str) -> str:
        """Count a piece of the answer; returns it as valid Unicode (a lone surrogate, which a backend can send
        as a JSON escape, becomes `?`, so the response can always be encoded)."""
        try:
            raw = piece.encode("utf-8")
        except UnicodeEncodeError:
            raw = piece.encode("utf-8", "replace")
            piece = raw.decode("utf-8")
        self.answer_chars += len(piece)
        self.answer_bytes += len(raw)
        return piece

    def finish(self, outcome: str, error_code: str | None = None) -> None:
        """Store the exchange (once). A failure to store is logged: the answer has gone out already."""
        if self._recorded:
            return
        self._recorded = True
        contents = [m["content"] for m in self.messages if isinstance(m, dict) and isinstance(m.get("content"), str)]
        record = ChatExchangeRecord(
            user_id=self.user_id, route=self.route, model=self.model, stream=self.stream,
            message_count=len(self.messages), request_bytes=sum(len(c.encode("utf-8")) for c in contents),
            request_chars=sum(len(c) for c in contents), response_bytes=self.answer_bytes,
            response_chars=self.answer_chars, outcome=outcome, error_code=error_code,
            duration_ms=round((time.perf_counter() - self.started) * 1000), request_id=self.request_id)
        try:
            self.deps.store.record_chat_exchange(record)
        except Exception:  # pylint: disable=broad-exception-caught  # a lost record must not turn into a 500
            LOG.exception("chat exchange not stored request_id=%s", self.request_id)
        details = {"outcome": outcome, "route": self.route, "duration_ms": record.duration_ms}
        if error_code:
            details["error_code"] = error_code
        audit.record(self.deps, self.audit_facts, "chat.completion", "chat", success=outcome == "success",
                     details=details)

    def answer(self, pieces) -> str:
        """The whole answer from `pieces` (backend errors become API errors, recorded by __exit__)."""
        received = []
        try:
            for piece in pieces:
                received.append(self.answered(piece))
        except InferenceError as exc:
            raise backend_error(exc, self.request_id) from None
        finally:
            pieces.close()
        return "".join(received)

    def first_piece(self, pieces) -> str:
        """The answer's first piece ("" for an empty answer): a backend that fails before it is an HTTP error."""
        try:
            return next(pieces, "")
        except InferenceError as exc:
            pieces.close()
            raise backend_error(exc, self.request_id) from None


class EventStream:
    """The answer as OpenAI `chat.completion.chunk` server-sent events, ending with `data: [DONE]`.

    Each piece is sent as the backend yields it. Closing the stream (the WSGI server does when the answer is
    sent, or when the client went away) closes the backend's answer too, which closes the upstream connection,
    and stores the exchange: success, error (a failure mid-answer, sent as an error event), or canceled.
    """

    def __init__(self, exchange: Exchange, pieces, first: str):
        self._exchange, self._pieces, self._first = exchange, pieces, first
        self._id, self._created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        self._outcome, self._code = "canceled", None
        self._events = self._generate()

    def __iter__(self) -> "EventStream":
        return self

    def __next__(self) -> bytes:
        return next(self._events)

    def close(self) -> None:
        self._events.close()
        self._pieces.close()
        self._exchange.finish(self._outcome, self._code)

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> bytes:
        chunk = {"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                 "model": self._exchange.model, "choices": [{"index": 0, "delta": delta,
                                                             "finish_reason": finish_reason}]}
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def _generate(self):
        yield self._chunk({"role": "assistant", "content": self._exchange.answered(self._first)})
        try:
            for piece in self._pieces:
                yield self._chunk({"content": self._exchange.answered(piece)})
        except InferenceError as exc:
            error = backend_error(exc, self._exchange.request_id)
            self._outcome = "timeout" if error.status == 504 else "error"
            self._code = error.code
            yield b"data: " + openai_error_body(error.status, error.detail, error.code).encode() + b"\n\n"
            return
        yield self._chunk({}, "stop")
        self._outcome = "success"
        yield b"data: [DONE]\n\n"
