"""The BDD harness: a real `cynode serve` subprocess, the real CLI as a subprocess, and raw HTTP against it.

Nothing here is mocked. When CYNODE_TEST_PYZ names a built zipapp, the server and the CLI both run from it.
Every child inherits this process's environment (coverage follows subprocesses through it) plus overrides.
"""

import http.client
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.bdd.backend import DATABASES, backend

ADMIN_PASSWORD = "bdd-admin-password-1"
READY_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
CLI_TIMEOUT = 30.0
HTTP_TIMEOUT = 30.0
SOURCE_ROOT = str(Path(__file__).resolve().parents[2])

# Routes whose errors use the OpenAI error shape instead of problem+json (spec/gateway.md §1.1), and /readyz,
# whose 503 is a one-line text/plain reason (§2).
NON_PROBLEM_PREFIXES = ("/v1/models", "/v1/chat/completions", "/v1/chat/threads", "/readyz")


def cynode_command() -> list[str]:
    """How to start cynode: from the built zipapp when CYNODE_TEST_PYZ is set, else from the source tree.

    The zipapp runs on the interpreter the venv was made from, isolated (-I): nothing of the venv's site-packages
    or of PYTHON* variables can stand in for something missing from the archive, as on a machine it is dropped on.
    """
    pyz = os.environ.get("CYNODE_TEST_PYZ")
    return [getattr(sys, "_base_executable", sys.executable), "-I", pyz] if pyz else [sys.executable, "-m", "cynode"]


def with_source(environ: dict[str, str]) -> dict[str, str]:
    """`python -m cynode` runs this source tree from any working directory (not only from the tree itself)."""
    if os.environ.get("CYNODE_TEST_PYZ"):
        return environ
    return {**environ, "PYTHONPATH": os.pathsep.join(filter(None, [SOURCE_ROOT, environ.get("PYTHONPATH")]))}


def child_environ(overrides: dict[str, str | None]) -> dict[str, str]:
    """os.environ without the caller's own cynode/cynork settings, plus `overrides` (None removes a name)."""
    environ = {key: value for key, value in os.environ.items()
               if not (key.startswith(("CYNODE_", "CYNORK_")) and not key.startswith("CYNODE_TEST_"))}
    for key, value in overrides.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return environ


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dead_url() -> str:
    """A gateway URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


# --- HTTP ------------------------------------------------------------------------------------------------------


@dataclass
class Response:
    """One real HTTP exchange with the server."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise AssertionError(f"{self.method} {self.path} -> {self.status}: body is not JSON: {self.body!r}") \
                from exc

    def is_policy_refusal(self) -> bool:
        """The other documented non-problem error (spec/gateway.md §1.1): skill content the policy scanner refuses,
        a 400 `application/json` `{"error": "policy violation", "category", "triggering_text"}`."""
        if self.status != 400 or not self.path.startswith("/v1/skills/") or \
                (self.header("Content-Type") or "").split(";")[0].strip() != "application/json":
            return False
        try:
            body = json.loads(self.body)
        except ValueError:
            return False
        return isinstance(body, dict) and sorted(body) == ["category", "error", "triggering_text"] \
            and body["error"] == "policy violation"

    def problem_errors(self) -> list[str]:
        """Where this error response breaks the problem+json contract (spec/gateway.md §1.1); [] when it holds."""
        if self.status < 400 or self.path.startswith(NON_PROBLEM_PREFIXES) or self.is_policy_refusal():
            return []
        errors = []
        if (self.header("Content-Type") or "").split(";")[0].strip() != "application/problem+json":
            errors.append(f"Content-Type is {self.header('Content-Type')!r}")
        try:
            body = json.loads(self.body)
        except ValueError:
            return errors + [f"body is not JSON: {self.body[:200]!r}"]
        if not isinstance(body, dict):
            return errors + [f"body is not an object: {body!r}"]
        if body.get("status") != self.status:
            errors.append(f"body status {body.get('status')!r} != HTTP status {self.status}")
        for key in ("type", "title"):
            if not isinstance(body.get(key), str) or not body[key]:
                errors.append(f"body has no {key!r} string")
        return errors


