"""The WSGI application: routes, error rendering, body limit, request log. The only bottle importer."""

import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_to_bytes

import bottle

from cynode.contract import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS
from cynode.server.audit import record_denial
from cynode.server.deps import Reply
from cynode.server.errors import PROBLEM_CONTENT_TYPE, ApiError, openai_error_body, problem_body, problem_type
from cynode.server.jsonio import text_problem
from cynode.server import routes
from cynode.server.routes import chat as chat_routes
from cynode.store.database import DatabaseUnavailable

LOG = logging.getLogger("cynode.http")
DATABASE_RETRY_SECONDS = 5  # Retry-After while the database is away: the server reconnects by itself
ROUTE_MODULES = routes.modules()

bottle.BaseRequest.MEMFILE_MAX = 1024 * 1024  # bodies above 1 MiB spool to a temp file instead of memory


def _render(result):
    """Turn a handler's return value into the bottle response body."""
    reply = result if isinstance(result, Reply) else Reply(200, result)
    bottle.response.status = reply.status
    for name, value in reply.headers.items():
        bottle.response.set_header(name, value)
    if reply.body is None:
        return b""
    if isinstance(reply.body, Path):  # a stored file: streamed, never read into memory
        bottle.response.set_header("Content-Length", str(reply.body.stat().st_size))
        return open(reply.body, "rb")  # pylint: disable=consider-using-with  # the WSGI server closes it
    if isinstance(reply.body, (bytes, str)):
        return reply.body
    if isinstance(reply.body, Iterator):  # a stream (server-sent events): each piece goes out as it is yielded
        return reply.body
    bottle.response.content_type = "application/json"
    return json.dumps(reply.body, ensure_ascii=False)


def _problem(status: int, detail: str | None, headers: dict | None = None, code: str | None = None) -> str:
    """An error response: problem+json, or on the OpenAI-compatible routes OpenAI's error object (every error
    there, 401 included, so an OpenAI client always finds `error.message`; spec/gateway.md §8.2)."""
    bottle.response.status = status
    for name, value in (headers or {}).items():
        bottle.response.set_header(name, value)
    if bottle.request.path in chat_routes.OPENAI_PATHS:
        bottle.response.content_type = "application/json"
        return openai_error_body(status, detail, code)
    bottle.response.content_type = PROBLEM_CONTENT_TYPE
    return problem_body(status, detail, bottle.request.environ.get("cynode.request_id"))


def _bind(deps, handler):
    """Adapt `handler(deps, req, **params)` to a bottle callback that renders results and errors."""

    def callback(**params):
        try:
            return _render(handler(deps, bottle.request, **params))
        except ApiError as exc:
            if exc.status == 403:
                record_denial(deps, bottle.request, exc.detail, params)
            return _problem(exc.status, exc.detail, exc.headers, exc.code)
        except bottle.HTTPError as exc:  # e.g. bottle's parser on a malformed multipart body (400)
            return _problem(exc.status_code, str(exc.body or ""))
        except DatabaseUnavailable as exc:  # an outage, not a bug: one line, no traceback, and a 503 to retry
            LOG.warning("database unavailable request_id=%s: %s", bottle.request.environ.get("cynode.request_id"),
                        exc)
            return _problem(503, "database unavailable", {"Retry-After": str(DATABASE_RETRY_SECONDS)},
                            "database_unavailable")
        except Exception:  # pylint: disable=broad-exception-caught  # last line: a 500, never a traceback out
            LOG.exception("unhandled error request_id=%s", bottle.request.environ.get("cynode.request_id"))
            return _problem(500, "Internal server error")

    return callback


def _router_error(error: bottle.HTTPError) -> str:
    """404/405 (and 413 from the body check) from the router, as problem+json."""
    detail = {404: "Not found", 405: "Method not allowed"}.get(error.status_code, str(error.body or ""))
    return _problem(error.status_code, detail)


def upload_limit(json_limit: int) -> int:
    """Multipart bodies (task attachments) may carry 16 x 10 MiB files plus the JSON part."""
    return MAX_ATTACHMENTS * MAX_ATTACHMENT_BYTES + json_limit


def make_app(deps) -> "RequestLog":
    app = bottle.Bottle()
    app.config["json.enable"] = False  # handlers' dicts are rendered by _render, with our content types
    for module in ROUTE_MODULES:
        for method, path, handler in module.ROUTES:
            app.route(path, method, _bind(deps, handler))
    app.default_error_handler = _router_error
    json_limit = deps.settings.max_body_bytes

    @app.hook("before_request")
    def _check_request():
        limit = upload_limit(json_limit) if bottle.request.content_type.startswith("multipart/") else json_limit
        if bottle.request.content_length > limit:
            raise bottle.HTTPError(413, f"request body exceeds {limit} bytes")
        problem = url_problem(bottle.request.environ)
        if problem:
            raise bottle.HTTPError(400, problem)

    return RequestLog(app, deps.store.release)


