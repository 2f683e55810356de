"""The JSON value of `prefs set` and `settings set` (spec/cli.md §7.8): exactly one of `--value <json>` or
`--value-file <path>` (UTF-8), parsed here, so a typo is exit 2 before any request; and its one-line rendering."""

import json
import os

from cynode.cli.exits import usage_error
from cynode.cli.output import kv_value

MAX_FILE_BYTES = 1024 * 1024  # the gateway keeps at most 64 KiB of compact JSON; a pretty file may be larger


def _not_json(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _read_file(path: str) -> str:
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            raise usage_error(f"--value-file: {path} is larger than {MAX_FILE_BYTES} bytes")
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise usage_error(f"--value-file: cannot read {path}: {reason}") from None


def value_arg(args: dict):
    """The parsed value of --value or --value-file; a usage error (exit 2) for neither, unreadable or not JSON."""
    text, path = args.get("--value"), args.get("--value-file")
    if (text is None) == (path is None):
        raise usage_error("give exactly one of --value or --value-file")
    flag = "--value" if path is None else "--value-file"
    if path is not None:
        text = _read_file(path)
    try:
        return json.loads(text, parse_constant=_not_json)  # NaN and Infinity are Python's, not JSON's
    except (ValueError, RecursionError) as exc:
        hint = " (a string needs quotes: '\"concise\"')" if flag == "--value" else ""
        raise usage_error(f"{flag} is not valid JSON: {exc}{hint}") from None


def compact(value) -> str:
    """A value as one line of compact JSON (the `value=` and `value_json` renderings)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def key_value_line(key: str, value) -> str:
    """`key=<k> value=<json>`: the value always raw compact JSON, always last (spec/cli.md §2.3)."""
    return f"key={kv_value(key)} value={compact(value)}"
