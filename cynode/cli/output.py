"""Rendering results: `kv` lines and TSV tables for people, one pretty JSON value for scripts."""

import json
import re

_BARE = re.compile(r"[^\s\"=\\\x00-\x1f\x7f]+")  # used with fullmatch: `$` would let a final "\n" through


def kv_value(value) -> str:
    """One value of a `k=v` line, quoted as a JSON string when it would be ambiguous (spec/cli.md §2.3)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = "" if value is None else str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def kv_line(pairs: dict) -> str:
    return " ".join(f"{key}={kv_value(value)}" for key, value in pairs.items())


def tsv(columns: list[str], rows: list[dict]) -> str:
    def cell(value) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return re.sub(r"[\t\r\n]", " ", str(value))

    lines = ["\t".join(columns)] + ["\t".join(cell(row.get(col)) for col in columns) for row in rows]
    return "\n".join(lines)


def json_text(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
