"""The client renews an expired access token by itself when it holds a refresh token (one real 1 s TTL wait)."""

import time

import pytest

from tests.support.cli import config_file, read_config, write_config
from tests.support.server import LiveServer


@pytest.fixture(scope="module", name="server")
def fixture_short_lived_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("ttl"), access_token_ttl=1)
    yield server
    server.close()


def test_an_expired_access_token_is_refreshed_and_the_request_retried(cli, login, home, server):
    old = login()
    time.sleep(1.1)  # the access token's real lifetime must pass
    result = cli("-o", "json", "auth", "whoami")
    assert (result.code, result.stderr) == (0, ""), result
    assert result.json == {"id": server.admin.id, "handle": "admin"}
    saved = read_config(config_file(home))
    assert saved["token"] != old.access and saved["refresh_token"] != old.refresh

    # The spent pair again: its access token is expired and its refresh token was already used -> exit 3.
    write_config(config_file(home), token=old.access, refresh_token=old.refresh)
    replay = cli("auth", "whoami")
    assert (replay.code, replay.stderr) == (3, "Error: 401 Unauthorized: Invalid or expired token\n")
    assert read_config(config_file(home)) == {"token": old.access, "refresh_token": old.refresh}
