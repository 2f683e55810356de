"""Steps for the prefs part of the admin features (features/cynork/cynork_admin.feature,
features/orchestrator/orchestrator_admin.feature). The shared steps live in conftest.py."""

import json
import shlex

from pytest_bdd import parsers, then, when

from cynode.server.projects import default_project_id
from tests.bdd.task_steps_support import token_for


def _prefs_fill(world, text: str) -> str:
    """`{project:<handle>}` is that user's default project id; `${ID:<handle>}` their id (World.expand)."""
    while "{project:" in text:
        start = text.index("{project:")
        end = text.index("}", start)
        text = text[:start] + default_project_id(world.user_id(text[start + 9:end])) + text[end + 1:]
    return world.expand(text)


@when(parsers.re(r'I run cynork "(?P<args>[^"]*)" naming default projects'))
def _prefs_run_with_projects(world, args):
    world.cli(shlex.split(_prefs_fill(world, args)), None, "me")


@when(parsers.re(r'"(?P<handle>[^"]+)" sends (?P<method>[A-Z]+) "(?P<path>[^"]+)" with the JSON \'(?P<body>.*)\''))
def _prefs_send_json(world, handle, method, path, body):
    world.send(method, _prefs_fill(world, path), token=token_for(world.server, handle),
               body=_prefs_fill(world, body), headers={"Content-Type": "application/json"})


@when(parsers.re(r'"(?P<handle>[^"]+)" sends GET "(?P<path>[^"]+)" naming default projects'))
def _prefs_get_with_projects(world, handle, path):
    world.send("GET", _prefs_fill(world, path), token=token_for(world.server, handle))


@then(parsers.re(r'the response JSON "(?P<field>[^"]+)" is (?P<value>.+)'))
def _prefs_response_path(world, field, value):
    found = world.response.json
    for part in field.split("/"):
        found = found[int(part)] if isinstance(found, list) else found[part]
    assert found == json.loads(_prefs_fill(world, value)), world.response.json


@then(parsers.parse('stdout is a value table with the rows "{rows}"'))
def _prefs_value_table(world, rows):
    """The tsv of prefs/settings list: the header, then `key value_json` per row (rows split by `;`), each with an
    RFC 3339 updated_at."""
    lines = world.result.stdout.splitlines()
    assert lines[0] == "key\tvalue_json\tupdated_at", world.result.report()
    cells = [line.split("\t") for line in lines[1:]]
    assert [" ".join(cell[:2]) for cell in cells] == [row.strip() for row in rows.split(";")], world.result.report()
    assert all(len(cell) == 3 and cell[2].endswith("Z") for cell in cells), world.result.report()
