"""Helpers for the task-lifecycle steps: sessions per server, tasks of a scenario, placeholders, polling, /proc.

Nothing here talks to the server except through real HTTP (tests.bdd.harness), and nothing looks at the host
except through /proc and the server's data dir, as an operator would.
"""

import json
import os
import random
import re
import signal
import time
from contextlib import suppress
from pathlib import Path

from urllib3 import encode_multipart_formdata

from tests.bdd.harness import Server

POLL_SECONDS = 0.05
WAIT_SECONDS = 30.0
TERMINAL = ("completed", "failed", "canceled", "superseded")

# (server, {handle: access token}) by id(server); holding the server keeps its id from being reused.
_SESSIONS: dict[int, tuple[Server, dict[str, str]]] = {}


def password(handle: str) -> str:
    return f"{handle}-password-1"


def wait_until(predicate, timeout: float = WAIT_SECONDS, what: str = "the condition"):
    """Poll `predicate` every 50 ms until it returns something truthy (returned); AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(POLL_SECONDS)


# --- sessions -------------------------------------------------------------------------------------------------


def token_for(server: Server, handle: str) -> str:
    """An access token of `handle` on `server`: the account is created and logged in once per server."""
    tokens = _SESSIONS.setdefault(id(server), (server, {}))[1]
    if handle not in tokens:
        if handle == "admin":
            tokens[handle] = server.admin_token()
        else:
            server.create_user(handle, password(handle))
            tokens[handle] = server.login(handle, password(handle))["access_token"]
    return tokens[handle]


def carry_sessions(old: Server, new: Server) -> None:
    """A restarted server shares the database, so the old server's tokens stay valid on the new one."""
    _SESSIONS[id(new)] = (new, dict(_SESSIONS.get(id(old), (old, {}))[1]))
    new.secrets |= old.secrets


# --- the scenario's tasks and placeholders ---------------------------------------------------------------------


class Tasks:
    """The tasks one scenario created, in order, with the handle that created each."""

    def __init__(self):
        self.items: list[tuple[str, str]] = []  # (task id, owner handle)

    def add(self, task_id: str, handle: str) -> None:
        self.items.append((task_id, handle))

    def pick(self, number: int | None = None) -> tuple[str, str]:
        """Task `number` (1-based) of the scenario, or the latest one."""
        assert self.items, "no task was created in this scenario"
        return self.items[-1] if number is None else self.items[number - 1]


def tasks_of(world) -> Tasks:
    return world.remembered.setdefault("tasks", Tasks())


def marker(world) -> str:
    """A number unique to this scenario, used in job command lines so their processes can be found on the host."""
    return world.remembered.setdefault("marker", str(random.randrange(10 ** 8, 10 ** 9)))


PLACEHOLDER = re.compile(r"\{(marker|task|data_dir|port|server_pid|artifact)(?::([^{}]+))?\}")


def fill(world, text: str, artifact_lookup=None) -> str:
    """Replace {marker}, {task}, {task:N}, {data_dir}, {port}, {server_pid} and {artifact:NAME} in step text."""
    def value(match: re.Match) -> str:
        name, arg = match.group(1), match.group(2)
        if name == "marker":
            return marker(world)
        if name == "task":
            return tasks_of(world).pick(int(arg) if arg else None)[0]
        if name == "artifact":
            return artifact_lookup(arg)
        return {"data_dir": lambda: str(data_dir(world.server)), "port": lambda: str(world.server.port),
                "server_pid": lambda: str(world.server.process.pid)}[name]()

    return PLACEHOLDER.sub(value, text)


def data_dir(server: Server) -> Path:
    return server.workdir / "data"


# --- multipart ---------------------------------------------------------------------------------------------------


def multipart(request_body: dict, attachments: list[tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A task-create body: the `request` JSON part plus one `attachments` file part per (name, bytes, type)."""
    fields = [("request", (None, json.dumps(request_body), "application/json"))]
    fields += [("attachments", (name, data, content_type)) for name, data, content_type in attachments]
    return encode_multipart_formdata(fields)


# --- the host's processes ----------------------------------------------------------------------------------------


def _cmdlines():
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                    yield int(entry.name), handle.read()
            except OSError:
                continue  # gone in between


def processes_with(text: str) -> list[int]:
    """PIDs of live processes on the host whose command line contains `text` (zombies have none)."""
    needle = text.encode()
    return [pid for pid, cmdline in _cmdlines() if needle in cmdline]


def processes_running(argv: list[str]) -> list[int]:
    """PIDs of live processes on the host whose command line is exactly `argv`."""
    wanted = b"\0".join(arg.encode() for arg in argv) + b"\0"
    return [pid for pid, cmdline in _cmdlines() if cmdline == wanted]


def kill_leftovers(text: str) -> list[int]:
    """SIGKILL what a scenario's jobs left behind (processes that servers started for this scenario's jobs)."""
    pids = processes_with(text)
    for pid in pids:
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return pids
