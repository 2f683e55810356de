#!/usr/bin/env python3
"""Task bench: the task API, dispatcher and sandbox against floors measured in the same run (issue 4, "Bench").

  python -m bench.tasks [--runs N] [--jobs N] [--list-requests N] [--small N] [--big N]
                        [--rps-seconds S] [--sandboxes bwrap,process] [--pickups N] [--only postgres] [--json FILE]

Every `cynode serve` runs from this source tree with the real interpreter (sys.executable), on a free loopback
port with its own temp data dir, and is stopped with SIGTERM on the way out whatever happens.

1. create -> completed: POST a `true` command task, poll GET /v1/tasks/{id} every 2 ms until it is finished;
   rounds interleaved with the floors: one bare `subprocess.run(["true"])` and one bare bubblewrap run of
   `true` with exactly the argv and environment BwrapRunner builds for a job (as uid 65534 when root, like it).
   Once with the server on `--sandbox bwrap`, once on `--sandbox process`. An interleaved info variant polls the
   server's SQLite file read-only instead, which shows what the polling requests cost the server.
2. dispatcher-only jobs/s: N trivial tasks queued in a fresh store, then a dispatcher with 4 workers runs them in
   a child process with no HTTP (bench/dispatch.py); against the same floor as 3.
3. jobs/s: N trivial tasks submitted by 4 client threads, first submit to last completion (counted by reading the
   server's SQLite file read-only), against the spawn rate of the same runner's bare command with 4 threads
   (half of the floor runs before, half after the tasks).
4. GET /v1/tasks?limit=50 with 1k and with 100k tasks of one user, filled with bulk SQL before the servers start;
   both servers run at once and the requests alternate between them.
5. authenticated GET /v1/tasks/{id} requests/s (8 keep-alive client threads) against a bare Bottle+waitress app
   with one route reading the same row with peewee from the same SQLite file, same waitress thread count;
   rounds alternate between the two.
6. server RSS (VmRSS, VmHWM) idle after start and after the 100k run.
7. PostgreSQL scale-out (bench/scaleout.py; alone with `--only postgres`): dispatcher-only jobs/s of 1, 2 and 3
   `cynode worker` processes over N queued tasks, against the 1-worker rate; pick-up latency p50/p99 through
   LISTEN/NOTIFY with a gateway `--no-dispatch` and one idle worker. Noted and skipped when no PostgreSQL answers
   (an error with --only postgres).

Prints metric, value, floor, ratio, target and PASS/MISS. It reports; it exits non-zero only when something could
not run.
"""

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this tree's cynode, also from a clone without an editable install

# pylint: disable=wrong-import-position
from bench.common import child_env, free_port, terminate
from bench.measure import (BenchError, Client, Report, Row, cpu_seconds, descendants_pss_kib, median_ms, memory_kib,
                           pct_ms)
from bench.scaleout import postgres_phase
from cynode.dispatch.jobusers import NOGROUP, UidPool
from cynode.dispatch.sandbox import BwrapRunner, Limits, SandboxUnavailable, probe_bwrap
from cynode.server.bootstrap import ADMIN_HANDLE, ensure_admin
from cynode.settings import SPECS
from cynode.store.models import Job, Task
from cynode.store.records import utcnow
from cynode.store.store import Store
# pylint: enable=wrong-import-position

PASSWORD = "bench-" + secrets.token_urlsafe(12)
TRUE_TASK = {"input_mode": "commands", "commands": ["true"]}
TERMINAL = ("completed", "failed", "canceled")
POLL_SECONDS = 0.002  # task status poll interval for the latency rounds
COUNT_POLL_SECONDS = 0.01  # finished-task count poll interval for jobs/s
WARMUP_TASKS = 3
SPAWN_THREADS = 4
SUBMIT_THREADS = 4
RPS_THREADS = 8
RPS_ROUNDS = 3
FILL_BATCH = 5000
READY_TIMEOUT = 60.0
TASK_TIMEOUT = 60.0

