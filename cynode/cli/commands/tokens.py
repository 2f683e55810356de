"""`tokens create | list | revoke`: personal API tokens for scripts and CI (use one as CYNORK_TOKEN)."""

import re

from cynode.cli.exits import usage_error
from cynode.cli.gateway import segment
from cynode.cli.output import kv_line, tsv

COLUMNS = ["token_id", "name", "created_at", "expires_at"]
MIN_DAYS, MAX_DAYS = 1, 365  # the gateway's range, checked here so a typo costs no request


def _days(raw: str | None) -> int | None:
    if raw is None:
        return None
    days = int(raw) if re.fullmatch(r"[0-9]{1,4}", raw) else None  # int() alone takes "1_0", " 7" and "٣"
    if days is None or not MIN_DAYS <= days <= MAX_DAYS:
        raise usage_error(f"--expires-days must be a whole number from {MIN_DAYS} to {MAX_DAYS}, got {raw!r}")
    return days


def create(ctx) -> None:
    body = {"name": ctx.args["<name>"]}
    days = _days(ctx.args["--expires-days"])
    if days is not None:
        body["expires_in_days"] = days
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
