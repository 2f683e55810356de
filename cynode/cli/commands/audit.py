"""`audit list | get`: the audit log (admins see every event, anyone else their own; the gateway decides)."""

from cynode.cli.exits import usage_error
from cynode.cli.gateway import segment
from cynode.cli.output import kv_value, tsv
from cynode.cli.paging import limit_arg
from cynode.contract import parse_rfc3339

COLUMNS = ["event_id", "ts", "actor_id", "action", "resource_type", "resource_id", "decision"]
FILTERS = {"--resource-type": "resource_type", "--actor-id": "actor_id", "--since": "since", "--until": "until"}


def _query(args: dict) -> dict:
    """The list's query; a --since/--until that is not an RFC 3339 time is a usage error, before any request."""
    for flag in ("--since", "--until"):
        if args[flag] is not None and parse_rfc3339(args[flag]) is None:
            raise usage_error(f"{flag} must be an RFC 3339 time, e.g. 2026-11-30T08:00:00Z, got {args[flag]!r}")
    query = {param: args[flag] for flag, param in FILTERS.items() if args[flag] is not None}
    query["limit"] = limit_arg(args["--limit"])
    if args["--cursor"]:
        query["cursor"] = args["--cursor"]
    return query


def list_(ctx) -> None:
    page = ctx.gateway().json("GET", "/v1/audit", query=_query(ctx.args))
    events = page.get("events", [])
    ctx.emit(tsv(COLUMNS, events), {"events": events, "next_cursor": page.get("next_cursor") or ""})


def get(ctx) -> None:
    event = ctx.gateway().json("GET", f"/v1/audit/{segment(ctx.args['<event>'])}")
    ctx.emit("\n".join(f"{key}={kv_value(value)}" for key, value in event.items()), event)
