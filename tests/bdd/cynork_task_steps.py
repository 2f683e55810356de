"""Steps for features/cynork/cynork_tasks.feature: `cynode cli task ...` as a real process against a real server.

Each scenario signs in a user of its own (so task names and listings are its own) and runs the CLI in a work dir
of its own. Jobs that must still be running when the CLI looks at them wait for a `go` file in their work dir,
which a step creates from the host: no step relies on timing. Runs on a terminal use a real pty
(tests/support/terminal.py).
"""

import os
import re
import shlex
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from cynode.dispatch.workspace import Workspace
from tests.bdd.conftest import UUID, unescape
from tests.bdd.harness import CliResult, cynode_command, with_source
from tests.bdd.harness import request as http
from tests.bdd.task_steps_support import TERMINAL, data_dir, marker, tasks_of, token_for, wait_until
from tests.support.terminal import Terminal

GATE = "echo started; while [ ! -e go ]; do sleep 0.1; done; echo finished"
CLEAR = "\x1b[H\x1b[2J"
LOCAL_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)"


# --- placeholders ------------------------------------------------------------------------------------------------


def _fill(world, text: str) -> str:
    """{task} (the latest task), {task:N}, {artifact:NAME} of the latest task, {next_cursor}, {N attachments}."""
    def value(match: re.Match) -> str:
        name, arg = match.group(1), match.group(2)
        if name == "task":
            return tasks_of(world).pick(int(arg) if arg else None)[0]
        if name == "artifact":
            listing = _api(world, "GET", f"/v1/tasks/{tasks_of(world).pick()[0]}/artifacts").json["artifacts"]
            return next(item["artifact_id"] for item in listing if item["name"] == arg)
        if name == "next_cursor":
            return world.remembered["next_cursor"]
        return " ".join(f"-a f{n}.txt" for n in range(1, int(name.split()[0]) + 1))

    return re.sub(r"\{(task|artifact|next_cursor|\d+ attachments)(?::([^{}]+))?\}", value, text)


def _pattern(world, text: str) -> re.Pattern:
    """A literal text in which {uuid} and {any} are wildcards, `\\e` is ESC and `\\t` a tab."""
    parts = re.split(r"(\{uuid\}|\{any\})", _fill(world, text).replace("\\e", "\x1b").replace("\\t", "\t"))
    return re.compile("".join({"{uuid}": UUID, "{any}": ".*?"}.get(p, re.escape(p)) for p in parts))


# --- the user, the work dir, tasks made over HTTP ---------------------------------------------------------------------


def _handle(world) -> str:
    return f"cli{marker(world)}"


def _api(world, method: str, path: str, **kwargs):
    return http(world.server.url, method, path, token=token_for(world.server, _handle(world)), **kwargs)


def _task(world, ref: str) -> dict:
    response = _api(world, "GET", f"/v1/tasks/{ref}")
    assert response.status == 200, (response.status, response.body)
    return response.json


def _work(world):
    path = world.tmp / "work"
    path.mkdir(exist_ok=True)
    world.cli_cwd = path
    return path


@given("I am signed in to the CLI as a new user")
def _signed_in(world):
    world.cli_env["CYNORK_TOKEN"] = token_for(world.server, _handle(world))
    world.settle()


@given("I am not signed in")
def _not_signed_in(world):
    world.cli_env.pop("CYNORK_TOKEN", None)


@given(parsers.parse('my work dir holds "{name}" with "{text}"'))
def _file(world, name, text):
    (_work(world) / name).write_text(unescape(text.replace("\\r", "\r")), encoding="utf-8")


@given(parsers.parse('my work dir holds {size:d} random bytes in "{name}"'))
def _random_file(world, size, name):
    (_work(world) / name).write_bytes(os.urandom(size))


@given("my work dir holds a directory, a symlink, a FIFO, oversized files and 17 small files")
def _awkward_files(world):
    work = _work(world)
    (work / "dir").mkdir()
    os.symlink("a.txt", work / "link.txt")
    os.mkfifo(work / "fifo")
    for name, limit in (("big.md", 1 << 20), ("big.sh", 256 << 10), ("big.txt", 64 << 10), ("big.bin", 10 << 20)):
        with open(work / name, "wb") as handle:
            handle.truncate(limit + 1)
    for number in range(1, 18):
        (work / f"f{number}.txt").write_text(f"{number}\n", encoding="utf-8")


def _create(world, name: str, command: str) -> str:
    response = _api(world, "POST", "/v1/tasks", body={"input_mode": "commands", "commands": [command],
                                                      "task_name": name})
    assert response.status == 201, (response.status, response.body)
    tasks_of(world).add(response.json["task_id"], _handle(world))
    return response.json["task_id"]


@given(parsers.re(r"my tasks (?P<names>.+) have completed"))
def _completed_tasks(world, names):
    for name in re.findall(r'"([^"]+)"', names):
        _create(world, name, "true")
        _ends(world, name, "completed")
    world.settle()