# The floor for requests/s: Bottle on waitress, one route reading one task row with peewee (no auth, no log).
FLOOR_APP = '''
import json, logging, sys
import bottle, peewee, waitress

db = peewee.SqliteDatabase(sys.argv[1], timeout=10, pragmas={
    "journal_mode": "wal", "synchronous": "normal", "foreign_keys": 1, "busy_timeout": 10000})

class Task(peewee.Model):
    id = peewee.CharField(primary_key=True)
    owner_id = peewee.CharField()
    name = peewee.CharField()
    input_mode = peewee.CharField()
    prompt = peewee.TextField()
    status = peewee.CharField()
    timeout_seconds = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        database = db
        table_name = "task"

app = bottle.Bottle(autojson=False)

@app.get("/healthz")
def healthz():
    return "ok"

@app.get("/v1/tasks/<ref>")
def get_task(ref):
    row = Task.get_or_none(Task.id == ref)
    if row is None:
        bottle.abort(404)
    bottle.response.content_type = "application/json"
    return json.dumps({"id": row.id, "task_name": row.name, "status": row.status, "input_mode": row.input_mode,
                       "prompt": row.prompt, "created_at": str(row.created_at), "updated_at": str(row.updated_at)})

logging.getLogger("waitress.queue").setLevel(logging.ERROR)
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[2]), threads=int(sys.argv[3]), ident="floor")
'''


class Child:
    """A loopback HTTP server in a child process; a context manager that always SIGTERMs it on exit."""

    def __init__(self, argv: list[str], env: dict, log_path: Path):
        self.argv, self.env, self.log_path = argv, env, log_path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.idle: dict[str, int] = {}

    def __enter__(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped in __exit__
                [arg.replace("{port}", str(self.port)) for arg in self.argv], env=self.env, cwd=ROOT,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready()
            self.idle = memory_kib(self.proc.pid)
            self.ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def ready(self) -> None:
        """Hook run once the child answers; its memory was read just before."""

    def ready_path(self) -> str:
        return "/healthz"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.argv[1]} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                client = Client(self.port)
                if client.call("GET", self.ready_path())[0] == 200:
                    client.close()
                    return
                client.close()
            except BenchError:
                pass
            time.sleep(0.05)
        raise BenchError(f"{self.argv[1]} not ready within {READY_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-15:])

    def memory(self) -> dict[str, int]:
        return memory_kib(self.proc.pid)

    def stop(self) -> None:
        terminate(self.proc)


class Server(Child):
    """`cynode serve` from this tree: fresh port, given data dir, admin password set, login limit out of the way."""

    def __init__(self, data_dir: Path, sandbox: str, http_threads: int):
        env = child_env(CYNODE_ADMIN_PASSWORD=PASSWORD, CYNODE_LOGIN_LIMIT_PER_IP="1000000",
                        CYNODE_SANDBOX=sandbox, CYNODE_WORKERS="4", CYNODE_HTTP_THREADS=str(http_threads))
        super().__init__([sys.executable, "-m", "cynode", "serve", "--listen", "127.0.0.1:{port}",
                          "--data-dir", str(data_dir)], env, data_dir.parent / f"{data_dir.name}.log")
        self.database = data_dir / "cynode.db"
        self.token = ""

    def ready_path(self) -> str:
        return "/readyz"

    def ready(self) -> None:
        client = Client(self.port)
        self.token = client.json("POST", "/v1/auth/login", {"handle": ADMIN_HANDLE, "password": PASSWORD})[
            "access_token"]
        client.close()

    def client(self) -> Client:
        return Client(self.port, self.token)


class FloorApp(Child):
    """The bare Bottle+waitress+peewee app reading one task row from `database`."""

    def __init__(self, tmp: Path, database: Path, http_threads: int):
        script = tmp / "floor_app.py"
        script.write_text(FLOOR_APP, encoding="utf-8")
        super().__init__([sys.executable, str(script), str(database), "{port}", str(http_threads)], child_env(),
                         tmp / "floor_app.log")


class StoreReader:
    """A read-only look at a server's SQLite file: counting finished tasks costs the server nothing."""

    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True, timeout=10, check_same_thread=False)

    def finished(self) -> tuple[int, int]:
        """(finished tasks, of which not completed)."""
        row = self.conn.execute("SELECT COALESCE(SUM(status IN ('completed', 'failed', 'canceled')), 0), "
                                "COALESCE(SUM(status IN ('failed', 'canceled')), 0) FROM task").fetchone()
        return row[0], row[1]

    def status(self, task_id: str) -> str:
        return self.conn.execute("SELECT status FROM task WHERE id = ?", (task_id,)).fetchone()[0]

    def phases(self, task_ids: list[str]) -> tuple[list[float], list[float]]:
        """Per task, from the stored timestamps: created -> job started (pick-up), job started -> ended."""
        marks = ",".join("?" * len(task_ids))
        rows = self.conn.execute(f"SELECT t.created_at, j.started_at, j.ended_at FROM task t JOIN job j "
                                 f"ON j.task_id = t.id WHERE t.id IN ({marks})", task_ids).fetchall()
        stamps = [[datetime.fromisoformat(value) for value in row] for row in rows if all(row)]
        return ([(s - c).total_seconds() for c, s, _ in stamps], [(e - s).total_seconds() for _, s, e in stamps])

    def close(self) -> None:
        self.conn.close()


