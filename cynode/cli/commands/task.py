"""`task create | list | get | cancel | result | watch | logs | artifacts list | artifacts get` (spec/cli.md §7.4).

A task is named by its id or its name; either goes into the path percent-encoded and the gateway resolves it.
Every flag is checked before the token is looked at, so a usage error (2) wins over "not logged in" (3).
Interrupting a wait (result --wait, create --result, watch, logs --follow) is a success: exit 0, nothing more on
stdout, and the task keeps running.
"""

import datetime
import time

from cynode.cli import duration, taskinput, taskview
from cynode.cli.download import save
from cynode.cli.exits import usage_error
from cynode.cli.gateway import Raw, segment
from cynode.cli.output import kv_line, tsv
from cynode.cli.paging import limit_arg
from cynode.cli.terminal import Progress, isatty
from cynode.cli.upload import Multipart

POLL_SECONDS = 2.0  # --wait, --result and --follow (spec/cli.md §7.4)
CLEAR = "\x1b[H\x1b[2J"
ARTIFACT_COLUMNS = ["artifact_id", "name", "content_type", "size_bytes"]


def _path(ctx, *more: str) -> str:
    return "/".join([f"/v1/tasks/{segment(ctx.args['<task>'])}", *more])


def _interruptible(wait):
    """Run `wait`; Ctrl+C ends it as a success (spec/cli.md §3) without canceling anything."""
    try:
        wait()
    except KeyboardInterrupt:
        pass


def _result(ctx, ref: str) -> dict:
    return ctx.gateway().json("GET", f"/v1/tasks/{segment(ref)}/result")


def _wait_for_result(ctx, ref: str) -> dict:
    """Poll the result until the task ends, with a progress line on a terminal's stderr."""
    with Progress(ctx, f"waiting for task {ref}"):
        while not taskview.is_terminal(current := _result(ctx, ref)):
            time.sleep(POLL_SECONDS)
    return current


def _emit_result(ctx, current: dict) -> None:
    ctx.emit(taskview.kv(ctx, taskview.result_fields(current)), taskview.result_json(current))


# --- create, list, get, cancel --------------------------------------------------------------------------------


def create(ctx) -> None:
    request = taskinput.build(ctx.args)
    if request.attachments:
        body = Multipart(request.body, request.attachments)
        task = ctx.gateway().json("POST", "/v1/tasks", body=Raw(body.headers, body.chunks))
    else:
        task = ctx.gateway().json("POST", "/v1/tasks", body=request.body)
    head = taskview.summary(task)
    if not ctx.args["--result"]:
        ctx.emit(kv_line({key: value for key, value in head.items() if key != "status"}),
                 {key: head[key] for key in ("task_id", "task_name", "status") if key in head})
        return
    _interruptible(lambda: _emit_result(ctx, _wait_for_result(ctx, head["task_id"])))


def list_(ctx) -> None:
    query = {"limit": limit_arg(ctx.args["--limit"])}
    for flag in ("--cursor", "--status"):
        if ctx.args[flag]:
            query[flag[2:]] = ctx.args[flag]
    page = ctx.gateway().json("GET", "/v1/tasks", query=query)
    if not isinstance(page, dict):
        page = {"tasks": page}  # spec/cli.md §6: a bare array is a page too
    tasks = page.get("tasks") or []
    lines = [taskview.kv(ctx, taskview.summary(task)) for task in tasks]
    ctx.emit("\n".join(lines) if lines else None,
             {"tasks": [taskview.task_fields(task) for task in tasks], "next_cursor": page.get("next_cursor") or ""})


def get(ctx) -> None:
    task = ctx.gateway().json("GET", _path(ctx))
    ctx.emit(taskview.kv(ctx, taskview.summary(task)), taskview.task_fields(task))


