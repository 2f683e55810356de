"""The PostgreSQL phase of bench/tasks.py (`python -m bench.tasks --only postgres`): scale-out on one database.

1. dispatcher-only jobs/s with 1, 2 and 3 `cynode worker` processes (4 threads each, `--sandbox process`: the
   bare process runner, as root), each count on a private database with N `true` command tasks already queued
   (inserted through the store under a user kept inactive, so nothing is claimable yet). Once every worker has
   logged `ready`, the user is activated and `cynode_jobs` is notified: the clock runs from there to the last
   task finished (counted with a read-only query every 10 ms), so process start-up is not in the rate. 2 and 3
   workers are reported against the 1-worker rate measured in the same run (target: 3 workers >= 1.5x).
2. pick-up latency through LISTEN/NOTIFY: a gateway `serve --no-dispatch` and one idle worker; `true` tasks
   created one at a time over HTTP (keep-alive), each waited for until it ends, so the worker is idle again;
   pick-up = the job's started_at (stamped by the worker's claim) - the task's created_at (stamped by the gateway
   before its commit), both from the database. Target p50 <= 5 ms (the floor column holds that target: the
   1 s poll is all a worker would have without the notification).
"""

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from bench.common import child_env, free_port, terminate
from bench.measure import BenchError, Client, Report, Row, cpu_seconds, pct_ms
from cynode.server.bootstrap import ADMIN_HANDLE
from cynode.store.store import Store
from tests.support.pg import PrivateDatabase, base_url, connect

WORKER_THREADS = 4
WORKER_COUNTS = (1, 2, 3)
PICKUP_TARGET_MS = 5.0
PASSWORD = "bench-" + secrets.token_urlsafe(12)
READY_TIMEOUT = 60.0
TERMINAL = ("completed", "failed", "canceled")
COUNT_POLL_SECONDS = 0.01
ROUND_POLL_SECONDS = 0.001
RUN_TIMEOUT = 300.0
ROOT = Path(__file__).resolve().parent.parent


class Process:
    """`cynode <command> ARGS` from this tree in a child process, logging to a file; SIGTERMed on exit."""

    def __init__(self, args: list[str], env: dict, log_path: Path, ready_text: str):
        self.args, self.env, self.log_path, self.ready_text = args, env, log_path, ready_text
        self.proc: subprocess.Popen | None = None

    def launch(self) -> "Process":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped in stop()
                [sys.executable, "-m", "cynode", *self.args], env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT)
        return self

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while self.ready_text not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(self.log().splitlines()[-15:])
                raise BenchError(f"cynode {self.args[0]} not ready (exit {self.proc.poll()}):\n{tail}")
            time.sleep(0.02)

    def stop(self) -> None:
        terminate(self.proc)


def _worker(url: str, data_dir: Path, name: str) -> Process:
    env = child_env(CYNODE_DATABASE=url, CYNODE_DATA_DIR=str(data_dir))
    return Process(["worker", "--sandbox", "process", "--workers", str(WORKER_THREADS), "--node-name", name], env,
                   data_dir.parent / f"{data_dir.name}-{name}.log", f"worker {name} ready:")


def _scalar(conn, sql: str, params: tuple = ()):
    cursor = conn.cursor()
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def _private_database() -> PrivateDatabase:
    try:
        return PrivateDatabase(connect(base_url()))
    except Exception as exc:  # pylint: disable=broad-exception-caught  # any failure to connect: cannot run
        raise BenchError(f"PostgreSQL not reachable at {base_url()} (set CYNODE_TEST_PG_URL): {exc}") from None


def _cpu(processes: list[Process]) -> tuple[float, float]:
    """CPU seconds of these processes so far: their own, and their reaped children's (the jobs)."""
    readings = [cpu_seconds(process.proc.pid) for process in processes]
    return sum(own for own, _ in readings), sum(children for _, children in readings)


