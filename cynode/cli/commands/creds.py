"""`creds list | get | create | rotate | disable` (spec/cli.md §7.7): egress credentials, metadata only.

A secret comes from --secret-from-stdin, --secret-file or a no-echo `Secret: ` prompt (stdin as a whole when it is
not a terminal); it is checked before any request, sent once, and never printed. Shell history never keeps these
command lines (lineeditor.PRIVATE_COMMANDS).
"""

from cynode.cli.context import read_stdin_secret, without_final_newline
from cynode.cli.exits import usage_error
from cynode.cli.gateway import segment
from cynode.cli.output import kv_line, tsv
from cynode.cli.paging import limit_arg

COLUMNS = ["credential_id", "provider", "name", "owner_type", "owner_id", "active", "created_at", "updated_at"]
HEAD = ["credential_id", "provider", "name", "active"]
MORE = ["owner_type", "owner_id", "created_at", "updated_at"]
MAX_SECRET_BYTES = 64 * 1024  # the gateway's limit, checked here so a wrong file costs no request


def _read_file(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SECRET_BYTES + 3)
    except OSError as exc:
        raise usage_error(f'secret file "{path}": {exc.strerror or exc}') from None
    try:
        return without_final_newline(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise usage_error(f'secret file "{path}": not UTF-8 text') from None


def _secret(ctx) -> str:
    """The secret from exactly one source; empty or too large is a usage error (exit 2), before any request."""
    if ctx.args["--secret-file"] is not None:
        secret = _read_file(ctx.args["--secret-file"])
    elif ctx.args["--secret-from-stdin"]:
        secret = read_stdin_secret(ctx.env.stdin)
    else:
        secret = ctx.env.secret("Secret: ")  # no echo on a terminal; all of stdin otherwise
    if not secret:
        raise usage_error("the secret must not be empty")
    if len(secret.encode("utf-8")) > MAX_SECRET_BYTES:
        raise usage_error(f"the secret exceeds {MAX_SECRET_BYTES} bytes")
    return secret


def _ordered(cred: dict, first: list[str]) -> dict:
    """The gateway's object with the documented keys first (those it gave), then whatever else it sent."""
    return {**{key: cred[key] for key in first if key in cred}, **cred}


def list_(ctx) -> None:
    query = {"limit": limit_arg(ctx.args["--limit"])}
    for flag, key in (("--provider", "provider"), ("--owner-type", "owner_type"), ("--owner-id", "owner_id"),
                      ("--active", "active"), ("--cursor", "cursor")):
        if ctx.args[flag]:
            query[key] = ctx.args[flag]
    page = ctx.gateway().json("GET", "/v1/creds", query=query)
    creds = [_ordered(cred, COLUMNS) for cred in page.get("credentials", [])]
    ctx.emit(tsv(COLUMNS, creds), {"credentials": creds, "next_cursor": page.get("next_cursor") or ""})


def get(ctx) -> None:
    cred = ctx.gateway().json("GET", f"/v1/creds/{segment(ctx.args['<credential>'])}")
    line = {key: cred.get(key) for key in HEAD}
    line.update({key: cred[key] for key in MORE if cred.get(key) is not None})
    ctx.emit(kv_line(line), _ordered(cred, HEAD))


def create(ctx) -> None:
    owner_type = ctx.args["--owner-type"] or "user"
    owner_id = ctx.args["--owner-id"]
    if owner_type == "group" and not owner_id:
        raise usage_error("--owner-id is required for a group credential")
    secret = _secret(ctx)
    if not owner_id:
        owner_id = ctx.gateway().json("GET", "/v1/users/me")["id"]
    body = {"provider": ctx.args["--provider"], "name": ctx.args["--name"], "owner_type": owner_type,
            "owner_id": owner_id, "secret": secret}
    del secret
    cred = ctx.gateway().json("POST", "/v1/creds", body=body)
    body.clear()  # the secret's last reference here
    ctx.emit(kv_line({"credential_id": cred["credential_id"]}), {"credential_id": cred["credential_id"]})


def rotate(ctx) -> None:
    body = {"secret": _secret(ctx)}
    ref = ctx.args["<credential>"]
    cred = ctx.gateway().json("POST", f"/v1/creds/{segment(ref)}/rotate", body=body)
    body.clear()
    result = {"credential_id": cred.get("credential_id", ref), "rotated": True}
    ctx.emit(kv_line(result), result)


def disable(ctx) -> None:
    ref = ctx.args["<credential>"]
    if not ctx.confirmed(f"Disable credential {ref}? [y/N] "):
        return
    cred = ctx.gateway().json("POST", f"/v1/creds/{segment(ref)}/disable")
    result = {"credential_id": cred.get("credential_id", ref), "disabled": True}
    ctx.emit(kv_line(result), result)
