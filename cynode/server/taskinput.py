"""Parsing and validating `POST /v1/tasks`: JSON, or multipart with a `request` part plus attachment files."""

import json
import os
import re
from dataclasses import dataclass, field

from cynode.contract import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS
from cynode.server.errors import BadRequest
from cynode.server.jsonio import read_json

INPUT_MODES = ("prompt", "script", "commands")
MAX_NAME_LENGTH = 100
MAX_COMMANDS = 100
MAX_PROMPT_BYTES = 1 << 20  # the CLI's task-file limit; scripts are smaller still


@dataclass
class TaskInput:
    input_mode: str
    prompt: str
    name: str | None
    jobs: list[tuple[str, dict]]
    timeout_seconds: int | None
    uploads: list = field(default_factory=list)  # bottle FileUpload objects


def normalise_name(raw: str) -> str:
    """`"My Task!"` -> `my-task` (spec/gateway.md §4.3); may return "" (then a name is generated)."""
    return re.sub(r"[^a-z0-9]+", "-", raw.strip().lower()).strip("-")[:MAX_NAME_LENGTH].strip("-")


def _commands(body: dict, prompt: str | None) -> list[str]:
    commands = body.get("commands")
    if commands is None:
        commands = [line for line in (prompt or "").split("\n") if line.strip()]
    if not isinstance(commands, list) or not all(isinstance(c, str) and c.strip() for c in commands):
        raise BadRequest("commands must be a list of non-empty strings")
    if not commands:
        raise BadRequest("commands is required for input_mode commands")
    if len(commands) > MAX_COMMANDS:
        raise BadRequest(f"commands: at most {MAX_COMMANDS}")
    return commands


def _timeout(body: dict, maximum: int) -> int | None:
    value = body.get("timeout_seconds")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise BadRequest(f"timeout_seconds must be an integer from 1 to {maximum}")
    return value


def parse_fields(body: dict, max_timeout: int) -> TaskInput:
    mode = body.get("input_mode") or "prompt"
    if mode not in INPUT_MODES:
        raise BadRequest("input_mode must be one of: prompt, script, commands")
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise BadRequest("prompt must be a string")
    jobs: list[tuple[str, dict]]
    if mode == "commands":
        commands = _commands(body, prompt)
        prompt = prompt or "\n".join(commands)
        jobs = [("command", {"command": command}) for command in commands]
    elif not prompt or not prompt.strip():
        raise BadRequest("Prompt is required")
    else:
        jobs = [(mode, {mode: prompt})]
    if len(prompt.encode()) > MAX_PROMPT_BYTES:
        raise BadRequest(f"prompt exceeds {MAX_PROMPT_BYTES} bytes")
    name = body.get("task_name")
    if name is not None and not isinstance(name, str):
        raise BadRequest("task_name must be a string")
    return TaskInput(mode, prompt, normalise_name(name) if name else None, jobs, _timeout(body, max_timeout))


def upload_name(upload) -> str:
    name = upload.raw_filename or ""
    base = os.path.basename(name.replace("\\", "/"))
    if not base or base in (".", "..") or len(base) > 255 or any(ord(c) < 32 for c in base):
        raise BadRequest(f"attachments: invalid file name {name!r}")
    return base


def parse(req, max_timeout: int) -> TaskInput:
    """The request as a TaskInput; 400 naming the field for anything invalid."""
    if not req.content_type.startswith("multipart/form-data"):
        return parse_fields(read_json(req), max_timeout)
    raw = req.forms.getunicode("request")  # bottle decodes form fields as latin-1 unless asked
    if raw is None:
        raise BadRequest("multipart request needs a 'request' part holding the task as JSON")
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequest("request part: Invalid request body") from None
    if not isinstance(body, dict):
        raise BadRequest("request part: Invalid request body")
    task = parse_fields(body, max_timeout)
    task.uploads = req.files.getall("attachments")
    if len(task.uploads) > MAX_ATTACHMENTS:
        raise BadRequest(f"attachments: at most {MAX_ATTACHMENTS} files")
    names = [upload_name(upload) for upload in task.uploads]
    if len(set(names)) != len(names):
        raise BadRequest("attachments: file names must be unique")
    return task

