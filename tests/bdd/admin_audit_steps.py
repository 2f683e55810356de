"""Steps for the audit part of the admin features (features/cynork/cynork_admin.feature,
features/orchestrator/orchestrator_admin.feature), and the one way every admin feature checks that something was
audited: the admin asks the real server, `GET /v1/audit` over HTTP (or reads `cynode cli audit list` output), as an
operator would. No step reads the server's database. The shared steps live in conftest.py.

In step text a resource id may name `{credential}` or `{skill_id}` (the scenario's latest), `{node:<slug>}` (that
node's id) or `${ID:<handle>}`; the actor `me` is the scenario's own CLI user (a generated handle).
"""

import json
import re
import shlex

from pytest_bdd import parsers, then, when

from cynode import __version__
from tests.bdd.harness import Response
from tests.bdd.task_steps_support import token_for

HEADER = ["event_id", "ts", "actor_id", "action", "resource_type", "resource_id", "decision"]
CLIENT_ADDRESS = "127.0.0.1"  # every test client connects from here
PAGE = 200  # the gateway's largest page
_PLACEHOLDER = re.compile(r"\{(credential|skill_id|node:[^{}]+)\}")


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


def audit_log(world, **filters: str) -> list[dict]:
    """Every event matching `filters` (resource_type, action, actor_id), newest first, as the admin lists them
    with `GET /v1/audit` (all pages)."""
    query = "&".join(f"{name}={value}" for name, value in filters.items())
    events, cursor = [], "0"
    while cursor is not None:
        response = world.server.send("GET", f"/v1/audit?limit={PAGE}&cursor={cursor}&{query}",
                                     token=world.server.admin_token())
        assert response.status == 200, (response.status, response.body)
        events += response.json["events"]
        cursor = response.json.get("next_cursor")
    return events


def audit_fill(world, text: str) -> str:
    """`{credential}`, `{skill_id}`, `{node:<slug>}` and `${ID:<handle>}` in step text, as their ids."""
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("node:"):
            response = world.server.send("GET", f"/v1/nodes/{name[5:]}", token=world.server.admin_token())
            assert response.status == 200, (response.status, response.body)
            return response.json["node_id"]
        return world.remembered[name]

    return world.expand(_PLACEHOLDER.sub(value, text))


def _actor(world, text: str) -> str:
    """`"<handle>"`, or `me`: the scenario's own CLI user."""
    return world.remembered["me"] if text == "me" else text.strip('"')


def _check_event(world, event: dict, handle: str, decision: str, details: str) -> None:
    """What every audited action must show: who (id and handle), when, from where, the decision (and its success
    flag), and, when the step names them (` and details {...}` or ` and details including {...}`), the details:
    all of them, or those keys."""
    assert (event.get("actor_id"), event.get("actor_handle")) == (world.user_id(handle), handle), event
    assert event["ts"] and event.get("ip_address") == CLIENT_ADDRESS, event
    assert (event["decision"], event["success"]) == (decision, decision == "allow"), event
    if details:
        including = details.startswith(" and details including ")
        expected = json.loads(audit_fill(world, details[details.index("{"):]))
        seen = event.get("details", {})
        assert ({key: seen.get(key) for key in expected} if including else seen) == expected, event


DETAILS = r'(?P<details>(?: and details(?: including)? \{.*\})?)'


# --- any admin feature: was it audited? ------------------------------------------------------------------


@then(parsers.re(r'the audit log has an? "(?P<action>[^"]+)" event on "(?P<rtype>[^"]+)"'
                 r'(?P<resource>(?: "[^"]+"| with no resource id)?) by (?P<actor>"[^"]+"|me) '
                 r'with decision "(?P<decision>allow|deny)"' + DETAILS))
def _audit_has_event(world, action, rtype, resource, actor, decision, details):
    """The newest `action` event on `rtype` by the actor (with that resource id, or none, when the step says)."""
    handle = _actor(world, actor)
    events = audit_log(world, action=action, resource_type=rtype, actor_id=world.user_id(handle))
    if resource:
        wanted = None if resource == " with no resource id" else audit_fill(world, resource.strip(' "'))
        events = [event for event in events if event.get("resource_id") == wanted]
    assert events, (action, rtype, resource, handle, audit_log(world, actor_id=world.user_id(handle)))
    _check_event(world, events[0], handle, decision, details)


@then(parsers.re(r'the audit log\'s "(?P<rtype>[^"]+)" events by "(?P<handle>[^"]+)" are exactly '
                 r'"(?P<actions>[^"]+)", oldest first, on "(?P<rid>[^"]+)" with decision "(?P<decision>allow|deny)"'
                 + DETAILS))
def _audit_events_are(world, rtype, handle, actions, rid, decision, details):
    """Every event on `rtype` by the actor, in order: nothing more, nothing less."""
    events = audit_log(world, resource_type=rtype, actor_id=world.user_id(handle))[::-1]
    assert [event["action"] for event in events] == _audit_items(actions), events
    for event in events:
        assert event.get("resource_id") == audit_fill(world, rid), event
        _check_event(world, event, handle, decision, details)


@then(parsers.re(r'no audit event by (?P<actor>"[^"]+"|me) holds a secret of the scenario'))
def _audit_no_secret(world, actor):
    events = audit_log(world, actor_id=world.user_id(_actor(world, actor)))
    secrets = world.remembered["cred_secrets"]
    assert events and secrets, (events, secrets)
    leaked = [event for event in events if any(secret in json.dumps(event) for secret in secrets)]
    assert not leaked, leaked


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


@then(parsers.re(r'the JSON audit events on anything but "(?P<skipped>[^"]+)" are, oldest first, each sent by '
                 r'cynork from 127\.0\.0\.1:'))
def _audit_json_events_are(world, skipped, datatable):
    """`audit list -o json` output, one page holding the whole log, without the events on the `skipped` resource
    type (logins, users the scenario set up): exactly the table's rows (actor, action, resource_type, resource_id
    (empty: none), decision), each with the actor's id, its success flag, and the CLI's address and User-Agent."""
    assert not world.result.json["next_cursor"], world.result.report()  # one page holds the whole log
    events = [event for event in world.result.json["events"] if event["resource_type"] != skipped][::-1]
    header, *rows = datatable
    expected = [dict(zip(header, row)) for row in rows]
    seen = [(e.get("actor_handle"), e["action"], e["resource_type"], e.get("resource_id", ""), e["decision"])
            for e in events]
    assert seen == [(row["actor"], row["action"], row["resource_type"], audit_fill(world, row["resource_id"]),
                     row["decision"]) for row in expected], seen
    for event in events:
        assert event["actor_id"] == world.user_id(event["actor_handle"]), event
        assert event["success"] == (event["decision"] == "allow"), event
        assert (event.get("ip_address"), event.get("user_agent")) == (CLIENT_ADDRESS, f"cynork/{__version__}"), event


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
