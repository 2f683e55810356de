"""`settings list | get | set | delete` (spec/cli.md §7.9): system settings; everyone reads, the gateway lets only
admins write (403 -> exit 3)."""

from cynode.cli.gateway import segment
from cynode.cli.jsonvalue import compact, key_value_line, value_arg
from cynode.cli.output import tsv
from cynode.cli.paging import limit_arg

COLUMNS = ["key", "value_json", "updated_at"]


def list_(ctx) -> None:
    query = {"limit": limit_arg(ctx.args["--limit"])}
    if ctx.args["--cursor"]:
        query["cursor"] = ctx.args["--cursor"]
    page = ctx.gateway().json("GET", "/v1/settings", query=query)
    settings = page.get("settings", [])
    rows = [{**setting, "value_json": compact(setting.get("value"))} for setting in settings]
    ctx.emit(tsv(COLUMNS, rows), {"settings": settings, "next_cursor": page.get("next_cursor") or ""})


def get(ctx) -> None:
    setting = ctx.gateway().json("GET", f"/v1/settings/{segment(ctx.args['--key'])}")
    ctx.emit(key_value_line(setting["key"], setting["value"]), {"key": setting["key"], "value": setting["value"]})


def set_(ctx) -> None:
    body = {"key": ctx.args["--key"], "value": value_arg(ctx.args)}
    if ctx.args["--reason"]:
        body["reason"] = ctx.args["--reason"]
    ctx.gateway().json("POST", "/v1/settings", body=body)
    ctx.emit("ok=true", {"ok": True})


def delete(ctx) -> None:
    ctx.gateway().json("DELETE", f"/v1/settings/{segment(ctx.args['--key'])}")
    ctx.emit("deleted=true", {"deleted": True})
