"""`task create`'s local checks, through the real CLI in process: each is exit 2 naming the path, before the
token is looked at (no token is set here) and before any request."""

import os

import pytest

from cynode.cli.exits import CliError
from cynode.cli.taskinput import COMMANDS_FILE_LIMIT, SCRIPT_LIMIT, TASK_FILE_LIMIT, build
from cynode.contract import MAX_ATTACHMENT_BYTES


@pytest.fixture(name="work")
def fixture_work(tmp_path, monkeypatch):
    """A work dir as the current directory, so paths in messages are short and exact."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.txt").write_text("echo ok\n")
    return tmp_path


def _sized(path, size: int) -> str:
    with open(path, "wb") as handle:
        handle.truncate(size)
    return str(path.name)


@pytest.mark.parametrize("argv, message", [
    ([], "exactly one task input mode is required"),
    (["-p", "  "], "exactly one task input mode is required"),
    (["-p", "a", "-t", "b"], "exactly one task input mode is required"),
    (["-p", "a", "--command", "ls"], "exactly one task input mode is required"),
    (["-f", "ok.txt", "-s", "ok.txt"], "exactly one task input mode is required"),
    (["--commands-file", "ok.txt", "--command", "ls"], "exactly one task input mode is required"),
    (["-f", "missing.txt"], 'path "missing.txt": no such file'),
    (["-s", "."], 'path ".": is a directory'),
    (["--commands-file", "blank.txt"], 'commands file "blank.txt" has no commands'),
    (["-f", "latin1.txt"], 'path "latin1.txt": is not UTF-8 text'),
    (["-p", "x", "-a", "link.txt"], 'path "link.txt": is a symbolic link'),
    (["-p", "x", "-a", "fifo"], 'path "fifo": is not a regular file'),
    (["-p", "x", "-a", "missing/a.txt"], 'path "missing/a.txt": no such file'),
    (["-p", "x", *["-a", "ok.txt"] * 17], "too many attachments: max 16"),
])
def test_bad_input_is_a_usage_error_before_the_token(cli, work, argv, message):
    (work / "blank.txt").write_text("\n  \r\n\t\n")
    (work / "latin1.txt").write_bytes("café".encode("latin-1"))
    os.symlink("ok.txt", work / "link.txt")
    os.mkfifo(work / "fifo")
    result = cli("task", "create", *argv)
    assert (result.code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n"), result


@pytest.mark.parametrize("flag, what, limit", [
    ("--task-file", "task file", TASK_FILE_LIMIT), ("--script", "script", SCRIPT_LIMIT),
    ("--commands-file", "commands file", COMMANDS_FILE_LIMIT), ("--attach", "attachment", MAX_ATTACHMENT_BYTES),
])
def test_each_file_may_be_exactly_its_limit_and_not_a_byte_more(work, flag, what, limit):
    args = {"--prompt": "x" if flag == "--attach" else None, "--attach": []}
    at_limit = _sized(work / "at.txt", limit)
    if flag == "--commands-file":
        (work / "at.txt").write_text(("ls\n" * limit)[:limit])
    args[flag] = [at_limit] if flag == "--attach" else at_limit
    assert build(args)
    args[flag] = [_sized(work / "over.txt", limit + 1)] if flag == "--attach" else _sized(work / "over.txt",
                                                                                             limit + 1)
    with pytest.raises(CliError) as failure:
        build(args)
    assert failure.value.message == f'{what} "over.txt" exceeds size limit ({limit} bytes)'


def test_an_unreadable_file_is_named(cli, work):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    (work / "ok.txt").chmod(0)
    result = cli("task", "create", "-s", "ok.txt")
    assert result.code == 2 and result.stderr.startswith('Error: path "ok.txt": cannot be read: '), result


def test_the_request_for_each_mode(work):
    (work / "cmds.txt").write_bytes(b"echo a\r\n\n   \necho b\n")
    base = {"--attach": [], "--command": []}
    assert build({**base, "--task": "hi"}).body == {"prompt": "hi", "input_mode": "prompt"}
    assert build({**base, "--task-file": "ok.txt", "--name": "n"}).body == {
        "prompt": "echo ok\n", "input_mode": "prompt", "task_name": "n"}
    assert build({**base, "--script": "ok.txt"}).body == {"prompt": "echo ok\n", "input_mode": "script"}
    assert build({**base, "--commands-file": "cmds.txt"}).body == {
        "prompt": "echo a\necho b", "input_mode": "commands", "commands": ["echo a", "echo b"]}
    request = build({**base, "--command": ["b", "a"], "--attach": ["ok.txt", "cmds.txt"]})
    assert request.body["commands"] == ["b", "a"]
    assert [(a.name, a.content_type, a.size) for a in request.attachments] == [
        ("ok.txt", "text/plain", 8), ("cmds.txt", "text/plain", 20)]
