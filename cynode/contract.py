"""What the client and the server share. Standard library only: the CLI imports this on every start."""

import datetime
import re
from enum import Enum

DEFAULT_PORT = 8080
DEFAULT_GATEWAY_URL = f"http://localhost:{DEFAULT_PORT}"

def rfc3339(moment) -> str | None:
    """A timestamp as the API writes it (spec/gateway.md §1): UTC, second precision, `Z` suffix; None stays None."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


_HOUR, _MINUTE = r"([01]\d|2[0-3])", r"([0-5]\d)"
_RFC3339 = re.compile(rf"(\d{{4}})-(\d\d)-(\d\d)[Tt]{_HOUR}:{_MINUTE}:([0-5]\d|60)(?:\.(\d+))?"
                      rf"(?:([Zz])|([+-]){_HOUR}:{_MINUTE})")


def parse_rfc3339(text: str) -> datetime.datetime | None:
    """An RFC 3339 date-time (`2026-11-30T08:00:00Z`, `...08:00:00.5+02:00`; `T`/`Z` in either case) as naive
    UTC, or None when `text` is not one. A leap second counts as :59; a moment past the calendar's ends after the
    offset is applied is clamped to them (it still bounds nothing but everything or nothing)."""
    match = _RFC3339.fullmatch(text) if text.isascii() else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, zulu, sign, offset_hours, offset_minutes = match.groups()[6:]
    try:
        moment = datetime.datetime(year, month, day, hour, minute, min(second, 59),
                                   int((fraction or "0")[:6].ljust(6, "0")))
    except ValueError:  # no such day (year 0, February 30, ...)
        return None
    if zulu:
        return moment
    offset = datetime.timedelta(hours=int(offset_hours), minutes=int(offset_minutes)) * (1 if sign == "+" else -1)
    try:
        return moment - offset
    except OverflowError:
        return datetime.datetime.min if offset > datetime.timedelta(0) else datetime.datetime.max


LIST_LIMIT_DEFAULT = 50
LIST_LIMIT_MAX = 200

MAX_ATTACHMENTS = 16
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

# Login fields are capped before the server keeps or hashes them. A handle is 1-64 characters (the server's
# handle pattern). 1024 characters is far past any passphrase or password-manager output (NIST SP 800-63B asks
# for at least 64) while keeping each scrypt input, and each rate-limiter key, small.
MAX_HANDLE_LENGTH = 64
MAX_PASSWORD_LENGTH = 1024

# A task's whole input (prompt, script, commands together), in UTF-8 bytes: the CLI's task-file limit.
MAX_TASK_INPUT_BYTES = 1 << 20

# Skills (spec/gateway.md §9): who a skill is for, and the most content one holds. The server counts characters
# (what a JSON schema can state); the CLI counts a skill file's bytes, never more than its characters.
SKILL_SCOPES = ("user", "group", "project", "global")
MAX_SKILL_CHARS = 256 * 1024


class TaskStatus(str, Enum):
    """Task status as the API reports it."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELED)


class ResultStatus(str, Enum):
    """A job result's `status` (spec/gateway.md §5.1), as clients read it. A job that ran over its timeout ends
    `failed` as a job (and fails its task), but its result says `timeout`; a canceled or interrupted job's result
    says `failed` with an `error`."""

    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"


PROBLEM_CONTENT_TYPE = "application/problem+json"

# RFC 7807 `type` and `title` per HTTP status, as spec/gateway.md §1.1 names them.
PROBLEM_TYPES = {
    400: ("urn:cynodeai:error:validation", "Bad Request"),
    401: ("urn:cynodeai:error:authentication", "Unauthorized"),
    403: ("urn:cynodeai:error:authorization", "Forbidden"),
    404: ("urn:cynodeai:error:not_found", "Not Found"),
    405: ("urn:cynodeai:error:method_not_allowed", "Method Not Allowed"),
    408: ("urn:cynodeai:error:canceled", "Request Timeout"),
    409: ("urn:cynodeai:error:conflict", "Conflict"),
    413: ("urn:cynodeai:error:payload_too_large", "Payload Too Large"),
    429: ("urn:cynodeai:error:rate_limit", "Too Many Requests"),
    431: ("urn:cynodeai:error:validation", "Request Header Fields Too Large"),
    500: ("urn:cynodeai:error:internal", "Internal Server Error"),
    501: ("urn:cynodeai:error:not_implemented", "Not Implemented"),
    502: ("urn:cynodeai:error:upstream", "Bad Gateway"),
    503: ("urn:cynodeai:error:upstream", "Service Unavailable"),
    504: ("urn:cynodeai:error:upstream", "Gateway Timeout"),
}


# One character that str.strip() keeps: "not blank" as the server judges it, as a regex. Spelled out because `\S`
# differs between Python's re (which counts \x1c-\x1f and \x85 as space) and the ECMA regexes of the clients
# that validate against the OpenAPI document.
NOT_BLANK = r"[^\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

# A job gets each credential its task names as CYNODE_CRED_<NAME>: the name upper-cased, every character other
# than A-Z and 0-9 turned into "_" (credential `github-token` -> CYNODE_CRED_GITHUB_TOKEN).
CREDENTIAL_ENV_PREFIX = "CYNODE_CRED_"
MAX_TASK_CREDENTIALS = 16


def credential_env_name(name: str) -> str:
    return CREDENTIAL_ENV_PREFIX + "".join(c if "A" <= c <= "Z" or "0" <= c <= "9" else "_" for c in name.upper())
