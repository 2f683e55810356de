"""API errors carry their HTTP status; one renderer turns every error into an RFC 7807 problem body."""

import json

from cynode.contract import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES


class ApiError(Exception):
    """Raised anywhere in a request; rendered by the app's error plugin. `code` names the error on the OpenAI
    routes (spec/gateway.md §8.2); without one, the status decides it (OPENAI_CODES)."""

    status = 500

    def __init__(self, detail: str, *, status: int | None = None, headers: dict | None = None,
                 code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.headers = headers or {}
        self.code = code


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


# The OpenAI surface's error codes per status (spec/gateway.md §8.2), when the error names none of its own.
OPENAI_CODES = {
    400: "invalid_request", 401: "invalid_api_key", 404: "not_found", 405: "method_not_allowed",
    408: "request_canceled", 413: "payload_too_large", 500: "internal_error", 502: "orchestrator_inference_failed",
    503: "model_unavailable", 504: "cynodeai_completion_timeout",
}
OPENAI_ERROR_TYPE = "cynodeai_error"


def openai_code(status: int, code: str | None = None) -> str:
    """An error's code: its own, else the one for its status."""
    return code or OPENAI_CODES.get(status, "internal_error" if status >= 500 else "invalid_request")


def openai_error_body(status: int, message: str | None, code: str | None = None) -> str:
    """The OpenAI-compatible error body: {"error": {"message", "type", "param": null, "code"}}."""
    code = openai_code(status, code)
    return json.dumps({"error": {"message": message or code, "type": OPENAI_ERROR_TYPE, "param": None,
                                 "code": code}})


def problem_type(status: int) -> tuple[str, str]:
    """(type, title) of a problem with this status; statuses without their own row take 500's or 400's."""
    return PROBLEM_TYPES.get(status, PROBLEM_TYPES[500 if status >= 500 else 400])


def problem_body(status: int, detail: str | None, instance: str | None = None) -> str:
    kind, title = problem_type(status)
    body = {"type": kind, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    return json.dumps(body)


__all__ = ["ApiError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "PayloadTooLarge",
           "TooManyRequests", "problem_body", "problem_type", "openai_error_body", "openai_code",
           "PROBLEM_CONTENT_TYPE"]
