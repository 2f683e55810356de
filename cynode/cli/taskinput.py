"""`task create`'s local checks (spec/cli.md §7.4.1): exactly one input mode, and every file a readable regular
file within its limit. All of it runs before the token is looked at or a request is sent, so each failure is a
usage error (exit 2) that names the path."""

import mimetypes
import os
import stat
from dataclasses import dataclass

from cynode.cli.exits import usage_error
from cynode.contract import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MAX_TASK_INPUT_BYTES

TASK_FILE_LIMIT = MAX_TASK_INPUT_BYTES  # 1 MiB
SCRIPT_LIMIT = 256 * 1024
COMMANDS_FILE_LIMIT = 64 * 1024
MODES = "exactly one task input mode is required"


@dataclass(frozen=True)
class Attachment:
    """A checked file to upload: its path as given, the name and type it is sent with, and its checked size."""

    path: str
    name: str
    content_type: str
    size: int


@dataclass
class TaskRequest:
    """What `task create` sends: the JSON fields, plus the files when there are attachments."""

    body: dict
    attachments: list


def path_error(path: str, reason: str):
    return usage_error(f'path "{path}": {reason}')


def open_checked(path: str, what: str, limit: int):
    """`path` opened for reading (binary) after checking, without following a symlink, that it is a regular file
    of at most `limit` bytes. The size is checked on the open file too, so a swap after the check is caught."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise path_error(path, "no such file") from None
    except OSError as exc:
        raise path_error(path, exc.strerror or str(exc)) from None
    if stat.S_ISLNK(info.st_mode):
        raise path_error(path, "is a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise path_error(path, "is a directory" if stat.S_ISDIR(info.st_mode) else "is not a regular file")
    try:
        # O_NOFOLLOW and O_NONBLOCK: a symlink or FIFO swapped in after lstat fails or cannot block the open
        handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb")
    except OSError as exc:
        raise path_error(path, f"cannot be read: {exc.strerror or exc}") from None
    info = os.fstat(handle.fileno())
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        handle.close()
        if not stat.S_ISREG(info.st_mode):
            raise path_error(path, "is not a regular file")
        raise usage_error(f'{what} "{path}" exceeds size limit ({limit} bytes)')
    return handle


def read_text(path: str, what: str, limit: int) -> str:
    with open_checked(path, what, limit) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew since the check
        raise usage_error(f'{what} "{path}" exceeds size limit ({limit} bytes)')
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise path_error(path, "is not UTF-8 text") from None


def attachment(path: str) -> Attachment:
    with open_checked(path, "attachment", MAX_ATTACHMENT_BYTES) as handle:
        size = os.fstat(handle.fileno()).st_size
    name = os.path.basename(path.rstrip("/")) or "attachment"
    return Attachment(path, name, mimetypes.guess_type(name)[0] or "application/octet-stream", size)


def _given_modes(args: dict) -> list[str]:
    """The input flags given; inline text that is empty or only whitespace counts as not given."""
    given = [flag for flag in ("--prompt", "--task") if (args.get(flag) or "").strip()]
    given += [flag for flag in ("--task-file", "--script", "--commands-file") if args.get(flag) is not None]
    return given + (["--command"] if args.get("--command") else [])


def build(args: dict) -> TaskRequest:
    """The request `task create` sends for these flags; a usage error for anything wrong with them."""
    modes = _given_modes(args)
    if len(modes) != 1:
        raise usage_error(MODES)
    if len(args.get("--attach") or ()) > MAX_ATTACHMENTS:
        raise usage_error(f"too many attachments: max {MAX_ATTACHMENTS}")
    mode = modes[0]
    if mode in ("--prompt", "--task"):
        body = {"prompt": args[mode], "input_mode": "prompt"}
    elif mode == "--task-file":
        body = {"prompt": read_text(args[mode], "task file", TASK_FILE_LIMIT), "input_mode": "prompt"}
    elif mode == "--script":
        body = {"prompt": read_text(args[mode], "script", SCRIPT_LIMIT), "input_mode": "script"}
    else:
        commands = list(args["--command"]) if mode == "--command" else _commands_file(args[mode])
        body = {"prompt": "\n".join(commands), "input_mode": "commands", "commands": commands}
    if args.get("--name") is not None:
        body["task_name"] = args["--name"]
    if args.get("--cred"):
        body["credentials"] = list(args["--cred"])
    return TaskRequest(body, [attachment(path) for path in args.get("--attach") or ()])


def _commands_file(path: str) -> list[str]:
    lines = (line.removesuffix("\r") for line in read_text(path, "commands file", COMMANDS_FILE_LIMIT).split("\n"))
    commands = [line for line in lines if line.strip()]
    if not commands:
        raise usage_error(f'commands file "{path}" has no commands')
    return commands