def cancel(ctx) -> None:
    ref = ctx.args["<task>"]
    if not ctx.confirmed(f"Cancel task {ref}? [y/N] "):
        return
    reply = ctx.gateway().json("POST", _path(ctx, "cancel"))
    fields = {"task_id": reply.get("task_id") or reply.get("id") or ref, "canceled": True}
    if reply.get("task_name"):
        fields["task_name"] = reply["task_name"]
    ctx.emit(kv_line(fields), fields)


# --- result, watch, logs -------------------------------------------------------------------------------------


def result(ctx) -> None:
    ref = ctx.args["<task>"]
    if ctx.args["--wait"]:
        _interruptible(lambda: _emit_result(ctx, _wait_for_result(ctx, ref)))
    else:
        _emit_result(ctx, _result(ctx, ref))


def _interval(raw: str | None) -> int:
    """Nanoseconds between refreshes: a Go duration, raised to one second when shorter (as the reference does)."""
    try:
        return max(duration.parse(raw or "2s"), duration.SECOND)
    except ValueError:
        raise usage_error(f"--interval must be a duration such as 500ms, 2s or 1m30s, got {raw!r}") from None


def watch(ctx) -> None:
    interval = _interval(ctx.args["--interval"])
    ref = ctx.args["<task>"]
    clear = isatty(ctx.env.stdout) and not ctx.args["--no-clear"]
    header = f"Every {duration.format_ns(interval)}: cynode cli task result {ref}"

    def loop():
        while True:
            current = _result(ctx, ref)
            if not ctx.json:
                now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
                ctx.env.stdout.write((CLEAR if clear else "") + ("" if ctx.quiet else f"{header}  {now}\n\n"))
                _emit_result(ctx, current)
                ctx.env.stdout.flush()
            if taskview.is_terminal(current):
                if ctx.json:
                    _emit_result(ctx, current)
                return
            time.sleep(interval / duration.SECOND)

    _interruptible(loop)


def logs(ctx) -> None:
    stream = ctx.args["--stream"] or "all"
    query = {"stream": stream}
    if not ctx.args["--follow"]:
        current = ctx.gateway().json("GET", _path(ctx, "logs"), query=query)
        text = "".join(_block(text) for _, text in taskview.log_blocks(current, stream))
        ctx.emit(text.removesuffix("\n") if text else None, taskview.logs_json(current, stream))
        return
    _interruptible(lambda: _follow(ctx, query))


def _block(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _follow(ctx, query: dict) -> None:
    """Print what each poll adds to each stream; once the task has ended, the rest (spec/cli.md §7.4.8)."""
    stream, printed = query["stream"], {"stdout": 0, "stderr": 0}
    while True:
        # The status before the logs: logs fetched after a terminal status are complete, so one fetch does for both
        done = taskview.is_terminal(ctx.gateway().json("GET", _path(ctx)))
        current = ctx.gateway().json("GET", _path(ctx, "logs"), query=query)
        if not ctx.json:
            for name, text in taskview.log_blocks(current, stream):
                new, printed[name] = text[printed[name]:], max(printed[name], len(text))
                ending = "\n" if done and text and not text.endswith("\n") else ""  # a block ends its line
                ctx.env.stdout.write(new + ending)
            ctx.env.stdout.flush()
        if done:
            if ctx.json:
                ctx.emit(None, taskview.logs_json(current, stream))
            return
        time.sleep(POLL_SECONDS)


# --- artifacts -----------------------------------------------------------------------------------------------


def artifacts_list(ctx) -> None:
    listing = taskview.artifacts_json(ctx.gateway().json("GET", _path(ctx, "artifacts")))
    ctx.emit(tsv(ARTIFACT_COLUMNS, listing["artifacts"]), listing)


def artifacts_get(ctx) -> None:
    out = ctx.args["--out"]
    save(ctx, _path(ctx, "artifacts", segment(ctx.args["<artifact>"])), out, force=ctx.args["--force"])
    ctx.emit(kv_line({"saved": True, "path": out}), {"saved": True, "path": out})
