"""Steps for orchestrator_postgres.feature: `cynode serve` on a real PostgreSQL, its start-up errors, the password
file, and an outage made by cutting a TCP proxy between the server and the database.

The scenarios that need PostgreSQL skip, with the reason, when no server answers at CYNODE_TEST_PG_URL.
"""

import json
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from pytest_bdd import given, parsers, then, when

from tests.bdd.harness import ADMIN_PASSWORD, Server, child_environ, cynode_command, free_port, with_source
from tests.support.pg import PrivateDatabase, base_url, connect
from tests.support.tcpproxy import TcpProxy

START_TIMEOUT = 30.0
TASK_TIMEOUT = 30.0


@dataclass
class PgWorld:  # pylint: disable=too-many-instance-attributes  # one scenario's state
    """One scenario: its folder, its private database (made on first use), server, proxy and what it saw."""

    tmp_path: Path
    database: PrivateDatabase | None = None
    server: Server | None = None
    proxy: TcpProxy | None = None
    run: subprocess.CompletedProcess | None = None
    elapsed: float = 0.0
    password: str | None = None
    password_file: Path | None = None
    token: str | None = None
    task_id: str | None = None

    def database_url(self) -> str:
        if self.database is None:
            try:
                conn = connect(base_url())
            except Exception as exc:  # pylint: disable=broad-exception-caught  # any failure to connect means: skip
                pytest.skip(f"PostgreSQL not reachable at {base_url()} (set CYNODE_TEST_PG_URL): {exc}")
            self.database = PrivateDatabase(conn)
        return self.database.url

    def start_server(self, settings: dict[str, str]) -> Server:
        self.server = Server(self.tmp_path / "server", {"CYNODE_LOGIN_LIMIT_PER_IP": "10000", **settings}).start()
        return self.server


@pytest.fixture(name="pg")
def pg_fixture(tmp_path):
    state = PgWorld(tmp_path)
    yield state
    try:
        if state.server:
            state.server.check_clean_exit()
    finally:
        if state.proxy:
            state.proxy.cut()
        if state.database:
            state.database.close()


# --- start-up ---------------------------------------------------------------------------------------------------


@when(parsers.parse('cynode serve starts with a PostgreSQL URL holding password "{password}" on a port where '
                    'nothing listens'))
def _serve_unreachable(pg, password):
    url = f"postgresql://root:{password}@127.0.0.1:{free_port()}/test"
    argv = [*cynode_command(), "serve", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(pg.tmp_path / "d")]
    environ = with_source(child_environ({"CYNODE_DATABASE": url, "CYNODE_ADMIN_PASSWORD": ADMIN_PASSWORD}))
    started = time.monotonic()
    pg.run = subprocess.run(argv, env=environ, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=START_TIMEOUT, check=False)
    pg.elapsed = time.monotonic() - started


@then(parsers.parse("it exits with code {code:d} within {seconds:d} seconds"))
def _exits_with(pg, code, seconds):
    assert (pg.run.returncode, pg.elapsed < seconds) == (code, True), (pg.run.returncode, pg.elapsed, pg.run.stderr)


@then(parsers.parse('its output is one line starting "{start}"'))
def _one_line(pg, start):
    output = pg.run.stdout + pg.run.stderr
    assert output.count("\n") == 1 and output.startswith(start), output


@then(parsers.parse('its output does not contain "{text}"'))
def _output_lacks(pg, text):
    assert text not in pg.run.stdout + pg.run.stderr


# --- the password file --------------------------------------------------------------------------------------------


@given("a file holding a fresh database password")
def _password_file(pg):
    pg.password = "pw-" + secrets.token_hex(12)
    pg.password_file = pg.tmp_path / "pgpassword"
    pg.password_file.write_text(pg.password + "\n", encoding="utf-8")
    pg.password_file.chmod(0o600)


@when("a server starts on PostgreSQL with that password file")
def _serve_with_password_file(pg):
    server = pg.start_server({"CYNODE_DATABASE": pg.database_url(),
                              "CYNODE_DATABASE_PASSWORD_FILE": str(pg.password_file)})
    server.secrets.add(pg.password)  # check_clean_exit looks for it in the log too


@then("the server is ready")
def _ready(pg):
    response = pg.server.send("GET", "/readyz")
    assert response.status == 200, response.body


@then("no process's command line holds the password")
def _not_in_argv(pg):
    holders = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if pg.password.encode() in cmdline.read_bytes():
                holders.append(cmdline.parent.name)
        except OSError:
            continue  # the process ended meanwhile
    assert pg.server.process.pid not in holders and not holders, holders


@then("the server log does not hold the password")
def _not_in_log(pg):
    assert pg.password not in pg.server.log()


