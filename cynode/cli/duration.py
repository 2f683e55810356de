"""Go-style durations (`500ms`, `2s`, `1m30s`, `1.5h`) as `task watch --interval` takes them (spec/cli.md §7.4.7).

Nanoseconds are kept as integers, as Go does, so `0.1s` is exactly 100ms and formatting round-trips.
"""

import re

UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
         "m": 60_000_000_000, "h": 3_600_000_000_000}
_TERM = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")
SECOND = UNITS["s"]


def parse(text: str) -> int:
    """Nanoseconds in `text`; ValueError when it is not a Go duration (a unit on every number, except a bare 0)."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0
    if not body:
        raise ValueError(f"invalid duration {text!r}")
    total, at = 0, 0
    while at < len(body):
        match = _TERM.match(body, at)
        if not match or not (match.group(1) or match.group(2)):
            raise ValueError(f"invalid duration {text!r}")
        whole, fraction, unit = match.group(1) or "0", match.group(2) or "", UNITS[match.group(3)]
        total += int(whole) * unit + int(fraction or "0") * unit // 10 ** len(fraction)
        at = match.end()
    return -total if text.startswith("-") else total


def format_ns(nanoseconds: int) -> str:
    """Go's Duration.String() for whole durations of a second or more: `2s`, `1m30s`, `1h0m0s`, `1.5s`."""
    hours, rest = divmod(nanoseconds, UNITS["h"])
    minutes, rest = divmod(rest, UNITS["m"])
    seconds, fraction = divmod(rest, SECOND)
    text = f"{seconds}" + (f".{fraction:09d}".rstrip("0") if fraction else "") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text
