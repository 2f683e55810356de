"""Steps for sections 4 and 5 (schema upgrades) of orchestrator_hardening.feature: fair dispatch between users,
the per-user running cap, disabling a user, and a server upgrading a database of the previous schema version.

When jobs ran is read from the jobs themselves: they print `date +%s.%N` (the API's timestamps have whole
seconds). The previous-version database is the store suite's checked-in fixture for the backend in use, as the
build before frozen migrations (e82712d) created it.
"""

import json
import sqlite3
from pathlib import Path

from pytest_bdd import given, parsers, then, when

from tests.bdd.backend import DATABASES, backend
from tests.bdd.conftest import SHARED_SETTINGS, unescape
from tests.bdd.harness import request as http
from tests.bdd.task_steps_support import password, tasks_of, token_for, wait_until
from tests.support.pg import connect

V2_FIXTURES = {name: Path(__file__).resolve().parent.parent / "store" / "fixtures" / f"schema_v2.{name}.sql"
               for name in ("sqlite", "postgresql")}
V2_PASSWORDS = {"alice": "fixture-alice-pw", "admin": "fixture-admin-pw"}  # as the fixture's header says


def _get(world, handle: str, path: str, token: str | None = None) -> dict:
    response = world.send("GET", path, token=token or token_for(world.server, handle))
    assert response.status == 200, (path, response.status, response.body)
    return response.json


def _clocks(world, number: int) -> list[float]:
    """The `date +%s.%N` lines task `number` of the scenario printed: when its job started (and ended)."""
    task_id, handle = tasks_of(world).pick(number)
    stdout = _get(world, handle, f"/v1/tasks/{task_id}/result")["stdout"]
    return [float(line) for line in stdout.split()]


# --- 4. fair dispatch -------------------------------------------------------------------------------------------


@then(parsers.re(r'every task of the scenario is "(?P<status>[a-z]+)"'))
def _every_task_is(world, status):
    seen = [_get(world, handle, f"/v1/tasks/{task_id}")["status"] for task_id, handle in tasks_of(world).items]
    assert seen == [status] * len(seen), seen


@then(parsers.re(r"by the clocks their jobs printed, the tasks started in the order (?P<order>[\d, ]+)"))
def _started_in_order(world, order):
    starts = {number: _clocks(world, number)[0] for number in range(1, len(tasks_of(world).items) + 1)}
    assert sorted(starts, key=starts.get) == [int(n) for n in order.split(",")], starts


@then(parsers.re(r"by the clocks their jobs printed, tasks (?P<first>\d+) and (?P<second>\d+) never ran at the same "
                 r"time"))
def _never_overlapped(world, first, second):
    (start_a, end_a), (start_b, end_b) = _clocks(world, int(first)), _clocks(world, int(second))
    assert end_a <= start_b or end_b <= start_a, ((start_a, end_a), (start_b, end_b))


@then(parsers.re(r"by the clocks their jobs printed, task (?P<inner>\d+) ran while task (?P<outer>\d+) ran"))
def _overlapped(world, inner, outer):
    (start_in, end_in), (start_out, end_out) = _clocks(world, int(inner)), _clocks(world, int(outer))
    assert start_in < end_out and start_out < end_in, ((start_in, end_in), (start_out, end_out))


@when(parsers.re(r'the admin disables "(?P<handle>[^"]+)"'))
def _admin_disables(world, handle):
    world.send("POST", f"/v1/users/{handle}/disable", token=world.server.admin_token())


@then(parsers.re(r'once "(?P<handle>[^"]+)" is enabled again and signs in, her tasks (?P<first>\d+) and '
                 r'(?P<second>\d+) are "(?P<status>[a-z]+)" and task (?P<never>\d+) never ran'))
def _still_canceled_after_enable(world, handle, first, second, status, never):
    server = world.server
    enabled = world.send("POST", f"/v1/users/{handle}/enable", token=server.admin_token())
    assert enabled.status == 200 and enabled.json["is_active"] is True, enabled.body
    token = server.login(handle, password(handle))["access_token"]
    for number in (int(first), int(second)):
        task_id = tasks_of(world).pick(number)[0]
        assert _get(world, handle, f"/v1/tasks/{task_id}", token)["status"] == status
    jobs = _get(world, handle, f"/v1/tasks/{tasks_of(world).pick(int(never))[0]}/result", token)["jobs"]
    assert jobs and all("started_at" not in job for job in jobs), jobs


