"""Steps of features/orchestrator/orchestrator_scaleout.feature: gateways (`serve --no-dispatch`) and `cynode worker`
processes on one private PostgreSQL database and data dir (tests/bdd/scaleout.py), driven through the CLI and
HTTP, observed through the database."""

import json
import os
import re
import shlex
import socket
import subprocess
import threading
import time
from collections import Counter

import pytest
from pytest_bdd import given, parsers, then, when

from cynode.dispatch.outcome import LEASE_EXPIRED
from tests.bdd.harness import CLI_TIMEOUT, CliResult, child_environ, cynode_command, request, with_source
from tests.bdd.scaleout import Deployment, wait_for
from tests.support.pg import PrivateDatabase, base_url, connect

CLIENT_THREADS = 4
SLEEPER = "sleep 5; "
TERMINAL = ("completed", "failed", "canceled")
HOSTNAME = socket.gethostname()
CONNECTIONS_NEEDED = 40  # the largest deployment: 2 gateways (4 HTTP threads) and 3 workers (2 threads), and margin


@pytest.fixture(name="deployment")
def deployment_fixture(world):
    """A private PostgreSQL database (a visible skip when none answers) and the processes started on it; at the end
    every process still alive must exit 0 on SIGTERM with a clean log, and the database is dropped."""
    try:
        conn = connect(base_url())
    except Exception as exc:  # pylint: disable=broad-exception-caught  # any failure to connect means: skip
        pytest.skip(f"PostgreSQL not reachable at {base_url()} (set CYNODE_TEST_PG_URL): {exc}")
    _wait_for_connection_room(conn)
    database = PrivateDatabase(conn)
    state = Deployment(world.tmp / "scaleout", database.url)
    yield state
    try:
        world.collect_cli_secrets()
        state.stop_and_check()
    finally:
        state.kill_strays()
        state.close()
        database.close()


def _wait_for_connection_room(conn, timeout: float = 60.0) -> None:
    """A shared PostgreSQL may be near max_connections with other test runs: wait a while for room for a deployment
    (each gateway and worker thread holds a connection), then go ahead anyway (a refused connection then shows in a
    process log, failing the scenario with the reason)."""
    cursor = conn.cursor()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cursor.execute("SELECT current_setting('max_connections')::int - current_setting("
                       "'superuser_reserved_connections')::int - (SELECT count(*) FROM pg_stat_activity)")
        if cursor.fetchone()[0] >= CONNECTIONS_NEEDED:
            return
        time.sleep(1)


def _use_gateway(world, deployment: Deployment, number: int = 0) -> None:
    """The CLI and HTTP steps of conftest.py talk to this gateway."""
    world.server = deployment.gateways[number]
    world.marks = (len(world.server.log()), world.server.requests_sent)


# --- starting ---------------------------------------------------------------------------------------------------


@given(parsers.re(r"a scale-out deployment with (?P<gateways>\d+) gateways? and (?P<workers>\d+) workers?"
                  r"(?:, and job leases of (?P<lease>\d+) seconds)?"
                  r"(?P<at_once> started at once on a fresh database)?$"))
def _deployment_started(world, deployment, gateways, workers, lease, at_once):
    if lease:
        deployment.settings["CYNODE_JOB_LEASE_SECONDS"] = lease
    deployment.start(int(gateways), int(workers), at_once=bool(at_once))
    _use_gateway(world, deployment)


# --- observing --------------------------------------------------------------------------------------------------


def _jobs_of(deployment: Deployment, task_id: str) -> list[tuple]:
    return deployment.query('SELECT "id", "status", "result", "claimed_by", "attempt" FROM "job" WHERE "task_id" = %s',
                            (task_id,))


def _task_status(deployment: Deployment, task_id: str) -> str:
    return deployment.query('SELECT "status" FROM "task" WHERE "id" = %s', (task_id,))[0][0]


def _worker(deployment: Deployment, name: str):
    return next(worker for worker in deployment.workers if worker.name == name)


@then(parsers.parse('the job of task "{name}" was claimed by worker "{worker}"'))
def _claimed_by(deployment, name, worker):
    rows = deployment.query('SELECT j."claimed_by", j."attempt" FROM "job" AS j '
                            'JOIN "task" AS t ON t."id" = j."task_id" '
                            'WHERE t."name" = %s', (name,))
    assert len(rows) == 1 and rows[0][0].startswith(_worker(deployment, worker).claimed_by_prefix(HOSTNAME)), rows
    assert rows[0][1] == 1, rows


