"""Versioned schema changes, applied in order at start-up. Append new steps; never edit a released one."""

from cynode.store import models
from cynode.store.records import utcnow


def _v1_users_and_sessions(db):
    db.create_tables([models.User, models.Session])


def _v2_tasks_jobs_artifacts(db):
    db.create_tables([models.Task, models.Job, models.Artifact])


STEPS = (_v1_users_and_sessions, _v2_tasks_jobs_artifacts)


def current_version(db) -> int:
    db.create_tables([models.SchemaVersion])
    row = models.SchemaVersion.select(models.SchemaVersion.version).order_by(
        models.SchemaVersion.version.desc()).first()
    return row.version if row else 0


def migrate(db) -> int:
    """Apply every step newer than the database's version, each in its own transaction; returns the version."""
    version = current_version(db)
    if version > len(STEPS):
        raise RuntimeError(f"database schema version {version} is newer than this build ({len(STEPS)})")
    for number, step in enumerate(STEPS[version:], start=version + 1):
        with db.atomic():
            step(db)
            models.SchemaVersion.create(version=number, applied_at=utcnow())
    return len(STEPS)
