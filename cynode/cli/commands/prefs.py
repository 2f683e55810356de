"""`prefs list | get | set | delete | effective` (spec/cli.md §7.8): preferences per scope and the merged result for
a task or a project. The gateway decides who may write what (403 -> exit 3)."""

from cynode.cli.exits import usage_error
from cynode.cli.gateway import segment
from cynode.cli.jsonvalue import compact, key_value_line, value_arg
from cynode.cli.output import json_text, tsv

COLUMNS = ["key", "value_json", "updated_at"]
PAGE = 200  # the gateway's largest page: `prefs list` shows the whole scope


def _checked_scope(ctx) -> dict:
    """The scope flags as a query, checked without a request (--scope-type's choices are the grammar's)."""
    scope_type, scope_id = ctx.args["--scope-type"], ctx.args["--scope-id"]
    if scope_type == "system" and scope_id:
        raise usage_error("--scope-id is not taken for the system scope")
    if scope_type in ("project", "task") and not scope_id:
        raise usage_error(f"--scope-id is required for the {scope_type} scope")
    return {"scope_type": scope_type, **({"scope_id": scope_id} if scope_id else {})}


def _scope(ctx, checked: dict) -> dict:
    """The scope with a user scope's default id, the caller's (GET /v1/users/me)."""
    if checked["scope_type"] == "user" and "scope_id" not in checked:
        return {**checked, "scope_id": ctx.gateway().json("GET", "/v1/users/me")["id"]}
    return checked


def list_(ctx) -> None:
    query = _scope(ctx, _checked_scope(ctx))
    entries, cursor = [], None
    while True:
        page = ctx.gateway().json("GET", "/v1/prefs", query={**query, "limit": PAGE,
                                                            **({"cursor": cursor} if cursor else {})})
        entries.extend(page.get("preferences", []))
        cursor = page.get("next_cursor")
        if not cursor:
            break
    rows = [{**entry, "value_json": compact(entry.get("value"))} for entry in entries]
    ctx.emit(tsv(COLUMNS, rows), {"preferences": entries})


def get(ctx) -> None:
    query, key = _scope(ctx, _checked_scope(ctx)), ctx.args["--key"]
    entry = ctx.gateway().json("GET", f"/v1/prefs/{segment(key)}", query=query)
    ctx.emit(key_value_line(entry["key"], entry["value"]), {"key": entry["key"], "value": entry["value"]})


def set_(ctx) -> None:
    checked, value = _checked_scope(ctx), value_arg(ctx.args)
    body = {**_scope(ctx, checked), "key": ctx.args["--key"], "value": value}
    if ctx.args["--reason"]:
        body["reason"] = ctx.args["--reason"]
    ctx.gateway().json("POST", "/v1/prefs", body=body)
    ctx.emit("ok=true", {"ok": True})


def delete(ctx) -> None:
    query, key = _scope(ctx, _checked_scope(ctx)), ctx.args["--key"]
    ctx.gateway().json("DELETE", f"/v1/prefs/{segment(key)}", query=query)
    ctx.emit("deleted=true", {"deleted": True})


def effective(ctx) -> None:
    task_id, project_id = ctx.args["--task-id"], ctx.args["--project-id"]
    if not task_id and not project_id:
        raise usage_error("give one of --task-id or --project-id")
    query = {"task_id": task_id} if task_id else {"project_id": project_id}
    merged = ctx.gateway().json("GET", "/v1/prefs/effective", query=query)
    ctx.emit(json_text(merged.get("effective", {})),
             {"effective": merged.get("effective", {}), "sources": merged.get("sources", [])})
