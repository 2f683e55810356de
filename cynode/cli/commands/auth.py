"""`auth login | logout | whoami | refresh`."""

from cynode.cli.exits import CliError, ExitStatus, usage_error
from cynode.cli.context import read_stdin_secret
from cynode.cli.output import kv_line

LOGOUT_TIMEOUT = 2.0


def login(ctx) -> None:
    handle = ctx.args["--handle"] or ctx.args["--user"]  # the alias is resolved here, so errors name the flag given
    if ctx.args["--password-stdin"] and not handle:
        raise usage_error("--password-stdin requires --handle")
    ctx.config.writable_path()  # fail before asking anything when there is nowhere to save the session
    if not handle:
        handle = (ctx.env.ask("Handle: ") or "").strip()
        if not handle:
            raise usage_error("handle is required")
    password = read_stdin_secret(ctx.env.stdin) if ctx.args["--password-stdin"] else ctx.env.secret("Password: ")
    if not password:
        raise usage_error("password is required")
    tokens = ctx.gateway().json("POST", "/v1/auth/login", body={"handle": handle, "password": password},
                                auth=False)
    ctx.store_tokens(tokens)
    ctx.emit(kv_line({"logged_in": True, "handle": handle}), {"logged_in": True, "handle": handle})


def logout(ctx) -> None:
    """Forget the stored session, and tell the server to revoke it (best effort: never changes the exit code)."""
    ctx.config.writable_path()
    token, refresh_token = ctx.config.get("token"), ctx.config.get("refresh_token")
    if token:
        body = {"refresh_token": refresh_token} if refresh_token else {}
        try:
            ctx.gateway().call("POST", "/v1/auth/logout", body=body, auth=token, timeout=LOGOUT_TIMEOUT)
        except CliError:
            pass  # offline or already expired: the local logout still counts
    ctx.config.save_tokens(token=None, refresh_token=None)
    helper = ctx.config.get("credential_helper")
    if helper:
        from cynode.cli import credhelper  # pylint: disable=import-outside-toplevel

        credhelper.store(helper, "")
    ctx.emit("logged_out=true", {"logged_out": True})


def whoami(ctx) -> None:
    me = ctx.gateway().json("GET", "/v1/users/me")
    ctx.emit(kv_line({"id": me["id"], "handle": me["handle"]}), {"id": me["id"], "handle": me["handle"]})


def refresh(ctx) -> None:
    ctx.config.writable_path()  # spec/cli.md §4.1: no config path fails first, as for login and logout
    refresh_token = ctx.config.get("refresh_token")
    if not refresh_token or ctx.config.get("credential_helper"):
        raise CliError("no refresh token: run 'cynode cli auth login' first", ExitStatus.AUTH)
    tokens = ctx.gateway().json("POST", "/v1/auth/refresh", body={"refresh_token": refresh_token}, auth=False)
    ctx.store_tokens(tokens)
    ctx.emit("Token refreshed successfully.", {"refreshed": True})
