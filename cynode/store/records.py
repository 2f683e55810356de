"""Plain records the store hands out, so callers never touch peewee objects."""

import dataclasses
import datetime
from dataclasses import dataclass


def from_model(record_type, row, **values):
    """A record from a peewee model instance (foreign keys read as `<name>_id`); `values` override fields."""
    return record_type(**{f.name: values[f.name] if f.name in values else getattr(row, f.name)
                          for f in dataclasses.fields(record_type)})


def from_row(record_type, model, row: dict, **renamed):
    """A record from a Prepared row; `renamed` maps record fields to differently named model fields."""
    return record_type(**{f.name: row[(model, renamed.get(f.name, f.name))] for f in dataclasses.fields(record_type)})


def utcnow() -> datetime.datetime:
    """Naive UTC: SQLite and PostgreSQL store and compare it identically."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class UserRecord:  # pylint: disable=too-many-instance-attributes
    """An account."""

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
    """A live login, with its user."""

    id: str
    family: str
    user: UserRecord
    access_expires_at: datetime.datetime
    refresh_expires_at: datetime.datetime
    state: str


@dataclass(frozen=True)
class TaskRecord:  # pylint: disable=too-many-instance-attributes
    """A task as stored; `status` is the API status."""

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
    """A job; `payload` says what to run, `result` is the stored JSON text."""

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
    attempt: int = 0  # claims so far: with lease_id, the fence on writing the result


@dataclass(frozen=True)
class ClaimedJob(JobRecord):
    """A job as its claim hands it to a worker, with what running it needs, read just after the claim: the owner,
    the task's own timeout (None: the default), whether a later job follows it in the task, and the task's
    attachments when it is the task's first job (they are staged before it only)."""

    owner_id: str = ""
    timeout_seconds: int | None = None
    has_later: bool = False
    attachments: tuple = ()


@dataclass(frozen=True)
class ArtifactRecord:
    """A stored file of a task."""

    id: str
    task_id: str
    name: str
    content_type: str
    size_bytes: int
    created_at: datetime.datetime


@dataclass(frozen=True)
class ChatExchangeRecord:  # pylint: disable=too-many-instance-attributes
    """One chat request as stored: who, when, which model, sizes, outcome and timing; never the content."""

    user_id: str
    route: str
    model: str
    stream: bool
    message_count: int
    request_bytes: int
    request_chars: int
    response_bytes: int
    response_chars: int
    outcome: str  # success | error | timeout | canceled
    error_code: str | None
    duration_ms: int
    request_id: str | None
    id: str = ""  # given by the store
    created_at: datetime.datetime | None = None  # given by the store


@dataclass(frozen=True)
class ApiTokenRecord:
    """A personal API token's metadata; the token itself is never stored."""

    id: str
    user_id: str
    name: str
    created_at: datetime.datetime
    expires_at: datetime.datetime
    revoked_at: datetime.datetime | None
    last_used_at: datetime.datetime | None


@dataclass(frozen=True)
class ApiTokenAuth:
    """A live API token with its user, as authentication finds it."""

    id: str
    user: UserRecord
    last_used_at: datetime.datetime | None


@dataclass(frozen=True)
class AuditRecord:  # pylint: disable=too-many-instance-attributes
    """One audit event (spec/gateway.md §15); `details` is the parsed JSON object or None."""

    id: str
    ts: datetime.datetime
    actor_id: str | None
    actor_handle: str | None
    action: str
    resource_type: str
    resource_id: str | None
    decision: str
    success: bool
    details: dict | None
    ip_address: str | None
    user_agent: str | None


@dataclass(frozen=True)
class NodeRecord:  # pylint: disable=too-many-instance-attributes
    """A node (spec/gateway.md §13): a dispatcher that claims jobs; `capabilities` and `metadata` are parsed JSON."""

    id: str
    slug: str
    status: str  # registered | active | inactive | drained
    capabilities: dict
    capability_summary: str
    config_version: str | None
    config_ack_status: str | None  # applied | pending
    config_ack_at: datetime.datetime | None
    worker_api_target_url: str | None
    metadata: dict
    last_seen_at: datetime.datetime
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @property
    def claims(self) -> bool:
        """Whether this node may claim new jobs: only while active (disabled and drained ones let theirs finish)."""
        return self.status == "active"


@dataclass(frozen=True)
class CredentialRecord:  # pylint: disable=too-many-instance-attributes
    """An egress credential as stored (spec/gateway.md §14): its secret only as ciphertext, `credential_kid` naming
    the key that sealed it."""

    id: str
    owner_type: str
    owner_id: str
    provider: str
    credential_type: str
    credential_name: str
    credential_ciphertext: str = dataclasses.field(repr=False)
    credential_kid: str
    is_active: bool
    expires_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    updated_by: str


@dataclass(frozen=True)
class SkillRecord:  # pylint: disable=too-many-instance-attributes
    """A skill document (spec/gateway.md §9); `content` is None where a listing leaves it out."""

    id: str
    name: str
    content: str | None
    scope: str
    scope_id: str | None
    owner_id: str | None
    is_system: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


@dataclass(frozen=True)
class PreferenceRecord:  # pylint: disable=too-many-instance-attributes
    """A preference entry (spec/gateway.md §11); `value` is the parsed JSON, `scope_id` None for the system."""

    id: str
    scope_type: str
    scope_id: str | None
    key: str
    value: object
    value_type: str
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    updated_by: str


@dataclass(frozen=True)
class SettingRecord:
    """A system setting (spec/gateway.md §12); `value` is the parsed JSON."""

    key: str
    value: object
    value_type: str
    version: int
    updated_at: datetime.datetime
    updated_by: str


@dataclass(frozen=True)
class ChangeRecord:
    """One row of a preference's or a setting's change history: old and new JSON text (None: created/deleted)."""

    old_value: str | None
    new_value: str | None
    changed_at: datetime.datetime
    changed_by: str
    reason: str | None


@dataclass(frozen=True)
class EffectiveSource:
    """Which entry won a key in an effective merge."""

    key: str
    scope_type: str
    scope_id: str | None
    version: int
