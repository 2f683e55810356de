"""A fake inference server speaking the real wire formats of Ollama (/api/chat, /api/tags, NDJSON streaming) and
of OpenAI-compatible servers (/v1/chat/completions, /v1/models, server-sent events), for tests only: the one
external service cynode talks to that the tests cannot run for real.

It answers `echo: <last user message>` word by word. Directives in the last user message change that:
  [[tokens N]]    answer N words ("w0 w1 ..."), for timing a long answer
  [[slow S]]      wait S seconds before each word
  [[silent S]]    send nothing at all for S seconds first (a backend that stalls)
  [[error NNN]]   answer HTTP NNN with the API's error body
  [[break]]       send two words, then an error inside the stream
  [[cut]]         send two words, then end the body without saying the answer is done
  [[garbage]]     send a line that is not JSON (or, with [[array]], a JSON array) as the first piece
  [[html NNN]]    answer HTTP NNN with an HTML page, as a proxy in front of a backend would
It records every request and every client that went away mid-answer (`disconnects`), so a test can see that
a cancel really closed the upstream connection.
"""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIRECTIVE = re.compile(r"\[\[(tokens|slow|silent|error|break|cut|garbage|array|html)\s*([\d.]*)\]\]")
CREATED = 1_700_000_000


class FakeInference:
    """`with FakeInference(model="m") as fake:` serves on fake.url until the block ends."""

    def __init__(self, model: str = "fake-model", api_key: str | None = None, delay: float = 0.0):
        self.model, self.api_key, self.delay = model, api_key, delay
        self.requests: list[dict] = []  # {"path", "body", "authorization"}
        self.disconnects = 0
        self.disconnected = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"fake": self}))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-inference",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FakeInference":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, item: dict) -> None:
        with self._lock:
            self.requests.append(item)

    def went_away(self) -> None:
        with self._lock:
            self.disconnects += 1
        self.disconnected.set()


def plan(messages: list) -> dict:
    """What to answer for this conversation: the words, the pauses, and any error."""
    last = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
    found = {name: float(value or 0) for name, value in DIRECTIVE.findall(last)}
    text = DIRECTIVE.sub("", last).strip()
    if "tokens" in found:
        words = [f"w{n}" for n in range(int(found["tokens"]))]
    else:
        words = f"echo: {text}".split(" ")
    pieces = [word if n == 0 else " " + word for n, word in enumerate(words)]
    return {"pieces": pieces, "slow": found.get("slow"), "silent": found.get("silent", 0),
            "error": int(found["error"]) if "error" in found else None, "break": "break" in found,
            "cut": "cut" in found, "html": int(found["html"]) if "html" in found else None,
            "garbage": b"[1, 2]" if "array" in found else b"not json" if "garbage" in found else None}


class _Handler(BaseHTTPRequestHandler):
    """One request; the API is chosen by the path, as a real server of each kind would serve it."""

    protocol_version = "HTTP/1.1"
    fake: FakeInference  # set by FakeInference on its own subclass

    def log_message(self, *_args) -> None:  # the tests' output stays clean
        return

    def do_GET(self) -> None:  # pylint: disable=invalid-name  # http.server's naming
        if self.path == "/api/tags":
            self._json(200, {"models": [{"name": self.fake.model, "model": self.fake.model, "size": 1,
                                         "digest": "0" * 64, "modified_at": "2026-01-01T00:00:00Z"}]})
        elif self.path == "/api/version":
            self._json(200, {"version": "0.0.0-fake"})
        elif self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": self.fake.model, "object": "model",
                                                         "created": CREATED, "owned_by": "fake"}]})
        else:
            self._json(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:  # pylint: disable=invalid-name
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.fake.record({"path": self.path, "body": body, "authorization": self.headers.get("Authorization")})
        openai = self.path == "/v1/chat/completions"
        if self.path not in ("/api/chat", "/v1/chat/completions"):
            self._json(404, {"error": f"no route {self.path}"})
            return
        if self.fake.api_key and self.headers.get("Authorization") != f"Bearer {self.fake.api_key}":
            self._error(openai, 401, "invalid api key")
            return
        answer = plan(body.get("messages") or [])
        if answer["error"]:
            self._error(openai, answer["error"], f"fake failure {answer['error']}")
            return
        if answer["html"]:
            self._raw(answer["html"], "text/html", b"<html><body>Bad Gateway</body></html>")
            return
        time.sleep(answer["silent"])
        try:
            if body.get("stream", not openai):  # Ollama streams unless told not to; OpenAI only when asked
                self._stream(openai, body, answer)
            else:
                self._whole(openai, body, answer)
        except (BrokenPipeError, ConnectionResetError):
            self.fake.went_away()

    def _wait(self, answer) -> None:
        pause = answer["slow"] if answer["slow"] is not None else self.fake.delay
        if pause:
            time.sleep(pause)

    def _stream(self, openai: bool, body: dict, answer: dict) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if openai else "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        model = body.get("model") or self.fake.model
        if openai:
            self._chunk(b": keep-alive\n\n")  # SSE comments, as some servers send: not events
        if answer["garbage"]:
            self._chunk(b"data: " + answer["garbage"] + b"\n\n" if openai else answer["garbage"] + b"\n")
            self._chunk(b"")
            return
        for number, piece in enumerate(answer["pieces"]):
            self._wait(answer)
            if answer["cut"] and number == 2:
                break
            if answer["break"] and number == 2:
                error = {"error": {"message": "fake stream failure"}} if openai else {
                    "error": "fake stream failure"}
                self._chunk(_event(openai, error))
                break
            self._chunk(_event(openai, _openai_chunk(model, piece) if openai else _ollama_chunk(model, piece)))
        else:
            done = {"model": model, "message": {"role": "assistant", "content": ""}, "done": True,
                    "done_reason": "stop", "created_at": "2026-01-01T00:00:00Z"}
            self._chunk(b"data: [DONE]\n\n" if openai else json.dumps(done).encode() + b"\n")
        self._chunk(b"")

    def _whole(self, openai: bool, body: dict, answer: dict) -> None:
        for _ in answer["pieces"]:
            self._wait(answer)
        text, model = "".join(answer["pieces"]), body.get("model") or self.fake.model
        if openai:
            self._json(200, {"id": "chatcmpl-fake", "object": "chat.completion", "created": CREATED,
                             "model": model, "choices": [{"index": 0, "finish_reason": "stop",
                                                          "message": {"role": "assistant", "content": text}}]})
        else:
            self._json(200, {"model": model, "created_at": "2026-01-01T00:00:00Z", "done": True,
                             "done_reason": "stop", "message": {"role": "assistant", "content": text}})

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _error(self, openai: bool, status: int, message: str) -> None:
        self._json(status, {"error": {"message": message, "type": "fake_error", "code": status}} if openai
                   else {"error": message})

    def _json(self, status: int, data: dict) -> None:
        self._raw(status, "application/json", json.dumps(data).encode())

    def _raw(self, status: int, content_type: str, raw: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def _event(openai: bool, data: dict) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n" if openai else json.dumps(data).encode() + b"\n"


def _openai_chunk(model: str, piece: str) -> dict:
    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}]}


def _ollama_chunk(model: str, piece: str) -> dict:
    return {"model": model, "created_at": "2026-01-01T00:00:00Z", "message": {"role": "assistant",
                                                                          "content": piece}, "done": False}
