"""The shell without a terminal (lines from stdin), its history rules and files, and the completion scripts.
The terminal itself (readline, Tab, history keys) is tested on a real pty in features/cynork/cynork_shell.feature.
"""

import os
import stat

import pytest

from cynode import __version__
from cynode.__main__ import USAGE
from cynode.cli.commands.completion import TOP_LEVEL, program_names
from cynode.cli.lineeditor import HISTORY_LIMIT, history_path, is_private, load_history, save_history
from cynode.cli.main import grammar
from tests.support.cli import config_file, write_config

VERSION = f"version={__version__}\n"


def test_lines_run_as_commands_and_the_prompt_names_the_user(cli, login, server):
    login()
    result = cli("shell", stdin="version\n\nauth whoami -q\nusers enable nobody\n")
    assert result.code == 0
    assert result.stdout == VERSION + f"id={server.admin.id} handle=admin\n"
    prompt = f"cynode(admin@{server.url})> \n"
    assert result.stderr == prompt * 4 + "Error: 404 Not Found: User not found\n" + prompt


def test_the_prompt_has_no_handle_when_the_identity_is_unknown(cli, server):
    assert cli("shell", stdin="").stderr == f"cynode({server.url})> \n"
    stale = cli("shell", stdin="", env={"CYNORK_TOKEN": "not-a-token"})
    assert stale.stderr == f"cynode({server.url})> \n"


def test_shell_flags_are_defaults_that_a_line_overrides(cli):
    result = cli("-o", "json", "-q", "--no-color", "shell", stdin="version -otable\nversion\n")
    assert result.stdout == VERSION + '{\n  "version": "' + __version__ + '"\n}\n'


def test_one_line_with_c_and_its_exit_code(cli):
    assert (cli("shell", "-c", "version").stdout, cli("shell", "-c", "exit").code) == (VERSION, 0)
    assert cli("shell", "--command=cynork -o json version").json == {"version": __version__}
    assert cli("shell", "-c", "help").stdout.startswith("Commands:\n  version\n")
    assert cli("shell", "-c", "help version").stdout.startswith("Usage:\n  cynode cli [options] version\n")
    assert cli("shell", "-c", "auth whoami").code == 3
    assert cli("shell", "-c", "shell --help").code == 0
    assert cli("-o", "json", "shell", "-c", "version -- x").code == 2  # after --, nothing is a flag of the line


@pytest.mark.parametrize("argv, message", [
    (["shell", "-c", "shell"], "nested shell is not supported"),
    (["shell", "-c", "version 'open"], "cannot read the line: no closing quotation"),
    (["shell", "-c", "version", "--command", "status"], "invalid arguments for 'shell'"),
])
def test_shell_usage_errors(cli, argv, message):
    result = cli(*argv)
    assert (result.code, result.stderr, result.stdout) == (2, f"Error: {message}\n", "")


# --- history -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", [
    "auth login", "-o json auth login --handle bob", "cynode cli auth login", "creds create --name x",
    "creds rotate 7", "users create bob --password-stdin", "help SECRET", "status --Token=x", "auth login 'open",
])
def test_private_lines(line):
    assert is_private(line, grammar())


@pytest.mark.parametrize("line", ["version", "auth logout", "task get login", "users create bob"])
def test_ordinary_lines(line):
    assert not is_private(line, grammar())


def test_the_history_file_lives_beside_the_config(tmp_path):
    assert history_path(str(tmp_path / "cynork" / "config.yaml")) == str(tmp_path / "cynork" / "shell_history")
    assert history_path(None) is None


def test_history_is_saved_private_and_capped_then_loaded(tmp_path):
    path = str(tmp_path / "new" / "shell_history")
    lines = [f"version {n}" for n in range(HISTORY_LIMIT + 5)] + ["auth login"]
    assert save_history(path, lines, grammar()) is None
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert load_history(path, grammar()) == lines[5:-1]


def test_loading_makes_a_loose_file_private_and_drops_private_lines(tmp_path):
    path = tmp_path / "shell_history"
    path.write_text("version\nhelp password\n\nstatus\n", encoding="utf-8")
    path.chmod(0o644)
    assert load_history(str(path), grammar()) == ["version", "status"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_history_without_a_file(tmp_path):
    assert load_history(None, grammar()) == load_history(str(tmp_path / "none"), grammar()) == []
    assert save_history(None, ["version"], grammar()) is None
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert "shell_history" in save_history(str(blocker / "shell_history"), ["version"], grammar())
    (tmp_path / "dir").mkdir()
    assert load_history(str(tmp_path / "dir"), grammar()) == []


# --- completion scripts ------------------------------------------------------------------------------------------


def test_completion_scripts_name_the_programs_and_call_back(cli):
    bash = cli("completion", "bash").stdout
    assert "complete -F _cynode_cli_complete cynode cynork" in bash and " __complete " in bash
    assert 'compgen -W "serve worker cli version"' in bash
    assert sorted(TOP_LEVEL) == sorted(line.split()[1] for line in USAGE.splitlines()[1:])
    zsh = cli("completion", "zsh")
    assert zsh.stdout.startswith("#compdef cynode cynork") and zsh.stdout.endswith("fi\n")
    assert cli("-o", "json", "completion", "zsh").json == {"shell": "zsh", "script": zsh.stdout}


def test_program_names_include_another_build_of_cynode():
    assert program_names("/opt/cynode.pyz") == ["cynode", "cynork", "cynode.pyz"]
    assert program_names("/usr/bin/cynork") == ["cynode", "cynork"]
    assert program_names("/src/cynode/__main__.py") == ["cynode", "cynork"]


def test_a_bad_config_stops_the_shell_before_its_first_prompt(cli, home):
    write_config(config_file(home), token=["not", "a", "string"])
    result = cli("shell", stdin="version\n")
    assert (result.code, result.stdout) == (2, "")
