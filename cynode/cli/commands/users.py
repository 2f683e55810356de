"""`users create | list | disable | enable` (admins only; the gateway enforces it)."""

from cynode.cli.context import read_stdin_secret
from cynode.cli.exits import usage_error
from cynode.cli.gateway import segment
from cynode.cli.output import kv_line, tsv
from cynode.cli.paging import limit_arg

COLUMNS = ["id", "handle", "is_admin", "is_active", "created_at"]


def _summary(user: dict) -> str:
    return kv_line({key: user.get(key) for key in ("id", "handle", "is_admin", "is_active")})


def create(ctx) -> None:
    if ctx.args["--password-stdin"]:
        password = read_stdin_secret(ctx.env.stdin)
    else:
        password = ctx.env.secret("Password: ")
        if ctx.env.stdin_is_tty() and ctx.env.secret("Repeat password: ") != password:
            raise usage_error("passwords do not match")
    if not password:
        raise usage_error("password is required")
    body = {"handle": ctx.args["<handle>"], "password": password, "is_admin": bool(ctx.args["--admin"])}
    user = ctx.gateway().json("POST", "/v1/users", body=body)
    ctx.emit(_summary(user), user)


def list_(ctx) -> None:
    query = {"limit": limit_arg(ctx.args["--limit"])}
    if ctx.args["--cursor"]:
        query["cursor"] = ctx.args["--cursor"]
    page = ctx.gateway().json("GET", "/v1/users", query=query)
    users = page.get("users", []) if isinstance(page, dict) else page
    ctx.emit(tsv(COLUMNS, users), {"users": users, "next_cursor": (page.get("next_cursor") or "")
                                   if isinstance(page, dict) else ""})


def _set_active(ctx, action: str) -> None:
    user = ctx.gateway().json("POST", f"/v1/users/{segment(ctx.args['<user>'])}/{action}")
    ctx.emit(_summary(user), user)


def disable(ctx) -> None:
    _set_active(ctx, "disable")


def enable(ctx) -> None:
    _set_active(ctx, "enable")
