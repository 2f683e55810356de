"""`prefs` and `settings` in process against the real gateway: outputs, the scope defaults, and JSON values that
are exit 2 before any request."""

import json

import pytest

from cynode.server.projects import default_project_id




@pytest.fixture(name="as_admin")
def fixture_as_admin(cli, server):
    token = server.session().access
    return lambda *argv, **kwargs: cli(*argv, env={"CYNORK_TOKEN": token}, **kwargs)


def test_set_get_list_delete_in_my_user_scope(as_user, server):
    assert as_user("prefs", "set", "--scope-type", "user", "--key", "style", "--value", '"concise"').stdout == \
        "ok=true\n"
    assert as_user("prefs", "set", "--scope-type", "user", "--key", "checks", "--value", '["lint", "é"]',
                   "--reason", "ci").code == 0
    got = as_user("prefs", "get", "--scope-type", "user", "--key", "checks")
    assert (got.code, got.stdout) == (0, 'key=checks value=["lint","é"]\n')
    assert as_user("-o", "json", "prefs", "get", "--scope-type", "user", "--key", "style").json == {
        "key": "style", "value": "concise"}
    listed = as_user("prefs", "list", "--scope-type", "user", "--scope-id", as_user.user.id)
    lines = listed.stdout.splitlines()
    assert lines[0] == "key\tvalue_json\tupdated_at"
    assert [line.split("\t")[:2] for line in lines[1:]] == [["checks", '["lint","é"]'], ["style", '"concise"']]
    as_json = as_user("-o", "json", "prefs", "list", "--scope-type", "user").json
    assert [(p["key"], p["value"]) for p in as_json["preferences"]] == [("checks", ["lint", "é"]),
                                                                        ("style", "concise")]
    assert as_user("prefs", "delete", "--scope-type", "user", "--key", "style").stdout == "deleted=true\n"
    assert as_user("-o", "json", "prefs", "delete", "--scope-type", "user", "--key", "checks").json == {
        "deleted": True}
    missing = as_user("prefs", "get", "--scope-type", "user", "--key", "style")
    assert (missing.code, missing.stderr) == (4, "Error: 404 Not Found: Preference not found\n")
    history = server.store.preference_history("user", as_user.user.id, "checks")
    assert [h.reason for h in history] == ["ci", None]


@pytest.mark.parametrize("argv, message", [
    (["--value", "concise"], "--value is not valid JSON"),
    (["--value", "NaN"], "--value is not valid JSON"),
    ([], "give exactly one of --value or --value-file"),
    (["--value-file", "/nonexistent/value.json"], "--value-file: cannot read /nonexistent/value.json"),
])
def test_a_bad_value_is_exit_2_before_any_request(cli, argv, message):
    result = cli("prefs", "set", "--scope-type", "user", "--key", "k", *argv,
                 env={"CYNORK_GATEWAY_URL": "http://127.0.0.1:9", "CYNORK_TOKEN": "t"})
    assert result.code == 2 and result.stderr.startswith("Error: " + message), result


@pytest.mark.parametrize("argv, message", [
    (["--scope-type", "system", "--scope-id", "x"], "--scope-id is not taken for the system scope"),
    (["--scope-type", "task"], "--scope-id is required for the task scope"),
    (["--scope-type", "project"], "--scope-id is required for the project scope"),
    (["--scope-type", "group"], "scope-type must be"),
])
def test_scope_flags_are_checked_before_any_request(cli, argv, message):
    result = cli("prefs", "list", *argv, env={"CYNORK_GATEWAY_URL": "http://127.0.0.1:9", "CYNORK_TOKEN": "t"})
    assert result.code == 2 and message in result.stderr, result


def test_a_value_file_is_read_as_utf8_json(as_user, tmp_path):
    path = tmp_path / "v.json"
    path.write_text('{\n  "line_length": 100,\n  "name": "é"\n}\n', encoding="utf-8")
    assert as_user("prefs", "set", "--scope-type", "user", "--key", "md", "--value-file", str(path)).code == 0
    assert as_user("prefs", "get", "--scope-type", "user", "--key", "md").stdout == \
        'key=md value={"line_length":100,"name":"é"}\n'
    path.write_bytes(b"\xff\xfe")
    bad = as_user("prefs", "set", "--scope-type", "user", "--key", "md", "--value-file", str(path))
    assert bad.code == 2 and "not UTF-8" in bad.stderr


def test_effective_needs_a_task_or_project_and_prints_the_merge(as_user, as_admin):
    assert as_user("prefs", "effective").code == 2
    both = as_user("prefs", "effective", "--task-id", "a", "--project-id", "b")
    assert both.code == 2
    me = as_user.user
    assert as_admin("prefs", "set", "--scope-type", "system", "--key", "lang", "--value", '"en"').code == 0
    pid = default_project_id(me.id)
    assert as_user("prefs", "set", "--scope-type", "project", "--scope-id", pid, "--key", "lang",
                   "--value", '"de"').code == 0
    table = as_user("prefs", "effective", "--project-id", pid)
    assert json.loads(table.stdout)["lang"] == "de" and table.stdout.startswith("{\n  ")
    as_json = as_user("-o", "json", "prefs", "effective", "--project-id", pid).json
    lang = next(s for s in as_json["sources"] if s["key"] == "lang")
    assert (as_json["effective"]["lang"], lang["scope_type"], lang["scope_id"]) == ("de", "project", pid)


def test_settings_everyone_reads_admins_write(as_user, as_admin):
    key = "cli.test.setting"
    refused = as_user("settings", "set", "--key", key, "--value", "1")
    assert (refused.code, refused.stderr) == (3, "Error: 403 Forbidden: Admin required\n")
    assert as_admin("settings", "set", "--key", key, "--value", '{"a": 1}', "--reason", "test").stdout == \
        "ok=true\n"
    assert as_user("settings", "get", "--key", key).stdout == 'key=cli.test.setting value={"a":1}\n'
    listed = as_user("settings", "list", "--limit", "200")
    assert f'{key}\t{{"a":1}}\t' in listed.stdout and listed.stdout.startswith("key\tvalue_json\tupdated_at\n")
    as_json = as_user("-o", "json", "settings", "list").json
    assert set(as_json) == {"settings", "next_cursor"}
    assert as_user("settings", "delete", "--key", key).code == 3
    assert as_admin("-o", "json", "settings", "delete", "--key", key).json == {"deleted": True}
    assert as_user("settings", "get", "--key", key).code == 4
    bad = as_admin("settings", "set", "--key", "agents.project_manager.model.selection.mode", "--value", '"x"')
    assert bad.code == 6