def _fill(url: str, count: int) -> str:
    """Migrate, and queue `count` `true` tasks of a new user, who is inactive: nothing is claimable yet."""
    store = Store(url)
    try:
        store.migrate()
        owner = store.create_user("bench-pg", None).id
        for _ in range(count):
            store.create_task(owner, None, "commands", "true", [("command", {"command": "true"})])
    finally:
        store.close()
    conn = connect(url)
    conn.cursor().execute('UPDATE "user" SET "is_active" = false WHERE "id" = %s', (owner,))
    conn.close()
    return owner


def _wait_all_ended(conn, count: int, started: float, who: str) -> float:
    """Seconds from `started` until all `count` tasks ended."""
    terminal = "', '".join(TERMINAL)
    while _scalar(conn, f"SELECT count(*) FROM \"task\" WHERE \"status\" IN ('{terminal}')") < count:
        if time.perf_counter() > started + RUN_TIMEOUT:
            raise BenchError(f"{who}: not all {count} tasks ended within {RUN_TIMEOUT:.0f} s")
        time.sleep(COUNT_POLL_SECONDS)
    return time.perf_counter() - started


def queued_rate(tmp: Path, workers: int, count: int) -> tuple[float, float, float]:
    """Jobs/s of `workers` worker processes over `count` tasks queued before they start (see the module doc), and
    their CPU seconds per job over the run: the workers' own (Python: claim, run, store) and their jobs'."""
    database = _private_database()
    processes = []
    try:
        owner = _fill(database.url, count)
        data_dir = tmp / f"pg-workers-{workers}"
        data_dir.mkdir()
        processes = [_worker(database.url, data_dir, f"bench-w{number}").launch() for number in range(workers)]
        for process in processes:
            process.wait_ready()
        cpu_before = _cpu(processes)
        conn = connect(database.url)
        started = time.perf_counter()
        conn.cursor().execute('UPDATE "user" SET "is_active" = true WHERE "id" = %s', (owner,))
        for _ in range(WORKER_THREADS):  # separate commits: each is delivered, so every idle thread wakes
            conn.cursor().execute("NOTIFY cynode_jobs")
        elapsed = _wait_all_ended(conn, count, started, f"{workers} worker(s)")
        cpu_after = _cpu(processes)
        bad = _scalar(conn, "SELECT count(*) FROM \"task\" WHERE \"status\" <> 'completed'")
        claimers = _scalar(conn, 'SELECT count(DISTINCT split_part("claimed_by", \':\', 2)) FROM "job"')
        conn.close()
        if bad:
            raise BenchError(f"{workers} worker(s): {bad} of {count} tasks did not complete")
        if claimers != workers:
            raise BenchError(f"{workers} worker(s): only {claimers} of them claimed jobs")
        return count / elapsed, (cpu_after[0] - cpu_before[0]) / count, (cpu_after[1] - cpu_before[1]) / count
    finally:
        for process in processes:
            process.stop()
        database.close()


def pickup_latency(tmp: Path, rounds: int) -> list[float]:
    """Seconds from a task's creation to its job's claim, `rounds` times (see the module doc)."""
    database = _private_database()
    data_dir = tmp / "pg-pickup"
    data_dir.mkdir()
    port = free_port()
    gateway = Process(["serve", "--no-dispatch", "--listen", f"127.0.0.1:{port}"],
                      child_env(CYNODE_DATABASE=database.url, CYNODE_DATA_DIR=str(data_dir),
                                CYNODE_ADMIN_PASSWORD=PASSWORD, CYNODE_LOGIN_LIMIT_PER_IP="1000000"),
                      tmp / "pg-pickup-gateway.log", "")  # ready: /readyz answers 200
    processes = []
    try:
        processes.append(gateway.launch())
        _wait_http(port, gateway)
        worker = _worker(database.url, data_dir, "bench-pickup")
        processes.append(worker.launch())
        worker.wait_ready()
        time.sleep(1.5)  # the worker's threads are idle in their wait, its listener on LISTEN
        return _pickups(port, database.url, rounds)
    finally:
        for process in reversed(processes):
            process.stop()
        database.close()


