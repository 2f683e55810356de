"""Steps for the creds part of the admin features (features/cynork/cynork_admin.feature,
features/orchestrator/orchestrator_admin.feature). The shared steps live in conftest.py.

Every secret a scenario makes is fresh and joins the server's secrets, so the server's log is checked never to show
one; `{credential}` in step text is the id of the scenario's latest credential.
"""

import hashlib
import re
import shlex
import uuid

from pytest_bdd import given, parsers, then, when

from tests.bdd.backend import holds, stored
from tests.bdd.conftest import UUID, unescape
from tests.bdd.task_steps import _create, _send
from tests.bdd.task_steps_support import data_dir

PASSWORD = "creds-pass-9"
META_KEYS = {"id", "credential_id", "owner_type", "owner_id", "provider", "credential_name", "name",
             "credential_type", "is_active", "active", "created_at", "updated_at"}


def _new_secret(world) -> str:
    secret = f"s3cret-{uuid.uuid4().hex}"
    world.remembered.setdefault("cred_secrets", []).append(secret)
    world.server.secrets.add(secret)  # the server's log must never show it (checked when the server stops)
    return secret


def _secret(world) -> str:
    return world.remembered["cred_secrets"][-1]


def _fill(world, text: str) -> str:
    return text.replace("{credential}", world.remembered.get("credential", "{credential}"))


# --- the CLI -------------------------------------------------------------------------------------------------


@given(parsers.re(r'a new user is logged in to the CLI for credentials(?: in profile "(?P<profile>[^"]+)")?'))
def _creds_new_user(world, profile):
    handle = f"cred-{uuid.uuid4().hex[:10]}"
    world.user_ids[handle] = world.server.create_user(handle, PASSWORD)["id"]
    world.passwords[handle] = PASSWORD
    world.login(handle, profile or "me")
    world.remembered.setdefault("cred_users", {})[profile or "me"] = handle
    if profile is None:
        world.remembered["me"] = handle  # `me` in the audit steps


@when(parsers.re(r'I run cynork "(?P<args>[^"]*)" with a fresh secret on stdin(?: as "(?P<profile>[^"]+)")?'))
def _creds_run_with_secret(world, args, profile):
    world.cli(shlex.split(_fill(world, args)), _new_secret(world) + "\n", profile or "me")
    match = re.fullmatch(rf"credential_id=({UUID})\n", world.result.stdout)
    if match:
        world.remembered["credential"] = match.group(1)


@when(parsers.re(r'I run cynork "(?P<args>[^"]*)" about the credential(?: with stdin "(?P<stdin>[^"]*)")?'
                 r'(?: as "(?P<profile>[^"]+)")?'))
def _creds_run_about(world, args, stdin, profile):
    world.cli(shlex.split(_fill(world, args)), unescape(stdin) if stdin is not None else None, profile or "me")


@then(parsers.parse('stdout is exactly "{text}" for the credential'))
def _creds_stdout_exactly(world, text):
    assert world.result.stdout == unescape(_fill(world, text)), world.result.report()


@then(parsers.parse('stdout is the credential table with the one row "{row}"'))
def _creds_table(world, row):
    me = world.user_id(world.remembered["cred_users"]["me"])
    expected = unescape(_fill(world, row)).replace("{me}", me)
    header, *rows = world.result.stdout.splitlines()
    assert header == "credential_id\tprovider\tname\towner_type\towner_id\tactive\tcreated_at\tupdated_at"
    assert len(rows) == 1 and re.fullmatch(re.escape(expected) + r"\t\S+Z\t\S+Z", rows[0]), world.result.report()


@then("no output of that run shows a secret")
def _creds_no_secret_shown(world):
    for secret in world.remembered.get("cred_secrets", []):
        assert secret not in world.result.stdout and secret not in world.result.stderr, world.result.report()


@then("stdout holds the SHA-256 of the secret as the job saw it")
def _creds_digest(world):
    digest = hashlib.sha256((_secret(world) + "\n").encode()).hexdigest()
    assert digest in world.result.stdout, world.result.report()
    assert _secret(world) not in world.result.stdout


# --- HTTP ----------------------------------------------------------------------------------------------------


@when(parsers.re(r'"(?P<handle>[^"]+)" creates the credential "(?P<name>[^"]+)" for "(?P<provider>[^"]+)" with a '
                 r'fresh secret(?: and \'(?P<extra>.*)\')?'))
def _creds_create(world, handle, name, provider, extra):
    import json  # pylint: disable=import-outside-toplevel

    body = {"provider": provider, "name": name, "secret": _new_secret(world), **json.loads(extra or "{}")}
    response = _send(world, handle, "POST", "/v1/credentials", body=body)
    if response.status == 201:
        world.remembered["credential"] = response.json["credential_id"]


@when(parsers.re(r'"(?P<handle>[^"]+)" sends (?P<method>[A-Z]+) "(?P<path>[^"]+)" about the credential'
                 r'(?: with \'(?P<body>.*)\')?'))
def _creds_send(world, handle, method, path, body):
    _send(world, handle, method, _fill(world, path), body=body.encode() if body is not None else None,
          headers={"Content-Type": "application/json"} if body is not None else None)


@when(parsers.re(r'"(?P<handle>[^"]+)" creates a task running \'(?P<command>.*)\' with the credential '
                 r'"(?P<ref>[^"]+)"'))
def _creds_task(world, handle, command, ref):
    _create(world, handle, {"input_mode": "commands", "commands": [command], "credentials": [_fill(world, ref)]})


@then(parsers.parse('the response is the metadata of credential "{name}" of "{handle}"'))
def _creds_metadata(world, name, handle):
    body = world.response.json
    assert META_KEYS <= set(body), body
    assert (body["name"], body["credential_name"], body["owner_type"]) == (name, name, "user"), body
    assert body["owner_id"] == world.user_id(handle) and body["credential_id"] == world.remembered["credential"]
    assert _secret(world) not in world.response.body.decode()


@then(parsers.parse('the response lists exactly the credentials "{names}"'))
def _creds_listed(world, names):
    listed = world.response.json["credentials"]
    assert [c["name"] for c in listed] == [n.strip() for n in names.split(",") if n.strip()], listed
    assert _secret(world) not in world.response.body.decode()


@then("the task's stdout is the SHA-256 of the secret as the job saw it")
def _creds_task_digest(world):
    from tests.bdd.task_steps import _logs  # pylint: disable=import-outside-toplevel

    digest = hashlib.sha256((_secret(world) + "\n").encode()).hexdigest()
    assert _logs(world)["stdout"] == f"{digest}  -\n"


@then("no file in the server's data dir and no line of its log holds a secret of the scenario")
def _creds_nowhere(world):
    secrets = [s.encode() for s in world.remembered["cred_secrets"]]
    log = world.server.log_path.read_bytes()
    assert not any(s in log for s in secrets), "the server log holds a credential secret"
    for path in data_dir(world.server).rglob("*"):
        if path.is_file() and not path.is_symlink():
            content = path.read_bytes()
            assert not any(s in content for s in secrets), f"{path} holds a credential secret"
    for place, raw in stored(world.server.database_url).items():  # on PostgreSQL, the database is elsewhere
        assert not any(holds(raw, s) for s in secrets), f"{place} holds a credential secret"