@then(parsers.parse('the response body contains "{text}"'))
def _body_contains(world, text):
    assert text in world.response.text, world.response.text


# --- one task with a process to watch -----------------------------------------------------------------------------


@given("a task is running on the worker that writes its pid to a file and sleeps 60 seconds")
def _sleeper_running(world, deployment):
    pid_file = deployment.exchange / "job.pid"
    token = world.server.admin_token()
    # `exec`: the pid written is the sleep's own, the process the cancel must kill.
    command = f"echo $$ > {pid_file}.tmp && mv {pid_file}.tmp {pid_file} && exec sleep 60"
    response = world.server.send("POST", "/v1/tasks", token=token, body={"input_mode": "commands",
                                                                          "commands": [command]})
    assert response.status == 201, response.body
    task_id = response.json["id"]
    pid = wait_for(lambda: pid_file.exists() and pid_file.read_text(encoding="utf-8").strip(), 20,
                   "the job wrote its pid")
    world.remembered.update(task_id=task_id, pid=int(pid))
    deployment.add_stray(int(pid))  # if the test fails before the job is killed
    assert _task_status(deployment, task_id) == "running"


@when("the admin cancels the task through the gateway")
def _cancel(world):
    world.remembered["canceled_at"] = time.monotonic()
    world.send("POST", f"/v1/tasks/{world.remembered['task_id']}/cancel", token=world.server.admin_token())


@then(parsers.re(r'the task is "(?P<status>[a-z]+)"$'))
def _task_is(world, deployment, status):
    assert _task_status(deployment, world.remembered["task_id"]) == status
    response = world.server.send("GET", f"/v1/tasks/{world.remembered['task_id']}", token=world.server.admin_token())
    assert response.status == 200 and response.json["status"] == status, response.body


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead: only its parent has not reaped it yet
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@then(parsers.parse("the job's process is gone within {seconds:d} seconds"))
def _process_gone(world, seconds):
    pid = world.remembered["pid"]
    wait_for(lambda: not _alive(pid), seconds, f"the job's process {pid} ended after the cancel", interval=0.02)
    print(f"cancel -> job process gone: {time.monotonic() - world.remembered['canceled_at']:.2f} s")


@when(parsers.parse('worker "{name}" is killed with SIGKILL'))
def _kill(deployment, name):
    _worker(deployment, name).kill()


@then(parsers.parse('the task is still "{status}" right after the kill'))
def _still(world, deployment, status):
    assert _task_status(deployment, world.remembered["task_id"]) == status


@then(parsers.parse('within {seconds:d} seconds the task is "{status}" with the lease error'))
def _failed_by_lease(world, deployment, seconds, status):
    task_id = world.remembered["task_id"]
    wait_for(lambda: _task_status(deployment, task_id) == status, seconds, f"the task ended {status}")
    (_id, job_status, result, _by, attempt), = _jobs_of(deployment, task_id)
    assert job_status == "failed" and attempt == 1, (job_status, attempt)
    assert json.loads(result)["error"] == LEASE_EXPIRED, result
    assert any("failed 1 job(s) whose node stopped renewing the lease" in gateway.log()
               for gateway in deployment.gateways), "no gateway's lease keeper logged the failed job"


@then("the surviving processes exit 0 on SIGTERM with no traceback in their logs")
def _clean_exits(world, deployment):
    world.collect_cli_secrets()
    deployment.stop_and_check()


# --- the worker's command line -------------------------------------------------------------------------------------


@when(parsers.parse('I run cynode worker "{args}"'))
def _run_worker(world, args):
    argv = shlex.split(args)
    completed = subprocess.run([*cynode_command(), "worker", *argv], env=with_source(child_environ({})), check=False,
                               timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL, capture_output=True)
    world.result = CliResult(["(worker)", *argv], completed.returncode, completed.stdout.decode("utf-8", "replace"),
                             completed.stderr.decode("utf-8", "replace"))
    assert "Traceback" not in world.result.stderr, world.result.report()


