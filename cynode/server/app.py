"""The WSGI application: routes, error rendering, body limit, request log. The only bottle importer."""

import json
import logging
import time
import uuid
from pathlib import Path

import bottle

from cynode.contract import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS
from cynode.server.deps import Reply
from cynode.server.errors import PROBLEM_CONTENT_TYPE, ApiError, problem_body
from cynode.server.routes import auth as auth_routes
from cynode.server.routes import health as health_routes
from cynode.server.routes import tasks as task_routes
from cynode.server.routes import users as users_routes

LOG = logging.getLogger("cynode.http")
ROUTE_MODULES = (health_routes, auth_routes, users_routes, task_routes)

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
    bottle.response.content_type = "application/json"
    return json.dumps(reply.body, ensure_ascii=False)


def _problem(status: int, detail: str | None, headers: dict | None = None) -> str:
    bottle.response.status = status
    for name, value in (headers or {}).items():
        bottle.response.set_header(name, value)
    bottle.response.content_type = PROBLEM_CONTENT_TYPE
    return problem_body(status, detail, bottle.request.environ.get("cynode.request_id"))


def _bind(deps, handler):
    """Adapt `handler(deps, req, **params)` to a bottle callback that renders results and errors."""

    def callback(**params):
        try:
            return _render(handler(deps, bottle.request, **params))
        except ApiError as exc:
            return _problem(exc.status, exc.detail, exc.headers)
        except bottle.HTTPError as exc:  # e.g. bottle's parser on a malformed multipart body (400)
            return _problem(exc.status_code, str(exc.body or ""))
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
    def _body_limit():
        limit = upload_limit(json_limit) if bottle.request.content_type.startswith("multipart/") else json_limit
        if bottle.request.content_length > limit:
            raise bottle.HTTPError(413, f"request body exceeds {limit} bytes")

    return RequestLog(app)


class RequestLog:
    """WSGI wrapper: a request id for every request and one log line for it (never bodies or tokens)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        environ["cynode.request_id"] = request_id = uuid.uuid4().hex
        status_holder = []

        def recording_start_response(status, headers, exc_info=None):
            status_holder.append(status.split(" ", 1)[0])
            return start_response(status, headers + [("X-Request-Id", request_id)], exc_info)

        try:
            return self.app(environ, recording_start_response)
        finally:
            LOG.info("method=%s path=%s status=%s ms=%.1f user=%s request_id=%s", environ.get("REQUEST_METHOD"),
                     environ.get("PATH_INFO"), status_holder[0] if status_holder else "-",
                     (time.perf_counter() - started) * 1000, environ.get("cynode.user_id", "-"), request_id)
