"""BDD fixtures and the steps every suite shares: servers, users, running the CLI, raw HTTP, and checks.

A scenario's state lives in one `World`. The feature's server is started once per test module (feature file);
a scenario that needs its own settings starts a separate server that lives for that scenario only. Every
server must exit 0 on SIGTERM and leave no traceback, password or seen token in its log.
"""

import json
import os
import re
import shlex
import time
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from cynode import __version__
from tests.bdd.backend import DATABASES, backend
from tests.bdd.harness import ADMIN_PASSWORD, CliResult, Profile, Response, Server, dead_url, run_cli
from tests.bdd.harness import request as http_request

# The shared server gets generous login limits: the limit scenarios start servers of their own.
SHARED_SETTINGS = {"CYNODE_LOGIN_LIMIT_PER_IP": "10000", "CYNODE_LOGIN_LIMIT_PER_HANDLE": "10000"}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
SETTLE_SECONDS = 10.0
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def pytest_configure(config):
    """Register every tag used in a feature file as a marker (pytest-bdd turns tags into marks)."""
    base = Path(config.rootpath) / (config.getini("bdd_features_base_dir") or "features")
    tags = {tag[1:] for path in base.rglob("*.feature") for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip().startswith("@") for tag in line.split() if tag.startswith("@")}
    for tag in sorted(tags):
        config.addinivalue_line("markers", f"{tag}: feature-file tag")


# Tags for the few scenarios that only mean something on one database backend (CYNODE_TEST_BACKEND).
BACKEND_TAGS = {"sqlite_only": "sqlite", "postgresql_only": "postgresql"}


def pytest_runtest_setup(item):
    """Skip, with the reason shown, a scenario tagged for the other backend."""
    for tag, wanted in BACKEND_TAGS.items():
        if item.get_closest_marker(tag) and backend() != wanted:
            pytest.skip(f"@{tag}: checks what only the {wanted} backend has (CYNODE_TEST_BACKEND={backend()})")


@pytest.fixture(scope="session", autouse=True)
def _private_databases():
    """With CYNODE_TEST_BACKEND=postgresql: drop what is left of this process's databases when the run ends."""
    yield
    DATABASES.close()


@pytest.fixture(scope="session", autouse=True)
def _shiv_root(tmp_path_factory):
    """With CYNODE_TEST_PYZ, unpack the zipapp once per run instead of into every scenario's fresh HOME."""
    pyz = os.environ.get("CYNODE_TEST_PYZ")
    if pyz and not os.path.isfile(pyz):
        pytest.fail(f"CYNODE_TEST_PYZ={pyz} is not a file; build it first (python build.py)", pytrace=False)
    if pyz and not os.environ.get("SHIV_ROOT"):
        os.environ["SHIV_ROOT"] = str(tmp_path_factory.mktemp("shiv"))
        yield
        del os.environ["SHIV_ROOT"]
    else:
        yield


@pytest.fixture(name="shared_server", scope="module")
def _shared_server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("server"), dict(SHARED_SETTINGS)).start()
    yield server
    server.check_clean_exit()


@pytest.fixture(name="world")
def _world(tmp_path, request):
    state = World(tmp_path, lambda: request.getfixturevalue("shared_server"))
    yield state
    state.collect_cli_secrets()
    for server in state.own_servers:
        server.check_clean_exit()


@pytest.fixture(name="terminals")
def _terminals():
    """Terminal sessions (tests/support/terminal.py) a scenario started; any still running when it ends (after a
    failed step) are killed."""
    started = []
    yield started
    for term in started:
        term.close()


def unescape(text: str) -> str:
    r"""`\n`, `\t` and `\\` written in a feature file, as the characters they stand for."""
    return re.sub(r"\\([nt\\])", lambda m: {"n": "\n", "t": "\t", "\\": "\\"}[m.group(1)], text)


def pattern(text: str) -> re.Pattern:
    """A literal line in which `{uuid}` and `{timestamp}` stand for any such value."""
    parts = re.split(r"(\{uuid\}|\{timestamp\})", text)
    return re.compile("".join({"{uuid}": UUID, "{timestamp}": TIMESTAMP}.get(p, re.escape(p)) for p in parts))