def url_problem(environ) -> str | None:
    """Why the path or query string cannot be taken as text (not UTF-8, or holding NUL), or None.

    bottle would drop bytes that are not UTF-8 from the path (`/v1/tasks/ab%FFcd` naming task `abcd`) and pass
    NUL on to the database; both are a 400 instead.
    """
    path = environ.get("bottle.raw_path", environ.get("PATH_INFO", "")).encode("latin-1", "replace")
    query = unquote_to_bytes(environ.get("QUERY_STRING", "").replace("+", " "))
    for what, raw in (("path", path), ("query string", query)):
        try:
            problem = text_problem(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problem = "text must be UTF-8"
        if problem:
            return f"Invalid {what}: {problem}"
    return None


def log_text(text: str) -> str:
    """`text` for one log line: control characters, other non-printables, whitespace and backslashes escaped
    (`\\x0a`, `\\u2028`), so nothing a client sends can end the line, add fields or hide text. A byte that is
    not UTF-8 (decoded with surrogateescape) shows as `\\xNN`."""
    if text.isprintable() and " " not in text and "\\" not in text:
        return text
    return "".join(_escape(c) if not c.isprintable() or c.isspace() or c == "\\" else c for c in text)


def log_message(text: str) -> str:
    """Free text for the log (a message of the HTTP server's, holding a path): non-printables escaped, as in
    log_text, but spaces kept."""
    return text if text.isprintable() else "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def log_path(raw: str) -> str:
    """A WSGI path (the request's bytes as latin-1) as UTF-8 text for the log, escaped."""
    return log_text(raw.encode("latin-1", "replace").decode("utf-8", "surrogateescape"))


def log_request(method, path: str, status, started: float, user, request_id: str) -> None:
    """The one request-log line (spec/gateway.md §1); every field a client influences is escaped."""
    LOG.info("method=%s path=%s status=%s ms=%.1f user=%s request_id=%s", log_text(str(method)), log_path(path),
             status, (time.perf_counter() - started) * 1000, log_text(str(user)), request_id)


def server_problem(status: int, detail: str, method, path) -> tuple[str, list, bytes]:
    """(status line, headers, body) for an error the HTTP server answers itself, before the app sees the request
    (waitress: a body over its limit, an unparsable request); logged like every request."""
    started, request_id = time.perf_counter(), uuid.uuid4().hex
    title = problem_type(status)[1]
    body = problem_body(status, detail, request_id).encode()
    log_request(method or "-", path or "-", status, started, "-", request_id)
    return f"{status} {title}", [("Content-Type", PROBLEM_CONTENT_TYPE), ("X-Request-Id", request_id)], body


class RequestLog:
    """WSGI wrapper: a request id for every request and one log line for it (never bodies or tokens), written
    when the server closes the response body, so a streamed answer is logged with its whole duration. Then
    `release()` (the store's): the thread's database connection goes back to the pool."""

    def __init__(self, app, release=lambda: None):
        self.app = app
        self.release = release

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        environ["cynode.request_id"] = request_id = uuid.uuid4().hex
        status_holder = []

        def recording_start_response(status, headers, exc_info=None):
            status_holder.append(status.split(" ", 1)[0])
            return start_response(status, headers + [("X-Request-Id", request_id)], exc_info)

        def log() -> None:  # bottle keeps the request's own path bytes in bottle.raw_path (PATH_INFO it re-decodes)
            try:
                log_request(environ.get("REQUEST_METHOD"), environ.get("bottle.raw_path", environ.get("PATH_INFO", "")),
                            status_holder[0] if status_holder else "-", started, environ.get("cynode.user_id", "-"),
                            request_id)
            finally:
                self.release()

        try:
            body = self.app(environ, recording_start_response)
        except BaseException:
            log()
            raise
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(body, file_wrapper):
            log()  # a file the server sends by itself (waitress): it closes the file, not the app's iterable
            return body
        return (_LoggedSizedBody if hasattr(body, "__len__") else _LoggedBody)(body, log)


class _LoggedBody:
    """A response body that writes the request's log line once, when the server closes it (PEP 3333: a server
    always calls close(), however the response ended: sent, failed, or the client gone)."""

    def __init__(self, body, log):
        self._body, self._log = body, log

    def __iter__(self):
        return iter(self._body)

    def close(self) -> None:
        log, self._log = self._log, None
        try:
            getattr(self._body, "close", lambda: None)()
        finally:
            if log:
                log()


class _LoggedSizedBody(_LoggedBody):
    """The same for a body of known length (bottle's one-item list), so the server may still use its length."""

    def __len__(self):
        return len(self._body)
