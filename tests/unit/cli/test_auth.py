"""`status` and `auth login | logout | whoami | refresh` against the real gateway."""

import json

import pytest

from tests.support.cli import config_file, read_config, write_config
from tests.support.server import PASSWORD
from tests.unit.cli.conftest import dead_url

NOT_LOGGED_IN = "Error: not logged in: run 'cynode cli auth login' or set CYNORK_TOKEN\n"


def test_status_ok_and_down(cli):
    assert (cli("status").code, cli("status").stdout) == (0, "ok\n")
    assert cli("-o", "json", "status").json == {"gateway": "ok"}
    down = cli("status", env={"CYNORK_GATEWAY_URL": dead_url()})
    assert down.code == 7 and down.stdout == ""
    assert down.stderr.startswith("Error: gateway unreachable: cannot reach gateway at http://127.0.0.1:")


def test_login_with_password_stdin_saves_the_session(cli, home, server):
    result = cli("auth", "login", "--handle", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert (result.code, result.stdout) == (0, "logged_in=true handle=admin\n"), result
    assert PASSWORD not in result.stdout + result.stderr
    saved = read_config(config_file(home))
    assert set(saved) == {"token", "refresh_token"}
    assert saved["token"] not in result.stdout + result.stderr
    whoami = cli("auth", "whoami")
    assert whoami.stdout == f"id={server.admin.id} handle=admin\n"
    assert cli("-o", "json", "auth", "whoami").json == {"id": server.admin.id, "handle": "admin"}


def test_login_prompts_for_handle_and_password_when_not_a_terminal(cli, fake, fake_login, home):
    result = cli("-o", "json", "auth", "login", stdin="  admin \nsecret pass\r\n", env=fake_login)
    assert result.code == 0, result
    assert result.json == {"logged_in": True, "handle": "admin"}
    assert result.stderr == "Handle: \n"  # prompts go to stderr; the password is read from stdin as a whole
    assert json.loads(fake.requests[0].body) == {"handle": "admin", "password": "secret pass"}
    assert read_config(config_file(home)) == {"token": "acc-from-fake", "refresh_token": "ref-from-fake"}


def test_u_is_short_for_handle(cli, fake, fake_login):
    assert cli("auth", "login", "-u", "bob", "--password-stdin", stdin="pw\n", env=fake_login).code == 0
    assert json.loads(fake.requests[0].body) == {"handle": "bob", "password": "pw"}


@pytest.mark.parametrize("argv, stdin, message", [
    (["--password-stdin"], PASSWORD, "--password-stdin requires --handle"),
    ([], "", "handle is required"),
    ([], "   \n", "handle is required"),
    (["--handle", "admin", "--password-stdin"], "", "password is required"),
    (["--handle", "admin"], "\n", "password is required"),
])
def test_login_input_errors_exit_2_before_any_request(cli, home, argv, stdin, message):
    result = cli("auth", "login", *argv, stdin=stdin, env={"CYNORK_GATEWAY_URL": dead_url()})
    assert (result.code, result.stderr.splitlines()[-1]) == (2, f"Error: {message}"), result
    assert not config_file(home).exists()


def test_wrong_password_exits_3_and_stores_nothing(cli, home):
    result = cli("auth", "login", "--handle", "admin", "--password-stdin", stdin="wrong-password")
    assert (result.code, result.stderr) == (3, "Error: 401 Unauthorized: Invalid credentials\n")
    assert not config_file(home).exists()


def test_whoami_without_a_token_sends_nothing_and_exits_3(cli):
    result = cli("auth", "whoami", env={"CYNORK_GATEWAY_URL": dead_url()})
    assert (result.code, result.stderr, result.stdout) == (3, NOT_LOGGED_IN, "")


def test_env_token_wins_over_the_file(cli, login, server):
    login()
    alice = server.add_user("alice-env")
    result = cli("auth", "whoami", env={"CYNORK_TOKEN": server.session(alice).access})
    assert result.stdout == f"id={alice.id} handle=alice-env\n"
    assert cli("auth", "whoami", env={"CYNORK_TOKEN": ""}).stdout.startswith("id=" + server.admin.id)


def test_logout_revokes_the_session_and_clears_the_file(cli, login, home):
    tokens = login(gateway_note="kept")
    result = cli("auth", "logout")
    assert (result.code, result.stdout) == (0, "logged_out=true\n")
    assert read_config(config_file(home)) == {"gateway_note": "kept"}
    revoked = cli("auth", "whoami", env={"CYNORK_TOKEN": tokens.access})
    assert (revoked.code, revoked.stderr) == (3, "Error: 401 Unauthorized: Invalid or expired token\n")
    assert cli("-o", "json", "auth", "logout").json == {"logged_out": True}  # idempotent


def test_logout_with_the_gateway_down_still_succeeds(cli, login, home):
    login()
    result = cli("auth", "logout", env={"CYNORK_GATEWAY_URL": dead_url()})
    assert (result.code, result.stderr) == (0, "")
    assert read_config(config_file(home)) == {}


def test_logout_with_nothing_stored_creates_no_file(cli, home):
    assert cli("auth", "logout").code == 0
    assert not config_file(home).exists()
    assert not config_file(home).parent.exists()


def test_refresh_rotates_both_tokens(cli, login, home):
    old = login()
    result = cli("auth", "refresh")
    assert (result.code, result.stdout) == (0, "Token refreshed successfully.\n"), result
    saved = read_config(config_file(home))
    assert saved["token"] != old.access and saved["refresh_token"] != old.refresh
    assert cli("auth", "whoami").code == 0
    assert cli("auth", "whoami", env={"CYNORK_TOKEN": old.access}).code == 3  # the old pair is spent
    assert cli("-o", "json", "auth", "refresh").json == {"refreshed": True}


def test_refresh_without_a_refresh_token_exits_3(cli, home):
    result = cli("auth", "refresh")
    assert (result.code, result.stderr) == (3, "Error: no refresh token: run 'cynode cli auth login' first\n")
    write_config(config_file(home), token="t", refresh_token="not-a-real-one")
    refused = cli("auth", "refresh")
    assert (refused.code, refused.stderr) == (3, "Error: 401 Unauthorized: Invalid refresh token\n")


def test_a_replayed_refresh_token_ends_the_login(cli, login, home):
    """Token theft detection, seen from the client: after a replay, the current tokens stop working too."""
    old = login()
    assert cli("auth", "refresh").code == 0
    current = read_config(config_file(home))
    write_config(config_file(home), token=old.access, refresh_token=old.refresh)
    assert cli("auth", "refresh").code == 3
    assert cli("auth", "whoami", env={"CYNORK_TOKEN": current["token"]}).code == 3


def test_a_rejected_token_is_not_refreshed_when_it_came_from_the_environment(cli, login):
    login()
    result = cli("auth", "whoami", env={"CYNORK_TOKEN": "bogus"})
    assert (result.code, result.stderr) == (3, "Error: 401 Unauthorized: Invalid or expired token\n")
