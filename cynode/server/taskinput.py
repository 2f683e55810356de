"""Parsing and validating `POST /v1/tasks`: JSON, or multipart with a `request` part plus attachment files."""

import os
import re
from dataclasses import dataclass, field

from cynode.contract import MAX_ATTACHMENTS, MAX_TASK_CREDENTIALS, MAX_TASK_INPUT_BYTES
from cynode.server import multipart
from cynode.server.errors import BadRequest
from cynode.server.jsonio import decode_json, read_json

INPUT_MODES = ("prompt", "script", "commands")
MAX_NAME_LENGTH = 100
MAX_COMMANDS = 100
MAX_PROMPT_BYTES = MAX_TASK_INPUT_BYTES  # a prompt alone may use the whole input budget
# The multipart `request` part: a whole task input, with room for JSON escaping.
MAX_REQUEST_PART_BYTES = 8 * MAX_TASK_INPUT_BYTES
PARTS = ("request", "attachments")


@dataclass
class TaskInput:
    """A validated create request: what to store and the jobs to queue."""

    input_mode: str
    prompt: str
    name: str | None
    jobs: list[tuple[str, dict]]
    timeout_seconds: int | None
    uploads: list = field(default_factory=list)  # multipart.Part file parts, each with .file open
    credentials: list[str] = field(default_factory=list)  # credential names or ids the jobs are to receive


def normalise_name(raw: str) -> str:
    """`"My Task!"` -> `my-task` (spec/gateway.md §4.3); may return "" (then a name is generated)."""
    return re.sub(r"[^a-z0-9]+", "-", raw.strip().lower()).strip("-")[:MAX_NAME_LENGTH].strip("-")


def _commands(body: dict, prompt: str | None) -> list[str]:
    if "commands" in body:
        commands = body["commands"]
    else:
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
    if isinstance(value, float) and value.is_integer():  # JSON has one number type: 60.0 is 60
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise BadRequest(f"timeout_seconds must be an integer from 1 to {maximum}")
    return value


def _string(body: dict, key: str) -> str | None:
    """An optional string field: absent -> None; present with another type (null included) -> 400."""
    if key not in body:
        return None
    if not isinstance(body[key], str):
        raise BadRequest(f"{key} must be a string")
    return body[key]


def _check_input_size(body: dict) -> None:
    """Prompt (a script is one) and commands together are at most MAX_TASK_INPUT_BYTES: what the client sent
    counts, not a prompt derived from its commands. Called once the fields' types are checked."""
    size = len(body.get("prompt", "").encode())
    if size > MAX_PROMPT_BYTES:
        raise BadRequest(f"prompt exceeds {MAX_PROMPT_BYTES} bytes")
    size += sum(len(command.encode()) for command in body.get("commands", ()))
    if size > MAX_TASK_INPUT_BYTES:
        raise BadRequest(f"task input (prompt and commands together) exceeds {MAX_TASK_INPUT_BYTES} bytes")


def _credentials(body: dict, mode: str) -> list[str]:
    """The credentials the task names (names or ids, duplicates dropped); resolved against the store later."""
    refs = body.get("credentials")
    if refs is None or refs == []:
        return []
    if not isinstance(refs, list) or not all(isinstance(r, str) and r.strip() for r in refs):
        raise BadRequest("credentials must be a list of credential names or ids")
    if mode == "prompt":
        raise BadRequest("credentials are only for script and commands tasks")
    refs = list(dict.fromkeys(refs))
    if len(refs) > MAX_TASK_CREDENTIALS:
        raise BadRequest(f"credentials: at most {MAX_TASK_CREDENTIALS}")
    return refs


def parse_fields(body: dict, max_timeout: int) -> TaskInput:
    mode = _string(body, "input_mode") or "prompt"
    if mode not in INPUT_MODES:
        raise BadRequest("input_mode must be one of: prompt, script, commands")
    prompt = _string(body, "prompt")
    jobs: list[tuple[str, dict]]
    if mode != "commands" and "commands" in body:
        raise BadRequest("commands is only valid with input_mode commands")
    if mode == "commands":
        commands = _commands(body, prompt)
        prompt = prompt or "\n".join(commands)
        jobs = [("command", {"command": command}) for command in commands]
    elif not prompt or not prompt.strip():
        raise BadRequest("Prompt is required")
    else:
        jobs = [(mode, {mode: prompt})]
    _check_input_size(body)
    name = _string(body, "task_name")
    return TaskInput(mode, prompt, normalise_name(name) if name else None, jobs, _timeout(body, max_timeout),
                     credentials=_credentials(body, mode))


def upload_names(uploads) -> list[str]:
    """Safe, unique file names for the uploads: the base name only; `a.txt`, `a-2.txt`, ... on clashes."""
    names: list[str] = []
    for upload in uploads:
        raw = os.path.basename((upload.raw_filename or "").replace("\\", "/"))
        base = "".join(c for c in raw if ord(c) >= 32)[:200].strip() or "attachment"
        base = "attachment" if base in (".", "..") else base
        stem, dot, ext = base.rpartition(".") if "." in base.lstrip(".") else (base, "", "")
        name, counter = base, 1
        while name in names:
            counter += 1
            name = f"{stem}-{counter}{dot}{ext}"
        names.append(name)
    return names


def _parts(req) -> tuple[bytes | None, list]:
    """The `request` part's bytes and the attachment file parts, checked part by part as they stream in."""
    raw, uploads = None, []
    for part in multipart.parts(req.body, req.content_length, req.content_type, max_parts=MAX_ATTACHMENTS + 1,
                                too_many=f"attachments: at most {MAX_ATTACHMENTS} files"):
        if part.name not in PARTS:
            raise BadRequest("multipart body may only hold the parts 'request' and 'attachments'")
        if part.name == "attachments":
            if part.filename is None:
                raise BadRequest("attachments must be file parts")
            uploads.append(part)
            continue
        if raw is not None:
            raise BadRequest("multipart body may hold only one 'request' part")
        raw = part.file.read(MAX_REQUEST_PART_BYTES + 1)
        part.file.close()
        if len(raw) > MAX_REQUEST_PART_BYTES:
            raise BadRequest(f"request part exceeds {MAX_REQUEST_PART_BYTES} bytes")
    return raw, uploads


def parse(req, max_timeout: int) -> TaskInput:
    """The request as a TaskInput; 400 naming the field for anything invalid."""
    if not req.content_type.startswith("multipart/form-data"):
        return parse_fields(read_json(req), max_timeout)
    raw, uploads = _parts(req)
    if raw is None:
        raise BadRequest("multipart request needs a 'request' part holding the task as JSON")
    task = parse_fields(decode_json(raw, what="request part: Invalid request body"), max_timeout)
    task.uploads = uploads
    return task