def _pickups(port: int, url: str, rounds: int) -> list[float]:
    login = Client(port)
    token = login.json("POST", "/v1/auth/login", {"handle": ADMIN_HANDLE, "password": PASSWORD})["access_token"]
    login.close()
    client = Client(port, token)
    conn = connect(url)
    samples = []
    try:
        for _ in range(rounds):
            task_id = client.json("POST", "/v1/tasks", {"input_mode": "commands", "commands": ["true"]}, 201)["id"]
            deadline = time.monotonic() + 30
            while _scalar(conn, 'SELECT "status" FROM "task" WHERE "id" = %s', (task_id,)) not in TERMINAL:
                if time.monotonic() > deadline:
                    raise BenchError(f"pick-up: task {task_id} did not end within 30 s")
                time.sleep(ROUND_POLL_SECONDS)
            samples.append(float(_scalar(
                conn, 'SELECT EXTRACT(EPOCH FROM (j."started_at" - t."created_at")) FROM "job" AS j '
                'JOIN "task" AS t ON t."id" = j."task_id" WHERE t."id" = %s', (task_id,))))
    finally:
        client.close()
        conn.close()
    return samples


def _wait_http(port: int, process: Process) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise BenchError(f"cynode serve exited with {process.proc.returncode}:\n{process.log()[-2000:]}")
        try:
            client = Client(port)
            status = client.call("GET", "/readyz")[0]
            client.close()
            if status == 200:
                return
        except BenchError:
            pass
        time.sleep(0.05)
    raise BenchError(f"cynode serve --no-dispatch not ready within {READY_TIMEOUT:.0f} s")


def postgres_phase(tmp: Path, args, report: Report, required: bool = True) -> None:
    """Both parts; without PostgreSQL, an error when `required`, else a note."""
    try:
        _private_database().close()
    except BenchError as exc:
        if required:
            raise
        report.note(f"PostgreSQL phase skipped: {exc}")
        return
    print(f"\n== PostgreSQL scale-out: {args.jobs} queued tasks on 1, 2, 3 workers; pick-up latency", flush=True)
    rates = {}
    for workers in WORKER_COUNTS:
        rates[workers], cpu, jobs_cpu = queued_rate(tmp, workers, args.jobs)
        print(f"  {workers} worker(s): {rates[workers]:.1f} jobs/s", flush=True)
        report.note(f"PG {workers} worker(s): CPU per job {cpu * 1000:.1f} ms in the workers (Python) + "
                    f"{jobs_cpu * 1000:.1f} ms in their jobs (user+sys)")
    for workers in WORKER_COUNTS:
        target = (">=", 1.5) if workers == 3 else None
        report.add(Row(f"PG dispatcher-only jobs/s, {args.jobs} queued, {workers} worker proc x{WORKER_THREADS} "
                       "[process]", rates[workers], "/s", rates[1] if workers > 1 else None, target))
    report.note(f"PG jobs/s: `cynode worker --sandbox process --workers {WORKER_THREADS}` processes on one private "
                "database; floor of 2 and 3 workers = the 1-worker rate of this run; clock from the tasks becoming "
                f"claimable (all workers ready) to the last ended; {os.cpu_count()} CPUs shared by the workers, "
                "PostgreSQL and their jobs")
    samples = pickup_latency(tmp, args.pickups)
    report.add(Row(f"PG pick-up p50 via LISTEN/NOTIFY, {len(samples)} tasks one at a time", pct_ms(samples, 0.5),
                   "ms", PICKUP_TARGET_MS, ("<=", 1.0)),
               Row(f"PG pick-up p99 via LISTEN/NOTIFY, {len(samples)} tasks one at a time", pct_ms(samples, 0.99),
                   "ms"))
    report.note(f"PG pick-up: job started_at - task created_at (database stamps), gateway --no-dispatch + one idle "
                f"worker; the floor column of p50 is its {PICKUP_TARGET_MS:g} ms target; max "
                f"{max(samples) * 1000:.1f} ms")
