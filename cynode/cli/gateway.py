"""HTTP calls to the User API Gateway. The only urllib3 importer; server errors become CliError."""

import json
from urllib.parse import quote, urlencode, urlsplit

import urllib3

from cynode import __version__
from cynode.cli.exits import CliError, ExitStatus, status_for_http

REQUEST_TIMEOUT = 30.0
ERROR_BODY_LIMIT = 4096
STREAM_PIECE = 8192


def segment(value: str) -> str:
    """A user-supplied path segment, percent-encoded."""
    return quote(value, safe="")


def _detail(body: bytes) -> str | None:
    """The human part of an error body: problem `detail`, an `error` string, or OpenAI's `error.message`."""
    try:
        data = json.loads(body[:ERROR_BODY_LIMIT])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("detail"), str):
        return data["detail"]
    error = data.get("error")
    if isinstance(error, str):
        return error + (f" (category={data['category']})" if "category" in data else "")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    return None


class Raw:
    """A request body that is not JSON: its headers (Content-Type, Content-Length) and a function giving the
    content, bytes or an iterable of byte chunks sent as they are produced (so big uploads stream from disk)."""

    def __init__(self, headers: dict, content):
        self.headers = headers
        self.content = content


class Gateway:
    """One method per route. `auth` supplies the bearer token and may refresh it once after a 401."""

    def __init__(self, url: str, auth=None):
        parts = urlsplit(url if "://" in url else "http://" + url)
        self.url = url
        self.base = f"{parts.scheme}://{parts.netloc}"  # request paths replace any path in the URL
        self.auth = auth
        self.http = urllib3.PoolManager(retries=False, headers={
            "User-Agent": f"cynork/{__version__}", "Accept": "application/json"})

    def call(self, method: str, path: str, *, body=None, query=None, auth=True, timeout=REQUEST_TIMEOUT,
             stream=False):
        """Send a request; non-2xx raises CliError with the mapped exit status.

        `auth`: True = the session's token (refreshed once after a 401), False = no token, a string = exactly
        that token. `body` is sent as JSON, unless it is a Raw body. With `stream`, the 2xx response is
        returned unread: read it with `.stream()`/`.read()`, then `.release_conn()`.
        """
        request = {"method": method, "url": self.base + path + ("?" + urlencode(query) if query else ""),
                   "body": body, "timeout": timeout, "stream": stream}
        response = self._send(request, auth)
        if auth is True and response.status == 401 and self.auth.refresh():
            response.drain_conn()
            response = self._send(request, auth)
        if not 200 <= response.status < 300:
            detail = _detail(response.read(ERROR_BODY_LIMIT) if stream else response.data)
            if stream:
                response.release_conn()
            message = f"{response.status} {response.reason or ''}".strip() + (f": {detail}" if detail else "")
            raise CliError(message, status_for_http(response.status))
        return response

    def json(self, method: str, path: str, **kwargs):
        response = self.call(method, path, **kwargs)
        if response.status == 204:
            return None  # an empty 200 where JSON is expected is unreadable, like any other non-JSON body
        try:
            return json.loads(response.data)
        except ValueError:
            raise CliError(f"gateway sent an unreadable response to {method} {path}", ExitStatus.GATEWAY) from None

    def _send(self, request: dict, auth):
        headers = dict(self.http.headers)  # per-request headers replace the pool's defaults, they do not add to them
        if auth:
            headers["Authorization"] = "Bearer " + (self.auth.token() if auth is True else auth)
        payload = None
        if isinstance(request["body"], Raw):
            headers.update(request["body"].headers)
            payload = request["body"].content()  # called per send: a retry after a refresh sends it all again
        elif request["body"] is not None:
            payload = json.dumps(request["body"]).encode()
            headers["Content-Type"] = "application/json"
        timeout, stream = request["timeout"], request["stream"]
        # A stream has no total deadline (a chat may think for minutes): each read waits at most `timeout`.
        limit = urllib3.Timeout(connect=timeout, read=timeout) if stream else urllib3.Timeout(total=timeout)
        try:
            return self.http.request(request["method"], request["url"], body=payload, headers=headers,
                                     timeout=limit, redirect=False, preload_content=not stream)
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise CliError(f"cannot reach gateway at {self.url}: {_short(reason)}", ExitStatus.GATEWAY) from None


def pieces(response, what: str):
    """The body of a streamed 2xx response (`what` it is, for errors), each piece as soon as it arrives (read1: a
    piece is never held back to fill a buffer). A lost connection, a silent gateway or a body shorter than its
    Content-Length is exit 7. The connection is closed when the reader is done, stops early or is interrupted,
    so nothing half-read reaches a later request and the gateway sees the client go."""
    try:
        while piece := response.read1(STREAM_PIECE):
            yield piece
    except urllib3.exceptions.ReadTimeoutError:
        raise CliError(f"the gateway stopped sending in the middle of {what}", ExitStatus.GATEWAY) from None
    except (urllib3.exceptions.HTTPError, OSError):
        raise CliError(f"the connection to the gateway broke in the middle of {what}", ExitStatus.GATEWAY) from None
    finally:
        response.close()


def _short(reason) -> str:
    """urllib3 wraps the OS error in layers of text; keep the last, human part."""
    text = str(reason)
    return text.rsplit(": ", 1)[-1].strip(" >)'\"") or text
