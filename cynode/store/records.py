"""Plain records the store hands out, so callers never touch peewee objects."""

import datetime
from dataclasses import dataclass


def utcnow() -> datetime.datetime:
    """Naive UTC: SQLite and PostgreSQL store and compare it identically."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class UserRecord:  # pylint: disable=too-many-instance-attributes
    id: str
    handle: str
    email: str | None
    password_hash: str | None
    is_admin: bool
    is_active: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


@dataclass(frozen=True)
class SessionRecord:
    id: str
    family: str
    user: UserRecord
    access_expires_at: datetime.datetime
    refresh_expires_at: datetime.datetime
    state: str


@dataclass(frozen=True)
class TaskRecord:  # pylint: disable=too-many-instance-attributes
    id: str
    owner_id: str
    name: str
    input_mode: str
    prompt: str
    status: str
    timeout_seconds: int | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


@dataclass(frozen=True)
class JobRecord:  # pylint: disable=too-many-instance-attributes
    id: str
    task_id: str
    seq: int
    kind: str
    payload: dict
    status: str
    result: str | None
    lease_id: str | None
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    ended_at: datetime.datetime | None


@dataclass(frozen=True)
class ArtifactRecord:
    id: str
    task_id: str
    name: str
    content_type: str
    size_bytes: int
    created_at: datetime.datetime
