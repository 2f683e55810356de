"""Steps for the nodes part of the admin features (features/cynork/cynork_admin.feature,
features/orchestrator/orchestrator_admin.feature). The shared steps live in conftest.py.

The server's own dispatcher is the node `local`. Scenarios that change it run on a separate server, so no other
scenario finds the shared server's node drained. `{node:<slug>}` in audit steps (admin_audit_steps.py) is a node's
id."""

import json
import re
import shlex
import time

from pytest_bdd import parsers, then, when

from tests.bdd.conftest import TIMESTAMP, UUID
from tests.bdd.task_steps_support import token_for

NODE_KEYS = {"node_id", "node_slug", "status", "enabled", "drained", "last_heartbeat", "capability_summary",
             "config_version", "config_ack_status", "config_ack_at", "created_at", "updated_at"}
SUMMARY = re.compile(r"cpu=\d+ mem=\d+\.\dGiB runner=(bwrap|process|none) workers=\d+ inference=\S+")
QUEUED_LONG_ENOUGH = 1.5  # > the dispatcher's 1 s idle poll: a claimable task would have been claimed by now


def _node(world, ref: str = "local") -> dict:
    response = world.server.send("GET", f"/v1/nodes/{ref}", token=world.server.admin_token())
    assert response.status == 200, response.body
    return response.json


# --- HTTP ------------------------------------------------------------------------------------------------------


@when(parsers.re(r'"(?P<handle>[^"]+)" sends POST "(?P<path>[^"]+)" with the JSON body \'(?P<body>.*)\''))
def _nodes_post_json(world, handle, path, body):
    world.send("POST", path, token=token_for(world.server, handle), body=json.loads(body))


@then(parsers.re(r'the node list holds "(?P<slug>[^"]+)", active, enabled and not drained, with a heartbeat and '
                 r'a capability summary'))
def _nodes_list_holds(world, slug):
    nodes = [node for node in world.response.json["nodes"] if node["node_slug"] == slug]
    assert len(nodes) == 1, world.response.json
    node = nodes[0]
    assert set(node) == NODE_KEYS and re.fullmatch(UUID, node["node_id"]), node
    assert (node["status"], node["enabled"], node["drained"], node["config_ack_status"]) == (
        "active", True, False, "applied"), node
    assert re.fullmatch(TIMESTAMP, node["last_heartbeat"]) and SUMMARY.fullmatch(node["capability_summary"]), node


@then(parsers.re(r'the response JSON is \'(?P<body>.*)\' with the id of the node "(?P<slug>[^"]+)"'))
def _nodes_reply(world, body, slug):
    assert world.response.json == {"node_id": _node(world, slug)["node_id"], **json.loads(body)}, world.response.json


@then(parsers.re(r'the node "(?P<slug>[^"]+)" is "(?P<status>[a-z]+)"'))
def _nodes_status(world, slug, status):
    assert _node(world, slug)["status"] == status


@then(parsers.re(r'the node "(?P<slug>[^"]+)" soon has a new configuration applied'))
def _nodes_config_applied(world, slug):
    before = world.remembered.get("config_version")
    deadline = time.monotonic() + 10
    while (node := _node(world, slug))["config_ack_status"] != "applied":
        assert time.monotonic() < deadline, node
        time.sleep(0.05)
    assert node["config_version"] != before and re.fullmatch(TIMESTAMP, node["config_ack_at"]), node
    assert SUMMARY.fullmatch(node["capability_summary"]), node


@when(parsers.re(r'the admin notes the configuration version of the node "(?P<slug>[^"]+)"'))
def _nodes_note_version(world, slug):
    world.remembered["config_version"] = _node(world, slug)["config_version"]


# --- the CLI ---------------------------------------------------------------------------------------------------


@then(parsers.re(r'the node table shows "(?P<slug>[^"]+)" as "(?P<status>[a-z]+)" and enabled'))
def _nodes_table(world, slug, status):
    header, *rows = world.result.stdout.splitlines()
    assert header == "node_id\tstatus\tenabled\tlast_heartbeat\tcapability_summary", world.result.report()
    cells = {row.split("\t")[0]: row.split("\t") for row in rows}
    row = cells[_node(world, slug)["node_id"]]
    assert row[1:3] == [status, "true"] and re.fullmatch(TIMESTAMP, row[3]), world.result.report()
    assert SUMMARY.fullmatch(row[4]), world.result.report()


@then(parsers.re(r'the node line shows "(?P<slug>[^"]+)" as "(?P<status>[a-z]+)" and (?P<enabled>enabled|disabled)'))
def _nodes_kv(world, slug, status, enabled):
    node_id = _node(world, slug)["node_id"]
    line = re.fullmatch(rf'node_id={node_id} status={status} enabled={str(enabled == "enabled").lower()} '
                        rf'last_heartbeat={TIMESTAMP} capability_summary="(?P<summary>[^"]+)"\n', world.result.stdout)
    assert line and SUMMARY.fullmatch(line["summary"]), world.result.report()


@then(parsers.re(r'the task "(?P<name>[^"]+)" is still queued a moment later'))
def _nodes_still_queued(world, name):
    time.sleep(QUEUED_LONG_ENOUGH)  # no seam into a server process: waiting is the only way to see nothing happen
    world.cli(shlex.split(f"-o json task get {name}"))
    assert world.result.code == 0 and world.result.json["status"] == "queued", world.result.report()
