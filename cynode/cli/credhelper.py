"""The credential-helper protocol (spec/cli.md §5.2): a program that keeps the token for us."""

import json
import os
import subprocess

from cynode.cli.exits import CliError, ExitStatus

TIMEOUT_SECONDS = 10


class HelperError(Exception):
    """The helper could not do what was asked; the message never contains secret material."""


def _executable(name: str) -> str:
    if "/" in name or name.startswith("."):
        return name
    raise HelperError(f"credential helper '{name}' is not supported")


def _call(name: str, request: dict) -> dict:
    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    try:
        proc = subprocess.run([_executable(name)], input=json.dumps(request) + "\n", capture_output=True,
                              text=True, env=env, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise HelperError(f"timed out after {TIMEOUT_SECONDS}s") from None
    except OSError as exc:
        raise HelperError(exc.strerror or str(exc)) from None
    if proc.returncode != 0:
        raise HelperError(f"exited with status {proc.returncode}")
    line = next((line for line in proc.stdout.splitlines() if line.strip()), "")
    try:
        reply = json.loads(line)
    except ValueError:
        raise HelperError("reply is not JSON") from None
    if not isinstance(reply, dict):
        raise HelperError("reply is not a JSON object")
    if reply.get("error"):
        raise HelperError(str(reply["error"]))
    return reply


def get(name: str, warn) -> str | None:
    """The stored token, or None (with a warning) when the helper fails: a failed get is not fatal."""
    try:
        secret = _call(name, {"action": "get"}).get("secret")
    except HelperError as exc:
        warn(f"credential helper: {exc}")
        return None
    return secret if isinstance(secret, str) and secret else None


def store(name: str, secret: str) -> None:
    """Store (or with "", clear) the token; failure is fatal for the command."""
    try:
        _call(name, {"action": "store", "secret": secret})
    except HelperError as exc:
        raise CliError(f"credential helper store failed: {exc}", ExitStatus.INTERNAL) from None
