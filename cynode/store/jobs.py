"""Job queries used by the dispatcher: atomic claim, guarded result write, crash recovery."""

import functools
import json
import uuid
from datetime import timedelta

import peewee

from cynode.store.models import Job, Task
from cynode.store.prepared import Prepared
from cynode.store.records import JobRecord, utcnow
from cynode.store.tasks import TERMINAL, job_record

LEASE_GRACE_SECONDS = 60


class JobQueries:
    """Mixed into Store; `self.db` is the open database, `self.backend` 'sqlite' or 'postgresql'."""

    db: peewee.Database
    backend: str

    @functools.cached_property
    def _next_claimable(self) -> Prepared:
        """The oldest claimable job and its task's timeout. PostgreSQL locks the row with SKIP LOCKED, so
        concurrent claimers never wait for or take the same job."""
        def build():
            earlier = Job.alias()
            blocked = earlier.select(peewee.SQL("1")).where(
                (earlier.task == Job.task) & (earlier.seq < Job.seq) & earlier.status.in_(("queued", "running")))
            query = (Job.select(Job.id, Job.task, Task.timeout_seconds).join(Task)
                     .where((Job.status == "queued") & ~peewee.fn.EXISTS(blocked))
                     .order_by(Job.created_at, Job.seq).limit(1))
            return query.for_update("FOR UPDATE OF t1 SKIP LOCKED") if self.backend == "postgresql" else query
        return Prepared(self.db, build, 0)

    def claim_job(self, worker: str, default_timeout: int) -> JobRecord | None:
        """Flip exactly one claimable job to `running` for `worker`, or None. Safe across processes.

        SQLite transactions begin IMMEDIATE (one writer at a time); the status guard makes the flip conditional.
        Three statements: find, flip the job (returning it), mark its task running.
        """
        now = utcnow()
        with self.db.atomic():
            rows = self._next_claimable.rows()
            if not rows:
                return None
            job_id, task_id = rows[0][(Job, "id")], rows[0][(Job, "task")]
            timeout = rows[0][(Task, "timeout_seconds")] or default_timeout
            lease_until = now + timedelta(seconds=timeout + LEASE_GRACE_SECONDS)
            flipped = list(Job.update(status="running", lease_id=str(uuid.uuid4()), claimed_by=worker, started_at=now,
                                      lease_expires_at=lease_until)
                           .where((Job.id == job_id) & (Job.status == "queued")).returning(Job).execute())
            if not flipped:
                return None
            Task.update(status="running", updated_at=now).where(
                (Task.id == task_id) & (Task.status == "queued")).execute()
        return job_record(flipped[0])

    def finish_job(self, job: JobRecord, status: str, result: dict) -> str | None:
        """Store a job's result and settle its task; returns the task's status after that.

        Guarded by the lease, so a stale worker changes nothing (returns None). A job canceled while it ran
        keeps `canceled` but gets its partial output. A failure fails the task and cancels the jobs after it;
        the last job completing completes the task.
        """
        now = utcnow()
        with self.db.atomic():
            mine = (Job.id == job.id) & (Job.lease_id == job.lease_id)
            if not Job.update(result=json.dumps(result), ended_at=now).where(mine).execute():
                return None
            if Job.update(status=status).where(mine & (Job.status == "running")).execute():
                live_task = (Task.id == job.task_id) & Task.status.not_in(TERMINAL)
                if status != "completed":
                    Task.update(status="failed", updated_at=now).where(live_task).execute()
                    Job.update(status="canceled", ended_at=now).where(
                        (Job.task == job.task_id) & (Job.status == "queued")).execute()
                elif not Job.select().where((Job.task == job.task_id)
                                            & Job.status.in_(("queued", "running"))).exists():
                    Task.update(status="completed", updated_at=now).where(live_task).execute()
            return Task.select(Task.status).where(Task.id == job.task_id).scalar()

    def has_later_jobs(self, job: JobRecord) -> bool:
        return Job.select(Job.id).where((Job.task == job.task_id) & (Job.seq > job.seq)).exists()

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

    def recover_jobs(self, reason: str, *, expired_only: bool) -> int:
        """Fail jobs left `running` by a dead process (all of them, or only those whose lease ran out).

        Never re-queued: commands may not be idempotent. Returns how many jobs were failed.
        """
        now = utcnow()
        where = Job.status == "running"
        if expired_only:
            where &= Job.lease_expires_at < now
        result = json.dumps({"version": 1, "status": "failed", "error": reason})
        with self.db.atomic():
            stale = list(Job.select(Job.id, Job.task).where(where))
            for row in stale:
                Job.update(status="failed", result=result, ended_at=now).where(Job.id == row.id).execute()
                Task.update(status="failed", updated_at=now).where(
                    (Task.id == row.task_id) & Task.status.not_in(TERMINAL)).execute()
                Job.update(status="canceled", ended_at=now).where(
                    (Job.task == row.task_id) & (Job.status == "queued")).execute()
        return len(stale)