# --- 5. schema upgrades -----------------------------------------------------------------------------------------


@given(parsers.re(r'a data dir whose database is at the previous schema version, with tasks of '
                  r'"(?P<handle>[^"]+)" in it'))
def _previous_version_data_dir(world, handle):
    """The SQLite file in the data dir, or (CYNODE_TEST_BACKEND=postgresql) the work dir's private database."""
    workdir = world.tmp / f"server{len(world.own_servers)}"  # where World.start_server puts the next one
    data = workdir / "data"
    data.mkdir(parents=True, mode=0o700)
    if backend() == "postgresql":
        conn = connect(DATABASES.empty(workdir).url)
        placeholder = "%s"
    else:
        conn = sqlite3.connect(data / "cynode.db")
        placeholder = "?"
    try:
        cursor = conn.cursor()
        for line in V2_FIXTURES[backend()].read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("--"):
                cursor.execute(line)  # one statement a line, as the fixtures' headers say
        cursor.execute("SELECT MAX(version) FROM schema_version")
        assert tuple(cursor.fetchone()) == (2,)
        cursor.execute('SELECT COUNT(*) FROM task JOIN "user" ON "user".id = task.owner_id '
                       f'WHERE handle = {placeholder}', (handle,))
        assert cursor.fetchone()[0] == 3
        conn.commit()
    finally:
        conn.close()
    world.remembered["fixture data dir"] = data


@when("a cynode server is started on that data dir")
def _start_on_fixture(world):
    server = world.start_server({**SHARED_SETTINGS, "CYNODE_WORKERS": "1"},
                                admin_password=V2_PASSWORDS["admin"])
    assert server.workdir / "data" == world.remembered["fixture data dir"]


def _old_token(world, handle: str) -> str:
    if "old token" not in world.remembered:
        world.remembered["old token"] = world.server.login(handle, V2_PASSWORDS[handle])["access_token"]
    return world.remembered["old token"]


def _old_task(world, handle: str, name: str, path: str = "") -> dict:
    return _get(world, handle, f"/v1/tasks/{name}{path}", _old_token(world, handle))


@then(parsers.re(r'"(?P<handle>[^"]+)" signs in with her old password and lists the tasks (?P<names>.+)'))
def _lists_old_tasks(world, handle, names):
    listed = _get(world, handle, "/v1/tasks?limit=50", _old_token(world, handle))["tasks"]
    expected = [name.strip('"') for name in names.replace(" and ", ", ").split(", ")]
    assert [task["task_name"] for task in listed] == expected, listed


@then(parsers.re(r'her old task "(?P<name>[^"]+)" has the stdout "(?P<stdout>[^"]*)" and the artifacts '
                 r'"(?P<first>[^"]+)" and "(?P<second>[^"]+)"'))
def _old_task_output(world, name, stdout, first, second):
    result = _old_task(world, "alice", name, "/result")
    assert (result["status"], result["stdout"]) == ("completed", unescape(stdout)), json.dumps(result)
    artifacts = _old_task(world, "alice", name, "/artifacts")["artifacts"]
    assert sorted(a["name"] for a in artifacts) == [first, second], artifacts


@then(parsers.re(r'her old queued task "(?P<name>[^"]+)" runs now and ends "(?P<status>[a-z]+)" with the stdout '
                 r'"(?P<stdout>[^"]*)"'))
def _old_queued_task_runs(world, name, status, stdout):
    def ended():
        task = _old_task(world, "alice", name)
        return task if task["status"] in ("completed", "failed", "canceled") else None

    wait_until(ended, what=f"the old task {name!r} ending")
    result = _old_task(world, "alice", name, "/result")
    assert (result["status"], result["stdout"]) == (status, unescape(stdout)), json.dumps(result)
    token = _old_token(world, "alice")
    assert http(world.server.url, "GET", "/v1/users/me", token=token).json["handle"] == "alice"
