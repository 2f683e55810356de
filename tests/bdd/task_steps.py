"""Task steps shared by the orchestrator suites (task lifecycle, hardening): servers that run jobs, users,
tasks, their output, artifacts and the host's processes.

Jobs really run (in bubblewrap when it is installed); their effects are checked through the API and from the
host (/proc, the data dir). Waiting is always polling with a deadline (task_steps_support.wait_until).
A suite module star-imports this one (step fixtures are module attributes) plus the fixtures by name.
"""

import contextlib
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, step, then, when

from tests.bdd.conftest import SHARED_SETTINGS, unescape
from tests.bdd.harness import Server
from tests.bdd.harness import request as http
from tests.bdd.task_steps_support import (POLL_SECONDS, TERMINAL, carry_sessions, data_dir, fill, kill_leftovers,
                                          marker, multipart, processes_running, processes_with, tasks_of,
                                          token_for, wait_until)

BWRAP = shutil.which("bwrap")
NO_BWRAP = "bubblewrap (bwrap) is not installed: the feature's server runs jobs as plain processes"
NOT_ROOT = "the process runner hands jobs to an unprivileged user only when the server runs as root"
# Secret values in the servers' environment that no job may see (one name without the CYNODE_ prefix).
CANARIES = {"CYNODE_SECRET_CANARY": f"canary-{uuid.uuid4().hex}", "AWS_SECRET_ACCESS_KEY": f"canary-{uuid.uuid4().hex}"}
SHELL_OWN = {"PWD", "OLDPWD", "SHLVL", "_"}  # variables a shell sets for itself


def job_settings(sandbox: str) -> dict[str, str]:
    return {"CYNODE_SANDBOX": sandbox, "CYNODE_JOB_KILL_GRACE_SECONDS": "1", **CANARIES}


# --- servers --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _open_workdir():
    """A server work dir under directories anyone may enter (0755), unlike pytest's private tmp root: then only
    the server's own permissions keep jobs out of its data dir, and plain-process jobs, run unprivileged, can
    resolve their own work dir without a shared work root under /var/lib/cynode. Not under /tmp when root: a
    plain-process job has a private /tmp, so a data dir there would be out of its sight altogether, and these
    scenarios are about where deployments keep it."""
    base = None
    if os.geteuid() == 0:
        base = Path("/var/lib/cynode-bdd")
        base.mkdir(mode=0o755, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="cynode-bdd-", dir=base))
    try:
        (root / "server").mkdir()
        for path in (root, root / "server"):
            path.chmod(0o755)
        assert all(os.stat(p).st_mode & 0o001 for p in (root / "server").parents), "an ancestor is not 0o..1"
        yield root / "server"
    finally:
        # rm, not shutil.rmtree: jobs leave trees deeper than Python 3.11's recursive rmtree can remove
        subprocess.run(["rm", "-rf", "--", str(root)], check=False)


@contextlib.contextmanager
def _feature_style_server(sandbox: str):
    """A module's server: SHARED_SETTINGS, the given sandbox, a 1 s kill grace, canaries in its environment."""
    with _open_workdir() as workdir:
        server = Server(workdir, {**SHARED_SETTINGS, **job_settings(sandbox)})
        server.secrets.update(CANARIES.values())
        server.start()
        try:
            yield server
        finally:
            server.check_clean_exit()


@pytest.fixture(name="shared_server", scope="module")
def _feature_server():
    """The feature's server: jobs in bubblewrap when it is installed, else as plain processes."""
    with _feature_style_server("bwrap" if BWRAP else "process") as server:
        yield server


@pytest.fixture(name="process_server", scope="module")
def _process_server():
    """A server running jobs as plain processes, for the scenarios that compare the two runners."""
    with _feature_style_server("process") as server:
        yield server