def request(base_url: str, method: str, path: str, *, body: bytes | str | dict | None = None,
            headers: dict[str, str] | None = None, token: str | None = None, chunked: bool = False) -> Response:
    """Send one request with http.client; a dict body is sent as JSON; `chunked` streams it without a length."""
    host, port = base_url.split("//", 1)[1].rsplit(":", 1)
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection(host, int(port), timeout=HTTP_TIMEOUT)
    try:
        if chunked:
            conn.request(method, path, body=iter([body]), headers=headers, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=headers)
        raw = conn.getresponse()
        data = raw.read()
        return Response(method, path, raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)
    finally:
        conn.close()


# --- the server -------------------------------------------------------------------------------------------------


@dataclass
class Server:  # pylint: disable=too-many-instance-attributes
    """`cynode serve` in a subprocess with its own data dir; stderr (the request log) goes to a file.

    Its database is SQLite in the data dir, or with CYNODE_TEST_BACKEND=postgresql its work dir's private
    PostgreSQL database (tests/bdd/backend.py), unless its settings or flags name one.
    """

    workdir: Path
    settings: dict[str, str] = field(default_factory=dict)
    admin_password: str | None = ADMIN_PASSWORD
    port: int = 0
    process: subprocess.Popen | None = None
    exit_code: int | None = None
    secrets: set[str] = field(default_factory=set)  # values that must never show up in the log
    prefix: list[str] = field(default_factory=list)  # runs the server, e.g. setpriv as another user
    args: list[str] = field(default_factory=list)  # more `cynode serve` flags
    requests_sent: int = 0  # through send(), i.e. everything after the readiness poll
    _admin_token: str | None = None
    _private_database: str | None = None  # the URL of the work dir's PostgreSQL database while this server owns it

    @property
    def database_url(self) -> str:
        """The database this server uses."""
        for index, arg in enumerate(self.args):
            if arg.startswith("--database="):
                return arg.split("=", 1)[1]
            if arg == "--database" and index + 1 < len(self.args):
                return self.args[index + 1]
        return self.settings.get("CYNODE_DATABASE") or self._private_database \
            or f"sqlite:///{self.workdir / 'data' / 'cynode.db'}"

    def _names_database(self) -> bool:
        return "CYNODE_DATABASE" in self.settings or any(arg.startswith("--database") for arg in self.args)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def start(self) -> "Server":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        overrides = {"CYNODE_ADMIN_PASSWORD": self.admin_password, **self.settings}
        if backend() == "postgresql" and not self._names_database():
            self._private_database = overrides["CYNODE_DATABASE"] = DATABASES.for_server(self.workdir).url
        if self.admin_password:
            self.secrets.add(self.admin_password)
        argv = [*self.prefix, *cynode_command(), "serve", "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", str(self.workdir / "data"), *self.args]
        with open(self.log_path, "wb") as log:
            # pylint: disable-next=consider-using-with  # the server outlives this call; stop() reaps it
            self.process = subprocess.Popen(argv, env=child_environ(overrides), stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"cynode serve exited with {self.process.returncode} before it was ready:\n"
                                     + self.log())
            try:
                if request(self.url, "GET", "/healthz").status == 200:
                    # The server logs a request when it closes the response, which may be after the client has
                    # it: wait for that line, so it never counts as one of the scenario's own requests.
                    while "path=/healthz status=200" not in self.log() and time.monotonic() < deadline:
                        time.sleep(0.01)
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"cynode serve was not ready within {READY_TIMEOUT:.0f} s:\n{self.log()}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait; the exit code (a server that ignores SIGTERM is killed and reported). Its private
        PostgreSQL database, if any, is dropped."""
        try:
            if self.process is None:
                return self.exit_code
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired as exc:
                    self.process.kill()
                    self.process.wait()
                    raise AssertionError(f"cynode serve did not exit within {timeout} s of SIGTERM:\n{self.log()}") \
                        from exc
            self.exit_code = self.process.returncode
            self.process = None
            return self.exit_code
        finally:
            if self._private_database and self.process is None:
                DATABASES.release(self.workdir)
                self._private_database = None

    def check_clean_exit(self) -> None:
        """What every server must satisfy when its tests are done: clean exit, no leaks, no tracebacks."""
        code = self.stop()
        log = self.log()
        assert code == 0, f"cynode serve exited with {code} after SIGTERM:\n{log}"
        assert "Traceback" not in log, f"the server log holds a traceback:\n{log}"
        leaked = [secret for secret in self.secrets if secret in log]
        assert not leaked, f"the server log contains {len(leaked)} secret value(s) (password or tokens)"

    # helpers for Given steps ---------------------------------------------------------------------------

    def send(self, method: str, path: str, **kwargs) -> Response:
        """A request whose tokens (in the response) are remembered as secrets the log must never show."""
        self.requests_sent += 1
        response = request(self.url, method, path, **kwargs)
        if response.status < 300 and response.body.startswith(b"{"):
            data = response.json
            self.secrets.update(str(data[key]) for key in ("access_token", "refresh_token", "token")
                                if data.get(key))  # "token": a new API token
        return response

    def login(self, handle: str, password: str) -> dict:
        response = self.send("POST", "/v1/auth/login", body={"handle": handle, "password": password})
        assert response.status == 200, f"login as {handle!r} failed: {response.status} {response.body!r}"
        return response.json

    def admin_token(self) -> str:
        """An admin access token for setting things up, reused while it is still accepted."""
        if self._admin_token and self.send("GET", "/v1/users/me", token=self._admin_token).status == 200:
            return self._admin_token
        self._admin_token = self.login("admin", self.admin_password)["access_token"]
        return self._admin_token

    def create_user(self, handle: str, password: str, *, is_admin: bool = False) -> dict:
        response = self.send("POST", "/v1/users", token=self.admin_token(),
                             body={"handle": handle, "password": password, "is_admin": is_admin})
        assert response.status == 201, f"creating user {handle!r} failed: {response.status} {response.body!r}"
        return response.json


# --- the CLI ----------------------------------------------------------------------------------------------------


@dataclass
class CliResult:
    """One finished `cynode cli` process."""

    args: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def json(self):
        try:
            return json.loads(self.stdout)
        except ValueError as exc:
            raise AssertionError(f"stdout of {self.describe()} is not one JSON value:\n{self.stdout}") from exc

    def describe(self) -> str:
        return f"`cynode cli {shlex.join(self.args)}` (exit {self.code})"

    def report(self) -> str:
        return f"{self.describe()}\n--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}"


@dataclass
class Profile:
    """One person's client: their own config dir and HOME, so sessions never mix."""

    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / "xdg" / "cynork" / "config.yaml"

    def environ(self, gateway_url: str | None, extra: dict[str, str | None]) -> dict[str, str]:
        (self.root / "home").mkdir(parents=True, exist_ok=True)
        (self.root / "xdg").mkdir(parents=True, exist_ok=True)
        overrides = {"HOME": str(self.root / "home"), "XDG_CONFIG_HOME": str(self.root / "xdg"),
                     "CYNORK_GATEWAY_URL": gateway_url, **extra}
        return child_environ(overrides)

    def config(self) -> dict:
        import yaml  # pylint: disable=import-outside-toplevel

        return yaml.safe_load(self.config_file.read_text(encoding="utf-8")) or {}


def run_cli(args: list[str], environ: dict[str, str], stdin: str | None = None,
            cwd: Path | None = None) -> CliResult:
    """Run `cynode cli ARGS` to completion (in `cwd`, default ours). A traceback on stderr fails the test whatever
    the exit code."""
    completed = subprocess.run([*cynode_command(), "cli", *args], env=with_source(environ), check=False,
                               timeout=CLI_TIMEOUT, input=(stdin or "").encode("utf-8"), capture_output=True, cwd=cwd)
    result = CliResult(list(args), completed.returncode, completed.stdout.decode("utf-8", "replace"),
                       completed.stderr.decode("utf-8", "replace"))
    assert "Traceback" not in result.stderr, f"a Python traceback reached the user:\n{result.report()}"
    return result