class World:  # pylint: disable=too-many-instance-attributes
    """Everything one scenario knows: its server, its people (CLI profiles, HTTP sessions) and last results."""

    def __init__(self, tmp_path: Path, shared):
        self.tmp = tmp_path
        self._shared = shared
        self.server: Server | None = None
        self.own_servers: list[Server] = []
        self.gateway_url: str | None = None  # overrides the server's URL for CLI runs
        self.cli_env: dict[str, str | None] = {}
        self.cli_cwd: Path | None = None  # where CLI runs start (relative paths in their arguments)
        self.passwords = {"admin": ADMIN_PASSWORD}
        self.user_ids: dict[str, str] = {}
        self.result: CliResult | None = None
        self.results: list[CliResult] = []
        self.log_mark = 0
        self.response: Response | None = None
        self.responses: list[Response] = []
        self.sessions: dict[str, dict] = {}
        self.remembered: dict = {}
        self.marks = (0, 0)  # (log length, requests sent) when this scenario took its server

    def use_shared_server(self) -> None:
        self._use(self._shared())

    def start_server(self, settings: dict[str, str], admin_password: str | None = ADMIN_PASSWORD) -> Server:
        server = Server(self.tmp / f"server{len(self.own_servers)}", settings, admin_password)
        self.own_servers.append(server)
        self._use(server.start())
        return server

    def _use(self, server: Server) -> None:
        self.server = server
        self.marks = (len(server.log()), server.requests_sent)

    def collect_cli_secrets(self) -> None:
        """Tokens the CLI stored in this scenario join what the server's log must never contain."""
        import yaml  # pylint: disable=import-outside-toplevel

        for config in (self.tmp / "profiles").glob("*/xdg/cynork/config.yaml"):
            try:
                stored = yaml.safe_load(config.read_text(encoding="utf-8"))
            except yaml.YAMLError:
                continue  # a scenario's deliberately broken file
            if self.server and isinstance(stored, dict):
                self.server.secrets.update(stored[key] for key in ("token", "refresh_token")
                                           if isinstance(stored.get(key), str) and len(stored[key]) >= 16)

    # names in feature files ------------------------------------------------------------------------------

    def expand(self, text: str) -> str:
        """`${ADMIN_PASSWORD}`, `${VERSION}`, `${GATEWAY_URL}` and `${ID:<handle>}` in step text."""
        def value(match: re.Match) -> str:
            name, arg = match.group(1), match.group(2)
            if name == "ID":
                return self.user_id(arg)
            return {"ADMIN_PASSWORD": lambda: self.server.admin_password, "VERSION": lambda: __version__,
                    "GATEWAY_URL": lambda: self.server.url}[name]()

        return re.sub(r"\$\{(\w+)(?::([^}]+))?\}", value, text)

    def user_id(self, handle: str) -> str:
        if handle not in self.user_ids:
            response = self.server.send("GET", "/v1/users?limit=200", token=self.server.admin_token())
            self.user_ids.update({user["handle"]: user["id"] for user in response.json["users"]})
        return self.user_ids[handle]

    # the CLI -----------------------------------------------------------------------------------------------

    def profile(self, name: str = "me") -> Profile:
        return Profile(self.tmp / "profiles" / name)

    def settle(self) -> None:
        """Wait until the server has logged every request answered so far. It logs a request once its response is
        closed, a moment after the client has it: without this, a line of an earlier request could land after the
        mark of the next CLI run and count as that run's ("the server saw no request from that run")."""
        if self.server.process is None:
            return
        request_id = http_request(self.server.url, "GET", "/healthz").header("X-Request-Id")
        deadline = time.monotonic() + SETTLE_SECONDS
        while request_id not in self.server.log():
            assert time.monotonic() < deadline, "the server did not log a /healthz request"
            time.sleep(0.01)

    def cli(self, args: list[str], stdin: str | None = None, profile: str = "me",
            env: dict[str, str | None] | None = None) -> CliResult:
        self.settle()
        self.log_mark = len(self.server.log())
        environ = self.profile(profile).environ(self.gateway_url or self.server.url, {**self.cli_env, **(env or {})})
        self.result = run_cli(args, environ, stdin, self.cli_cwd)
        return self.result

    def login(self, handle: str, profile: str = "me") -> None:
        result = self.cli(["auth", "login", "--handle", handle, "--password-stdin"], self.passwords[handle] + "\n",
                          profile)
        assert result.code == 0, result.report()

    def requests_since_mark(self) -> list[str]:
        return [line for line in self.server.log()[self.log_mark:].splitlines() if "method=" in line]

    # HTTP --------------------------------------------------------------------------------------------------

    def send(self, method: str, path: str, **kwargs) -> Response:
        """A request to the current server; any error answer must be a well-formed problem."""
        self.response = self.server.send(method, self.expand(path), **kwargs)
        problems = self.response.problem_errors()
        assert not problems, f"{method} {path} -> {self.response.status} breaks problem+json: {problems}"
        return self.response

    def token(self, session: str, kind: str = "access") -> str:
        return self.sessions[session][f"{kind}_token"]