@pytest.fixture(autouse=True)
def _leave_nothing_running(world):
    """After each scenario: cancel its unfinished tasks and kill whatever its jobs left on the host."""
    yield
    server = world.server
    if server and server.process and server.process.poll() is None:
        for task_id, handle in tasks_of(world).items:
            token = token_for(server, handle)
            response = http(server.url, "GET", f"/v1/tasks/{task_id}", token=token)
            if response.status == 200 and response.json["status"] not in TERMINAL:
                http(server.url, "POST", f"/v1/tasks/{task_id}/cancel", token=token)
    if "marker" in world.remembered:
        kill_leftovers(world.remembered["marker"])


def _use(world, server: Server) -> None:
    world.server = server
    world.marks = (len(server.log()), server.requests_sent)


@given(parsers.re(r"the server runs jobs (?P<runner>in bubblewrap|as plain processes)"))
def _runs_jobs(world, runner, request):
    if runner == "in bubblewrap":
        if not BWRAP:
            pytest.skip(NO_BWRAP)
        world.use_shared_server()
    else:
        if os.geteuid() != 0:
            pytest.skip(NOT_ROOT)
        _use(world, request.getfixturevalue("process_server"))


@given("a separate cynode server that runs jobs in bubblewrap")
def _separate_bwrap_server(world):
    if not BWRAP:
        pytest.skip("bubblewrap (bwrap) is not installed")
    world.start_server(job_settings("bwrap"))


@given("a separate cynode server that runs jobs as plain processes with its data dir under a private directory")
def _separate_private_process_server(world):
    if os.geteuid() != 0:
        pytest.skip(NOT_ROOT)
    private = world.tmp / "private"
    private.mkdir()
    private.chmod(0o700)
    server = Server(private / "server", job_settings("process")).start()
    world.own_servers.append(server)
    _use(world, server)


@when("the server is killed with SIGKILL")
def _kill_server(world):
    server = world.server
    server.process.kill()
    server.exit_code = server.process.wait()
    server.process = None
    world.own_servers.remove(server)
    world.remembered["stopped server"] = server


@when("the server is sent SIGTERM")
def _sigterm_server(world):
    world.remembered["sigterm at"] = time.monotonic()
    world.server.process.send_signal(signal.SIGTERM)


@then(parsers.parse("the server has exited with code 0 within {seconds:d} seconds"))
def _server_exited(world, seconds):
    server = world.server
    left = seconds - (time.monotonic() - world.remembered["sigterm at"])
    try:
        server.exit_code = server.process.wait(timeout=max(left, 0.1))
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the server still ran {seconds} s after SIGTERM:\n{server.log()}") from exc
    server.process = None
    assert server.exit_code == 0, server.log()
    assert "Traceback" not in server.log(), server.log()
    world.own_servers.remove(server)
    world.remembered["stopped server"] = server


@when("the server is started again on the same data dir")
def _restart(world):
    old = world.remembered.pop("stopped server")
    old.log_path.rename(old.workdir / f"server-{len(list(old.workdir.glob('server*.log')))}.log")
    new = Server(old.workdir, old.settings, old.admin_password).start()
    carry_sessions(old, new)
    world.own_servers.append(new)
    _use(world, new)


@then("the server answers /healthz")
def _healthz(world):
    response = http(world.server.url, "GET", "/healthz")
    assert (response.status, response.text) == (200, "ok"), (response.status, response.body)
    assert world.server.process.poll() is None


# --- users and requests ---------------------------------------------------------------------------------------


@given(parsers.re(r'"(?P<handle>[^"]+)" is signed in'))
def _signed_in(world, handle):
    token_for(world.server, handle)


def _send(world, handle: str, method: str, path: str, **kwargs):
    """A request as `handle`; every error answer must be a well-formed problem (World.send checks)."""
    return world.send(method, path, token=token_for(world.server, handle), **kwargs)


def _owner_send(world, method: str, path: str, number: int | None = None):
    """A request about task `number` (or the latest) as the user who created it; `{id}` in path is its id."""
    task_id, handle = tasks_of(world).pick(number)
    return _send(world, handle, method, path.replace("{id}", task_id))