# --- starting at once -------------------------------------------------------------------------------------------------


@then("every gateway answers /readyz with 200")
def _all_ready(deployment):
    for gateway in deployment.gateways:
        response = request(gateway.url, "GET", "/readyz")
        assert response.status == 200 and "gateway only" in response.text, (gateway.url, response.status, response.body)


@then(parsers.parse('the admin sees the nodes "{names}" active'))
def _nodes_active(world, names):
    response = world.server.send("GET", "/v1/nodes", token=world.server.admin_token())
    assert response.status == 200, response.body
    statuses = {node["node_slug"]: node["status"] for node in response.json["nodes"]}
    for name in names.split(", "):
        assert statuses.get(name) == "active", statuses


@then("a command task created through each gateway completes")
def _each_gateway_runs(deployment):
    for number, gateway in enumerate(deployment.gateways):
        token = gateway.admin_token()
        response = gateway.send("POST", "/v1/tasks", token=token,
                                body={"input_mode": "commands", "commands": [f"echo via-gateway-{number}"]})
        assert response.status == 201, response.body
        task_id = response.json["id"]
        wait_for(lambda: _task_status(deployment, task_id) in TERMINAL, 30, f"the task of gateway {number} ended")  # pylint: disable=cell-var-from-loop
        result = gateway.send("GET", f"/v1/tasks/{task_id}/result", token=token)
        assert result.status == 200 and f"via-gateway-{number}" in result.text, result.body
        assert _task_status(deployment, task_id) == "completed"


# --- the scale-out run ------------------------------------------------------------------------------------------------


@when(parsers.re(r"(?P<count>\d+) command tasks, each appending its own line to one file, are created through both "
                 r"gateways from (?P<threads>\d+) client threads, every (?P<every>\d+)th sleeping 5 seconds first"))
def _many_tasks(world, deployment, count, threads, every):
    side_file = deployment.exchange / "side-effect.txt"
    side_file.touch()
    side_file.chmod(0o666)  # jobs of several pool uids append to it
    count, threads, every = int(count), int(threads), int(every)
    tokens = [gateway.admin_token() for gateway in deployment.gateways]
    lines: dict[str, str] = {}  # task id -> its line
    errors: list[str] = []
    lock = threading.Lock()
    started = time.monotonic()

    def create(number: int) -> None:
        gateway = number % len(deployment.gateways)
        line = f"task-{number:05d}"
        command = f"{SLEEPER if number % every == every - 1 else ''}echo {line} >> {side_file}"
        response = request(deployment.gateways[gateway].url, "POST", "/v1/tasks", token=tokens[gateway],
                           body={"input_mode": "commands", "commands": [command]})
        with lock:
            if response.status == 201:
                lines[response.json["id"]] = line
            else:
                errors.append(f"{response.status} {response.body[:200]!r}")

    def client(slot: int) -> None:
        for number in range(slot, count, threads):
            create(number)

    clients = [threading.Thread(target=client, args=(slot,)) for slot in range(threads)]
    for thread in clients:
        thread.start()
    world.remembered.update(lines=lines, side_file=side_file, started=started, clients=clients, errors=errors,
                            count=count)


@when(parsers.parse('worker "{name}" is killed with SIGKILL mid-run while it runs a job'))
def _kill_mid_job(world, deployment, name):
    """Mid-run (a quarter of the tasks done), wait until the worker holds a sleeping job (a quick one could end
    between the look and the kill); one more sleeper is queued whenever none is left for it to take."""
    victim = _worker(deployment, name)
    prefix = victim.claimed_by_prefix(HOSTNAME)
    quarter = world.remembered["count"] // 4
    wait_for(lambda: deployment.query('SELECT count(*) FROM "task" WHERE "status" = \'completed\'')[0][0] >= quarter,
             120, f"{quarter} tasks completed", interval=0.05)

    def holds_sleeper():
        rows = deployment.query('SELECT count(*) FROM "job" WHERE "status" = \'running\' AND "claimed_by" LIKE %s '
                                'AND "payload" LIKE %s', (prefix + "%", "%" + SLEEPER + "%"))
        if rows[0][0]:
            return True
        queued = deployment.query('SELECT count(*) FROM "job" WHERE "status" IN (\'queued\', \'running\') AND '
                                  '"payload" LIKE %s', ("%" + SLEEPER + "%",))[0][0]
        if not queued:  # the other workers took every sleeper: one more (not counted, not in the file)
            gateway = deployment.gateways[0]
            gateway.send("POST", "/v1/tasks", token=gateway.admin_token(),
                         body={"input_mode": "commands", "commands": [SLEEPER + "true"]})
        return False

    wait_for(holds_sleeper, 60, f"worker {name} ran a job", interval=0.05)
    victim.kill()
    # Dead now: the jobs it holds are exactly what it was running (or had just claimed) when it died.
    held = deployment.query('SELECT "id" FROM "job" WHERE "status" = \'running\' AND "claimed_by" LIKE %s',
                            (prefix + "%",))
    world.remembered["killed_jobs"] = {row[0] for row in held}
    assert world.remembered["killed_jobs"], "the killed worker held no running job"


