"""API errors carry their HTTP status; one renderer turns every error into an RFC 7807 problem body."""

import json

from cynode.contract import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES


class ApiError(Exception):
    """Raised anywhere in a request; rendered by the app's error plugin."""

    status = 500

    def __init__(self, detail: str, *, status: int | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.headers = headers or {}


class BadRequest(ApiError):
    """400: the request is malformed or a field is invalid."""

    status = 400


class Unauthorized(ApiError):
    """401: no valid credentials."""

    status = 401


class Forbidden(ApiError):
    """403: authenticated, but not allowed."""

    status = 403


class NotFound(ApiError):
    """404."""

    status = 404


class Conflict(ApiError):
    """409: the state does not allow it (a taken name, a finished task)."""

    status = 409


class PayloadTooLarge(ApiError):
    """413."""

    status = 413


class TooManyRequests(ApiError):
    """429, with Retry-After."""

    status = 429

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def problem_body(status: int, detail: str | None, instance: str | None = None) -> str:
    kind, title = PROBLEM_TYPES.get(status, PROBLEM_TYPES[500] if status >= 500 else PROBLEM_TYPES[400])
    body = {"type": kind, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    return json.dumps(body)


__all__ = ["ApiError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "PayloadTooLarge",
           "TooManyRequests", "problem_body", "PROBLEM_CONTENT_TYPE"]
