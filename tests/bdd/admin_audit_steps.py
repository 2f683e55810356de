"""Steps for the audit part of the admin features (features/cynork/cynork_admin.feature,
features/orchestrator/orchestrator_admin.feature). The shared steps live in conftest.py."""

import shlex

from pytest_bdd import parsers, then, when

from tests.bdd.harness import Response
from tests.bdd.task_steps_support import token_for

HEADER = ["event_id", "ts", "actor_id", "action", "resource_type", "resource_id", "decision"]


def _audit_rows(world) -> list[dict]:
    """The rows of an `audit list` table, as dicts by column."""
    lines = world.result.stdout.splitlines()
    assert lines and lines[0].split("\t") == HEADER, world.result.report()
    return [dict(zip(HEADER, line.split("\t"))) for line in lines[1:]]


def _audit_newest(world, handle: str) -> dict:
    """The newest event whose actor is `handle`, as the admin reads it over HTTP."""
    response = world.server.send("GET", f"/v1/audit?limit=1&actor_id={world.user_id(handle)}",
                                 token=world.server.admin_token())
    assert response.status == 200 and response.json["events"], (response.status, response.body)
    return response.json["events"][0]


def _audit_items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


# --- the CLI ----------------------------------------------------------------------------------------------


@when(parsers.parse('the admin runs cynork "{args}" for the events of "{handle}"'))
def _audit_admin_lists(world, args, handle):
    world.cli([*shlex.split(args), "--actor-id", world.user_id(handle)], profile="admin")


@when(parsers.parse('I run cynork "{args}" on the newest audit event of "{handle}"'))
def _audit_get_newest(world, args, handle):
    event = _audit_newest(world, handle)
    world.remembered["audit_event"] = event
    world.cli([*shlex.split(args), event["event_id"]])


@then("the audit table's first line is the header")
def _audit_header(world):
    assert world.result.stdout.split("\n", 1)[0] == "\t".join(HEADER), world.result.report()


@then(parsers.parse('the audit table lists "{actions}" by "{handle}", newest first'))
def _audit_table_lists(world, actions, handle):
    rows = _audit_rows(world)
    assert [row["action"] for row in rows] == _audit_items(actions), world.result.report()
    assert {row["actor_id"] for row in rows} == {world.user_id(handle)}, world.result.report()
    assert [row["ts"] for row in rows] == sorted((row["ts"] for row in rows), reverse=True)


@then(parsers.parse('the audit table lists only events by "{handle}"'))
def _audit_table_only(world, handle):
    rows = _audit_rows(world)
    assert rows and {row["actor_id"] for row in rows} == {world.user_id(handle)}, world.result.report()


@then(parsers.parse('the newest listed event\'s decision is "{decision}"'))
def _audit_newest_decision(world, decision):
    assert _audit_rows(world)[0]["decision"] == decision, world.result.report()


@then("stdout has one key=value line per field of that event, in the gateway's order")
def _audit_kv_lines(world):
    event = world.remembered["audit_event"]
    lines = world.result.stdout.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == list(event), world.result.report()
    assert lines[0] == f"event_id={event['event_id']}" and lines[1] == f"ts={event['ts']}", world.result.report()


@then(parsers.parse('the JSON event {number:d} has exactly the keys "{keys}"'))
def _audit_json_event_keys(world, number, keys):
    assert list(world.result.json["events"][number - 1]) == _audit_items(keys), world.result.report()


@then(parsers.parse('the JSON event {number:d} has the action "{action}" by "{handle}"'))
def _audit_json_event_action(world, number, action, handle):
    event = world.result.json["events"][number - 1]
    assert (event["action"], event["actor_id"], event["actor_handle"]) == (action, world.user_id(handle), handle)


# --- HTTP -------------------------------------------------------------------------------------------------


def _audit_listed(response: Response) -> list[dict]:
    assert response.status == 200, (response.status, response.body)
    return response.json["events"]


@then(parsers.parse('every listed audit event has the actor "{handle}"'))
def _audit_every_actor(world, handle):
    events = _audit_listed(world.response)
    assert events and {e.get("actor_id") for e in events} == {world.user_id(handle)}, events


@then(parsers.parse('the listed audit events are "{actions}"'))
def _audit_listed_actions(world, actions):
    assert [e["action"] for e in _audit_listed(world.response)] == _audit_items(actions), world.response.json


@then("no audit event is listed")
def _audit_none_listed(world):
    assert _audit_listed(world.response) == [], world.response.json


@then(parsers.parse('the newest listed audit event is a "{decision}" of "{action}" on "{resource_type}" by '
                    '"{handle}" from "{address}"'))
def _audit_newest_event(world, decision, action, resource_type, handle, address):
    event = _audit_listed(world.response)[0]
    assert (event["decision"], event["action"], event["resource_type"], event["actor_id"], event["actor_handle"],
            event["ip_address"]) == (decision, action, resource_type, world.user_id(handle), handle, address), event


@then(parsers.parse('the newest listed audit event has no actor and the reason "{reason}"'))
def _audit_no_actor(world, reason):
    event = _audit_listed(world.response)[0]
    assert "actor_id" not in event and "actor_handle" not in event and "resource_id" not in event, event
    assert (event["decision"], event["success"], event["details"]) == ("deny", False, {"reason": reason}), event
    world.remembered["audit_event"] = event


@when(parsers.parse('"{handle}" reads that audit event'))
def _audit_read_remembered(world, handle):
    world.send("GET", f"/v1/audit/{world.remembered['audit_event']['event_id']}", token=token_for(world.server, handle))


@then(parsers.parse('every audit response is a 400 problem naming "{names}"'))
def _audit_every_400(world, names):
    seen = [(r.status, r.json.get("detail", "")) for r in world.responses]
    assert [status for status, _ in seen] == [400] * len(seen), seen
    assert all(name in detail for (_, detail), name in zip(seen, _audit_items(names), strict=True)), seen