@then(parsers.parse("every task ends within {seconds:d} seconds"))
def _all_end(world, deployment, seconds):
    for thread in world.remembered["clients"]:
        thread.join(seconds)
    assert not world.remembered["errors"], world.remembered["errors"][:5]
    assert len(world.remembered["lines"]) == world.remembered["count"]

    def ended():
        open_tasks = deployment.query('SELECT count(*) FROM "task" WHERE "status" NOT IN (\'completed\', \'failed\', '
                                      '\'canceled\')')[0][0]
        return open_tasks == 0

    wait_for(ended, seconds, "every task ended", interval=0.25)
    statuses = Counter(status for (status,) in deployment.query('SELECT "status" FROM "task"'))
    wall = time.monotonic() - world.remembered["started"]
    print(f"scale-out: {sum(statuses.values())} tasks ended in {wall:.1f} s: {dict(statuses)}")


@then("the jobs the killed worker was running ended failed with the lease error")
def _killed_jobs_failed(world, deployment):
    for job_id in world.remembered["killed_jobs"]:
        (status, result, ended, expired), = deployment.query(
            'SELECT "status", "result", "ended_at", "lease_expires_at" FROM "job" WHERE "id" = %s', (job_id,))
        assert status == "failed" and json.loads(result)["error"] == LEASE_EXPIRED, (job_id, status, result)
        assert ended >= expired, f"job {job_id} was failed at {ended}, before its lease ran out at {expired}"


@then("every other task completed")
def _others_completed(world, deployment):
    rows = deployment.query('SELECT t."id", t."status", j."id" FROM "task" AS t '
                            'JOIN "job" AS j ON j."task_id" = t."id"')
    killed = world.remembered["killed_jobs"]
    wrong = [(task, status) for task, status, job in rows if status != ("failed" if job in killed else "completed")]
    assert not wrong, wrong[:10]
    completed = {task for task, status, _job in rows if status == "completed"}
    world.remembered["completed"] = completed
    print(f"scale-out: {len(completed)} completed, {len(rows) - len(completed)} failed "
          f"(killed worker's jobs: {len(world.remembered['killed_jobs'])})")


@then("the file holds the line of every completed task exactly once and no line twice")
def _lines_once(world):
    written = Counter(world.remembered["side_file"].read_text(encoding="utf-8").splitlines())
    lines = world.remembered["lines"]
    twice = {line: times for line, times in written.items() if times != 1}
    assert not twice, f"lines written more than once: {twice}"
    unknown = set(written) - set(lines.values())
    assert not unknown, f"lines of no task: {sorted(unknown)[:10]}"
    missing = [lines[task] for task in world.remembered["completed"] if task in lines and lines[task] not in written]
    assert not missing, f"completed tasks whose line is missing: {missing[:10]}"
    print(f"scale-out: {sum(written.values())} lines written, 0 duplicates")


@then("no job was claimed twice")
def _claimed_once(deployment):
    rows = deployment.query('SELECT "id", "attempt", "claimed_by" FROM "job"')
    twice = [row for row in rows if row[1] != 1 or not row[2]]
    assert not twice, f"jobs claimed more than once or never: {twice[:10]}"
    by_worker = Counter(re.sub(r":cynode-worker-\d+$", "", row[2]) for row in rows)
    print(f"scale-out: jobs per worker process: {dict(by_worker)}")
