"""Steps for features/cynork/cynork_shell.feature: the interactive shell (piped and on a real pseudo-terminal),
`shell -c`, and the bash/zsh completion scripts run by a real bash (and zsh, when installed).

The shared steps (servers, running the CLI, output checks) live in conftest.py.
"""

import secrets
import shlex
import shutil
import stat
import subprocess

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.bdd.conftest import unescape
from tests.bdd.harness import CLI_TIMEOUT, cynode_command
from tests.support.terminal import KEYS, STREAMS, Terminal

scenarios("cynork/cynork_shell.feature")

# A terminal with no capabilities and no personal readline settings: plain text the tests can read.
TERMINAL = {"TERM": "dumb", "INPUTRC": "/dev/null", "COLUMNS": "200", "LINES": "50"}
PROMPT_END = ")> "


def _history_file(world):
    return world.profile().config_file.parent / "shell_history"


# --- piped shells and shell -c --------------------------------------------------------------------------------


@when(parsers.re(r'I run cynork "(?P<args>[^"]*)" with stdin "(?P<stdin>[^"]*)" and "(?P<flag>[^"]+)" set to the '
                 r'config file of profile "(?P<profile>[^"]+)"'))
def _run_with_config(world, args, stdin, flag, profile):
    world.cli([flag, str(world.profile(profile).config_file), *shlex.split(args)], unescape(stdin))


@then(parsers.parse('the shell\'s stderr is exactly "{text}"'))
def _shell_stderr(world, text):
    assert world.result.stderr == world.expand(unescape(text)), world.result.report()


@then(parsers.parse('stderr contains the line "{line}"'))
def _stderr_line(world, line):
    assert line in world.result.stderr.splitlines(), world.result.report()


# --- a shell on a pseudo-terminal ---------------------------------------------------------------------------


@given(parsers.parse('I am logged in as a new user who has a task named "{name}"'))
def _user_with_task(world, name):
    """A user of this scenario alone, so the shared server's other tasks never show up among the candidates."""
    handle, password = f"shell-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    world.server.create_user(handle, password)
    world.passwords[handle] = password
    world.remembered["handle"] = handle
    world.login(handle)
    token = world.server.login(handle, password)["access_token"]
    response = world.server.send("POST", "/v1/tasks", token=token,
                                 body={"input_mode": "commands", "commands": ["true"], "task_name": name})
    assert response.status == 201 and response.json["task_name"] == name, (response.status, response.body)
    world.remembered["task_id"] = response.json["task_id"]


def _expand(world, text: str) -> str:
    return world.expand(text.replace("${HANDLE}", world.remembered.get("handle", "${HANDLE}")))


@given(parsers.parse('the shell history file holds "{line}" with mode 0644'))
def _old_history(world, line):
    path = _history_file(world)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(line + "\n", encoding="utf-8")
    path.chmod(0o644)


@when("I start the cynork shell on a terminal")
def _start_shell(world, terminals):
    environ = world.profile().environ(world.server.url, TERMINAL)
    # Every stream on the terminal, which is the controlling one: readline and getpass work as for a person.
    terminals.append(Terminal([*cynode_command(), "cli", "shell"], environ, STREAMS, controlling=True))
    world.remembered["terminal"] = terminals[-1]


def _session(world) -> Terminal:
    return world.remembered["terminal"]


def _type(world, text: str) -> None:
    """Type at a fresh prompt: wait until readline shows one, so no key reaches a terminal in cooked mode."""
    session = _session(world)
    session.expect(PROMPT_END)
    session.type(text)


def _interrupt(world) -> None:
    """Ctrl+C, then wait for a fresh prompt. CPython's readline notices a signal only while it waits for a key: a
    Ctrl+C that lands while it is still drawing the last key stays pending until another signal comes. So a Ctrl+C
    without an answer after 2 s is typed once more (a person would press it again)."""
    session = _session(world)
    session.interrupt()
    try:
        session.expect(PROMPT_END, timeout=2.0)
    except AssertionError:
        session.interrupt()
        session.expect(PROMPT_END)


@then(parsers.parse('the prompt "{prompt}" appears'))
def _prompt(world, prompt):
    _session(world).expect(_expand(world, prompt))


@when(parsers.re(r'I type "(?P<text>[^"]*)" and (?P<key>Enter|Ctrl\+C)$'))
def _type_line(world, text, key):
    _type(world, text)
    _session(world).wait_for(text)  # the echo: what follows is the answer to this line
    if key == "Ctrl+C":
        _interrupt(world)
    else:
        _session(world).type(KEYS[key])


@when("I type Ctrl+C")
def _type_interrupt(world):
    _interrupt(world)  # the line being edited is discarded: a fresh prompt follows


@when(parsers.re(r'I type (?P<key>Ctrl\+[DP])$'))
def _type_key(world, key):
    _type(world, KEYS[key])


@when("I type Ctrl+P twice, then Enter")
def _recall_two(world):
    _type(world, KEYS["Ctrl+P"] * 2 + KEYS["Enter"])


