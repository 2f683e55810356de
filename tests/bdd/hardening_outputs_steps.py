"""Steps for section 1 of the hardening feature: job outputs never reach host files.

What a job left in out/ is judged as its owner sees it (the artifact listing, downloads, the job's stored result)
and as an operator sees it (the files the server stored for the task, its work dir under the server's dirs).
"""

import ast
import contextlib
import json
import os

import pytest
from pytest_bdd import given, parsers, then

from tests.bdd.conftest import SHARED_SETTINGS
from tests.bdd.harness import Server
from tests.bdd.task_steps import BWRAP, NO_BWRAP, NOT_ROOT, _open_workdir, _owner_send, _use, job_settings
from tests.bdd.task_steps_support import data_dir, tasks_of, wait_until

MIB = 1 << 20


@pytest.fixture(name="outputs_servers")
def fixture_outputs_servers(world):
    """Servers this section starts in directories anyone may enter; stopped before those are removed."""
    with contextlib.ExitStack() as dirs:
        started: list[Server] = []
        yield dirs, started
        for server in started:
            world.own_servers.remove(server)
            server.check_clean_exit()


@given(parsers.re(r"a separate cynode server that runs jobs (?P<runner>in bubblewrap|as plain processes) and keeps "
                  r"no work dirs"))
def _no_retention_server(world, runner, outputs_servers):
    if runner == "in bubblewrap" and not BWRAP:
        pytest.skip(NO_BWRAP)
    if runner != "in bubblewrap" and os.geteuid() != 0:
        pytest.skip(NOT_ROOT)
    dirs, started = outputs_servers
    workdir = dirs.enter_context(_open_workdir())
    settings = {**SHARED_SETTINGS, **job_settings("bwrap" if runner == "in bubblewrap" else "process"),
                "CYNODE_WORK_RETENTION_SECONDS": "0", "CYNODE_WORK_ROOT": str(workdir / "work-root")}
    server = Server(workdir, settings).start()
    started.append(server)
    world.own_servers.append(server)
    _use(world, server)


# --- what the owner sees ----------------------------------------------------------------------------------------


def _artifacts(world) -> list[dict]:
    response = _owner_send(world, "GET", "/v1/tasks/{id}/artifacts")
    assert response.status == 200, response.body
    return response.json["artifacts"]


def _last_job_result(world) -> dict:
    response = _owner_send(world, "GET", "/v1/tasks/{id}/result")
    assert response.status == 200, response.body
    item = response.json["jobs"][-1]
    assert "result" in item, item
    return json.loads(item["result"])


@then("the task has no artifacts")
def _no_artifacts(world):
    assert _artifacts(world) == []


@then(parsers.re(r"the task has (?P<count>\d+) artifacts"))
def _artifact_count(world, count):
    assert len(_artifacts(world)) == int(count)


@then(parsers.re(r'the job\'s result says no artifacts were collected because "(?P<text>[^"]+)"'))
def _artifacts_error(world, text):
    result = _last_job_result(world)
    assert result.get("artifacts_error") == text, result
    assert "error" not in result, result


@then(parsers.re(r'the job\'s result lists (?P<count>\d+) skipped outputs? with the reason "(?P<reason>[^"]+)"'))
def _skipped_with_reason(world, count, reason):
    result = _last_job_result(world)
    skipped = result.get("artifacts_skipped", [])
    assert len([item for item in skipped if item["reason"] == reason]) == int(count), skipped
    assert result["artifacts_skipped_count"] == len(skipped), result


@then(parsers.re(r'the job\'s result lists the skipped output "(?P<name>[^"]+)" with the reason "(?P<reason>[^"]+)"'))
def _skipped_output(world, name, reason):
    skipped = _last_job_result(world).get("artifacts_skipped", [])
    assert {"name": name, "reason": reason} in skipped, skipped


@then("the task's artifacts, their names written as Python strings, download as:")
def _odd_downloads(world, datatable):
    header, *rows = datatable
    expected = [dict(zip(header, row)) for row in rows]
    found = {artifact["name"]: artifact["artifact_id"] for artifact in _artifacts(world)}
    assert sorted(found) == sorted(ast.literal_eval(row["name"]) for row in expected), found
    for row in expected:
        response = _owner_send(world, "GET", f"/v1/tasks/{{id}}/artifacts/{found[ast.literal_eval(row['name'])]}")
        assert (response.status, response.body) == (200, row["content"].encode()), response.body
        disposition = response.header("Content-Disposition")
        assert "\r" not in disposition and "\n" not in disposition, disposition
        assert disposition.startswith("attachment; filename=") and disposition.endswith(
            f"; filename*=UTF-8''{row['filename*']}"), disposition
        assert not [name for name in response.headers if name.lower().startswith("x-evil")], response.headers


# --- what the operator sees -------------------------------------------------------------------------------------


def _stored_files(world) -> list[str]:
    folder = data_dir(world.server) / "artifacts" / tasks_of(world).pick()[0]
    return [str(folder / name) for name in os.listdir(folder)] if folder.is_dir() else []


@then("the server stored no file for the task")
def _nothing_stored(world):
    assert _stored_files(world) == []


@then(parsers.re(r'no file the server stored for the task holds "(?P<text>[^"]+)"'))
def _stored_without(world, text):
    for path in _stored_files(world):
        with open(path, "rb") as stored:
            assert text.encode() not in stored.read(), path


@then(parsers.re(r"the files the server stored for the task take less than (?P<mib>\d+) MiB of disk"))
def _stored_disk(world, mib):
    used = sum(os.stat(path).st_blocks * 512 for path in _stored_files(world))
    assert used < int(mib) * MIB, used


def _work_dirs(world) -> list[str]:
    """Where the server may keep the task's work dir: under its data dir, or under the work root it was given."""
    task_id = tasks_of(world).pick()[0]
    server = world.server
    places = [data_dir(server) / "work" / task_id, server.workdir / "work-root" / task_id]
    return [str(place) for place in places if os.path.lexists(place)]


@then(parsers.re(r"within (?P<seconds>\d+) seconds the task's work dir is gone from the server"))
def _work_dir_gone(world, seconds):
    wait_until(lambda: not _work_dirs(world), int(seconds), what="the retention sweep removing the work dir")
    assert "Traceback" not in world.server.log(), world.server.log()
