"""CLI tests run `cynode.cli.main.run` in process against the real gateway served from a thread (one per module)."""

import json
import os
import socket

import pytest

from tests.support.cli import config_file, run_cli, write_config
from tests.support.fake_gateway import FakeGateway
from tests.support.server import LiveServer


def dead_url() -> str:
    """A gateway URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module", name="server")
def fixture_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("gateway"))
    yield server
    server.close()


@pytest.fixture(name="fake")
def fixture_fake():
    """A gateway that answers what the test says (for client-side behaviour that needs no real server)."""
    fake = FakeGateway()
    yield fake
    fake.close()


TOKENS = {"access_token": "acc-from-fake", "refresh_token": "ref-from-fake", "token_type": "Bearer",
          "expires_in": 900}


@pytest.fixture(name="fake_login")
def fixture_fake_login(fake):
    """Environment overrides pointing the CLI at a fake gateway whose every answer is a successful login."""
    fake.answer(200, json.dumps(TOKENS))
    return {"CYNORK_GATEWAY_URL": fake.url}


@pytest.fixture(name="home")
def fixture_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture(name="environ")
def fixture_environ(home, server):
    """HOME (config at ~/.config/cynork/config.yaml) and the module's gateway; nothing else is inherited."""
    return {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CYNORK_GATEWAY_URL": server.url}


@pytest.fixture(name="cli")
def fixture_cli(environ):
    """cli(*argv, stdin="", env={...overrides, None removes}) -> CliResult."""

    def cli(*argv, stdin="", env=None):
        merged = dict(environ)
        for key, value in (env or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return run_cli(list(argv), merged, stdin)

    return cli


@pytest.fixture(name="login")
def fixture_login(home, server):
    """login(user=None, **extra config) -> Tokens: a session for `user` (default admin) stored in the config file."""

    def login(user=None, **extra):
        tokens = server.session(user)
        write_config(config_file(home), token=tokens.access, refresh_token=tokens.refresh, **extra)
        return tokens

    return login


@pytest.fixture(name="as_user")
def fixture_as_user(cli, server):
    """as_user(*argv, **kwargs) runs the CLI as a new user of the module's server (CYNORK_TOKEN); `.user` and
    `.token` are theirs."""
    user = server.add_user(f"user{len(server.store.list_users(200, 0))}")
    token = server.session(user).access

    def run(*argv, **kwargs):
        return cli(*argv, env={"CYNORK_TOKEN": token}, **kwargs)

    run.user = user
    run.token = token
    return run
