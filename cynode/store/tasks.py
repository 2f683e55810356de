"""Task, job and artifact queries used by the HTTP side: create, look up, list, cancel."""

import functools
import json
import uuid

import peewee

from cynode.contract import TaskStatus
from cynode.store import signals
from cynode.store.models import Artifact, Job, Task
from cynode.store.prepared import Prepared
from cynode.store.records import ArtifactRecord, JobRecord, TaskRecord, from_model, from_row, utcnow

TERMINAL = tuple(status.value for status in TaskStatus if status.terminal)
NAME_LOCK = 0x636E  # PostgreSQL: the first key of the per-owner advisory lock (owner hash second) taken by create_task


def task_record(row: Task) -> TaskRecord:
    return from_model(TaskRecord, row)


def job_record(row: Job) -> JobRecord:
    return from_model(JobRecord, row, payload=json.loads(row.payload))


def artifact_record(row: Artifact) -> ArtifactRecord:
    return from_model(ArtifactRecord, row)


class TaskQueries:
    """Mixed into Store; `self.db` is the open database."""

    db: peewee.Database
    backend: str

    def create_task(self, owner_id: str, name: str | None, input_mode: str, prompt: str,  # pylint: disable=R0913
                    jobs: list[tuple[str, dict]], *, timeout_seconds: int | None = None,
                    attachments: tuple = (), task_id: str | None = None) -> TaskRecord:
        """Insert a task, its queued jobs and attachment rows in one transaction.

        `name` is already normalised (or None for `task_name_NNN`); it is made unique per owner here, where the
        unique index settles races between concurrent creates (retry on conflict). On PostgreSQL, where several
        gateways may create one owner's tasks at once, the owner's creates take a transaction lock first: without
        it, concurrent creates all picked the same next name, and one could lose every retry.
        """
        for _ in range(20):
            try:
                with self.db.atomic():
                    if self.backend == "postgresql":  # creates of one owner pick names in turn, across processes
                        self.db.execute_sql(f"SELECT pg_advisory_xact_lock({NAME_LOCK}, hashtext({self.db.param}))",
                                            (owner_id,))
                    now = utcnow()
                    row = Task.create(id=task_id or str(uuid.uuid4()), owner=owner_id,
                                      name=self._free_name(owner_id, name), input_mode=input_mode, prompt=prompt,
                                      status="queued", timeout_seconds=timeout_seconds, created_at=now,
                                      updated_at=now)
                    Job.insert_many([{"id": str(uuid.uuid4()), "task": row.id, "owner": owner_id, "seq": seq,
                                      "kind": kind, "payload": json.dumps(payload), "status": "queued",
                                      "created_at": now}
                                     for seq, (kind, payload) in enumerate(jobs)]).execute()
                    self.add_artifacts(row.id, attachments)
                    signals.notify(self.db, self.backend, signals.JOBS)
                    return task_record(row)
            except peewee.IntegrityError:
                continue  # another create took the same name in between; pick again
        raise RuntimeError("could not allocate a unique task name")

    @staticmethod
    def _free_name(owner_id: str, name: str | None) -> str:
        if not name:
            name = f"task_name_{Task.select().where(Task.owner == owner_id).count() + 1:03d}"
        taken = {r.name for r in Task.select(Task.name).where(
            (Task.owner == owner_id) & ((Task.name == name) | Task.name.startswith(name + "-")))}
        candidate, suffix = name, 1
        while candidate in taken:
            suffix += 1
            candidate = f"{name}-{suffix}"
        return candidate

    def add_artifacts(self, task_id: str, artifacts) -> None:
        """`artifacts`: (artifact_id, name, content_type, size_bytes) tuples."""
        now = utcnow()
        rows = [{"id": a_id, "task": task_id, "name": name, "content_type": ctype, "size_bytes": size,
                 "created_at": now} for a_id, name, ctype, size in artifacts]
        if rows:
            Artifact.insert_many(rows).execute()

    @functools.cached_property
    def _task_by_id(self) -> Prepared:
        return Prepared(self.db, lambda task_id: Task.select().where(Task.id == task_id), 1)

    @functools.cached_property
    def _artifacts_of_task(self) -> Prepared:
        return Prepared(self.db, lambda task_id: Artifact.select().where(Artifact.task == task_id)
                        .order_by(Artifact.created_at, Artifact.name), 1)

    def task_by_id(self, task_id: str) -> TaskRecord | None:
        rows = self._task_by_id.rows(task_id)
        return from_row(TaskRecord, Task, rows[0], owner_id="owner") if rows else None

    def task_by_name(self, owner_id: str, name: str) -> TaskRecord | None:
        row = Task.select().where((Task.owner == owner_id) & (Task.name == name)).first()
        return task_record(row) if row else None

    def list_tasks(self, owner_id: str, status: str | None, limit: int, offset: int) -> list[TaskRecord]:
        """Newest first; the status filter is part of the query, so pages are never short by accident."""
        where = Task.owner == owner_id
        if status:
            where &= Task.status == status
        query = Task.select().where(where).order_by(Task.created_at.desc(), Task.id.desc()).limit(limit).offset(offset)
        return [task_record(row) for row in query]

    def jobs_for_task(self, task_id: str) -> list[JobRecord]:
        return [job_record(row) for row in Job.select().where(Job.task == task_id).order_by(Job.seq)]

    def artifacts_for_task(self, task_id: str) -> list[ArtifactRecord]:
        rows = self._artifacts_of_task.rows(task_id)
        return [from_row(ArtifactRecord, Artifact, row, task_id="task") for row in rows]

    def artifact(self, task_id: str, artifact_id: str) -> ArtifactRecord | None:
        row = Artifact.get_or_none((Artifact.task == task_id) & (Artifact.id == artifact_id))
        return artifact_record(row) if row else None

    def cancel_task(self, task_id: str) -> tuple[str, list[str]]:
        """Cancel a task that is not finished. Returns (status before, ids of jobs that were running).

        A finished task is left as it is (the caller reports the conflict); canceling twice is a no-op.
        """
        with self.db.atomic():
            row = Task.select(Task.status).where(Task.id == task_id).first()
            if row is None or row.status in TERMINAL:
                return (row.status if row else "missing"), []
            running = self._cancel(Job.task == task_id, Task.id == task_id)
        return row.status, running

    def cancel_tasks_of(self, owner_id: str) -> list[str]:
        """Cancel every unfinished task of a user, as cancel_task does one (the caller holds the transaction).
        Returns the ids of their jobs that were running."""
        return self._cancel(Job.owner == owner_id, Task.owner == owner_id)

    def _cancel(self, jobs, tasks) -> list[str]:
        """Cancel the unfinished jobs and tasks these conditions select; the ids of the jobs that were running, whose
        workers (in any process) are told on commit. Jobs before their tasks: the order claims and finishes lock
        them in (no deadlock on PostgreSQL)."""
        live = ("queued", "running")
        running = [j.id for j in Job.select(Job.id).where(jobs & (Job.status == "running"))]
        now = utcnow()
        Job.update(status="canceled", ended_at=now).where(jobs & Job.status.in_(live)).execute()
        Task.update(status="canceled", updated_at=now).where(tasks & Task.status.in_(live)).execute()
        if running:
            signals.notify(self.db, self.backend, signals.CANCELS)
        return running
