"""`tokens create | list | revoke`: personal API tokens for scripts and CI (use one as CYNORK_TOKEN)."""

from cynode.cli.gateway import segment
from cynode.cli.output import kv_line, tsv
from cynode.cli.paging import whole_number

COLUMNS = ["token_id", "name", "created_at", "expires_at"]
MIN_DAYS, MAX_DAYS = 1, 365  # the gateway's range, checked here so a typo costs no request


def create(ctx) -> None:
    body = {"name": ctx.args["<name>"]}
    if ctx.args["--expires-days"] is not None:
        body["expires_in_days"] = whole_number(ctx.args["--expires-days"], "--expires-days", MIN_DAYS, MAX_DAYS)
    token = ctx.gateway().json("POST", "/v1/tokens", body=body)
    ctx.emit(kv_line({key: token.get(key) for key in ("token_id", "name", "token", "expires_at")}), token)
    ctx.hint("Copy the token now: it is not shown again.")


def list_(ctx) -> None:
    tokens = ctx.gateway().json("GET", "/v1/tokens").get("tokens", [])
    ctx.emit(tsv(COLUMNS, tokens), {"tokens": tokens})


def revoke(ctx) -> None:
    ref = ctx.args["<token>"]
    if not ctx.confirmed(f"Revoke token {ref}? [y/N] "):
        return
    ctx.gateway().json("DELETE", f"/v1/tokens/{segment(ref)}")
    ctx.emit(kv_line({"token_id": ref, "revoked": True}), {"token_id": ref, "revoked": True})