# --- servers and users ---------------------------------------------------------------------------------------


@given("a running cynode server")
def _running_server(world):
    world.use_shared_server()


@given(parsers.re(r'a separate cynode server(?: with "(?P<settings>[^"]*)")?'))
def _separate_server(world, settings):
    world.start_server(dict(item.split("=", 1) for item in (settings or "").split()))


@given("a separate cynode server without an admin password")
def _separate_server_generated_password(world):
    world.start_server({}, admin_password=None)


@given(parsers.parse('the admin has created user "{handle}" with password "{password}"'))
def _user_created(world, handle, password):
    world.user_ids[handle] = world.server.create_user(handle, password)["id"]
    world.passwords[handle] = password


# --- running the CLI -----------------------------------------------------------------------------------------


@given("the gateway is unreachable")
def _gateway_down(world):
    world.gateway_url = dead_url()


@given("neither HOME nor XDG_CONFIG_HOME is set")
def _no_home(world):
    world.cli_env.update(HOME=None, XDG_CONFIG_HOME=None)


@given("the gateway URL is not set in the environment")
def _no_gateway_env(world):
    world.cli_env["CYNORK_GATEWAY_URL"] = None


@given(parsers.parse('the config file contains "{content}"'))
def _config_contains(world, content):
    path = world.profile().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(world.expand(unescape(content)), encoding="utf-8")


@given(parsers.re(r'I am logged in as "(?P<handle>[^"]+)"(?: in profile "(?P<profile>[^"]+)")?'))
def _logged_in(world, handle, profile):
    world.login(handle, profile or "me")


@when(parsers.re(r'I run cynork "(?P<args>[^"]*)"(?: with stdin "(?P<stdin>[^"]*)")?(?: as "(?P<profile>[^"]+)")?'))
def _run(world, args, stdin, profile):
    world.cli(shlex.split(args), world.expand(unescape(stdin)) if stdin is not None else None, profile or "me")


@when("I run these cynork commands:")
def _run_many(world, datatable):
    header, *rows = datatable
    for row in rows:
        cells = dict(zip(header, row))
        stdin = world.expand(unescape(cells.get("stdin", "")))
        world.results.append(world.cli(shlex.split(cells["args"]), stdin))


@then(parsers.parse("the exit code is {code:d}"))
def _exit_code(world, code):
    assert world.result.code == code, world.result.report()


@then(parsers.parse('stdout is exactly "{text}"'))
def _stdout_exactly(world, text):
    assert world.result.stdout == world.expand(unescape(text)) + "\n", world.result.report()


@then("stdout is empty")
def _stdout_empty(world):
    assert world.result.stdout == "", world.result.report()


@then("stderr is empty")
def _stderr_empty(world):
    assert world.result.stderr == "", world.result.report()


@then(parsers.parse('stderr is exactly "{text}"'))
def _stderr_exactly(world, text):
    assert world.result.stderr == text + "\n", world.result.report()


@then(parsers.parse('stderr starts with "{text}"'))
def _stderr_starts(world, text):
    assert world.result.stderr.startswith(text), world.result.report()


@then(parsers.parse('stderr ends with "{text}"'))
def _stderr_ends(world, text):
    assert world.result.stderr.endswith(text + "\n"), world.result.report()


@then(parsers.parse('stderr is one line starting with "{text}"'))
def _stderr_one_line(world, text):
    lines = world.result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(text), world.result.report()


@then(parsers.parse('stdout contains "{text}"'))
def _stdout_contains(world, text):
    assert text in world.result.stdout, world.result.report()


@then(parsers.parse('stdout matches "{text}"'))
def _stdout_matches(world, text):
    assert pattern(world.expand(text) + "\n").fullmatch(world.result.stdout), world.result.report()


