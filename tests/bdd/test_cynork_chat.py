"""Steps for features/cynork/cynork_chat.feature: `cynode cli chat` against a real `cynode serve` whose inference
backend is the fake (tests/fakes/inference.py), served in this pytest process so a scenario sees exactly what
reached the model. Interactive runs use a real pseudo-terminal (tests/support/terminal.py).

The shared steps (servers, running the CLI, output checks) live in conftest.py.
"""

import re
import shlex

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.bdd.conftest import SHARED_SETTINGS, unescape
from tests.bdd.harness import CliResult, Server, cynode_command
from tests.fakes.inference import FakeInference
from tests.support.terminal import KEYS, Terminal

scenarios("cynork/cynork_chat.feature")

MODEL = "fake-model"


def _backend_settings(backend) -> dict:
    return {"CYNODE_INFERENCE_URL": backend.url, "CYNODE_INFERENCE_API": "ollama", "CYNODE_INFERENCE_MODEL": MODEL}


@pytest.fixture(name="chat_backend", scope="module")
def _chat_backend():
    with FakeInference(model=MODEL) as fake:
        yield fake


@pytest.fixture(name="shared_server", scope="module")
def _shared_server(tmp_path_factory, chat_backend):
    """This feature's shared server answers chats: its inference backend is the module's fake."""
    server = Server(tmp_path_factory.mktemp("server"), {**SHARED_SETTINGS, **_backend_settings(chat_backend)}).start()
    yield server
    server.check_clean_exit()


@given("a running cynode server with the fake inference backend")
def _server_with_backend(world, chat_backend):
    world.use_shared_server()
    chat_backend.requests.clear()


@given("a separate cynode server with the fake inference backend")
def _separate_server_with_backend(world, chat_backend):
    world.start_server(_backend_settings(chat_backend))
    chat_backend.requests.clear()


@when("the server is killed")
def _server_killed(world):
    """SIGKILL: its connections drop mid-answer. It cannot exit cleanly, so it is not checked for that."""
    world.own_servers.remove(world.server)
    world.server.process.kill()
    world.server.process.wait()


# --- what reached the model -------------------------------------------------------------------------------------


def _chats(backend) -> list:
    return [request["body"] for request in backend.requests if request["path"] == "/api/chat"]


@then("the inference backend was asked nothing")
def _asked_nothing(chat_backend):
    assert _chats(chat_backend) == []


@then(parsers.re(r"the inference backend was asked (?P<count>\d+) times?"))
def _asked_times(chat_backend, count):
    assert len(_chats(chat_backend)) == int(count), _chats(chat_backend)


@then("the inference backend was last asked with these messages:")
def _asked_with(chat_backend, datatable):
    header, *rows = datatable
    body = _chats(chat_backend)[-1]
    assert body["messages"] == [dict(zip(header, row)) for row in rows], body
    assert body["model"] == MODEL and body["stream"] is True, body


# --- output -------------------------------------------------------------------------------------------------------


@then(parsers.parse('stderr contains "{text}"'))
def _stderr_contains(world, text):
    assert unescape(text) in world.result.stderr, world.result.report()


@then(parsers.parse('stderr is the prompt "{prompt}" {count:d} times and nothing else'))
def _only_prompts(world, prompt, count):
    # Not at a terminal nothing echoes the typed line, so each prompt gets its line ended after the read.
    assert world.result.stderr == (prompt + "\n") * count, world.result.report()


@then(parsers.parse('the only error line on stderr ends it and starts with "{text}"'))
def _one_error_line(world, text):
    lines = world.result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and lines[-1] == errors[0] and errors[0].startswith(text), world.result.report()


@then(parsers.re(r'stdout matches the interrupted answer(?: then "(?P<text>[^"]*)")?'))
def _interrupted_then(world, text):
    after = re.escape(text) + "\n" if text else ""
    assert re.fullmatch(r"w0( w\d+)*\n" + after, world.result.stdout), world.result.report()


