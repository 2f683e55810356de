"""`tokens create | list | revoke` in process against the real gateway."""

import re

import pytest


@pytest.fixture(name="as_user")
def fixture_as_user(cli, server):
    user = server.add_user(f"tok{len(server.store.list_users(200, 0))}")
    token = server.session(user).access

    def run(*argv, token_override=None, **kwargs):
        return cli(*argv, env={"CYNORK_TOKEN": token_override or token}, **kwargs)

    return run


def test_create_list_use_and_revoke(as_user):
    created = as_user("tokens", "create", "ci", "--expires-days", "7")
    assert created.code == 0, created
    match = re.fullmatch(r"token_id=(\S+) name=ci token=(cyn_\S+) expires_at=\S+Z\n", created.stdout)
    assert match and created.stderr == "Copy the token now: it is not shown again.\n", created
    token_id, token = match.groups()
    listed = as_user("-o", "json", "tokens", "list", token_override=token)
    assert [t["token_id"] for t in listed.json["tokens"]] == [token_id] and token not in listed.stdout
    table = as_user("tokens", "list")
    assert table.stdout.startswith("token_id\tname\tcreated_at\texpires_at\n" + token_id + "\tci\t"), table
    declined = as_user("tokens", "revoke", token_id, stdin="\n")
    assert (declined.code, declined.stdout, declined.stderr) == (0, "", f"Revoke token {token_id}? [y/N] \n")
    revoked = as_user("-o", "json", "tokens", "revoke", token_id, "--yes")
    assert revoked.json == {"token_id": token_id, "revoked": True}, revoked
    assert as_user("tokens", "list", token_override=token).code == 3


def test_json_create_is_the_routes_body(as_user):
    created = as_user("-o", "json", "-q", "tokens", "create", "deploy")
    assert (created.code, set(created.json), created.stderr) == (0, {"token_id", "name", "token", "expires_at"}, "")


@pytest.mark.parametrize("days", ["0", "366", "abc", "1_0", "-1", " 7"])
def test_expires_days_out_of_range_is_a_usage_error(as_user, days):
    result = as_user("tokens", "create", "ci", "--expires-days", days)
    assert result.code == 2 and result.stderr.startswith("Error: --expires-days must be a whole number"), result


def test_revoking_an_unknown_token_is_not_found(as_user):
    result = as_user("tokens", "revoke", "00000000-0000-0000-0000-000000000000", "-y")
    assert (result.code, result.stderr) == (4, "Error: 404 Not Found: Token not found\n")