def _artifact_id(world, name: str) -> str:
    response = _owner_send(world, "GET", "/v1/tasks/{id}/artifacts")
    found = [a["artifact_id"] for a in response.json["artifacts"] if a["name"] == name]
    assert found, (name, response.json)
    return found[0]


def _fill(world, text: str) -> str:
    return fill(world, text, lambda name: _artifact_id(world, name))


@when(parsers.re(r'"(?P<handle>[^"]+)" sends (?P<method>[A-Z]+) "(?P<path>[^"]+)"'))
def _sends(world, handle, method, path):
    _send(world, handle, method, _fill(world, path))


@when(parsers.re(r'"(?P<handle>[^"]+)" sends these requests:'))
def _sends_many(world, handle, datatable):
    header, *rows = datatable
    requests = [dict(zip(header, row)) for row in rows]
    world.responses = [_send(world, handle, r["method"], _fill(world, r["path"])) for r in requests]


@then(parsers.re(r'every response is a problem with status (?P<status>\d+) and detail "(?P<detail>[^"]*)"'))
def _every_problem(world, status, detail):
    seen = [(r.method, r.path, r.status, r.json.get("detail")) for r in world.responses]
    assert all(s == int(status) and d == detail for _, _, s, d in seen), seen


# --- creating tasks -------------------------------------------------------------------------------------------


def _create(world, handle: str, body=None, **kwargs):
    response = _send(world, handle, "POST", "/v1/tasks", body=body, **kwargs)
    if response.status == 201:
        tasks_of(world).add(response.json["id"], handle)
    return response


@when(parsers.re(r'"(?P<handle>[^"]+)" creates a task with \'(?P<body>.*)\''))
def _create_with_body(world, handle, body):
    _create(world, handle, _fill(world, body), headers={"Content-Type": "application/json"})


@when(parsers.re(r'"(?P<handle>[^"]+)" creates a script task:'))
def _create_script(world, handle, docstring):
    _create(world, handle, {"input_mode": "script", "prompt": _fill(world, docstring)})


@when(parsers.re(r'"(?P<handle>[^"]+)" creates a script task with a timeout of (?P<seconds>\d+) seconds:'))
def _create_script_timeout(world, handle, seconds, docstring):
    _create(world, handle, {"input_mode": "script", "prompt": _fill(world, docstring),
                            "timeout_seconds": int(seconds)})


@when(parsers.re(r'"(?P<handle>[^"]+)" creates (?P<count>\d+) script tasks, the odd ones "(?P<odd>[^"]*)" '
                 r'and the even ones "(?P<even>[^"]*)"'))
def _create_many(world, handle, count, odd, even):
    for number in range(1, int(count) + 1):
        response = _create(world, handle, {"input_mode": "script", "prompt": odd if number % 2 else even})
        assert response.status == 201, response.body


# attachments ---------------------------------------------------------------------------------------------------


def _attachments(world) -> list:
    return world.remembered.setdefault("attachments", [])


@given(parsers.re(r'the attachment "(?P<name>[^"]+)" of type "(?P<ctype>[^"]+)" holding "(?P<text>[^"]*)"'))
def _attachment_text(world, name, ctype, text):
    _attachments(world).append((name, unescape(text).encode("utf-8"), ctype))


@given(parsers.re(r'the attachment "(?P<name>[^"]+)" of type "(?P<ctype>[^"]+)" holding every byte value once'))
def _attachment_bytes(world, name, ctype):
    _attachments(world).append((name, bytes(range(256)), ctype))


@given(parsers.re(r"(?P<count>\d+) attachments of 1 byte each"))
def _attachments_many(world, count):
    _attachments(world).extend((f"file-{n}.txt", b"x", "text/plain") for n in range(int(count)))


@given(parsers.re(r'the attachment "(?P<name>[^"]+)" of (?P<size>\d+) bytes(?P<instead> instead)?'))
def _attachment_sized(world, name, size, instead):
    if instead:
        _attachments(world).clear()
    _attachments(world).append((name, b"\x5a" * int(size), "application/octet-stream"))