@then("no output of that run shows my access token")
def _token_not_shown(world):
    token = world.profile().config()["token"]
    assert token not in world.result.stdout + world.result.stderr, world.result.report()


@then(parsers.parse('no file under my home or config directory holds "{text}", and the config file is the only '
                    'file'))
def _no_history(world, text):
    root = world.profile().root
    files = sorted(path for path in root.rglob("*") if path.is_file())
    assert files == [world.profile().config_file], files
    assert text.encode() not in world.profile().config_file.read_bytes()


# --- processes watched while they run -----------------------------------------------------------------------------


def _start(world, terminals, args: str, on_tty: tuple = ("stdin",), controlling: bool = True) -> Terminal:
    world.log_mark = len(world.server.log())
    environ = world.profile().environ(world.gateway_url or world.server.url, world.cli_env)
    term = Terminal([*cynode_command(), "cli", *shlex.split(args)], environ, on_tty, controlling=controlling)
    terminals.append(term)
    world.remembered["terminal"] = term
    return term


@when(parsers.parse('I start cynork "{args}"'))
def _start_plain(world, terminals, args):
    _start(world, terminals, args, controlling=False)


@when(parsers.parse('I start cynork "{args}" on a terminal'))
def _start_on_terminal(world, terminals, args):
    _start(world, terminals, args)


@when(parsers.parse('I start cynork "{args}" on a terminal that also shows its stderr'))
def _start_on_terminal_with_stderr(world, terminals, args):
    _start(world, terminals, args, ("stdin", "stderr"))


@given(parsers.re(r"the environment has (?:nothing new|(?P<name>\w+)=(?P<value>\S*))"))
def _environment(world, name, value):
    if name:
        world.cli_env[name] = value


@then(parsers.parse('the terminal showed "{label}" and erased it before the prompt'))
def _progress_shown(world, label):
    shown = world.remembered["terminal"].stderr
    assert label in shown, shown
    assert shown.rindex("\r\x1b[K") > shown.rindex(label), shown  # erased after its last frame


@then("neither stdout nor the terminal holds an escape sequence")
def _no_escapes(world):
    assert "\x1b" not in world.result.stdout + world.result.stderr, world.result.report()


@then(parsers.parse('its stdout shows "{first}" while "{last}" is still to come'))
def _shows_while_running(world, first, last):
    term = world.remembered["terminal"]
    term.wait_for(first, "stdout")
    # Printed as it arrived: the start of the answer is out while its end has not been printed (an answer held
    # back until complete would show both at once), and the CLI still runs, waiting for the rest.
    assert last not in term.stdout and term.proc.poll() is None, term.stdout


@then(parsers.parse('the terminal shows "{text}"'))
def _terminal_shows(world, text):
    term = world.remembered["terminal"]
    term.expect("> ")
    assert term.stderr == unescape(text), term.stderr


@then(parsers.re(r'the terminal shows the prompt "(?P<prompt>[^"]*)"(?: again)?'))
def _prompt_again(world, prompt):
    world.remembered["terminal"].expect(prompt)  # a new prompt, after what was typed last


@when(parsers.parse('I type "{text}" and press Enter'))
def _type(world, text):
    world.remembered["terminal"].type(text + "\n")


@when("I press Ctrl+C")
def _ctrl_c(world):
    world.remembered["terminal"].interrupt()  # typed: the pty is the controlling terminal


@when("I press Ctrl+D")
def _ctrl_d(world):
    world.remembered["terminal"].type(KEYS["Ctrl+D"])


@then(parsers.parse("it ends with exit code {code:d}"))
def _ends_with(world, code):
    term = world.remembered["terminal"]
    status, stdout, stderr = term.finish()
    world.result = CliResult(list(term.proc.args[len(cynode_command()) + 1:]), status, stdout, stderr)
    assert "Traceback" not in stderr, world.result.report()
    assert status == code, world.result.report()
