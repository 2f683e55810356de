"""`skills load | list | get | update | delete` (spec/cli.md §7.11): Markdown skill documents on the gateway.

A skill file is checked (a readable regular UTF-8 file within the size limit) and the scope flags are checked
before the token is looked at or a request is sent: each failure is a usage error (exit 2). Content the gateway's
policy refuses is exit 6, `Error: 400 Bad Request: policy violation (category=<c>)`.
"""

from cynode.cli.exits import usage_error
from cynode.cli.gateway import segment
from cynode.cli.output import kv_line, tsv
from cynode.cli.paging import limit_arg
from cynode.cli.taskinput import read_text
from cynode.contract import MAX_SKILL_CHARS

COLUMNS = ["skill_id", "name", "scope", "scope_id", "owner_id", "updated_at"]
FILE_LIMIT = MAX_SKILL_CHARS  # bytes of the file: never more characters than the gateway takes
NEEDS_SCOPE_ID = ("group", "project")


def _scope_fields(ctx) -> dict:
    """`scope` and `scope_id` from the flags, when given; --scope-id is required for group and project, refused
    for global, and on update only comes with --scope. (The grammar already refused a --scope outside the four.)"""
    scope, scope_id = ctx.args["--scope"], ctx.args["--scope-id"]
    if scope is None and scope_id is not None and ctx.args.get("update"):
        raise usage_error("--scope-id needs --scope on update")  # the gateway takes them together
    if scope in NEEDS_SCOPE_ID and scope_id is None:
        raise usage_error(f"--scope-id is required for --scope {scope}")
    if scope == "global" and scope_id is not None:
        raise usage_error("--scope-id cannot be used with --scope global")
    fields = {"scope": scope} if scope is not None else {}
    if scope_id is not None:
        fields["scope_id"] = scope_id
    return fields


def _request_body(ctx) -> dict:
    """The load/update body from the flags and the file, all checked locally first."""
    scope = _scope_fields(ctx)
    body = {"content": read_text(ctx.args["<file>"], "skill file", FILE_LIMIT)}
    if ctx.args["--name"] is not None:
        body["name"] = ctx.args["--name"]
    return {**body, **scope}


def skill_fields(skill: dict) -> dict:
    """A gateway skill in the CLI's names (`id` is skill_id, `content` is content_md): the documented keys first,
    then whatever else the gateway sent."""
    head = {"skill_id": skill.get("skill_id") or skill.get("id"), "name": skill.get("name"),
            "scope": skill.get("scope")}
    rest = {key: value for key, value in skill.items() if key not in {*head, "id", "content", "content_md"}}
    return {**head, **rest}


def load(ctx) -> None:
    body = _request_body(ctx)
    body.setdefault("scope", "user")
    skill = ctx.gateway().json("POST", "/v1/skills/load", body=body)
    skill_id = skill.get("skill_id") or skill.get("id")
    ctx.emit(kv_line({"skill_id": skill_id}), {"skill_id": skill_id})


def list_(ctx) -> None:
    query = {"limit": limit_arg(ctx.args["--limit"])}
    for flag in ("--scope", "--owner", "--cursor"):
        if ctx.args[flag]:
            query[flag[2:]] = ctx.args[flag]
    page = ctx.gateway().json("GET", "/v1/skills", query=query)
    if not isinstance(page, dict):
        page = {"skills": page}  # spec/cli.md §6: a bare array is a page too
    skills = [skill_fields(skill) for skill in page.get("skills") or []]
    ctx.emit(tsv(COLUMNS, skills), {"skills": skills, "next_cursor": page.get("next_cursor") or ""})


def get(ctx) -> None:
    skill = ctx.gateway().json("GET", f"/v1/skills/{segment(ctx.args['<skill>'])}")
    fields = skill_fields(skill)
    content = skill.get("content_md", skill.get("content")) or ""
    head = {key: fields[key] for key in ("skill_id", "name", "scope")} | {"scope_id": fields.get("scope_id") or ""}
    # the Markdown verbatim after the key=value line, ending in exactly one newline of its own when it has none
    ctx.emit(kv_line(head) + "\n" + content.removesuffix("\n"),
             {**head, "content_md": content, **{k: v for k, v in fields.items() if k not in head}})


def update(ctx) -> None:
    body = _request_body(ctx)
    ref = ctx.args["<skill>"]
    skill = ctx.gateway().json("PUT", f"/v1/skills/{segment(ref)}", body=body)
    fields = {"skill_id": (skill or {}).get("skill_id") or (skill or {}).get("id") or ref, "updated": True}
    ctx.emit(kv_line(fields), fields)


def delete(ctx) -> None:
    ref = ctx.args["<skill>"]
    if not ctx.confirmed(f"Delete skill {ref}? [y/N] "):
        return
    ctx.gateway().json("DELETE", f"/v1/skills/{segment(ref)}")
    fields = {"skill_id": ref, "deleted": True}
    ctx.emit(kv_line(fields), fields)
