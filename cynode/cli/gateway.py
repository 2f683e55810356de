"""HTTP calls to the User API Gateway. The only urllib3 importer; server errors become CliError."""

import json
from urllib.parse import quote, urlencode, urlsplit

import urllib3

from cynode import __version__
from cynode.cli.exits import CliError, ExitStatus, status_for_http

REQUEST_TIMEOUT = 30.0
ERROR_BODY_LIMIT = 4096


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


class Gateway:
    """One method per route. `auth` supplies the bearer token and may refresh it once after a 401."""

    def __init__(self, url: str, auth=None):
        parts = urlsplit(url if "://" in url else "http://" + url)
        self.url = url
        self.base = f"{parts.scheme}://{parts.netloc}"  # request paths replace any path in the URL
        self.auth = auth
        self.http = urllib3.PoolManager(retries=False, headers={
            "User-Agent": f"cynork/{__version__}", "Accept": "application/json"})

    def call(self, method: str, path: str, *, body=None, query=None, auth=True, timeout=REQUEST_TIMEOUT):
        """Send a request; non-2xx raises CliError with the mapped exit status.

        `auth`: True = the session's token (refreshed once after a 401), False = no token, a string = exactly
        that token.
        """
        response = self._send(method, path, body, query, auth, timeout)
        if auth is True and response.status == 401 and self.auth.refresh():
            response = self._send(method, path, body, query, auth, timeout)
        if not 200 <= response.status < 300:
            detail = _detail(response.data)
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

    def _send(self, method, path, body, query, auth, timeout):
        headers = dict(self.http.headers)  # per-request headers replace the pool's defaults, they do not add to them
        if auth:
            headers["Authorization"] = "Bearer " + (self.auth.token() if auth is True else auth)
        url = self.base + path + ("?" + urlencode(query) if query else "")
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            return self.http.request(method, url, body=payload, headers=headers,
                                     timeout=urllib3.Timeout(total=timeout), redirect=False)
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise CliError(f"cannot reach gateway at {self.url}: {_short(reason)}", ExitStatus.GATEWAY) from None


def _short(reason) -> str:
    """urllib3 wraps the OS error in layers of text; keep the last, human part."""
    text = str(reason)
    return text.rsplit(": ", 1)[-1].strip(" >)'\"") or text