@given(parsers.parse('my task "{name}" is running and waits for its go file'))
def _gated_task(world, name):
    task_id = _create(world, name, GATE)
    wait_until(lambda: _api(world, "GET", f"/v1/tasks/{task_id}/logs").json["stdout"] == "started\n",
               what=f"task {name} printing 'started'")
    world.settle()


@when(parsers.parse('the go file of task "{name}" appears'))
def _open_gate(world, name):
    task_id = _task(world, name)["task_id"]
    if task_id not in dict(tasks_of(world).items):
        tasks_of(world).add(task_id, _handle(world))
    (_work_root(world) / task_id / "go").touch()


def _work_root(world) -> Path:
    """Where the server keeps job work dirs, as its start-up line says (the data dir's `work` by default)."""
    found = re.search(r" work_root=(\S+)", world.server.log())
    return Path(found.group(1)) if found else Workspace(data_dir(world.server)).work_root


@when(parsers.parse('I wait for task "{name}" to end'))
def _wait_end(world, name):
    wait_until(lambda: _task(world, name)["status"] in TERMINAL, what=f"task {name} ending")


@then(parsers.parse('task "{name}" is "{status}"'))
def _is(world, name, status):
    assert _task(world, name)["status"] == status


@then(parsers.parse('task "{name}" ends "{status}"'))
def _ends(world, name, status):
    wait_until(lambda: _task(world, name)["status"] in TERMINAL, what=f"task {name} ending")
    assert _task(world, name)["status"] == status


# --- running the CLI ------------------------------------------------------------------------------------------------


def _remember(world, result: CliResult) -> None:
    """A task the run created joins the scenario's tasks ({task}); a listing's next_cursor is kept."""
    if result.code != 0 or not result.stdout.strip():
        return
    if result.stdout.startswith("{"):
        data = result.json
        if "next_cursor" in data:
            world.remembered["next_cursor"] = data["next_cursor"]
        task_id = data.get("task_id")
    else:
        task_id = (re.match(rf"task_id=({UUID})", result.stdout) or [None, None])[1]
    if "create" in result.args and task_id:
        tasks_of(world).add(task_id, _handle(world))


@when(parsers.re(r"I run cynork: (?P<args>.+)"))
def _run(world, args):
    _remember(world, world.cli(shlex.split(_fill(world, args))))


def _start(world, args: str, on_tty: tuple) -> Terminal:
    world.settle()
    world.log_mark = len(world.server.log())
    environ = with_source(world.profile().environ(world.server.url, world.cli_env))
    term = Terminal([*cynode_command(), "cli", *shlex.split(_fill(world, args))], environ, on_tty, world.cli_cwd)
    world.remembered.setdefault("terminals", []).append(term)
    world.remembered["terminal"], world.remembered["args"] = term, shlex.split(_fill(world, args))
    return term


@when(parsers.re(r"I start cynork: (?P<args>.+)"))
def _start_piped(world, args):
    _start(world, args, ())


@when(parsers.re(r"I start cynork on a terminal for (?P<tty>stdin|stdout|stderr): (?P<args>.+)"))
def _start_on_tty(world, tty, args):
    _start(world, args, (tty,))


@when(parsers.re(r'I run "(?P<args>[^"]+)" on a terminal and answer "(?P<answer>[^"]*)" to "(?P<prompt>[^"]+)"'))
def _answer(world, args, answer, prompt):
    term = _start(world, args, ("stdin",))
    term.expect(prompt)
    term.type(answer + "\n")
    _finish(world)


def _finish(world) -> CliResult:
    term = world.remembered["terminal"]
    code, stdout, stderr = term.finish()
    world.result = CliResult(world.remembered["args"], code, stdout, stderr)
    for text in (stdout, stderr, term.screen()):
        assert "Traceback" not in text and "Error:" not in text, world.result.report() + term.screen()
    return world.result


@when(parsers.parse('the terminal shows "{text}"'))
def _wait_tty(world, text):
    world.remembered["terminal"].wait_for(text, "tty")


@when(parsers.parse('stdout shows "{text}"'))
def _wait_stdout(world, text):
    world.remembered["terminal"].wait_for(text, "stdout")


@when("I press Ctrl+C")
def _ctrl_c(world):
    world.remembered["terminal"].interrupt()


@when("the server has answered a result poll")
def _polled(world):
    wait_until(lambda: any("/result status=200" in line for line in world.requests_since_mark()),
               what="a GET of the task's result")


@then("it exits 0")
def _exits_0(world):
    assert _finish(world).code == 0, world.result.report()


@then(parsers.re(r'it exits 0 with stdout "(?P<stdout>[^"]*)"'))
def _exits_0_with(world, stdout):
    result = _finish(world)
    assert (result.code, result.stdout) == (0, unescape(stdout)), result.report()


@then(parsers.parse('its stdout shows "{text}" while task "{name}" is still running'))
def _shows_while_running(world, text, name):
    world.remembered["terminal"].wait_for(unescape(text), "stdout")
    assert _task(world, name)["status"] == "running"


