"""Steps for features/cynork/cynork_status_auth.feature: the CLI's status, auth and users commands.

The shared steps (servers, running the CLI, output checks) live in conftest.py.
"""

import json
import shlex
import stat
import time

from pytest_bdd import given, parsers, scenarios, then, when

from tests.bdd.conftest import pattern, unescape

scenarios("cynork/cynork_status_auth.feature")


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the config file --------------------------------------------------------------------------------------------


@then("there is no config file")
def _no_config(world):
    assert not world.profile().config_file.exists()


@then("the config file has mode 0600 in a directory with mode 0700")
def _config_modes(world):
    path = world.profile().config_file
    assert (oct(_mode(path)), oct(_mode(path.parent))) == (oct(0o600), oct(0o700))


@then("the config file has mode 0600")
def _config_mode(world):
    assert oct(_mode(world.profile().config_file)) == oct(0o600)


@then("the config file holds a token and a refresh token")
def _config_has_tokens(world):
    config = world.profile().config()
    assert config.get("token") and config.get("refresh_token"), sorted(config)
    assert config["token"] != config["refresh_token"]


@then(parsers.parse('the config file holds only the keys "{keys}"'))
def _config_keys(world, keys):
    assert sorted(world.profile().config()) == sorted(key.strip() for key in keys.split(","))


@then("the config file holds no token")
def _config_has_no_token(world):
    config = world.profile().config()
    assert "token" not in config and "refresh_token" not in config, sorted(config)


@then("the config file does not contain the admin password")
def _config_has_no_password(world):
    assert world.server.admin_password not in world.profile().config_file.read_text(encoding="utf-8")


@then(parsers.parse('the config file has "{key}" set to "{value}"'))
def _config_key(world, key, value):
    assert world.profile().config().get(key) == value


@given("I remember the stored tokens")
def _remember_tokens(world):
    config = world.profile().config()
    world.remembered["tokens"] = (config["token"], config["refresh_token"])


@then("the stored token and refresh token have both changed")
def _tokens_changed(world):
    config = world.profile().config()
    old_access, old_refresh = world.remembered["tokens"]
    assert config["token"] != old_access and config["refresh_token"] != old_refresh


@when("the access token has expired")
def _token_expired(world):
    ttl = int(world.server.settings["CYNODE_ACCESS_TOKEN_TTL"])
    time.sleep(ttl + 1.0)  # the only way to let a real token age; the server runs with a 1 s lifetime


# --- CYNORK_TOKEN -------------------------------------------------------------------------------------------------


@when(parsers.re(r'I run cynork "(?P<args>[^"]*)" with CYNORK_TOKEN set to (?P<source>.+)'))
def _run_with_env_token(world, args, source):
    if source == "the remembered token":
        token = world.remembered["tokens"][0]
    elif source.startswith("the token of profile "):
        token = world.profile(source.split('"')[1]).config()["token"]
    else:
        token = json.loads(source)
    world.cli(shlex.split(args), env={"CYNORK_TOKEN": token})


# --- batches of runs ----------------------------------------------------------------------------------------------


@then("every run exited 0 with exactly one pretty-printed JSON value on stdout")
def _all_json(world):
    assert world.results
    for result in world.results:
        assert result.code == 0, result.report()
        assert result.stdout == json.dumps(result.json, indent=2, ensure_ascii=False) + "\n", result.report()


@then(parsers.parse('every run failed with nothing on stdout and one "{prefix}" line on stderr'))
def _all_failed(world, prefix):
    assert world.results
    for result in world.results:
        lines = result.stderr.splitlines()
        assert result.code != 0 and result.stdout == "", result.report()
        assert len(lines) == 1 and lines[0].startswith(prefix), result.report()


@then(parsers.parse("the runs exited with {codes}"))
def _exit_codes(world, codes):
    expected = [int(code) for code in codes.split(",")]
    assert [result.code for result in world.results] == expected, "\n".join(r.report() for r in world.results)


# --- output shapes --------------------------------------------------------------------------------------------


@then(parsers.parse('the "{key}" in the JSON output is the id of user "{handle}"'))
def _json_user_id(world, key, handle):
    assert world.result.json[key] == world.user_id(handle), world.result.report()


@then(parsers.parse('the first line of stdout is "{text}"'))
def _first_line(world, text):
    assert world.result.stdout.splitlines()[0] == unescape(text), world.result.report()


@then(parsers.parse('stdout has a row "{text}"'))
def _has_row(world, text):
    row = pattern(unescape(text))
    assert any(row.fullmatch(line) for line in world.result.stdout.splitlines()), world.result.report()


@then(parsers.parse('the JSON users include "{first}" and "{second}"'))
def _json_users(world, first, second):
    users = {user["handle"]: user for user in world.result.json["users"]}
    assert {first, second} <= set(users), world.result.report()
    for user in users.values():
        assert {"id", "handle", "is_admin", "is_active", "created_at"} <= set(user), user