# floors -------------------------------------------------------------------------------------------------------


def bare_true() -> float:
    started = time.perf_counter()
    subprocess.run(["true"], check=True)
    return time.perf_counter() - started


class BareBwrap:
    """One bubblewrap run of `true` with the argv and environment BwrapRunner builds for a job (setpriv to uid
    65534 inside when root), without the runner's pipes, rlimits and supervision."""

    def __init__(self, tmp: Path):
        probe_bwrap()  # SandboxUnavailable when bubblewrap cannot run here
        runner = BwrapRunner(shutil.which("bwrap"))
        self.workdir = tmp / "bwrap-floor"
        self.workdir.mkdir()
        # As the server's jobs run when root: a job uid held (flock) for the bench's life, so that no server
        # starting meanwhile on this host takes its process for a crashed job's leftover and kills it.
        self.pool = UidPool() if os.geteuid() == 0 else None
        user = (self.pool.acquire(), NOGROUP) if self.pool else None
        if user:
            os.chown(self.workdir, *user)
        self.argv, _ = runner._command(["true"], self.workdir, {}, user, Limits())  # pylint: disable=protected-access
        self.env = runner._env({}, self.workdir)  # pylint: disable=protected-access

    def __call__(self) -> float:
        started = time.perf_counter()
        subprocess.run(self.argv, env=self.env, cwd=self.workdir, stdin=subprocess.DEVNULL, check=True)
        return time.perf_counter() - started


def spawn_seconds(run_one, count: int, threads: int = SPAWN_THREADS) -> float:
    """Wall time for `threads` threads to call run_one `count` times in all."""
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: run_one(), range(count)))
    return time.perf_counter() - started


# 1 + 2: a server per sandbox ----------------------------------------------------------------------------------


class TaskProbe:
    """create -> completed of one `true` command task, as a client sees it: polling GET /v1/tasks/{id}, or (with
    a reader) the server's SQLite file, which shows what the polling requests themselves cost the server."""

    def __init__(self, client: Client, reader: StoreReader | None = None):
        self.client, self.reader = client, reader
        self.ids: list[str] = []

    def status(self, task_id: str) -> str:
        if self.reader:
            return self.reader.status(task_id)
        return self.client.json("GET", f"/v1/tasks/{task_id}")["status"]

    def __call__(self) -> float:
        started = time.perf_counter()
        task_id = self.client.json("POST", "/v1/tasks", TRUE_TASK, expect=201)["id"]
        while (status := self.status(task_id)) not in TERMINAL:
            if time.perf_counter() - started > TASK_TIMEOUT:
                raise BenchError(f"task {task_id} still {status} after {TASK_TIMEOUT:.0f} s")
            time.sleep(POLL_SECONDS)
        elapsed = time.perf_counter() - started
        if status != "completed":
            raise BenchError(f"task {task_id} ended {status}, expected completed")
        self.ids.append(task_id)
        return elapsed


