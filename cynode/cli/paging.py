"""Whole-number flags: `-l/--limit` of every list command, and others with a range of their own."""

import re

from cynode.cli.exits import usage_error
from cynode.contract import LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX


def whole_number(raw: str, flag: str, low: int, high: int) -> int:
    """`raw` as an integer from `low` to `high`, else a usage error (exit 2). Only ASCII digits: int() alone
    would take " 7", "1_0" and "٣"."""
    value = int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) else None
    if value is None or not low <= value <= high:
        raise usage_error(f"{flag} must be a whole number from {low} to {high}, got {raw!r}")
    return value


def limit_arg(raw: str | None) -> int:
    """`-l/--limit`: 1..200, default 50."""
    return LIST_LIMIT_DEFAULT if raw is None else whole_number(raw, "--limit", 1, LIST_LIMIT_MAX)
