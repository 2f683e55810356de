"""How `task` commands show gateway objects (spec/cli.md §6, §7.4): tolerant field reading, key order, result text.

Pure functions over the decoded JSON, plus `kv` which colours the status for a person at a terminal.
"""

import json

from cynode.cli.output import kv_value
from cynode.cli.terminal import status_word
from cynode.contract import TaskStatus

STATUS_ALIASES = {"pending": "queued", "cancelled": "canceled"}
# superseded: a later reference status the gateway may send; every wait stops on it too (spec/cli.md §7.4)
TERMINAL = frozenset({status.value for status in TaskStatus if status.terminal} | {"superseded"})


def status_of(item: dict) -> str:
    status = item.get("status") or ""
    return STATUS_ALIASES.get(status, status)


def is_terminal(item: dict) -> bool:
    return status_of(item) in TERMINAL


def _named(item: dict, head: dict) -> dict:
    """`head`, then `task_name` when the gateway gave a non-empty one."""
    if item.get("task_name"):
        head["task_name"] = item["task_name"]
    return head


def summary(item: dict) -> dict:
    """task_id, status and task_name: the kv line of `task get`, `task list` and `task result`."""
    return _named(item, {"task_id": item.get("task_id") or item.get("id"), "status": status_of(item)})


def task_fields(task: dict) -> dict:
    """A task object for JSON: task_id, status, task_name first, then every other field the gateway sent (its
    `id` is task_id under another name)."""
    head = summary(task)
    skip = {*head, "id", "task_name"}
    return {**head, **{key: value for key, value in task.items() if key not in skip}}


def result_text(result: dict) -> tuple[str, str]:
    """stdout and stderr: the gateway's own when it sends them, else built from the jobs in order (§7.4.5)."""
    if "stdout" in result or "stderr" in result:
        return result.get("stdout") or "", result.get("stderr") or ""
    stdout, stderr = [], []
    for job in result.get("jobs") or ():
        raw = job.get("result")
        if raw is None:
            continue
        try:
            data = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            data = None
        if isinstance(data, dict) and (isinstance(data.get("stdout"), str) or isinstance(data.get("stderr"), str)):
            stdout.append(data.get("stdout") if isinstance(data.get("stdout"), str) else "")
            stderr.append(data.get("stderr") if isinstance(data.get("stderr"), str) else "")
        else:
            stdout.append(raw if isinstance(raw, str) else json.dumps(raw))
    return "".join(stdout), "".join(stderr)


def result_fields(result: dict) -> dict:
    """A result as `task result` shows it: the summary, stdout/stderr once terminal, then (JSON only) the jobs."""
    fields = summary(result)
    if is_terminal(result):
        fields["stdout"], fields["stderr"] = result_text(result)
    return fields


def result_json(result: dict) -> dict:
    return {**result_fields(result), "jobs": result.get("jobs") or []}


def kv(ctx, pairs: dict) -> str:
    """A kv line whose status value is coloured when stdout is a terminal that may show colour."""
    return " ".join(f"{key}={status_word(ctx, value) if key == 'status' else kv_value(value)}"
                    for key, value in pairs.items())


def log_blocks(logs: dict, stream: str) -> list[tuple[str, str]]:
    """(stream name, text) of the selected streams: stdout before stderr for `all`."""
    return [(name, logs.get(name) or "") for name in ("stdout", "stderr") if stream in (name, "all")]


def lines(text: str) -> list[str]:
    """Text as lines without their newline characters; a final newline ends the last line, it adds none."""
    return text.removesuffix("\n").split("\n") if text else []


def logs_json(logs: dict, stream: str) -> dict:
    head = _named(logs, {"task_id": logs.get("task_id") or logs.get("id")})
    return {**head, "stream": stream, "lines": [line for _, text in log_blocks(logs, stream) for line in lines(text)]}


def artifacts_json(listing: dict) -> dict:
    first = ("artifact_id", "name", "content_type", "size_bytes")
    artifacts = []
    for item in listing.get("artifacts") or ():
        item = {**item, "artifact_id": item.get("artifact_id") or item.get("id")}
        ordered = {key: item[key] for key in first if key in item}
        artifacts.append({**ordered, **{k: v for k, v in item.items() if k not in ordered and k != "id"}})
    return {**_named(listing, {"task_id": listing.get("task_id") or listing.get("id")}), "artifacts": artifacts}