def interleaved(probes: dict, runs: int) -> dict[str, list[float]]:
    """`runs` rounds of every probe, the order rotated each round so drift hits all alike."""
    names = list(probes)
    samples = {name: [] for name in names}
    for number in range(runs):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(probes[name]())
    return samples


def phase_rows(report: Report, label: str, floor: list[float], pickup: list[float], run: list[float]) -> None:
    """Job started -> ended against the bare spawn of the same runner (`floor`), and pick-up p50/p99."""
    floor_name = "bare bwrap `true`" if label == "bwrap" else "bare `true`"
    report.add(Row(f"job started -> ended median vs {floor_name} [{label}]", median_ms(run), "ms", median_ms(floor)),
               Row(f"pick-up (created -> job started) p50 [{label}]", median_ms(pickup), "ms"),
               Row(f"pick-up (created -> job started) p99 [{label}]", pct_ms(pickup, 0.99), "ms"))
    report.note(f"[{label}] job started -> ended is {median_ms(run) - median_ms(floor):+.2f} ms from the {floor_name} "
                f"median (issue 11 target for process: within 3 ms)")


def latency(server: Server, bwrap: BareBwrap | None, runs: int, label: str, report: Report) -> None:
    reader = StoreReader(server.database)
    probe, quiet = TaskProbe(server.client()), TaskProbe(server.client(), reader)
    for _ in range(WARMUP_TASKS):
        probe()
    probe.ids.clear()
    probes = {"task": probe, "quiet": quiet, "true": bare_true, **({"bwrap": bwrap} if bwrap else {})}
    samples = interleaved(probes, runs)
    task = samples["task"]
    metric = f"create->completed `true` task [{label}]"
    if bwrap:
        report.add(Row(f"{metric} median", median_ms(task), "ms", median_ms(samples["bwrap"]),
                       ("<=", 2.0 if label == "bwrap" else 3.0)),
                   Row(f"{metric} p90", pct_ms(task, 0.9), "ms", pct_ms(samples["bwrap"], 0.9), ("<=", 3.0)))
    report.add(Row(f"{metric} median vs bare subprocess", median_ms(task), "ms", median_ms(samples["true"])))
    if bwrap:
        report.add(Row(f"{metric} median, polled in the db file", median_ms(samples["quiet"]), "ms",
                       median_ms(samples["bwrap"])))
    pickup, run = reader.phases(probe.ids)
    reader.close()
    phase_rows(report, label, samples["bwrap"] if label == "bwrap" else samples["true"], pickup, run)
    report.note(f"[{label}] {runs} tasks: client-seen median {median_ms(task):.1f} ms = pick-up (created -> job "
                f"started, stored stamps) median {median_ms(pickup):.1f} ms + job started -> ended median "
                f"{median_ms(run):.1f} ms + HTTP/poll rest; floors: bare true median {median_ms(samples['true']):.2f}"
                f" ms" + (f", bare bwrap median {median_ms(samples['bwrap']):.2f} ms" if bwrap else ""))
    probe.client.close()
    quiet.client.close()


def submit(server: Server, count: int) -> float:
    """POST `count` tasks over one connection; returns when the last one was accepted (perf_counter)."""
    client = server.client()
    try:
        for _ in range(count):
            client.json("POST", "/v1/tasks", TRUE_TASK, expect=201)
    finally:
        client.close()
    return time.perf_counter()