def _newest_task(world, handle: str) -> str | None:
    tasks = _send(world, handle, "GET", "/v1/tasks?limit=1").json["tasks"]
    return tasks[0]["id"] if tasks else None


def _stored_artifact_dirs(world) -> set[str]:
    return set(os.listdir(data_dir(world.server) / "artifacts"))


@when(parsers.re(r'"(?P<handle>[^"]+)" creates a script task with those attachments:'))
def _create_with_attachments(world, handle, docstring):
    world.remembered["before upload"] = (_newest_task(world, handle), _stored_artifact_dirs(world))
    body, content_type = multipart({"input_mode": "script", "prompt": _fill(world, docstring)}, _attachments(world))
    _create(world, handle, body, headers={"Content-Type": content_type})


@when(parsers.re(r'"(?P<handle>[^"]+)" starts a multipart task upload declaring (?P<mib>\d+) MiB'))
def _declare_huge_upload(world, handle, mib):
    # Only the headers are sent: a server must judge the declared length before reading a body this large.
    _send(world, handle, "POST", "/v1/tasks", headers={
        "Content-Type": "multipart/form-data; boundary=cynode-bdd", "Content-Length": str(int(mib) << 20)})


@then(parsers.re(r'"(?P<handle>[^"]+)" has no new task and the server kept no new artifact files'))
def _nothing_new(world, handle):
    newest, stored = world.remembered["before upload"]
    assert _newest_task(world, handle) == newest
    assert _stored_artifact_dirs(world) == stored


# --- task state and output ------------------------------------------------------------------------------------


def _task(world, number: int | None = None) -> dict:
    response = _owner_send(world, "GET", "/v1/tasks/{id}", number)
    assert response.status == 200, response.body
    return response.json


def _result(world, number: int | None = None) -> dict:
    response = _owner_send(world, "GET", "/v1/tasks/{id}/result", number)
    assert response.status == 200, response.body
    return response.json


def _logs(world, number: int | None = None) -> dict:
    response = _owner_send(world, "GET", "/v1/tasks/{id}/logs", number)
    assert response.status == 200, response.body
    return response.json


def _job_result(world, job: int, number: int | None = None) -> dict:
    item = _result(world, number)["jobs"][job - 1]
    assert "result" in item, item
    return json.loads(item["result"])


def _explain(world, number: int | None = None) -> str:
    """The task's result in full, for assertion messages (pytest would cut a dict short)."""
    return json.dumps(_result(world, number), indent=1)


def _ended(world, number: int | None = None) -> dict:
    def ended():
        task = _task(world, number)
        return task if task["status"] in TERMINAL else None

    return wait_until(ended, what="the task ending")


def _number(text: str | None) -> int | None:
    return int(text) if text else None


@step(parsers.re(r'(?:the task|task (?P<number>\d+)) ends "(?P<status>[a-z]+)"'))
def _task_ends(world, number, status):
    assert _ended(world, _number(number))["status"] == status, _explain(world, _number(number))


@then(parsers.re(r'(?:the task|task (?P<number>\d+)) is "(?P<status>[a-z]+)"'))
def _task_is(world, number, status):
    assert _task(world, _number(number))["status"] == status, _explain(world, _number(number))


@when("all tasks of the scenario have ended")
def _all_ended(world):
    for number in range(1, len(tasks_of(world).items) + 1):
        _ended(world, number)


@when(parsers.re(r'(?:the task\'s output|the output of task (?P<number>\d+)) shows "(?P<text>[^"]*)"'))
def _output_shows(world, number, text):
    number = _number(number)

    def shown():
        stdout = _logs(world, number)["stdout"]
        if text in stdout:
            return True
        status = _task(world, number)["status"]
        assert status not in TERMINAL, f"the task ended {status} without printing {text!r}: {stdout!r}"
        return False

    wait_until(shown, what=f"the job printing {text!r}")


