"""`audit list | get` in process against the real gateway."""

import json

import pytest

from cynode.store.audit import AuditFilter

COLUMNS = "event_id\tts\tactor_id\taction\tresource_type\tresource_id\tdecision"




def test_list_and_get_a_users_own_events(as_user, cli, server):
    created = cli("-o", "json", "tokens", "create", "ci", env={"CYNORK_TOKEN": as_user.token})
    assert created.code == 0, created
    table = as_user("audit", "list")
    lines = table.stdout.splitlines()
    assert table.code == 0 and lines[0] == COLUMNS, table
    event_id, _, actor, action, resource_type, resource_id, decision = lines[1].split("\t")
    assert (actor, action, resource_type, resource_id, decision) == (
        as_user.user.id, "api_token.create", "api_token", created.json["token_id"], "allow")
    listed = as_user("-o", "json", "audit", "list", "--resource-type", "api_token", "--limit", "1")
    assert list(listed.json) == ["events", "next_cursor"] and listed.json["events"][0]["event_id"] == event_id
    got = as_user("audit", "get", event_id)
    event = as_user("-o", "json", "audit", "get", event_id).json
    assert got.stdout.splitlines()[:2] == [f"event_id={event_id}", f"ts={event['ts']}"], got
    assert f'details={json.dumps(event["details"], separators=(",", ":"))}' in got.stdout.splitlines()
    assert len(got.stdout.splitlines()) == len(event)
    assert as_user("audit", "list", "--actor-id", server.admin.id).stdout == COLUMNS + "\n"


@pytest.mark.parametrize("flag, value", [("--since", "yesterday"), ("--until", "2026-11-30"),
                                         ("--since", "2026-11-30T08:00:00")])
def test_a_time_that_is_not_rfc3339_is_a_usage_error_before_any_request(as_user, flag, value):
    result = as_user("audit", "list", flag, value)
    assert (result.code, result.stdout) == (2, ""), result
    assert result.stderr.startswith(f"Error: {flag} must be an RFC 3339 time"), result


def test_another_users_event_is_not_found(as_user, server):
    other = server.add_user("someone-else")
    server.call("POST", "/v1/tokens", token=server.session(other).access, body={"name": "x"})
    theirs = server.store.audit_events(AuditFilter(actor_id=other.id), 1, 0)[0].id
    result = as_user("audit", "get", theirs)
    assert (result.code, result.stderr) == (4, "Error: 404 Not Found: Audit event not found\n"), result
