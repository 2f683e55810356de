"""Job queries used by the dispatcher: atomic claim, guarded result write, crash recovery."""

import functools
import json
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta

import peewee

from cynode.store.models import Job, Task, User
from cynode.store.prepared import Prepared
from cynode.store.records import ClaimedJob, JobRecord, utcnow
from cynode.store.tasks import TERMINAL

CLOCK_CHECK_SECONDS = 60.0  # how often a process reads the database's clock again (drift is far slower)
MAX_CLAIM_ATTEMPTS = 16  # each retry follows another claimer's commit, so this is never reached in practice
_RETRY = object()


class JobQueries:
    """Mixed into Store; `self.db` is the open database, `self.backend` 'sqlite' or 'postgresql'. The artifact
    queries come from TaskQueries."""

    db: peewee.Database
    backend: str
    artifacts_for_task: Callable[[str], list]
    add_artifacts: Callable[[str, Iterable], None]

    _clock_offset: timedelta | None = None  # the database's clock minus ours, as last read
    _clock_read_at = 0.0  # time.monotonic() then

    def db_now(self):
        """Now by the database's clock (naive UTC), for the job times processes on several hosts compare: a lease
        written by one node is judged expired by another, so a host whose clock is off must not fail the jobs of
        the rest. SQLite serves one host: our clock is the database's."""
        if self.backend != "postgresql":
            return utcnow()
        if self._clock_offset is None or time.monotonic() - self._clock_read_at > CLOCK_CHECK_SECONDS:
            before = utcnow()
            server = self.db.execute_sql("SELECT clock_timestamp() AT TIME ZONE 'UTC'").fetchone()[0]
            self._clock_offset = server - before - (utcnow() - before) / 2  # half the round trip
            self._clock_read_at = time.monotonic()
        return utcnow() + self._clock_offset

    @functools.cached_property
    def _claim_candidates(self) -> str:
        """Active users with a claimable job and below the running cap (param: the cap twice, 0 = none), the one
        served least recently first, then the one whose oldest claimable job is oldest. A job is claimable when
        it is queued and the job before it in its task is not queued or running (jobs of a task run in order, so
        that one says it for all earlier ones; an equality lookup on (task_id, seq) is one index probe, which
        PostgreSQL's planner never trades for a scan of every queued job as it did with `seq <`)."""
        param = self.db.param
        return (
            'SELECT "id", "last_claimed_at" FROM (SELECT u."id", u."last_claimed_at", '
            '(SELECT q."created_at" FROM "job" AS q WHERE q."owner_id" = u."id" AND q."status" = \'queued\' '
            'AND NOT EXISTS (SELECT 1 FROM "job" AS e WHERE e."task_id" = q."task_id" AND e."seq" = q."seq" - 1 '
            'AND e."status" IN (\'queued\', \'running\')) ORDER BY q."created_at" LIMIT 1) AS "oldest" '
            f'FROM "user" AS u WHERE u."is_active" AND ({param} = 0 OR (SELECT COUNT(*) FROM "job" AS r '
            f'WHERE r."owner_id" = u."id" AND r."status" = \'running\') < {param})) AS c '
            'WHERE "oldest" IS NOT NULL ORDER BY "last_claimed_at" ASC NULLS FIRST, "oldest", "id"')

    @functools.cached_property
    def _lock_owner(self) -> str:
        """PostgreSQL: wait out any other claimer serving this user; their stamp as it is now. NO KEY: rows that
        refer to the user (a task being created, an audit event) only need the key to stay, so they never wait."""
        return f'SELECT "last_claimed_at" FROM "user" WHERE "id" = {self.db.param} FOR NO KEY UPDATE'

    @functools.cached_property
    def _try_lock_owner(self) -> str:
        """PostgreSQL: this user's stamp and lock, or no row while another claimer is serving them."""
        return self._lock_owner + " SKIP LOCKED"

    def _candidates(self, cap: int, skipped: set) -> list[tuple]:
        return [row for row in self.db.execute_sql(self._claim_candidates, (cap, cap)).fetchall()
                if row[0] not in skipped]

    def _lock_a_candidate(self, candidates: list[tuple], cap: int, skipped: set) -> str | None:
        """PostgreSQL: lock the first candidate no other claimer is serving, so concurrent claimers spread over
        the users with work instead of queueing on one; when every one is being served, wait for the first.
        The user locked, or None when the choice went stale (someone served them meanwhile and they are no
        longer first: choose again)."""
        for owner, stamp in candidates:
            row = self.db.execute_sql(self._try_lock_owner, (owner,)).fetchone()
            if row is not None:
                return owner if row[0] == stamp else None
        owner, stamp = candidates[0]
        if self.db.execute_sql(self._lock_owner, (owner,)).fetchone()[0] == stamp:
            return owner
        # Served while we waited. Their stamp cannot move now: still first (e.g. the only user with work), serve
        # them rather than retry behind every other claimer.
        again = self._candidates(cap, skipped)
        return owner if again and again[0][0] == owner else None

    @functools.cached_property
    def _next_of_owner(self) -> Prepared:
        """A user's oldest claimable job and its task's timeout, unless the user is at the cap (params: owner,
        cap). PostgreSQL also locks the job row with SKIP LOCKED, so claimers never wait for or take one job."""
        def build(owner, cap):
            earlier, running = Job.alias(), Job.alias()
            blocked = earlier.select(peewee.SQL("1")).where(
                (earlier.task == Job.task) & (earlier.seq == Job.seq - 1) & earlier.status.in_(("queued", "running")))
            busy = running.select(peewee.fn.COUNT(peewee.SQL("*"))).where(
                (running.owner == owner) & (running.status == "running"))
            query = (Job.select(Job.id, Job.task, Task.timeout_seconds).join(Task)
                     .where((Job.owner == owner) & (Job.status == "queued") & ~peewee.fn.EXISTS(blocked)
                            & ((peewee.Value(cap) == 0) | (busy < cap)))
                     .order_by(Job.created_at).limit(1))  # the index order: no sort of every queued job
            return query.for_update("FOR UPDATE OF t1 SKIP LOCKED") if self.backend == "postgresql" else query
        return Prepared(self.db, build, 2)

    def claim_job(self, worker: str, lease_seconds: int, max_running_per_user: int = 0) -> ClaimedJob | None:
        """Flip one claimable job to `running` for `worker`, or None. Safe across processes. One write transaction
        claims, stamps the start and moves the task to running; what running the job needs (ClaimedJob) is read
        after it.

        The claim is a lease of `lease_seconds` under the job's next attempt number: the worker's node renews it
        (renew_leases); once it runs out, any node fails the job (recover_jobs) and the worker's finish is refused.

        Fair: the user served least recently goes first, with their oldest claimable job; users at
        `max_running_per_user` (0 = no cap) are passed over. SQLite transactions begin IMMEDIATE (one writer at a
        time), so the choice and the flip see one state. On PostgreSQL the chosen user's row is locked first, so
        two claimers never serve one user at once (the cap holds): each takes the first user no other claimer is
        serving (_lock_a_candidate), and waits only when all are being served.
        """
        skipped = set()
        for _ in range(MAX_CLAIM_ATTEMPTS):
            with self.db.atomic():
                outcome = self._claim_attempt(worker, lease_seconds, max_running_per_user, skipped)
            if outcome is not _RETRY:
                # What running it needs is read after the commit: the claim holds its user's row, and every other
                # claim for that user waits for it. (A task's jobs and attachments are all written when it is made.)
                return outcome and self._claimed(*outcome)
        return None

    def _claim_attempt(self, worker: str, lease_seconds: int, cap: int, skipped: set):
        candidates = self._candidates(cap, skipped)
        if not candidates:
            return None
        owner = candidates[0][0]
        if self.backend == "postgresql":
            owner = self._lock_a_candidate(candidates, cap, skipped)
            if owner is None:
                return _RETRY
        rows = self._next_of_owner.rows(owner, cap)
        if not rows:
            skipped.add(owner)  # reached the cap, or their job went, since the candidates were read
            return _RETRY
        now = self.db_now()
        job_id, task_id = rows[0][(Job, "id")], rows[0][(Job, "task")]
        lease_until = now + timedelta(seconds=lease_seconds)
        flipped = self._start_job.rows(job_id, str(uuid.uuid4()), worker, now, lease_until)
        if not flipped:
            return _RETRY
        self._start_task.count(task_id, now)
        self._stamp_owner.count(owner, now)
        return flipped[0], owner, rows[0][(Task, "timeout_seconds")]

    @functools.cached_property
    def _start_job(self) -> Prepared:
        """Flip a job that is still queued to running under a new lease and attempt; the job as it is then, or no
        row (params: job, lease id, worker, now, lease expiry)."""
        return Prepared(self.db, lambda job, lease, worker, now, until: (
            Job.update(status="running", lease_id=lease, claimed_by=worker, started_at=now, lease_expires_at=until,
                       attempt=Job.attempt + 1)
            .where((Job.id == job) & (Job.status == "queued")).returning(Job)), 5)

    @functools.cached_property
    def _start_task(self) -> Prepared:
        """A queued task goes running (params: task, now)."""
        return Prepared(self.db, lambda task, now: Task.update(status="running", updated_at=now).where(
            (Task.id == task) & (Task.status == "queued")), 2)

    @functools.cached_property
    def _stamp_owner(self) -> Prepared:
        """When the dispatcher last served this user, for fairness (params: user, now)."""
        return Prepared(self.db, lambda owner, now: User.update(last_claimed_at=now).where(User.id == owner), 2)

    def _claimed(self, row: dict, owner: str, timeout_seconds: int | None) -> ClaimedJob:
        """The flipped job (a _start_job row) with what running it needs."""
        job = {name: value for (_model, name), value in row.items()}
        attachments = tuple(a for a in self.artifacts_for_task(job["task"]) if a.name.startswith("attachments/")) \
            if job["seq"] == 0 else ()
        return ClaimedJob(id=job["id"], task_id=job["task"], seq=job["seq"], kind=job["kind"],
                          payload=json.loads(job["payload"]), status=job["status"], result=job["result"],
                          lease_id=job["lease_id"], attempt=job["attempt"], created_at=job["created_at"],
                          started_at=job["started_at"], ended_at=job["ended_at"], owner_id=owner,
                          timeout_seconds=timeout_seconds, attachments=attachments,
                          has_later=bool(self._later_job.rows(job["task"], job["seq"])))

    @functools.cached_property
    def _later_job(self) -> Prepared:
        """A job after `seq` in the task, if any (params: task, seq)."""
        return Prepared(self.db, lambda task, seq: Job.select(Job.id).where((Job.task == task) & (Job.seq > seq))
                        .limit(1), 2)

    def finish_job(self, job: JobRecord, status: str, result: dict, artifacts=()) -> str | None:
        """Store a job's result and settle its task, with the outputs it leaves (`artifacts`, as add_artifacts
        takes them) added in the same write transaction; returns the task's status after that.

        Fenced by the lease and attempt, so a worker whose lease ran out (the job was failed meanwhile, and its
        lease revoked) changes nothing (returns None). A job canceled while it ran
        keeps `canceled` but gets its partial output. A failure fails the task and cancels the jobs after it;
        the last job completing completes the task.
        """
        now = self.db_now()
        with self.db.atomic():
            if not self._store_result.count(json.dumps(result), now, job.id, job.lease_id, job.attempt):
                return None  # fenced off: nothing of it is kept, its outputs neither
            self.add_artifacts(job.task_id, artifacts)
            if self._settle_job.count(status, job.id, job.lease_id):
                if status != "completed":
                    self._fail_task.count(job.task_id, now)
                    self._cancel_queued.count(job.task_id, now)
                elif not self._open_job.rows(job.task_id):
                    self._complete_task.count(job.task_id, now)
            rows = self._task_status.rows(job.task_id)
            return rows[0][(Task, "status")] if rows else None

    @functools.cached_property
    def _store_result(self) -> Prepared:
        """A job's result and end, if the lease and attempt are still these (params: result JSON, now, job, lease
        id, attempt)."""
        return Prepared(self.db, lambda result, now, job, lease, attempt: Job.update(result=result, ended_at=now)
                        .where((Job.id == job) & (Job.lease_id == lease) & (Job.attempt == attempt)), 5)

    @functools.cached_property
    def _settle_job(self) -> Prepared:
        """A leased job still running takes its final status; a canceled one keeps it (params: status, job,
        lease id)."""
        return Prepared(self.db, lambda status, job, lease: Job.update(status=status).where(
            (Job.id == job) & (Job.lease_id == lease) & (Job.status == "running")), 3)

    def _task_goes(self, status: str) -> Prepared:
        return Prepared(self.db, lambda task, now: Task.update(status=status, updated_at=now).where(
            (Task.id == task) & Task.status.not_in(TERMINAL)), 2)

    @functools.cached_property
    def _fail_task(self) -> Prepared:
        """A task not yet ended fails (params: task, now)."""
        return self._task_goes("failed")

    @functools.cached_property
    def _complete_task(self) -> Prepared:
        """A task not yet ended completes (params: task, now)."""
        return self._task_goes("completed")

    @functools.cached_property
    def _cancel_queued(self) -> Prepared:
        """The task's jobs still queued are canceled (params: task, now)."""
        return Prepared(self.db, lambda task, now: Job.update(status="canceled", ended_at=now).where(
            (Job.task == task) & (Job.status == "queued")), 2)

    @functools.cached_property
    def _open_job(self) -> Prepared:
        """A job of the task still queued or running, if any (params: task)."""
        return Prepared(self.db, lambda task: Job.select(Job.id).where(
            (Job.task == task) & Job.status.in_(("queued", "running"))).limit(1), 1)

    @functools.cached_property
    def _task_status(self) -> Prepared:
        return Prepared(self.db, lambda task: Task.select(Task.status).where(Task.id == task), 1)

    def job_statuses(self, job_ids: list[str]) -> dict[str, str]:
        if not job_ids:
            return {}
        return {row.id: row.status for row in Job.select(Job.id, Job.status).where(Job.id.in_(job_ids))}

    def finished_tasks_before(self, task_ids: list[str], cutoff) -> list[str]:
        """Which of these tasks ended (terminal) before `cutoff`: their work dirs may go."""
        if not task_ids:
            return []
        query = Task.select(Task.id).where(Task.id.in_(task_ids) & Task.status.in_(TERMINAL)
                                           & (Task.updated_at < cutoff))
        return [row.id for row in query]

    def renew_leases(self, lease_ids: list[str], lease_seconds: int) -> set[str]:
        """Extend these leases (the jobs a node is running) to `lease_seconds` from now; the ids still held. One
        missing was revoked (its job failed after the lease ran out, or it ended), so its worker must stop."""
        if not lease_ids:
            return set()
        until = self.db_now() + timedelta(seconds=lease_seconds)
        held = Job.update(lease_expires_at=until).where(Job.lease_id.in_(lease_ids) & (Job.status == "running")) \
            .returning(Job.lease_id)
        return {row.lease_id for row in held.execute()}

    def recover_jobs(self, result: dict, *, expired_only: bool) -> int:
        """Fail jobs left `running` by a dead process (all of them, or only those whose lease ran out), storing
        `result` (the dispatcher's dispatch-error result) as theirs and revoking their leases, so the worker that
        held one can no longer write a result.

        Never re-queued: commands may not be idempotent. Returns how many jobs were failed.
        """
        now = self.db_now()
        where = Job.status == "running"
        if expired_only:
            where &= Job.lease_expires_at < now
        # One UPDATE picks and fails the jobs: on PostgreSQL a renewal committed meanwhile (the job's node is alive)
        # makes the row no longer match, where a SELECT first would fail a job whose lease was just renewed.
        failed = Job.update(status="failed", result=json.dumps(result), ended_at=now, lease_id=None).where(where) \
            .returning(Job.task)
        with self.db.atomic():
            tasks = [row.task_id for row in failed.execute()]
            for task_id in tasks:
                self._fail_task.count(task_id, now)
                self._cancel_queued.count(task_id, now)
        return len(tasks)
