"""Flags shared by every list command."""

from cynode.cli.exits import usage_error
from cynode.contract import LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX


def limit_arg(raw: str | None) -> int:
    """`-l/--limit`: an integer 1..200, default 50; anything else is a usage error (exit 2)."""
    if raw is None:
        return LIST_LIMIT_DEFAULT
    try:
        value = int(raw)
    except ValueError:
        raise usage_error(f"--limit must be an integer from 1 to {LIST_LIMIT_MAX}, got {raw!r}") from None
    if not 1 <= value <= LIST_LIMIT_MAX:
        raise usage_error(f"--limit must be an integer from 1 to {LIST_LIMIT_MAX}, got {raw!r}")
    return value
