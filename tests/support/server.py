"""The real gateway, in process: the app over a real SQLite store, called as WSGI or served by waitress in a thread.

Nothing of ours is replaced. Accounts are created through the store with one password hash computed once per
run, and sessions are opened through the store too, so tests pay for scrypt only where they test a login.
The store binds the peewee models globally: at most one Backend may be open at a time, close it when done.
"""

import functools
import io
import json
import threading
import wsgiref.util
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from cynode.dispatch.workspace import Workspace
from cynode.secretbox import SecretBox
from cynode.server.app import make_app, upload_limit
from cynode.server.deps import Deps
from cynode.server.security import hash_password, new_token, token_hash
from cynode.server.serve import create_server
from cynode.settings import resolve
from cynode.store.store import Store

PASSWORD = "correct-horse-9"  # every account made here has this password


@functools.cache
def password_hash() -> str:
    """PASSWORD's scrypt hash, computed once per test run (~0.3 s)."""
    return hash_password(PASSWORD)


def make_settings(data_dir, **overrides):
    """Settings as `cynode serve` resolves them, for a server on a free port that runs no jobs."""
    return resolve({"listen": "127.0.0.1:0", "data_dir": str(data_dir), "workers": 0, **overrides}, environ={})


@dataclass(frozen=True)
class Tokens:
    """A login's token pair."""

    access: str
    refresh: str


@dataclass
class Response:
    """One WSGI exchange."""

    status: int
    headers: dict
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def json(self):
        return json.loads(self.body)


class Backend:
    """Settings, a migrated SQLite store with an `admin`, the workspace, and the WSGI app over them; `inference`
    is the chat routes' inference Client (None: not configured)."""

    def __init__(self, data_dir, inference=None, **settings):
        self.settings = make_settings(data_dir, **settings)
        self.store = Store(self.settings.database)
        self.store.migrate()
        self.workspace = Workspace(self.settings.data_dir)
        self.workspace.prepare()
        self.admin = self.store.create_user("admin", password_hash(), is_admin=True)
        self.secretbox = SecretBox.load(self.settings.data_dir, self.settings.credentials_key)
        self.deps = Deps(self.settings, self.store, self.workspace, inference=inference, secretbox=self.secretbox)
        self.app = make_app(self.deps)

    def add_user(self, handle: str, *, admin: bool = False):
        return self.store.create_user(handle, password_hash(), is_admin=admin)

    def session(self, user=None) -> Tokens:
        """A fresh login for `user` (default: admin), opened directly in the store."""
        tokens = Tokens(new_token(), new_token())
        self.store.create_session((user or self.admin).id, token_hash(tokens.access), token_hash(tokens.refresh),
                                  self.settings.access_token_ttl, self.settings.refresh_token_ttl)
        return tokens

    def call(self, method: str, path: str, **kwargs) -> Response:
        return call(self.app, method, path, **kwargs)

    def close(self) -> None:
        self.store.close()


def call(app, method: str, path: str, *, body=None, token: str | None = None, headers: dict | None = None,
         remote_addr: str = "127.0.0.1") -> Response:
    """Call a WSGI app as a server would. A dict body is sent as JSON; bytes or str as they are."""
    environ = _environ(method, path, body, headers or {}, remote_addr)
    if token:
        environ["HTTP_AUTHORIZATION"] = "Bearer " + token
    captured = {}

    def start_response(status, response_headers, exc_info=None):  # pylint: disable=unused-argument
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = {name.lower(): value for name, value in response_headers}

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return Response(captured["status"], captured["headers"], data)


def _environ(method, path, body, headers, remote_addr) -> dict:
    parts = urlsplit(path)
    if isinstance(body, dict):
        body = json.dumps(body)
        headers = {"Content-Type": "application/json", **headers}
    data = body.encode() if isinstance(body, str) else (body or b"")
    # PEP 3333: PATH_INFO is the percent-decoded path, its bytes as latin-1 (as waitress passes it)
    environ = {"REQUEST_METHOD": method, "PATH_INFO": unquote(parts.path, encoding="latin-1"),
               "QUERY_STRING": parts.query,
               "REMOTE_ADDR": remote_addr, "CONTENT_LENGTH": str(len(data)), "wsgi.input": io.BytesIO(data)}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    wsgiref.util.setup_testing_defaults(environ)
    return environ


class LiveServer(Backend):
    """The Backend's app served by waitress on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, data_dir, inference=None, **settings):
        super().__init__(data_dir, inference, **settings)
        self._map = {}
        self.server = create_server(  # as cynode.server.serve.run() does, on a free port
            self.app, "127.0.0.1", 0, 4, upload_limit(self.settings.max_body_bytes), socket_map=self._map)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._thread = threading.Thread(target=self._serve, name="test-gateway", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.server.run()  # returns once every channel in the map is closed
        self.server.task_dispatcher.shutdown()

    def close(self) -> None:
        from waitress import wasyncore  # pylint: disable=import-outside-toplevel

        # Close the sockets from inside the loop thread (the trigger runs the callback there); the loop then ends.
        # A loop that already ended has closed its trigger (seen once in CI as EBADF in a teardown): nothing to stop.
        if self._thread.is_alive():
            try:
                self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self._map))
            except OSError:
                pass
            self._thread.join(timeout=10)
        super().close()
