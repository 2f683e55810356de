"""The completion engine on the real grammar, and the hidden `__complete` command against the real gateway."""

import pytest

from cynode.cli.complete import TaskCache, candidates, drop_program, fetch_task_words, merge_split_values
from cynode.cli.main import grammar
from tests.unit.cli.conftest import dead_url

TASKS = ["nightly", "7f0c"]


def complete(words, current, in_shell=False):
    return candidates(grammar(), words, current, lambda: TASKS, in_shell=in_shell)


@pytest.mark.parametrize("words, current, expected", [
    ([], "", ["version", "status", "auth", "task", "chat", "shell", "completion", "users", "tokens", "creds", "prefs",
              "settings", "nodes", "skills", "audit"]),
    ([], "ta", ["task"]),
    (["task"], "l", ["list", "logs"]),
    (["task", "artifacts"], "", ["list", "get"]),
    (["-o", "json", "auth"], "w", ["whoami"]),
    (["task", "list"], "--st", ["--status"]),
    (["task", "watch", "x"], "-n", ["-n"]),
    ([], "--c", ["--config"]),
    (["task", "list", "--status"], "c", ["completed", "canceled"]),
    (["task", "list", "-o"], "", ["table", "json"]),
    (["task", "logs", "x"], "--stream=s", ["--stream=stdout", "--stream=stderr"]),
    (["task", "create", "--task-file"], "", []),  # a path: no candidates rather than guesses
    (["task", "list", "--limit=5"], "", []),
    (["completion"], "", ["bash", "zsh"]),
    (["completion", "bash"], "", []),
    (["task", "get"], "", TASKS),
    (["task", "get", "--output", "json"], "n", ["nightly"]),
    (["task", "artifacts", "get"], "", TASKS),
    (["task", "artifacts", "get", "nightly"], "", []),  # <artifact>: not a task
    (["users", "disable"], "", []),
    (["bogus"], "", []),
])
def test_candidates_come_from_the_grammar(words, current, expected):
    assert complete(words, current) == expected


def test_the_shell_adds_its_built_ins_and_leaves_out_a_nested_shell():
    assert complete([], "", in_shell=True) == ["version", "status", "auth", "task", "chat", "completion", "users",
                                               "tokens", "creds", "prefs", "settings", "nodes", "skills", "audit",
                                               "help", "exit", "quit"]
    assert complete(["help"], "ta", in_shell=True) == ["task"]
    assert complete(["help", "task"], "w", in_shell=True) == ["watch"]


def test_tasks_are_asked_for_only_at_a_task_position():
    asked = []

    def tasks():
        asked.append(True)
        return TASKS

    candidates(grammar(), ["task", "list"], "", tasks)
    candidates(grammar(), ["task"], "", tasks)
    assert not asked
    assert candidates(grammar(), ["task", "cancel"], "7", tasks) == ["7f0c"] and asked


@pytest.mark.parametrize("words, expected", [
    (["cynode", "cli", "task", "list"], ["task", "list"]),
    (["cynork", "version"], ["version"]),
    (["cynode", "version"], ["cynode", "version"]),
])
def test_a_leading_program_name_is_dropped(words, expected):
    assert drop_program(words) == expected


@pytest.mark.parametrize("words, expected", [
    (["task", "list", "--output", "=", "js"], ["task", "list", "--output=js"]),
    (["task", "list", "--output", "="], ["task", "list", "--output="]),
    (["--output=json", "x", "="], ["--output=json", "x", "="]),
])
def test_bash_pieces_of_flag_values_are_joined(words, expected):
    assert merge_split_values(words) == expected


def test_task_words_are_names_then_ids_of_the_callers_tasks(server, login, environ):
    tokens = login()
    created = server.call("POST", "/v1/tasks", token=tokens.access,
                          body={"input_mode": "commands", "commands": ["true"], "task_name": "unit-complete"}).json
    words = fetch_task_words(None, environ)
    assert words.index("unit-complete") < words.index(created["task_id"])


def test_task_words_are_empty_without_a_token_or_a_gateway(environ):
    assert not fetch_task_words(None, environ)
    assert not fetch_task_words(None, {**environ, "CYNORK_TOKEN": "t", "CYNORK_GATEWAY_URL": dead_url()})


def test_the_task_cache_asks_once_until_cleared():
    calls = []
    cache = TaskCache(lambda: calls.append(1) or ["a"])
    assert cache() == cache() == ["a"] and len(calls) == 1
    cache.clear()
    assert cache() == ["a"] and len(calls) == 2


def test_hidden_complete_command_prints_one_candidate_a_line(cli, login):
    assert cli("__complete", "cynode", "cli", "task", "l").stdout == "list\nlogs\n"
    assert cli("__complete", "cynork", "task", "list", "--output", "=").stdout == "--output=table\n--output=json\n"
    login()
    result = cli("__complete", "cynork", "-c", "/nonexistent/config.yaml", "task", "get", "")
    assert (result.code, result.stdout, result.stderr) == (0, "", "")  # the named config has no token: silence
    assert cli("__complete", "cynork", "--config=/nonexistent/config.yaml", "task", "get", "").stdout == ""
    assert cli("__complete", "cynork", "shell", "-c", "").stdout == ""  # the line to run: nothing to offer
    assert cli("__complete").code == 0
