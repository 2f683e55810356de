"""A stand-in for a gateway that misbehaves: answers whatever a test tells it to and records every request.

Only for responses the real server never gives (other error shapes, broken bodies); everything else runs
against the real app.
"""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Canned:
    """The response to give."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"


@dataclass
class FakeGateway:
    """`reply` is the next (and every later) response; `requests` what arrived, in order."""

    reply: Canned = field(default_factory=Canned)
    requests: list = field(default_factory=list)

    def __post_init__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            """Records the request, answers `fake.reply`."""

            protocol_version = "HTTP/1.1"

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                fake.requests.append(Seen(self.command, self.path, dict(self.headers.items()),
                                          self.rfile.read(length)))
                self.send_response(fake.reply.status)
                self.send_header("Content-Type", fake.reply.content_type)
                self.send_header("Content-Length", str(len(fake.reply.body)))
                self.end_headers()
                self.wfile.write(fake.reply.body)

            do_GET = do_POST = _answer

            def log_message(self, *_args):  # pylint: disable=arguments-differ
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-gateway",
                                        daemon=True)
        self._thread.start()

    def answer(self, status: int, body: bytes | str = b"", content_type: str = "application/json") -> None:
        self.reply = Canned(status, body.encode() if isinstance(body, str) else body, content_type)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