# --- an outage ------------------------------------------------------------------------------------------------------


@given(parsers.re(r"a server on PostgreSQL through a network that can be cut(?:, with job leases of "
                  r"(?P<lease>\d+) seconds)?"))
def _serve_through_proxy(pg, lease):
    parts = urlsplit(pg.database_url())
    pg.proxy = TcpProxy((parts.hostname, parts.port or 5432)).start()
    netloc = f"{parts.netloc.rpartition('@')[0]}@127.0.0.1:{pg.proxy.port}"
    pg.start_server({"CYNODE_DATABASE": urlunsplit(parts._replace(netloc=netloc)),
                     **({"CYNODE_JOB_LEASE_SECONDS": lease} if lease else {})})


@given("the admin is signed in")
def _admin_signed_in(pg):
    pg.token = pg.server.admin_token()


@when("the network to the database is cut")
def _cut(pg):
    pg.proxy.cut()


@when("the network to the database is restored")
def _restore(pg):
    pg.proxy.restore()


@then(parsers.parse('"/readyz" answers 503 "{text}"'))
def _readyz_503(pg, text):
    response = pg.server.send("GET", "/readyz")
    assert (response.status, response.header("Content-Type")) == (503, "text/plain; charset=utf-8"), response
    assert response.text.startswith(text), response.text


@then(parsers.parse('"GET {path}" answers 503 problem+json "{detail}" with a Retry-After header'))
def _api_503(pg, path, detail):
    response = pg.server.send("GET", path, token=pg.token)
    assert response.status == 503 and not response.problem_errors(), (response.status, response.body)
    assert response.json["detail"] == detail and response.header("Retry-After"), response


@then("the server log holds no traceback")
def _no_traceback(pg):
    time.sleep(2.5)  # two ticks of every dispatcher loop: an outage is one line per loop, not one per tick
    log = pg.server.log()
    assert "Traceback" not in log, log
    workers = 4  # the default: each worker loop, the heartbeat and the monitor may say so once
    assert log.count("database unavailable (") <= workers + 2, log


@then(parsers.parse('within {seconds:d} seconds "/readyz" answers 200'))
def _readyz_back(pg, seconds):
    started = time.monotonic()
    while (response := pg.server.send("GET", "/readyz")).status != 200:
        assert time.monotonic() - started < seconds, (response.status, response.body)
        time.sleep(0.05)
    print(f"/readyz 200 again {time.monotonic() - started:.2f} s after the restore")


@then("the admin can sign in again")
def _sign_in_again(pg):
    pg.token = pg.server.login("admin", ADMIN_PASSWORD)["access_token"]


def _create_task(pg, command: str) -> None:
    created = pg.server.send("POST", "/v1/tasks", token=pg.token,
                             body={"input_mode": "commands", "commands": [command]})
    assert created.status in (200, 201), created.body
    pg.task_id = created.json["id"]


def _task_leaves(pg, statuses: tuple[str, ...], seconds: float) -> dict:
    """The task once its status is none of `statuses` (polled; fails after `seconds`)."""
    started = time.monotonic()
    while (task := pg.server.send("GET", f"/v1/tasks/{pg.task_id}", token=pg.token).json)["status"] in statuses:
        assert time.monotonic() - started < seconds, task
        time.sleep(0.05)
    return task


@then(parsers.parse('a command task "{command}" runs to "{status}"'))
def _command_task(pg, command, status):
    started = time.monotonic()
    _create_task(pg, command)
    task = _task_leaves(pg, ("queued", "running"), TASK_TIMEOUT)
    assert task["status"] == status, task
    print(f"task {task['status']} {time.monotonic() - started:.2f} s after it was created")


@given(parsers.parse('a command task "{command}" is running'))
def _running_task(pg, command):
    _create_task(pg, command)
    assert _task_leaves(pg, ("queued",), TASK_TIMEOUT)["status"] == "running"


@when(parsers.parse("{seconds:d} seconds pass"))
def _seconds_pass(seconds):
    time.sleep(seconds)


@then(parsers.parse('within {seconds:d} seconds the task is "{status}"'))
def _task_is(pg, seconds, status):
    started = time.monotonic()
    task = _task_leaves(pg, ("queued", "running"), seconds)
    assert task["status"] == status, task
    print(f"task {task['status']} {time.monotonic() - started:.2f} s after the restore")


@then(parsers.parse('its job\'s error says "{text}"'))
def _job_error(pg, text):
    result = pg.server.send("GET", f"/v1/tasks/{pg.task_id}/result", token=pg.token).json
    [job] = result["jobs"]
    assert text in json.loads(job["result"])["error"], job
