"""Exit codes (spec/cli.md §3) and the error type that carries one."""

from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit codes; 1 is never used on purpose."""

    OK = 0
    USAGE = 2
    AUTH = 3
    NOT_FOUND = 4
    CONFLICT = 5
    VALIDATION = 6
    GATEWAY = 7
    INTERNAL = 8
    INTERRUPTED = 130


class CliError(Exception):
    """A failure to report as one `Error: ...` line on stderr with its exit status."""

    def __init__(self, message: str, status: ExitStatus):
        super().__init__(message)
        self.message = message
        self.status = status


def usage_error(message: str) -> CliError:
    return CliError(message, ExitStatus.USAGE)


def status_for_http(code: int) -> ExitStatus:
    """HTTP status of a failed gateway call -> exit status."""
    if code in (401, 403):
        return ExitStatus.AUTH
    if code == 404:
        return ExitStatus.NOT_FOUND
    if code == 409:
        return ExitStatus.CONFLICT
    if code in (400, 422):
        return ExitStatus.VALIDATION
    return ExitStatus.GATEWAY
