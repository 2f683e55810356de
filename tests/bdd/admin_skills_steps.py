"""Steps for the skills part of the admin features (features/cynork/cynork_skills.feature,
features/orchestrator/orchestrator_admin.feature). The shared steps live in conftest.py and task_steps.py.

A scenario's latest skill id is remembered as `{skill_id}` for the steps that name it (the audit steps in
admin_audit_steps.py too).
"""

import json
import re
import shlex
import uuid

from pytest_bdd import given, parsers, then, when

from tests.bdd.conftest import UUID, unescape
from tests.bdd.task_steps_support import token_for

SKILL_PASSWORD = "skill-pass-9"
SKILL_TABLE_HEADER = "skill_id\tname\tscope\tscope_id\towner_id\tupdated_at"
SYSTEM_SKILL_ID = "00000000-0000-4000-8000-000000000001"


def _skills_fill(world, text: str) -> str:
    return text.replace("{skill_id}", world.remembered.get("skill_id", "{skill_id}"))


# --- the CLI ------------------------------------------------------------------------------------------------------


@given("I am logged in to the CLI as a new skills user")
def _skills_new_user(world):
    handle = f"skl-{uuid.uuid4().hex[:10]}"
    world.user_ids[handle] = world.server.create_user(handle, SKILL_PASSWORD)["id"]
    world.passwords[handle] = SKILL_PASSWORD
    world.login(handle, "me")
    world.remembered["me"] = handle


def _skills_files(world):
    folder = world.tmp / "files"
    folder.mkdir(exist_ok=True)
    world.cli_cwd = folder
    return folder


@given(parsers.re(r'the skill file "(?P<name>[^"]+)" holding "(?P<text>[^"]*)"'))
def _skills_file(world, name, text):
    (_skills_files(world) / name).write_text(unescape(text), encoding="utf-8")


@given(parsers.re(r'the skill file "(?P<name>[^"]+)" that is (?P<kind>not UTF-8|a directory|(?P<size>\d+) bytes long)'))
def _skills_bad_file(world, name, kind, size):
    path = _skills_files(world) / name
    if kind == "a directory":
        path.mkdir()
    elif kind == "not UTF-8":
        path.write_bytes(b"# skill\n\xff\xfe\n")
    else:
        path.write_bytes(b"a" * int(size))


@when(parsers.re(r'I run cynork "(?P<args>[^"]*)" on my skill(?: with stdin "(?P<stdin>[^"]*)")?'
                 r'(?: as "(?P<profile>[^"]+)")?'))
def _skills_run(world, args, stdin, profile):
    world.cli(shlex.split(_skills_fill(world, args)), unescape(stdin) if stdin is not None else None, profile or "me")


@then("stdout shows a new skill id")
def _skills_new_id(world):
    match = re.fullmatch(rf"skill_id=({UUID})\n", world.result.stdout)
    assert match, world.result.report()
    world.remembered["skill_id"] = match[1]


@then(parsers.re(r'stdout is exactly "(?P<text>.*)" for my skill'))
def _skills_stdout(world, text):
    assert world.result.stdout == _skills_fill(world, unescape(text)) + "\n", world.result.report()


@then(parsers.re(r'the skill table lists "(?P<rows>[^"]*)"'))
def _skills_table(world, rows):
    """Rows as `name/scope/scope_id/owner` separated by `;`, owner `me` or empty; the system skill is `SYSTEM`."""
    header, *lines = world.result.stdout.splitlines()
    assert header == SKILL_TABLE_HEADER, world.result.report()
    seen = []
    for line in lines:
        skill_id, name, scope, scope_id, owner, updated = line.split("\t")
        assert re.fullmatch(UUID, skill_id) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", updated), line
        owner = {world.user_id(world.remembered["me"]): "me", "": ""}.get(owner, owner)
        seen.append("SYSTEM" if skill_id == SYSTEM_SKILL_ID else f"{name}/{scope}/{scope_id}/{owner}")
    assert seen == [row.strip() for row in world.expand(rows).split(";")], world.result.report()


@then(parsers.re(r'the JSON output is (?P<value>\{.*\}) for my skill'))
def _skills_json(world, value):
    expected = json.loads(_skills_fill(world, value))
    assert {key: world.result.json.get(key) for key in expected} == expected, world.result.report()
    assert list(world.result.json)[:len(expected)] == list(expected), world.result.report()


@then(parsers.re(r'I have no skill but the system skill'))
def _skills_none(world):
    response = world.send("GET", "/v1/skills", token=token_for_cli(world))
    assert [s["id"] for s in response.json["skills"]] == [SYSTEM_SKILL_ID], response.json


def token_for_cli(world) -> str:
    return world.profile("me").config()["token"]


# --- HTTP ---------------------------------------------------------------------------------------------------------


@when(parsers.re(r'"(?P<handle>[^"]+)" loads the skill \'(?P<body>.*)\''))
def _skills_load(world, handle, body):
    response = world.send("POST", "/v1/skills/load", token=token_for(world.server, handle), body=json.loads(body))
    if response.status == 201:
        world.remembered["skill_id"] = response.json["id"]


@when(parsers.re(r'"(?P<handle>[^"]+)" sends (?P<method>[A-Z]+) "(?P<path>[^"]+)" about the skill'
                 r'(?: with \'(?P<body>.*)\')?'))
def _skills_send(world, handle, method, path, body):
    world.send(method, _skills_fill(world, path), token=token_for(world.server, handle),
               body=json.loads(body) if body is not None else None)


@then(parsers.re(r'the response is a policy violation of category "(?P<category>[^"]+)" '
                 r'triggered by "(?P<text>[^"]*)"'))
def _skills_refused(world, category, text):
    response = world.response
    assert response.is_policy_refusal(), (response.status, response.headers, response.body)
    assert response.json == {"error": "policy violation", "category": category,
                             "triggering_text": unescape(text)}, response.json


@then(parsers.re(r'"(?P<handle>[^"]+)" sees the skills "(?P<names>[^"]*)"'))
def _skills_sees(world, handle, names):
    response = world.send("GET", "/v1/skills", token=token_for(world.server, handle))
    assert [s["name"] for s in response.json["skills"]] == [n.strip() for n in names.split(",") if n.strip()]