@then(parsers.re(r'(?:the task\'s stdout|the stdout of task (?P<number>\d+)) is "(?P<text>[^"]*)"'))
def _stdout_is(world, number, text):
    assert _logs(world, _number(number))["stdout"] == unescape(_fill(world, text))


@then(parsers.re(r'the canceled job\'s stored result keeps its output "(?P<text>[^"]*)"'))
def _partial_output(world, text):
    # The runner stores a canceled job's result once its processes are dead, a moment after the cancel.
    def stored():
        job = _result(world)["jobs"][0]
        return job if "result" in job else None

    item = wait_until(stored, what="the canceled job's result being stored")
    assert item["status"] == "canceled", item
    assert json.loads(item["result"])["stdout"] == unescape(text), item
    assert _logs(world)["stdout"] == unescape(text)


@then(parsers.re(r'the task\'s stdout is "(?P<first>[^"]*)" and (?P<times>\d+) times "(?P<repeated>[^"]*)"'))
def _stdout_repeated(world, first, times, repeated):
    stdout = _logs(world)["stdout"]
    assert stdout == first + repeated * int(times), (len(stdout.encode()), stdout[:20], stdout[-20:])


@then(parsers.re(r'the task\'s stderr (?P<how>is|starts with|contains) "(?P<text>[^"]*)"'))
def _stderr(world, how, text):
    stderr, text = _logs(world)["stderr"], unescape(text)
    assert {"is": stderr == text, "starts with": stderr.startswith(text), "contains": text in stderr}[how], stderr


@then(parsers.re(r'the task\'s result shows stdout "(?P<stdout>[^"]*)" and stderr "(?P<stderr>[^"]*)"'))
def _result_output(world, stdout, stderr):
    result = _result(world)
    assert (result["stdout"], result["stderr"]) == (unescape(stdout), unescape(stderr)), result


@then(parsers.re(r'the task\'s logs show stdout "(?P<text>[^"]*)" while the task is "(?P<status>[a-z]+)"'))
def _live_logs(world, text, status):
    expected = unescape(text)
    wait_until(lambda: _logs(world)["stdout"] == expected, what=f"the logs showing {expected!r}")
    assert _task(world)["status"] == status  # read after the logs: they were shown while it was still so


@then(parsers.re(r'the task\'s jobs have the statuses "(?P<statuses>[^"]*)"'))
def _job_statuses(world, statuses):
    jobs = _result(world)["jobs"]
    assert [job["status"] for job in jobs] == [s.strip() for s in statuses.split(",")], jobs


@then(parsers.re(r'job (?P<job>\d+) of the task has result status "(?P<status>[a-z]+)" and exit code (?P<code>-?\d+)'))
def _job_result_is(world, job, status, code):
    result = _job_result(world, int(job))
    assert (result["status"], result["exit_code"]) == (status, int(code)), result


@when(parsers.re(r"the lease of job (?P<job>\d+) of task (?P<number>\d+) runs out"))
def _lease_runs_out(world, job, number):
    """As if the killed server's last renewal were a lease ago: its lease expired a second ago, written into the
    server's database (waiting for a real lease, 30 s, would make a minute-long scenario)."""
    from cynode.store.models import Job  # pylint: disable=import-outside-toplevel  # only this step needs them
    from cynode.store.records import utcnow  # pylint: disable=import-outside-toplevel
    from cynode.store.store import Store  # pylint: disable=import-outside-toplevel

    job_id = _result(world, int(number))["jobs"][int(job) - 1]["id"]
    store = Store(world.server.database_url)
    try:
        with store.db.bind_ctx([Job]):
            assert Job.update(lease_expires_at=utcnow() - timedelta(seconds=1)).where(Job.id == job_id).execute() == 1
    finally:
        store.close()


@then(parsers.re(r'job (?P<job>\d+) of task (?P<number>\d+) has the error "(?P<error>[^"]*)"'))
def _job_error(world, job, number, error):
    result = _job_result(world, int(job), int(number))
    assert (result["status"], result.get("error")) == ("failed", error), json.dumps(result, indent=1)