@when(parsers.parse('I type "{text}" and Tab, then Enter'))
def _complete_and_run(world, text):
    _type(world, text + KEYS["Tab"] + KEYS["Enter"])


@when(parsers.parse('I type "{text}" and Tab, then "{more}" and Enter'))
def _complete_more_and_run(world, text, more):
    _type(world, text + KEYS["Tab"] + more + KEYS["Enter"])


@when(parsers.parse('I type "{text}" and Tab twice'))
def _complete_list(world, text):
    """Two Tabs list the candidates; readline then shows the line again below them, and waits for more keys."""
    _type(world, text + KEYS["Tab"] * 2)
    _session(world).wait_for(text)
    world.remembered["listing"] = _session(world).wait_for(text)


@when(parsers.parse('I log in as "{handle}" in the terminal shell'))
def _terminal_login(world, handle):
    session = _session(world)
    _type(world, f"auth login --handle {handle}\n")
    session.wait_for("Password: ")  # getpass on the terminal: no echo, and never a line of the shell's history
    session.type(world.passwords[handle] + "\n")
    session.wait_for(f"logged_in=true handle={handle}")


@then(parsers.parse('the terminal shows "{text}"'))
def _shows(world, text):
    _session(world).wait_for(_expand(world, text))


@then(parsers.parse('the terminal line shows "{text}"'))
def _line_shows(world, text):
    _session(world).expect(PROMPT_END + text)


@then(parsers.parse('the terminal lists "{text}"'))
def _lists(world, text):
    assert set(text.split()) <= set(world.remembered["listing"].split()), world.remembered["listing"]
    _interrupt(world)


@then(parsers.parse('the terminal lists the task "{name}" and its id'))
def _lists_task(world, name):
    listing = world.remembered["listing"].split()
    assert name in listing and world.remembered["task_id"] in listing, world.remembered["listing"]
    _interrupt(world)


@then(parsers.parse("the shell exits with {code:d}"))
def _exits(world, code):
    session = _session(world)
    assert session.finish()[0] == code, session.screen(plain=True)
    assert "Traceback" not in session.screen(plain=True), session.screen(plain=True)


@then("the terminal never showed the stored token")
def _no_token(world):
    config = world.profile().config()
    tokens = [config[key] for key in ("token", "refresh_token")]
    assert all(tokens) and not any(token in _session(world).screen(plain=True) for token in tokens)


@then("the terminal never showed the admin password")
def _no_password(world):
    assert world.server.admin_password not in _session(world).screen(plain=True)


@then(parsers.parse('the shell history file has mode 0600 and holds exactly "{lines}"'))
def _history(world, lines):
    path = _history_file(world)
    assert oct(stat.S_IMODE(path.stat().st_mode)) == oct(0o600)
    assert path.read_text(encoding="utf-8").splitlines() == [line.strip() for line in lines.split(",")]


@then("the shell history file does not contain the admin password")
def _history_no_password(world):
    assert world.server.admin_password not in _history_file(world).read_text(encoding="utf-8")


# --- bash and zsh --------------------------------------------------------------------------------------------


def _programs(world):
    """`cynode`, `cynork` and `cynode.pyz` on PATH, each starting this cynode the way an installed one would."""
    folder = world.tmp / "bin"
    if not folder.is_dir():
        folder.mkdir()
        cynode = shlex.join(cynode_command())
        for name, command in (("cynode", cynode), ("cynode.pyz", cynode), ("cynork", f"{cynode} cli")):
            (folder / name).write_text(f'#!/bin/sh\nexec {command} "$@"\n', encoding="utf-8")
            (folder / name).chmod(0o755)
    return folder


@when(parsers.parse('bash completes "{words}" with the script from "{generator}"'))
def _bash_completes(world, words, generator):
    environ = world.profile().environ(world.gateway_url or world.server.url, {})
    environ["PATH"] = f"{_programs(world)}:{environ['PATH']}"
    words = shlex.split(words)
    script = (f"source <({generator}) && COMP_WORDS=({shlex.join(words)})"
              f" && COMP_CWORD={len(words) - 1} && _cynode_cli_complete && printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    completed = subprocess.run(["bash", "-c", script], env=environ, capture_output=True, text=True, check=False,
                               timeout=CLI_TIMEOUT)
    assert completed.returncode == 0 and completed.stderr == "", completed
    world.remembered["completions"] = [line for line in completed.stdout.splitlines() if line]


@then(parsers.re(r'the completions are exactly "(?P<expected>[^"]*)"'))
def _completions(world, expected):
    expected = expected.replace("{task id}", world.remembered.get("task_id", "{task id}")).split()
    assert world.remembered["completions"] == expected


@then("zsh accepts the script's syntax")
def _zsh_syntax(world):
    zsh = shutil.which("zsh")
    if not zsh:
        pytest.skip("zsh is not installed: the zsh script's syntax could not be checked")
    script = world.tmp / "_cynode"
    script.write_text(world.result.stdout, encoding="utf-8")
    completed = subprocess.run([zsh, "-n", str(script)], capture_output=True, text=True, check=False,
                               timeout=CLI_TIMEOUT)
    assert completed.returncode == 0, completed.stderr
