"""`nodes list | get | enable | disable | drain | refresh-config | prefetch-image` (spec/cli.md §7.10).

Anyone signed in may list and read nodes; the actions are admin-only, which the gateway enforces (403 -> exit 3).
enable, disable and drain ask first unless -y. The actions print the node as the command line named it."""

from cynode.cli.gateway import segment
from cynode.cli.output import kv_line, tsv
from cynode.cli.paging import limit_arg

COLUMNS = ["node_id", "status", "enabled", "last_heartbeat", "capability_summary"]


def list_(ctx) -> None:
    query = {"limit": limit_arg(ctx.args["--limit"])}
    if ctx.args["--cursor"]:
        query["cursor"] = ctx.args["--cursor"]
    page = ctx.gateway().json("GET", "/v1/nodes", query=query)
    nodes = page.get("nodes", []) if isinstance(page, dict) else page
    cursor = (page.get("next_cursor") or "") if isinstance(page, dict) else ""
    ctx.emit(tsv(COLUMNS, nodes), {"nodes": nodes, "next_cursor": cursor})


def get(ctx) -> None:
    node = ctx.gateway().json("GET", f"/v1/nodes/{segment(ctx.args['<node>'])}")
    fields = {key: node.get(key) for key in ("node_id", "status", "enabled")}
    fields.update({key: node[key] for key in ("last_heartbeat", "capability_summary") if node.get(key) is not None})
    ctx.emit(kv_line(fields), node)


def _act(ctx, action: str, reply: dict, question: str | None = None, body=None) -> None:
    ref = ctx.args["<node>"]
    if question and not ctx.confirmed(f"{question} node {ref}? [y/N] "):
        return
    ctx.gateway().json("POST", f"/v1/nodes/{segment(ref)}/{action}", body=body)
    result = {"node_id": ref, **reply}
    ctx.emit(kv_line(result), result)


def enable(ctx) -> None:
    _act(ctx, "enable", {"enabled": True}, "Enable")


def disable(ctx) -> None:
    _act(ctx, "disable", {"enabled": False}, "Disable")


def drain(ctx) -> None:
    _act(ctx, "drain", {"drained": True}, "Drain")


def refresh_config(ctx) -> None:
    _act(ctx, "refresh-config", {"refresh_config_requested": True})


def prefetch_image(ctx) -> None:
    _act(ctx, "prefetch-image", {"prefetch_requested": True}, body={"image_ref": ctx.args["<image>"]})