@then("the jobs of the task ran one after another")
def _jobs_in_order(world):
    jobs = _result(world)["jobs"]
    for earlier, later in zip(jobs, jobs[1:]):
        assert earlier["ended_at"] <= later["started_at"], jobs  # RFC 3339 UTC strings sort as times


@then(parsers.re(r"jobs (?P<first>\d+) and (?P<second>\d+) of the task never started"))
def _never_started(world, first, second):
    jobs = _result(world)["jobs"]
    for job in (jobs[int(first) - 1], jobs[int(second) - 1]):
        assert "started_at" not in job and "result" not in job, job


@then(parsers.re(r'the task\'s work dir on the host has "(?P<present>[^"]+)"'
                 r'(?: but not "(?P<absent>[^"]+)" nor "(?P<absent_too>[^"]+)")?'))
def _work_dir(world, present, absent, absent_too):
    work = data_dir(world.server) / "work" / tasks_of(world).pick()[0]
    assert (work / present).exists(), sorted(str(p.relative_to(work)) for p in work.rglob("*"))
    for name in filter(None, (absent, absent_too)):
        assert not os.path.lexists(work / name), name


@then(parsers.re(r"job 1 of the task reports truncated stdout and untruncated stderr"))
def _truncated(world):
    assert _job_result(world, 1)["truncated"] == {"stdout": True, "stderr": False}


@then(parsers.re(r"the job's stdout file on the host holds (?P<size>\d+) bytes"))
def _log_file_size(world, size):
    task_id, job_id = tasks_of(world).pick()[0], _result(world)["jobs"][0]["id"]
    assert (data_dir(world.server) / "logs" / task_id / f"{job_id}.stdout").stat().st_size == int(size)


# --- names and lists ------------------------------------------------------------------------------------------


@then(parsers.re(r"the response is task (?P<number>\d+)"))
def _response_is_task(world, number):
    body = world.response.json
    assert body["id"] == body["task_id"] == tasks_of(world).pick(int(number))[0], body


@then(parsers.re(r'the response JSON field "(?P<key>[^"]+)" is the id of task (?P<number>\d+)'))
def _field_is_task(world, key, number):
    assert world.response.json[key] == tasks_of(world).pick(int(number))[0], world.response.json


@when(parsers.re(r'"(?P<handle>[^"]+)" walks "(?P<path>[^"]+)" following next_cursor'))
def _walk(world, handle, path):
    pages, cursor = [], None
    while len(pages) < 100:
        page_path = path if cursor is None else f"{path}{'&' if '?' in path else '?'}cursor={cursor}"
        response = _send(world, handle, "GET", page_path)
        assert response.status == 200, response.body
        pages.append([task["id"] for task in response.json["tasks"]])
        cursor = response.json.get("next_cursor")
        if cursor is None:
            break
    world.remembered["pages"] = pages


@then(parsers.re(r"the pages held (?P<counts>\d+(?:, \d+)*) tasks"))
def _page_sizes(world, counts):
    assert [len(page) for page in world.remembered["pages"]] == [int(c) for c in counts.split(",")]


@then(parsers.re(r"together the pages list tasks (?P<numbers>\d+(?:, \d+)*) in that order"))
def _pages_list(world, numbers):
    listed = [task_id for page in world.remembered["pages"] for task_id in page]
    assert listed == [tasks_of(world).pick(int(n))[0] for n in numbers.split(",")]


# --- cancel and processes -------------------------------------------------------------------------------------


@when(parsers.re(r'"(?P<handle>[^"]+)" cancels the task'))
def _cancel(world, handle):
    world.remembered["cancel sent"] = time.monotonic()
    _send(world, handle, "POST", f"/v1/tasks/{tasks_of(world).pick()[0]}/cancel")


