"""The command line itself: help, usage errors (exit 2, one `Error:` line), output modes, last-resort errors."""

import io
import sys

import pytest

from cynode import __version__
from cynode.cli import main as cli_main
from tests.support.cli import config_file, run_cli
from tests.unit.cli.conftest import dead_url


def usage_error(result, message: str) -> None:
    assert result.code == 2, result
    assert result.stderr.splitlines()[0] == f"Error: {message}", result
    assert result.stdout == ""


def test_version_in_table_and_json_modes(cli):
    assert cli("version").stdout == f"version={__version__}\n"
    for argv in (["-o", "json", "version"], ["version", "-o", "json"], ["-ojson", "version"],
                 ["--output=json", "version"]):
        result = cli(*argv)
        assert (result.code, result.json) == (0, {"version": __version__}), result
        assert result.stdout.endswith("}\n") and result.stderr == ""


def test_global_flags_are_accepted_everywhere(cli):
    assert cli("--no-color", "-q", "version", "--output=table").stdout == f"version={__version__}\n"


def test_help_goes_to_stdout_and_names_only_the_command(cli):
    whole = cli("--help")
    assert whole.code == 0 and whole.stderr == ""
    assert "users create <handle>" in whole.stdout and "Exit codes:" in whole.stdout
    login = cli("auth", "login", "-h")
    assert login.code == 0
    usage = login.stdout.split("\n\n")[0].splitlines()
    assert usage == ["Usage:", "  cynode cli [options] auth login [--handle=HANDLE | --user=HANDLE] [--password-stdin]"]
    group = cli("auth", "--help").stdout.split("\n\n")[0]
    assert "auth whoami" in group and "users" not in group


def test_help_works_with_a_broken_config_file(cli, home):
    config_file(home).parent.mkdir(parents=True)
    config_file(home).write_text("token: [unclosed\n", encoding="utf-8")
    assert cli("version", "--help").code == 0
    assert cli("version").code == 2


def test_no_command_prints_usage_on_stderr(cli):
    result = cli()
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.startswith("Usage:\n")


@pytest.mark.parametrize("argv, message", [
    (["auth"], "'auth' needs a subcommand"),
    (["users"], "'users' needs a subcommand"),
    (["frob"], "unknown command: frob"),
    (["auth", "frob"], "unknown command: auth frob"),
    (["--bogus", "version"], "unknown flag: --bogus"),
    (["auth", "login", "--password", "x"], "unknown flag: --password"),
    (["-x", "version"], "unknown flag: -x"),
    (["auth", "whoami", "--admin"], "--admin is not a flag of 'auth whoami'"),
    (["version", "--user", "bob"], "--user is not a flag of 'version'"),
    (["users", "list", "--password-stdin"], "--password-stdin is not a flag of 'users list'"),
    (["users", "create", "--limit", "5"], "--limit is not a flag of 'users create'"),
    (["auth", "login", "--handle"], "--handle requires argument"),
    (["users", "create"], "invalid arguments for 'users create'"),
    (["version", "extra"], "invalid arguments for 'version extra'"),
    (["-o", "json"], "a command is required"),
    (["-o", "xml", "version"], "output must be table or json"),
    (["--output=yaml", "status"], "output must be table or json"),
    (["task"], "'task' needs a subcommand"),
    (["task", "artifacts"], "'task artifacts' needs a subcommand"),
    (["task", "artifacts", "frob"], "unknown command: task artifacts frob"),
    (["task", "artifacts", "get", "t1", "a1"], "--out is required for 'task artifacts get'"),
    (["task", "list", "--status", "done"], "status must be queued, running, completed, failed or canceled"),
    (["task", "logs", "t1", "--stream=both"], "stream must be stdout, stderr or all"),
    (["task", "get", "t1", "--wait"], "--wait is not a flag of 'task get'"),
    (["task", "list", "-w"], "--wait is not a flag of 'task list'"),
    (["completion", "fish"], "invalid arguments for 'completion fish'"),
])
def test_usage_errors_exit_2_with_one_error_line(cli, argv, message):
    usage_error(cli(*argv), message)


def test_unknown_commands_also_show_the_usage(cli):
    result = cli("frob")
    assert "Usage:" in result.stderr
    assert "Usage:" not in cli("--bogus", "version").stderr


@pytest.mark.parametrize("value", ["0", "201", "abc", "-1", " 7", "1_0", "\u0663"])
def test_limit_out_of_range_is_a_usage_error_before_any_request(cli, value):
    usage_error(cli("users", "list", "--limit", value, env={"CYNORK_GATEWAY_URL": dead_url()}),
                f"--limit must be a whole number from 1 to 200, got '{value}'")


def test_json_mode_failure_leaves_stdout_empty(cli):
    result = cli("-o", "json", "auth", "whoami", env={"CYNORK_GATEWAY_URL": dead_url()})
    assert result.code == 3 and result.stdout == ""


class _Interrupted(io.StringIO):
    """A terminal where the user pressed Ctrl+C at the prompt."""

    def readline(self, *_args):
        raise KeyboardInterrupt


def test_ctrl_c_at_a_prompt_exits_130(cli):
    result = cli("auth", "login", stdin=_Interrupted(), env={"CYNORK_GATEWAY_URL": dead_url()})
    assert result.code == 130
    assert result.stderr == "Handle: \n"


def test_an_unexpected_failure_is_one_line_and_exit_8(environ):
    """Output that cannot be written (here: a closed stream) is an internal error, never a traceback."""
    stdout = io.StringIO()
    stdout.close()
    stderr = io.StringIO()
    code = cli_main.run(["version"], cli_main.Env(stdin=io.StringIO(), stdout=stdout, stderr=stderr,
                                                  environ=environ))
    assert code == 8
    assert stderr.getvalue().startswith("Error: internal error: ValueError: ")
    assert stderr.getvalue().count("\n") == 1


def test_main_and_entry_use_the_real_streams(monkeypatch, capsys, home):
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert cli_main.main(["version"]) == 0
    assert capsys.readouterr().out == f"version={__version__}\n"
    monkeypatch.setattr(sys, "argv", ["cynork", "frob"])
    with pytest.raises(SystemExit) as exit_info:
        cli_main.entry()
    assert exit_info.value.code == 2
    assert "unknown command: frob" in capsys.readouterr().err


def test_run_cli_helper_sees_only_the_given_environment(home):
    """The in-process runner passes exactly the given environment: no CYNORK_* leaks in from the test process."""
    result = run_cli(["-o", "json", "version"], {"HOME": str(home)})
    assert result.json == {"version": __version__}
