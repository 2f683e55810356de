"""`nodes list | get | enable | disable | drain | refresh-config | prefetch-image` in process against the real
gateway (a node registered in its store, as a dispatcher would)."""

import re

import pytest

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
SUMMARY = "cpu=2 mem=1.0GiB runner=bwrap workers=2 inference=none"


@pytest.fixture(name="node")
def fixture_node(server):
    node = server.store.node_by_slug("local") or server.store.register_node("local", {"cpu": 2}, SUMMARY)
    return server.store.set_node_status(node.id, "active")


@pytest.fixture(name="as_admin")
def fixture_as_admin(cli, server):
    token = server.session().access
    return lambda *argv, **kwargs: cli(*argv, env={"CYNORK_TOKEN": token}, **kwargs)


@pytest.fixture(name="as_user")
def fixture_as_user(cli, server):
    user = server.store.user_by_handle("nodeuser") or server.add_user("nodeuser")
    token = server.session(user).access
    return lambda *argv, **kwargs: cli(*argv, env={"CYNORK_TOKEN": token}, **kwargs)


def test_list_is_the_spec_table_and_json_for_any_user(as_user, node):
    table = as_user("nodes", "list")
    assert table.code == 0, table
    header, row = table.stdout.splitlines()
    assert header == "node_id\tstatus\tenabled\tlast_heartbeat\tcapability_summary"
    assert re.fullmatch(rf"{node.id}\tactive\ttrue\t{TIME}\t{SUMMARY}", row), table
    listed = as_user("-o", "json", "nodes", "list", "--limit", "1")
    assert listed.json["next_cursor"] == "" and listed.json["nodes"][0]["node_slug"] == "local"
    assert as_user("nodes", "list", "--limit", "0").code == 2


def test_get_prints_the_kv_line_and_json_is_the_node(as_user, node):
    got = as_user("nodes", "get", "local")
    assert re.fullmatch(rf'node_id={node.id} status=active enabled=true last_heartbeat={TIME} '
                        rf'capability_summary="{SUMMARY}"\n', got.stdout), got
    assert as_user("-o", "json", "nodes", "get", node.id).json["node_slug"] == "local"
    missing = as_user("nodes", "get", "nowhere")
    assert (missing.code, missing.stderr) == (4, "Error: 404 Not Found: Node not found\n")


@pytest.mark.parametrize("action, question, line, status", [
    ("disable", "Disable", "enabled=false", "inactive"),
    ("drain", "Drain", "drained=true", "drained"),
    ("enable", "Enable", "enabled=true", "active"),
])
def test_the_actions_ask_first_and_echo_the_node_as_named(as_admin, server, node, action, question, line, status):
    server.store.set_node_status(node.id, "registered")
    declined = as_admin("nodes", action, "local", stdin="n\n")
    assert (declined.code, declined.stdout, declined.stderr) == (0, "", f"{question} node local? [y/N] \n")
    assert server.store.node(node.id).status == "registered"  # nothing was sent
    done = as_admin("nodes", action, "local", stdin="y\n")
    assert (done.code, done.stdout) == (0, f"node_id=local {line}\n"), done
    assert server.store.node(node.id).status == status
    quiet = as_admin("-o", "json", "nodes", action, "local", "-y")
    key, value = line.split("=")
    assert (quiet.json, quiet.stderr) == ({"node_id": "local", key: value == "true"}, "")


def test_refresh_config_and_prefetch_need_no_confirmation(as_admin, server, node):
    refreshed = as_admin("nodes", "refresh-config", "local")
    assert (refreshed.code, refreshed.stderr) == (0, "")
    assert refreshed.stdout == "node_id=local refresh_config_requested=true\n"
    assert server.store.node(node.id).config_ack_status == "pending"
    fetched = as_admin("-o", "json", "nodes", "prefetch-image", "local", "alpine:3.20")
    assert fetched.json == {"node_id": "local", "prefetch_requested": True}, fetched
    assert server.store.node(node.id).metadata["prefetch_requests"][-1]["image_ref"] == "alpine:3.20"
    bad = as_admin("nodes", "prefetch-image", "local", "two words")
    assert bad.code == 6 and bad.stderr.startswith("Error: 400 Bad Request: image_ref must be"), bad


@pytest.mark.parametrize("argv", [("disable", "local", "-y"), ("refresh-config", "local"),
                                  ("prefetch-image", "local", "alpine")])
def test_a_non_admin_is_refused_with_exit_3(as_user, server, node, argv):
    result = as_user("nodes", *argv)
    assert (result.code, result.stderr) == (3, "Error: 403 Forbidden: Admin required\n"), result
    assert server.store.node(node.id).status == "active"