@then(parsers.re(r'the host runs (?P<commands>"[^"]+"(?:(?:, | and )"[^"]+")*)'))
def _host_runs(world, commands):
    for command in re.findall(r'"([^"]+)"', commands):
        argv = _fill(world, command).split()
        # A background child may still be between fork and exec when the job prints that it started.
        wait_until(functools.partial(processes_running, argv), 10, what=f"a process {argv} showing up on the host")


def _job_processes(world) -> list[int]:
    return processes_with(marker(world))


@then(parsers.re(r"within (?P<seconds>\d+) seconds no process of the job is left on the host"))
def _no_processes(world, seconds):
    wait_until(lambda: not _job_processes(world), int(seconds), what="the job's processes disappearing")


@then(parsers.re(r"no process of the job is left on the host after at least (?P<low>\d+) and at most (?P<high>\d+) "
                 r"seconds"))
def _no_processes_after(world, low, high):
    sent = world.remembered["cancel sent"]
    wait_until(lambda: not _job_processes(world), int(high) - (time.monotonic() - sent),
               what="the job's processes disappearing")
    assert time.monotonic() - sent >= int(low), "the job was gone before the grace period was over"


@then(parsers.re(r"while the task runs the server answers /healthz and the task's status within (?P<limit>\d+) "
                 r"seconds each time"))
def _responsive(world, limit):
    rounds_while_running = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        started = time.monotonic()
        health = http(world.server.url, "GET", "/healthz")
        status = _task(world)["status"]
        took = time.monotonic() - started
        assert health.status == 200 and took <= int(limit), (health.status, took)
        if status in TERMINAL:
            break
        rounds_while_running += 1
        time.sleep(POLL_SECONDS)
    assert rounds_while_running >= 1, "the server was never asked while the job ran"


# --- artifacts ------------------------------------------------------------------------------------------------


def _artifacts(world) -> list[dict]:
    return _owner_send(world, "GET", "/v1/tasks/{id}/artifacts").json["artifacts"]


def _artifacts_named(world, names: list[str]) -> list[dict]:
    """The task's artifacts once they are exactly `names`. The wait covers the product race reported by
    test_artifacts_listed_when_completed: a task is marked finished a moment before its out/ files are listed."""
    def listed():
        found = _artifacts(world)
        return found if [artifact["name"] for artifact in found] == names else None

    try:
        return wait_until(listed, 10, what=f"the artifacts being {names}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; they are {[a['name'] for a in _artifacts(world)]}") from None


@then("the artifacts of the task are:")
def _artifact_table(world, datatable):
    header, *rows = datatable
    expected = [dict(zip(header, row)) for row in rows]
    found = _artifacts_named(world, [row["name"] for row in expected])
    assert [{key: str(artifact[key]) for key in header} for artifact in found] == expected, found


@then(parsers.re(r'the artifacts of the task are only "(?P<names>[^"]+)"'))
def _artifact_names(world, names):
    _artifacts_named(world, [n.strip() for n in names.split(",")])


@then(parsers.re(r'as soon as the task is reported "(?P<status>[a-z]+)" its artifacts are only "(?P<names>[^"]+)"'))
def _artifacts_when_finished(world, status, names):
    deadline = time.monotonic() + 30
    while _task(world)["status"] not in TERMINAL:  # polled tightly: the moment it is reported matters here
        assert time.monotonic() < deadline, "the task did not end within 30 s"
        time.sleep(0.005)
    assert _task(world)["status"] == status
    assert [a["name"] for a in _artifacts(world)] == [n.strip() for n in names.split(",")]


def _download(world, name: str, content_type: str) -> bytes:
    response = _owner_send(world, "GET", f"/v1/tasks/{{id}}/artifacts/{_artifact_id(world, name)}")
    assert response.status == 200, response.body
    assert response.header("Content-Type") == content_type, response.headers
    assert (response.header("Content-Disposition") or "").startswith("attachment"), response.headers
    return response.body


@then(parsers.re(r'downloading artifact "(?P<name>[^"]+)" gives the uploaded bytes as "(?P<ctype>[^"]+)"'))
def _download_uploaded(world, name, ctype):
    uploaded = {f"attachments/{n}": data for n, data, _ in _attachments(world)}
    assert _download(world, name, ctype) == uploaded[name]


