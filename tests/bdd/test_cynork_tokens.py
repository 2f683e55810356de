"""Steps for features/cynork/cynork_tokens.feature: personal API tokens through the real CLI and server.

The shared steps (servers, running the CLI, output checks) live in conftest.py. Every token a scenario sees joins
the server's secrets, so the server's log is checked never to show one.
"""

import re
import shlex
import uuid

from pytest_bdd import given, parsers, scenarios, then, when

from tests.bdd.conftest import TIMESTAMP, UUID, unescape

scenarios("cynork/cynork_tokens.feature")

PASSWORD = "token-pass-9"
TABLE_HEADER = "token_id\tname\tcreated_at\texpires_at"
CREATED = re.compile(rf"token_id=(?P<id>{UUID}) name=(?P<name>\S+) token=(?P<token>cyn_[A-Za-z0-9_-]{{43}}) "
                     rf"expires_at={TIMESTAMP}\n")


def _new_user(world, profile: str) -> str:
    handle = f"tok-{uuid.uuid4().hex[:10]}"
    world.user_ids[handle] = world.server.create_user(handle, PASSWORD)["id"]
    world.passwords[handle] = PASSWORD
    world.login(handle, profile)
    return handle


def _remember(world, token_id: str, token: str) -> None:
    world.remembered.setdefault("tokens", []).append(token)
    world.remembered["token_id"], world.remembered["token"] = token_id, token
    world.server.secrets.add(token)  # the server's log must never show it (checked when the server stops)


@given("I am logged in to the CLI as a new user")
def _me(world):
    world.remembered["me"] = _new_user(world, "me")


@given(parsers.parse('another new user is logged in to the CLI in profile "{profile}"'))
def _other(world, profile):
    _new_user(world, profile)


@when(parsers.re(r'I run cynork "(?P<args>[^"]*)" with my API token and no config'))
def _run_with_token(world, args):
    # A profile that never logged in: nothing but CYNORK_TOKEN can authenticate the run.
    assert not world.profile("ci").config_file.exists()
    world.cli(shlex.split(args), profile="ci", env={"CYNORK_TOKEN": world.remembered["token"]})


@when(parsers.re(r'I run cynork "(?P<args>[^"]*)" naming my API token'
                 r'(?:, with stdin "(?P<stdin>[^"]*)")?(?:, as "(?P<profile>[^"]+)")?'))
def _run_naming_token(world, args, stdin, profile):
    argv = shlex.split(args.replace("{token_id}", world.remembered["token_id"]))
    world.cli(argv, unescape(stdin) if stdin is not None else None, profile or "me")


@when("the admin disables me")
def _disable_me(world):
    response = world.send("POST", f"/v1/users/{world.remembered['me']}/disable", token=world.server.admin_token())
    assert response.status == 200, response.body


@then(parsers.parse('stdout shows a new API token named "{name}"'))
def _created_table(world, name):
    match = CREATED.fullmatch(world.result.stdout)
    assert match and match["name"] == name, world.result.report()
    _remember(world, match["id"], match["token"])


@then(parsers.parse('the JSON output is a new API token named "{name}"'))
def _created_json(world, name):
    body = world.result.json
    assert body["name"] == name and re.fullmatch(UUID, body["token_id"]), world.result.report()
    assert re.fullmatch(TIMESTAMP, body["expires_at"]) and body["token"].startswith("cyn_"), world.result.report()
    _remember(world, body["token_id"], body["token"])


def _no_token_value(world) -> None:
    shown = [token for token in world.remembered.get("tokens", []) if token in world.result.stdout]
    assert not shown and "cyn_" not in world.result.stdout, world.result.report()


@then(parsers.parse('the token table lists "{names}" and no token value'))
def _table(world, names):
    header, *rows = world.result.stdout.splitlines()
    assert header == TABLE_HEADER, world.result.report()
    cells = [row.split("\t") for row in rows]
    assert all(re.fullmatch(UUID, c[0]) and re.fullmatch(TIMESTAMP, c[2]) and re.fullmatch(TIMESTAMP, c[3])
               for c in cells), world.result.report()
    assert [c[1] for c in cells] == [n.strip() for n in names.split(",")], world.result.report()
    _no_token_value(world)


@then(parsers.parse('the JSON token list names "{names}" and holds no token value'))
def _json_list(world, names):
    tokens = world.result.json["tokens"]
    assert [t["name"] for t in tokens] == [n.strip() for n in names.split(",")], world.result.report()
    assert all(set(t) == {"token_id", "name", "created_at", "expires_at", "last_used_at"} for t in tokens)
    _no_token_value(world)


@then("the server log never shows my API token")
def _log_clean(world):
    world.settle()
    assert world.remembered["token"] not in world.server.log()