@then(parsers.parse("stdout is the JSON value {value}"))
def _stdout_json(world, value):
    expected = json.loads(world.expand(value))
    assert world.result.json == expected, world.result.report()
    assert world.result.stdout == json.dumps(expected, indent=2, ensure_ascii=False) + "\n", world.result.report()


@then(parsers.parse('the JSON output has exactly the keys "{keys}"'))
def _json_keys(world, keys):
    assert list(world.result.json) == [key.strip() for key in keys.split(",")], world.result.report()


@then(parsers.parse('the JSON field "{key}" is {value}'))
def _json_field(world, key, value):
    assert world.result.json[key] == json.loads(value), world.result.report()


@then(parsers.re(r'the server saw exactly these requests from that run: "(?P<expected>[^"]*)"'))
def _requests_seen(world, expected):
    seen = [" ".join(re.search(rf" {key}=(\S+)", line).group(1) for key in ("method", "path", "status"))
            for line in world.requests_since_mark()]
    assert seen == [item.strip() for item in expected.split(",") if item.strip()], seen  # "" = none


@then("the server saw no request from that run")
def _no_request(world):
    assert world.requests_since_mark() == [], world.requests_since_mark()


# --- raw HTTP ------------------------------------------------------------------------------------------------


@when(parsers.re(r'I send (?P<method>[A-Z]+) "(?P<path>[^"]+)"(?: with body \'(?P<body>.*)\')?'))
def _send(world, method, path, body):
    world.send(method, path, body=world.expand(body) if body is not None else None)


@when(parsers.re(r'I send (?P<method>[A-Z]+) "(?P<path>[^"]+)" with the access token of session "(?P<session>[^"]+)"'
                 r'(?: and body \'(?P<body>.*)\')?'))
def _send_with_token(world, method, path, session, body):
    world.send(method, path, token=world.token(session), body=world.expand(body) if body is not None else None)


@when(parsers.parse('I send GET "{path}" with the Authorization header "{header}"'))
def _send_with_header(world, path, header):
    world.send("GET", path, headers={} if header == "(none)" else {"Authorization": header})


@then(parsers.parse("the response status is {status:d}"))
def _status(world, status):
    assert world.response.status == status, (world.response.status, world.response.body)


@then(parsers.re(r'the response is a problem with status (?P<status>\d+)'
                 r'(?: and detail (?P<starting>starting with )?"(?P<detail>[^"]*)")?'))
def _problem(world, status, starting, detail):
    response = world.response
    assert response.status == int(status), (response.status, response.body)
    assert response.problem_errors() == []  # (also checked on every send) the shape, for this status
    if detail is not None:
        actual = response.json.get("detail", "")
        assert actual.startswith(detail) if starting else actual == detail, actual


@then(parsers.parse('the response body is "{text}"'))
def _body_is(world, text):
    assert world.response.text == text, world.response.body


@then(parsers.parse('the response body starts with "{text}"'))
def _body_starts(world, text):
    assert world.response.text.startswith(text), world.response.body


@then("the response body is empty")
def _body_empty(world):
    assert world.response.body == b"", world.response.body


@then(parsers.parse('the response Content-Type starts with "{text}"'))
def _content_type(world, text):
    assert (world.response.header("Content-Type") or "").startswith(text), world.response.headers


@then(parsers.parse('the response JSON field "{key}" is {value}'))
def _response_field(world, key, value):
    assert world.response.json[key] == json.loads(value), world.response.json


@then(parsers.parse('the response JSON has exactly the keys "{keys}"'))
def _response_keys(world, keys):
    assert sorted(world.response.json) == sorted(key.strip() for key in keys.split(",")), world.response.json


@then("the server log has exactly one line per request sent in this scenario")
def _log_per_request(world):
    expected = world.server.requests_sent - world.marks[1]
    deadline = time.monotonic() + 5  # a request's line is written as it ends, which may be after its response
    while True:
        lines = [line for line in world.server.log()[world.marks[0]:].splitlines() if "method=" in line]
        if len(lines) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(lines) == expected, lines
    assert all(re.search(r" method=[A-Z]+ path=/\S* status=\d{3} ", line) for line in lines), lines


@then(parsers.parse('the server log has a line with "{text}"'))
def _log_line(world, text):
    assert any(text in line for line in world.server.log().splitlines()), world.server.log()