@then(parsers.re(r'downloading artifact "(?P<name>[^"]+)" gives "(?P<text>[^"]*)" as "(?P<ctype>[^"]+)"'))
def _download_text(world, name, text, ctype):
    assert _download(world, name, ctype) == unescape(text).encode("utf-8")


# --- probes from inside a job ---------------------------------------------------------------------------------


def _probe(world, handle: str, command: str) -> None:
    world.remembered["probe"] = command
    response = _create(world, handle, {"input_mode": "script", "prompt": command})
    assert response.status == 201, response.body
    _ended(world)


@when(parsers.re(r'"(?P<handle>[^"]+)" runs the probe job \'(?P<command>.*)\''))
def _probe_inline(world, handle, command):
    _probe(world, handle, _fill(world, command))


@when(parsers.re(r'"(?P<handle>[^"]+)" runs the probe job:'))
def _probe_script(world, handle, docstring):
    _probe(world, handle, _fill(world, docstring))


@then(parsers.re(r'the probe job failed with "(?P<error>[^"]*)" on stderr'))
def _probe_failed(world, error):
    result, logs = _result(world), _logs(world)
    assert result["status"] == "failed", (world.remembered["probe"], logs)
    assert error in logs["stderr"], (world.remembered["probe"], logs)


@then("the probe job completed")
def _probe_completed(world):
    assert _result(world)["status"] == "completed", (world.remembered["probe"], _logs(world))


@then("the same command succeeds on the host")
def _host_control(world):
    done = subprocess.run(["sh", "-c", world.remembered["probe"]], capture_output=True, timeout=15, check=False)
    assert done.returncode == 0, (world.remembered["probe"], done.returncode, done.stderr)


def _probe_env(world) -> tuple[dict[str, str], int]:
    lines = _logs(world)["stdout"].splitlines()
    marker_at = next(i for i, line in enumerate(lines) if line.startswith("--- uid "))
    env = dict(line.split("=", 1) for line in lines[:marker_at])
    return env, int(lines[marker_at].split()[-1])


@then(parsers.re(r'the job\'s environment has only the names "(?P<names>[^"]+)" besides the shell\'s own'))
def _env_names(world, names):
    env, _ = _probe_env(world)
    assert set(env) - SHELL_OWN == {n.strip() for n in names.split(",")}, env
    task_id = tasks_of(world).pick()[0]
    assert env["CYNODE_TASK_ID"] == task_id and env["CYNODE_JOB_ID"] == _result(world)["jobs"][0]["id"], env


@then("the job's output shows none of the server's secret values")
def _no_secrets(world):
    logs = _logs(world)
    output = logs["stdout"] + logs["stderr"]
    secrets = [*CANARIES, *CANARIES.values(), world.server.admin_password]
    assert [secret for secret in secrets if secret in output] == [], output


@then("the job ran as an unprivileged user")
def _job_uid(world):
    _, uid = _probe_env(world)
    assert uid != 0, uid  # the server runs as this test's user: when that is root, jobs must not


@given(parsers.re(r'the host has a world-readable file "(?P<path>[^"]+)"'))
def _host_file(world, request, path):
    planted = Path(_fill(world, path))
    planted.write_text("another user's temp file\n", encoding="utf-8")
    planted.chmod(0o644)
    request.addfinalizer(planted.unlink)


@given(parsers.re(r'a service listens on the unix socket "(?P<path>[^"]+)"'))
def _host_socket(world, request, path):
    planted = Path(_fill(world, path))
    service = socket.socket(socket.AF_UNIX)
    service.bind(str(planted))
    service.listen()
    planted.chmod(0o777)
    request.addfinalizer(lambda: (service.close(), planted.unlink()))


@then(parsers.re(r'the host has no file "(?P<path>[^"]+)"'))
def _no_host_file(world, path):
    assert not os.path.lexists(_fill(world, path))