def wait_finished(reader: StoreReader, target: int, futures: list, timeout: float) -> float:
    """Poll the finished-task count until it reaches `target`; returns when (perf_counter). A failed submitter
    or the timeout raises."""
    deadline = time.perf_counter() + timeout
    while reader.finished()[0] < target:
        for future in futures:
            if future.done() and future.exception():
                raise future.exception()
        if time.perf_counter() > deadline:
            raise BenchError(f"tasks not finished within {timeout:.0f} s")
        time.sleep(COUNT_POLL_SECONDS)
    return time.perf_counter()


def task_throughput(server: Server, count: int) -> tuple[float, float, int, tuple[float, float]]:
    """(tasks finished per second, tasks accepted per second, how many did not complete, server CPU seconds per
    task: its own and its jobs')."""
    reader = StoreReader(server.database)
    cpu_before = cpu_seconds(server.proc.pid)
    done_before, bad_before = reader.finished()
    shares = [count // SUBMIT_THREADS + (i < count % SUBMIT_THREADS) for i in range(SUBMIT_THREADS)]
    started = time.perf_counter()
    with ThreadPoolExecutor(SUBMIT_THREADS) as pool:
        futures = [pool.submit(submit, server, share) for share in shares]
        finished = wait_finished(reader, done_before + count, futures, max(120.0, count * 0.2))
        accepted = max(future.result() for future in futures)
    bad = reader.finished()[1] - bad_before
    reader.close()
    cpu = [(after - before) / count for before, after in zip(cpu_before, cpu_seconds(server.proc.pid))]
    return count / (finished - started), count / (accepted - started), bad, (cpu[0], cpu[1])


def throughput(server: Server, spawn, count: int, label: str, report: Report) -> None:
    floor_seconds = spawn_seconds(spawn, count // 2)
    rate, accept_rate, bad, cpu = task_throughput(server, count)
    floor_seconds += spawn_seconds(spawn, count - count // 2)
    floor_name = "bwrap `true`" if label == "bwrap" else "`true`"
    report.add(Row(f"jobs/s, {count} `true` tasks, 4 workers [{label}]", rate, "/s", count / floor_seconds,
                   (">=", 0.5)))
    report.note(f"[{label}] jobs/s floor: {floor_name} with {SPAWN_THREADS} threads, {count} runs; tasks accepted "
                f"at {accept_rate:.0f}/s by {SUBMIT_THREADS} client threads; server CPU per task {cpu[0] * 1000:.1f} ms"
                f" (Python: HTTP, store, dispatch) + {cpu[1] * 1000:.1f} ms in its jobs (user+sys)"
                + (f"; {bad} did not complete" if bad else ""))
    if bad:
        raise BenchError(f"[{label}] {bad} of {count} tasks did not complete")


def dispatcher_only(tmp: Path, sandbox: str, spawn, count: int, report: Report) -> None:
    """`count` tasks queued before 4 workers start, in a child process running only the dispatcher
    (bench/dispatch.py), against the bare spawn rate of the same runner with 4 threads (half before, half after)."""
    data_dir = tmp / f"dispatch-{sandbox}"
    data_dir.mkdir()
    floor_seconds = spawn_seconds(spawn, count // 2)
    done = subprocess.run([sys.executable, "-m", "bench.dispatch", str(data_dir), sandbox, str(count), "4"], cwd=ROOT,
                          env=child_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    floor_seconds += spawn_seconds(spawn, count - count // 2)
    if done.returncode != 0:
        raise BenchError(f"[{sandbox}] dispatcher-only run failed: {done.stderr[-2000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    if found["bad"]:
        raise BenchError(f"[{sandbox}] dispatcher-only: {found['bad']} of {count} tasks did not complete")
    target = (">=", 0.6) if sandbox == "bwrap" else None
    report.add(Row(f"dispatcher-only jobs/s, {count} queued `true` tasks, 4 workers [{sandbox}]",
                   count / found["seconds"], "/s", count / floor_seconds, target))
    report.note(f"[{sandbox}] dispatcher-only: no HTTP; dispatcher CPU per job {found['cpu'] * 1000:.1f} ms + "
                f"{found['children_cpu'] * 1000:.1f} ms in its jobs; floor: the same bare spawn with "
                f"{SPAWN_THREADS} threads" + (" (issue 11 target for process: >= 300 jobs/s)"
                                               if sandbox != "bwrap" else ""))


def sandbox_phase(tmp: Path, sandbox: str, bwrap: BareBwrap | None, args, report: Report) -> None:
    if sandbox == "bwrap" and bwrap is None:
        raise BenchError("bwrap phase skipped: bubblewrap cannot run here")
    print(f"\n== dispatcher only, --sandbox {sandbox}", flush=True)
    dispatcher_only(tmp, sandbox, bwrap if sandbox == "bwrap" else bare_true, args.jobs, report)
    print(f"\n== server with --sandbox {sandbox}", flush=True)
    with Server(tmp / f"data-{sandbox}", sandbox, args.http_threads) as server:
        report.add(Row(f"server RSS idle after start [{sandbox}]", server.idle["VmRSS"] / 1024, "MiB"))
        latency(server, bwrap, args.runs, sandbox, report)
        throughput(server, bwrap if sandbox == "bwrap" else bare_true, args.jobs, sandbox, report)
        memory = server.memory()
        report.add(Row(f"server RSS after {args.jobs} jobs [{sandbox}]", memory["VmRSS"] / 1024, "MiB"),
                   Row(f"server VmHWM after {args.jobs} jobs [{sandbox}]", memory["VmHWM"] / 1024, "MiB"),
                   Row(f"job fork server + spares PSS after {args.jobs} jobs [{sandbox}]",
                       descendants_pss_kib(server.proc.pid) / 1024, "MiB"))


# 3 + 4 + 5: big database --------------------------------------------------------------------------------------


def _insert(conn: sqlite3.Connection, table: str, rows: list[dict]) -> None:
    columns = list(rows[0])
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
                     rows)


def _rows(owner: str, start: int, stop: int, base: datetime) -> tuple[list[dict], list[dict]]:
    tasks, jobs = [], []
    for number in range(start, stop):
        task_id, moment = str(uuid.uuid4()), str(base + timedelta(milliseconds=number))
        tasks.append({"id": task_id, "owner_id": owner, "name": f"bulk-{number:06d}", "input_mode": "commands",
                      "prompt": "true", "status": "completed", "created_at": moment, "updated_at": moment})
        jobs.append({"id": str(uuid.uuid4()), "task_id": task_id, "owner_id": owner, "seq": 0, "kind": "command",
                     "payload": '{"command": "true"}', "status": "completed", "created_at": moment,
                     "started_at": moment, "ended_at": moment})
    return tasks, jobs


def fill(data_dir: Path, count: int) -> str:
    """A migrated database with `admin` owning `count` finished tasks (one job each); returns the newest id.

    The schema and the admin come from the store itself; the rows go in as bulk SQL (peewee's insert_many is
    ~4x slower here), in batches, one transaction each.
    """
    store = Store("sqlite:///" + str(data_dir / "cynode.db"))
    try:
        store.migrate()
        ensure_admin(store, PASSWORD, lambda _text: None)
        owner = store.user_by_handle(ADMIN_HANDLE).id
    finally:
        store.close()
    if {Task._meta.table_name, Job._meta.table_name} != {"task", "job"}:  # pylint: disable=protected-access
        raise BenchError("the task/job table names changed: update bench/tasks.py fill()")
    base = utcnow() - timedelta(milliseconds=count)
    with sqlite3.connect(data_dir / "cynode.db") as conn:
        conn.execute("PRAGMA cache_size = -262144")
        for start in range(0, count, FILL_BATCH):
            tasks, jobs = _rows(owner, start, min(count, start + FILL_BATCH), base)
            _insert(conn, "task", tasks)
            _insert(conn, "job", jobs)
            conn.commit()
    conn.close()
    return tasks[-1]["id"]


def list_latency(servers: dict[str, Server], requests: int, report: Report) -> None:
    clients = {name: server.client() for name, server in servers.items()}

    def probe(client: Client):
        def run() -> float:
            started = time.perf_counter()
            body = client.json("GET", "/v1/tasks?limit=50")
            elapsed = time.perf_counter() - started
            if len(body["tasks"]) != 50 or "next_cursor" not in body:
                raise BenchError("GET /v1/tasks?limit=50 did not return a full first page")
            return elapsed
        return run

    interleaved({name: probe(client) for name, client in clients.items()}, 20)  # warm-up
    samples = interleaved({name: probe(client) for name, client in clients.items()}, requests)
    (small, small_s), (big, big_s) = samples.items()
    metric = "GET /v1/tasks?limit=50"
    report.add(Row(f"{metric} median, {small} tasks", median_ms(small_s), "ms"),
               Row(f"{metric} p99, {small} tasks", pct_ms(small_s, 0.99), "ms"),
               Row(f"{metric} median, {big} tasks", median_ms(big_s), "ms", median_ms(small_s)),
               Row(f"{metric} p99, {big} tasks", pct_ms(big_s, 0.99), "ms", pct_ms(small_s, 0.99), ("<=", 1.5)))
    report.note(f"list: {requests} requests to each server, alternating; floor of the {big} rows is the {small} "
                f"server's same statistic")
    for client in clients.values():
        client.close()


def hammer(port: int, path: str, headers: dict, seconds: float) -> tuple[int, float]:
    """(requests answered 200, elapsed) for RPS_THREADS keep-alive clients looping on GET path for `seconds`."""
    counts = [0] * RPS_THREADS
    stop_at = time.perf_counter() + seconds

    def loop(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while time.perf_counter() < stop_at:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    raise BenchError(f"GET {path} on port {port}: HTTP {response.status}")
                counts[slot] += 1
        finally:
            conn.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(RPS_THREADS) as pool:
        for future in [pool.submit(loop, slot) for slot in range(RPS_THREADS)]:
            future.result()
    return sum(counts), time.perf_counter() - started


def alternating_rps(targets: dict[str, tuple[int, dict]], path: str, seconds: float) -> dict[str, float]:
    """Requests/s of GET path per target (port, headers): RPS_ROUNDS rounds each, in the order A B B A A B."""
    totals = {name: [0, 0.0] for name in targets}
    names = list(targets)
    for number in range(RPS_ROUNDS * len(names)):
        name = names[(number + number // 2) % 2] if len(names) == 2 else names[number % len(names)]
        port, headers = targets[name]
        done, elapsed = hammer(port, path, headers, seconds)
        totals[name][0] += done
        totals[name][1] += elapsed
    return {name: done / elapsed for name, (done, elapsed) in totals.items()}


def requests_per_second(server: Server, floor: FloorApp, task_id: str, seconds: float, report: Report) -> None:
    rate = alternating_rps({"server": (server.port, {"Authorization": f"Bearer {server.token}"}),
                            "floor": (floor.port, {})}, f"/v1/tasks/{task_id}", seconds)
    health, health_seconds = hammer(server.port, "/healthz", {}, seconds)
    report.add(Row(f"GET /v1/tasks/{{id}} req/s, {RPS_THREADS} client threads", rate["server"], "/s",
                   rate["floor"], (">=", 0.6)),
               Row("GET /healthz req/s, same server and client (reference)", health / health_seconds, "/s",
                   rate["floor"]))
    report.note(f"req/s: {RPS_ROUNDS} rounds of {seconds:g} s each, alternating server and floor; floor = bare "
                f"Bottle+waitress ({server.env['CYNODE_HTTP_THREADS']} threads) + one peewee row read, same row, "
                f"same SQLite file; clients: {RPS_THREADS} threads of http.client keep-alive in this process")


def database_phase(tmp: Path, args, report: Report) -> None:
    print(f"\n== list latency with {args.small} and {args.big} tasks; requests/s; RSS", flush=True)
    dirs = {args.small: tmp / f"data-{args.small}", args.big: tmp / f"data-{args.big}"}
    started = time.perf_counter()
    ids = {size: fill(path, size) for size, path in dirs.items()}
    report.note(f"filled {args.small} + {args.big} tasks (+1 job each) in {time.perf_counter() - started:.1f} s")
    with Server(dirs[args.small], "process", args.http_threads) as small, \
            Server(dirs[args.big], "process", args.http_threads) as big, \
            FloorApp(tmp, big.database, args.http_threads) as floor:
        list_latency({args.small: small, args.big: big}, args.list_requests, report)
        requests_per_second(big, floor, ids[args.big], args.rps_seconds, report)
        after, floor_after = big.memory(), floor.memory()
    report.add(Row(f"server RSS idle after start ({args.big} tasks)", big.idle["VmRSS"] / 1024, "MiB",
                   floor.idle["VmRSS"] / 1024),
               Row(f"server RSS after the {args.big}-task list + req/s run", after["VmRSS"] / 1024, "MiB",
                   floor_after["VmRSS"] / 1024),
               Row(f"server VmHWM after the {args.big}-task run", after["VmHWM"] / 1024, "MiB",
                   floor_after["VmHWM"] / 1024))
    report.note("RSS floor: the bare Bottle+waitress+peewee app; server HWM includes login's scrypt (32 MiB)")


# main ---------------------------------------------------------------------------------------------------------


def parse_args(argv):
    default_threads = next(spec.default for spec in SPECS if spec.name == "http_threads")
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=30, help="create -> completed rounds per sandbox")
    parser.add_argument("--jobs", type=int, default=500, help="tasks for jobs/s")
    parser.add_argument("--small", type=int, default=1000, help="tasks in the small list database")
    parser.add_argument("--big", type=int, default=100_000, help="tasks in the big list database")
    parser.add_argument("--list-requests", type=int, default=400, help="list requests per database")
    parser.add_argument("--rps-seconds", type=float, default=3.0, help="seconds per requests/s round")
    parser.add_argument("--http-threads", type=int, default=default_threads, help="waitress threads, both apps")
    parser.add_argument("--sandboxes", default="bwrap,process", help="comma-separated: bwrap, process")
    parser.add_argument("--pickups", type=int, default=200, help="tasks created one at a time for PG pick-up latency")
    parser.add_argument("--only", choices=["postgres"], help="run only this phase (postgres: the scale-out phase, "
                        "bench/scaleout.py, on a private database of CYNODE_TEST_PG_URL)")
    parser.add_argument("--json", help="also write the results to this file")
    return parser.parse_args(argv)


def _terminate(_signum, _frame):
    raise SystemExit(143)  # unwinds the with-blocks, so every server gets its SIGTERM


def run_all(tmp: Path, args, report: Report) -> None:
    if args.only == "postgres":
        phases = []
    else:
        try:
            bwrap = BareBwrap(tmp)
        except SandboxUnavailable as exc:
            bwrap = None
            report.note(f"no bubblewrap floor: {exc}")
        phases = [(f"sandbox {name}", lambda name=name: sandbox_phase(tmp, name, bwrap, args, report))
                  for name in args.sandboxes.split(",") if name]
        phases.append(("database", lambda: database_phase(tmp, args, report)))
    phases.append(("postgres", lambda: postgres_phase(tmp, args, report, required=args.only == "postgres")))
    for title, phase in phases:
        try:
            phase()
        except BenchError as exc:
            report.errors.append(f"{title}: {exc}")
            print(f"  ! {title}: {exc}", flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    report = Report()
    started = time.perf_counter()
    print(f"cynode task bench: {sys.executable} ({sys.version.split()[0]}), {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="cynode-bench-") as tmp:
        run_all(Path(tmp), args, report)
    report.print()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