@then(parsers.re(r'the terminal (?P<shows>shows|does not show) "(?P<text>[^"]+)"'))
def _terminal_shows(world, shows, text):
    screen = world.remembered["terminal"].screen()
    assert (text in screen) == (shows == "shows"), screen


@then(parsers.parse('the terminal shows the line "{line}"'))
def _terminal_line(world, line):
    screen = world.remembered["terminal"].screen()
    assert any(_pattern(world, line).fullmatch(x.strip()) for x in screen.splitlines()), repr(screen)


# --- outputs ----------------------------------------------------------------------------------------------------


@then(parsers.parse('stdout is the line "{line}"'))
def _line(world, line):
    assert _pattern(world, line + "\n").fullmatch(world.result.stdout), world.result.report()


@then(parsers.parse('stdout has a line matching "{line}"'))
def _has_line(world, line):
    assert any(_pattern(world, line).fullmatch(x) for x in world.result.stdout.splitlines()), world.result.report()


@then(parsers.parse('stdout has a row "{row}"'))
def _has_row(world, row):
    _has_line(world, row)


@then(parsers.parse('the first line of stdout is "{text}"'))
def _first_line(world, text):
    assert world.result.stdout.splitlines()[0] == unescape(text), world.result.report()


@then(parsers.parse("stdout has {count:d} lines"))
def _line_count(world, count):
    assert len(world.result.stdout.splitlines()) == count, world.result.report()


@then(parsers.re(r'stdout shows (?:a line matching "(?P<line>.*)"|nothing)'))
def _stdout_shows(world, line):
    if line is None:
        assert world.result.stdout == "", world.result.report()
    else:
        _line(world, line)


@then(parsers.parse('stdout is a result of task "{name}" with status "{status}"'))
def _result_of(world, name, status):
    task_id = _task(world, name)["task_id"]
    if world.result.stdout.startswith("{"):
        assert (world.result.json["task_id"], world.result.json["status"]) == (task_id, status)
    else:
        assert world.result.stdout.startswith(f"task_id={task_id} status={status} "), world.result.report()


@then(parsers.parse('stdout is the header "{header}" with the local time, an empty line and a line matching "{line}"'))
def _watch_render(world, header, line):
    expected = re.escape(header) + "  " + LOCAL_TIME + "\n\n" + _pattern(world, line + "\n").pattern
    assert re.fullmatch(expected, world.result.stdout), world.result.report()


@then(parsers.parse('the terminal cleared the screen before each render, under the header "{header}"'))
def _redrawn(world, header):
    renders = world.remembered["terminal"].screen().split(CLEAR)
    assert renders[0] == "" and len(renders) >= 3, renders  # at least a running and a final render
    for render in renders[1:]:
        assert re.match(re.escape(header) + LOCAL_TIME + "\n\ntask_id=", render), render


@then(parsers.parse('the last render is a line matching "{line}"'))
def _last_render(world, line):
    last = world.remembered["terminal"].screen().split(CLEAR)[-1].split("\n\n", 1)[1]
    assert _pattern(world, line + "\n").fullmatch(last), repr(last)


@then(parsers.parse('the JSON output starts with the keys "{keys}"'))
def _json_starts(world, keys):
    wanted = [key.strip() for key in keys.split(",")]
    assert list(world.result.json)[:len(wanted)] == wanted, world.result.report()


@then(parsers.parse('the JSON field "{key}" is the id of task {number:d}'))
def _json_task_id(world, key, number):
    assert world.result.json[key] == tasks_of(world).pick(number)[0], world.result.report()


@then(parsers.parse("the JSON result has {count:d} jobs"))
def _job_count(world, count):
    assert len(world.result.json["jobs"]) == count, world.result.report()


@then(parsers.re(r'the JSON list has (?P<count>\d+) tasks? and (?:a next cursor|the next cursor "(?P<cursor>.*)")'))
def _json_page(world, count, cursor):
    page = world.result.json
    assert len(page["tasks"]) == int(count), world.result.report()
    assert page["next_cursor"] == cursor if cursor is not None else page["next_cursor"], world.result.report()


@then(parsers.parse('"{path}" has the same bytes as "{other}"'))
def _same_bytes(world, path, other):
    assert (world.cli_cwd / path).read_bytes() == (world.cli_cwd / other).read_bytes()


@then(parsers.parse('"{directory}" holds only "{name}"'))
def _holds_only(world, directory, name):
    assert os.listdir(world.cli_cwd / directory) == [name]


@pytest.fixture(autouse=True)
def _clean_up(world):
    """Whatever a scenario started on a terminal is gone when it ends, and its user's unfinished tasks (some made by
    an interrupted CLI run, so never seen by a step) are canceled: nothing outlives its scenario."""
    yield
    for term in world.remembered.get("terminals", ()):
        term.close()
    if "marker" in world.remembered and world.server and world.server.process:
        for task in _api(world, "GET", "/v1/tasks?limit=200").json["tasks"]:
            if task["status"] not in TERMINAL:
                _api(world, "POST", f"/v1/tasks/{task['task_id']}/cancel")
