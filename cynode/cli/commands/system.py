"""`version` and `status`."""

from cynode import __version__
from cynode.cli.exits import CliError, ExitStatus


def version(ctx) -> None:
    ctx.emit(f"version={__version__}", {"version": __version__})


def status(ctx) -> None:
    """Healthy = /healthz answers 200 with a body containing `ok`."""
    gateway = ctx.gateway()
    try:
        response = gateway.call("GET", "/healthz", auth=False)
    except CliError as exc:
        raise CliError(f"gateway unreachable: {exc.message}", ExitStatus.GATEWAY) from None
    if b"ok" not in response.data:
        raise CliError("gateway unreachable: health check did not answer ok", ExitStatus.GATEWAY)
    ctx.emit("ok", {"gateway": "ok"})
