"""The credential-helper protocol (spec/cli.md §5.2) with real helper programs written to a temp dir."""

import json
import textwrap

import pytest

from cynode.cli import credhelper
from tests.support.cli import config_file, read_config, write_config
from tests.support.server import PASSWORD

# A helper that keeps the secret in a file next to itself and logs every request with its argc and env names.
KEEPER = r"""
here=$(dirname "$0")
read -r request
names=$(env | cut -d= -f1 | sort | tr '\n' ' ')
printf '{"request": %s, "argc": %d, "env": "%s"}\n' "$request" "$#" "$names" >> "$here/requests.log"
case "$request" in
  *'"store"'*) printf '%s' "$request" | sed -n 's/.*"secret": "\([^"]*\)".*/\1/p' > "$here/secret"; echo '{}';;
  *) echo; printf '{"secret": "%s"}\n' "$(cat "$here/secret" 2>/dev/null)";;
esac
"""


def write_helper(folder, body: str, name: str = "helper"):
    """An executable shell script (quick to start, unlike a Python one)."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    path.chmod(0o755)
    return path


def requests_seen(helper) -> list[dict]:
    log = helper.parent / "requests.log"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(name="keeper")
def fixture_keeper(tmp_path, home):
    """A working helper, configured in the user's config file."""
    helper = write_helper(tmp_path / "keeper", KEEPER)
    write_config(config_file(home), credential_helper=str(helper))
    return helper


def test_get_supplies_the_token_once_with_a_clean_environment(cli, keeper, server, monkeypatch):
    (keeper.parent / "secret").write_text(server.session().access, encoding="utf-8")
    monkeypatch.setenv("CYNORK_TOKEN_LEAK_PROBE", "must-not-reach-the-helper")
    result = cli("auth", "whoami")
    assert (result.code, result.stderr) == (0, ""), result
    assert result.stdout.startswith(f"id={server.admin.id} ")
    [seen] = requests_seen(keeper)
    assert seen["request"] == {"action": "get"} and seen["argc"] == 0
    assert set(seen["env"].split()) <= {"PATH", "HOME", "PWD", "OLDPWD", "SHLVL", "_"}  # the rest: the shell's own


def test_commands_without_auth_never_ask_the_helper(cli, keeper):
    assert cli("version").code == 0
    assert cli("status").code == 0
    assert requests_seen(keeper) == []


def test_login_stores_through_the_helper_and_removes_file_tokens(cli, keeper, home):
    write_config(config_file(home), credential_helper=str(keeper), token="stale", refresh_token="stale-too",
                 note="kept")
    result = cli("auth", "login", "--handle", "admin", "--password-stdin", stdin=PASSWORD)
    assert result.code == 0, result
    assert read_config(config_file(home)) == {"credential_helper": str(keeper), "note": "kept"}
    [stored] = requests_seen(keeper)
    assert stored["request"]["action"] == "store" and stored["request"]["secret"]
    assert cli("auth", "whoami").code == 0  # now read back through the helper
    refresh = cli("auth", "refresh")
    assert (refresh.code, refresh.stderr) == (3, "Error: no refresh token: run 'cynode cli auth login' first\n")


def test_logout_clears_the_helper(cli, keeper, home, server):
    (keeper.parent / "secret").write_text(server.session().access, encoding="utf-8")
    write_config(config_file(home), credential_helper=str(keeper), token="old")
    assert cli("auth", "logout").code == 0
    assert requests_seen(keeper)[-1]["request"] == {"action": "store", "secret": ""}
    assert (keeper.parent / "secret").read_text(encoding="utf-8") == ""
    assert read_config(config_file(home)) == {"credential_helper": str(keeper)}


def test_a_helper_token_the_server_rejects_is_not_refreshed(cli, keeper, home):
    (keeper.parent / "secret").write_text("rejected-token", encoding="utf-8")
    write_config(config_file(home), credential_helper=str(keeper), refresh_token="left-alone")
    result = cli("auth", "whoami")
    assert (result.code, result.stderr) == (3, "Error: 401 Unauthorized: Invalid or expired token\n")
    assert read_config(config_file(home))["refresh_token"] == "left-alone"


@pytest.mark.parametrize("body, reason", [
    ('echo \'{"error": "vault is locked"}\'', "vault is locked"),
    ("echo not json", "reply is not JSON"),
    ("echo '[1, 2]'", "reply is not a JSON object"),
    ("echo", "reply is not JSON"),
    ("echo '{\"secret\": \"x\"}'; exit 3", "exited with status 3"),
])
def test_a_failing_get_warns_and_means_not_logged_in(cli, tmp_path, home, body, reason):
    helper = write_helper(tmp_path / "bad", body)
    write_config(config_file(home), credential_helper=str(helper))
    result = cli("auth", "whoami")
    assert result.code == 3
    assert result.stderr.splitlines() == [f"credential helper: {reason}",
                                          "Error: not logged in: run 'cynode cli auth login' or set CYNORK_TOKEN"]


def test_an_empty_secret_is_no_token_without_a_warning(cli, tmp_path, home):
    helper = write_helper(tmp_path / "empty", "echo '{\"secret\": \"\"}'")
    write_config(config_file(home), credential_helper=str(helper))
    result = cli("auth", "whoami")
    assert result.code == 3 and not result.stderr.startswith("credential helper")


def test_a_slow_helper_is_killed_after_the_timeout(cli, tmp_path, home, monkeypatch):
    monkeypatch.setattr(credhelper, "TIMEOUT_SECONDS", 0.5)
    helper = write_helper(tmp_path / "slow", "exec sleep 30")
    write_config(config_file(home), credential_helper=str(helper))
    result = cli("auth", "whoami")
    assert result.code == 3
    assert result.stderr.splitlines()[0] == "credential helper: timed out after 0.5s"


def test_a_missing_or_unsupported_helper_is_no_token(cli, tmp_path, home, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_config(config_file(home), credential_helper="./not-there")
    assert cli("auth", "whoami").stderr.splitlines()[0] == "credential helper: No such file or directory"
    write_config(config_file(home), credential_helper="keychain")
    result = cli("auth", "whoami")
    assert result.code == 3
    assert "credential helper 'keychain' is not supported" in result.stderr.splitlines()[0]


def test_a_failing_store_on_login_exits_8_and_writes_nothing(cli, tmp_path, home, fake_login):
    helper = write_helper(tmp_path / "full", 'echo \'{"error": "disk full"}\'')
    path = write_config(config_file(home), credential_helper=str(helper), token="before")
    before = path.read_text(encoding="utf-8")
    result = cli("auth", "login", "--handle", "admin", "--password-stdin", stdin=PASSWORD, env=fake_login)
    assert (result.code, result.stdout) == (8, "")
    assert result.stderr == "Error: credential helper store failed: disk full\n"
    assert path.read_text(encoding="utf-8") == before


def test_a_failing_clear_on_logout_exits_8_after_the_file_was_cleared(cli, tmp_path, home):
    helper = write_helper(tmp_path / "stuck", "exit 1")
    write_config(config_file(home), credential_helper=str(helper), token="t", refresh_token="r")
    result = cli("auth", "logout")
    assert (result.code, result.stderr) == (8, "Error: credential helper store failed: exited with status 1\n")
    assert read_config(config_file(home)) == {"credential_helper": str(helper)}
