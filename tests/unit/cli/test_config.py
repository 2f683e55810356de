"""The client's config file (spec/cli.md §4): where it is, what a bad one does, and how it is written."""

import os
import stat

import pytest

from cynode.cli.config import Config
from cynode.contract import DEFAULT_GATEWAY_URL, DEFAULT_PORT
from cynode.settings import SPECS
from tests.support.cli import config_file, read_config, write_config
from tests.support.server import PASSWORD
from tests.unit.cli.conftest import dead_url

NO_PATH = "Error: cannot resolve config path: set --config or HOME\n"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_xdg_config_home_wins_over_home(cli, server, tmp_path, home):
    xdg = tmp_path / "xdg"
    tokens = server.session()
    write_config(xdg / "cynork" / "config.yaml", token=tokens.access, refresh_token=tokens.refresh)
    assert cli("auth", "whoami", env={"XDG_CONFIG_HOME": str(xdg)}).code == 0
    assert cli("auth", "refresh", env={"XDG_CONFIG_HOME": str(xdg)}).code == 0
    assert read_config(xdg / "cynork" / "config.yaml")["token"] != tokens.access
    assert not (home / ".config").exists()


def test_empty_xdg_config_home_falls_back_to_home(cli, login):
    login()
    assert cli("auth", "whoami", env={"XDG_CONFIG_HOME": ""}).code == 0


def test_config_flag_names_any_file(cli, server, tmp_path):
    path = tmp_path / "elsewhere.yaml"
    tokens = server.session()
    write_config(path, token=tokens.access)
    assert cli("--config", str(path), "auth", "whoami").code == 0
    assert cli("auth", "whoami", "-c", str(path)).code == 0


def test_gateway_url_from_the_file_and_any_path_in_it_is_ignored(cli, home, server):
    port = server.url.rsplit(":", 1)[1]
    for url in (server.url + "/some/prefix/", f"127.0.0.1:{port}"):
        write_config(config_file(home), gateway_url=url)
        assert cli("status", env={"CYNORK_GATEWAY_URL": None}).stdout == "ok\n", url


def test_default_gateway_url_matches_the_server_default():
    assert Config(None).gateway_url == DEFAULT_GATEWAY_URL == "http://localhost:8080"
    listen = next(spec.default for spec in SPECS if spec.name == "listen")
    assert listen.endswith(f":{DEFAULT_PORT}")


def test_reading_never_creates_anything(cli, home):
    assert cli("version").code == 0
    assert cli("auth", "whoami").code == 3
    assert not list(home.iterdir())


@pytest.mark.parametrize("argv", [["auth", "login", "--handle", "admin", "--password-stdin"],
                                  ["auth", "logout"], ["auth", "refresh"]])
def test_without_home_session_commands_fail_before_any_request(cli, argv):
    result = cli(*argv, stdin=PASSWORD, env={"HOME": None, "CYNORK_GATEWAY_URL": dead_url()})
    assert (result.code, result.stderr, result.stdout) == (8, NO_PATH, "")


def test_without_home_login_fails_before_prompting(cli):
    result = cli("auth", "login", stdin="admin\n" + PASSWORD, env={"HOME": None})
    assert (result.code, result.stderr) == (8, NO_PATH)


def test_without_home_reading_is_as_if_there_were_no_file(cli, server):
    assert cli("version", env={"HOME": None}).code == 0
    assert cli("auth", "whoami", env={"HOME": None}).code == 3
    assert cli("auth", "whoami", env={"HOME": None, "CYNORK_TOKEN": server.session().access}).code == 0


@pytest.mark.parametrize("content, reason", [
    ("token: [unclosed\n", "invalid YAML in {path}: "),
    ("- a\n- b\n", "{path}: top level must be a mapping"),
    ("just text\n", "{path}: top level must be a mapping"),
    ("token: 5\n", "{path}: token must be a string"),
    ("gateway_url: [http://x]\n", "{path}: gateway_url must be a string"),
    ("credential_helper: {a: b}\n", "{path}: credential_helper must be a string"),
])
def test_a_bad_config_file_exits_2_before_any_command(cli, home, content, reason):
    path = write_config(config_file(home))
    path.write_text(content, encoding="utf-8")
    for argv in (["version"], ["-o", "json", "status"]):
        result = cli(*argv)
        assert result.code == 2 and result.stdout == "", result
        assert result.stderr.startswith("Error: load config: " + reason.format(path=path)), result
        assert result.stderr.count("\n") == 1


def test_unreadable_config_files_exit_2(cli, tmp_path):
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    result = cli("--config", str(folder), "version")
    assert (result.code, result.stderr) == (2, f"Error: load config: Is a directory: {folder}\n")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"token: \xff\xfe\n")
    assert cli("--config", str(binary), "version").stderr.startswith("Error: load config: 'utf-8' codec")


def test_empty_file_and_null_values_are_an_empty_config(cli, home):
    path = write_config(config_file(home))
    path.write_text("", encoding="utf-8")
    assert cli("version").code == 0
    path.write_text("token: null\ngateway_url: ~\n", encoding="utf-8")
    assert cli("auth", "whoami").code == 3


def test_rewrite_keeps_unknown_keys_and_never_persists_env_overrides(cli, server, home):
    tokens = server.session()
    write_config(config_file(home), token=tokens.access, refresh_token=tokens.refresh,
                 profile={"colour": "blue", "tags": [1, 2]}, note="häuschen")
    result = cli("auth", "refresh", env={"CYNORK_TOKEN": "env-token-never-saved"})
    assert result.code == 0, result
    saved = read_config(config_file(home))
    assert saved["profile"] == {"colour": "blue", "tags": [1, 2]} and saved["note"] == "häuschen"
    assert "gateway_url" not in saved  # CYNORK_GATEWAY_URL pointed at the server, but is not state
    assert "env-token-never-saved" not in config_file(home).read_text(encoding="utf-8")


def test_file_is_0600_in_a_0700_directory_even_when_it_was_open_before(cli, server, home, fake_login):
    tokens = server.session()
    path = write_config(config_file(home), token=tokens.access, refresh_token=tokens.refresh)
    path.chmod(0o644)
    assert cli("auth", "refresh").code == 0
    assert mode(path) == 0o600
    fresh = home / "new" / "dir" / "config.yaml"
    assert cli("--config", str(fresh), "auth", "login", "--handle", "admin", "--password-stdin",
               stdin=PASSWORD, env=fake_login).code == 0
    assert mode(fresh) == 0o600
    assert mode(fresh.parent) == 0o700 and mode(fresh.parent.parent) == 0o700


def test_a_failed_write_exits_8_and_leaves_no_temp_file(cli, tmp_path, fake_login):
    """`--config DIR/name/` (a trailing slash): the temp file is written, the rename fails, the temp file goes."""
    target = f"{tmp_path}/cfg/"
    result = cli("--config", target, "auth", "login", "--handle", "admin", "--password-stdin", stdin=PASSWORD,
                 env=fake_login)
    assert (result.code, result.stdout) == (8, "")
    assert result.stderr == f"Error: save config: Not a directory: {target}\n"
    assert sorted(os.listdir(tmp_path)) == ["home"]
