"""peewee models. Bound to one database by Store (one open Store per process)."""

import peewee


class BaseModel(peewee.Model):
    """Tables named after the model in snake_case."""

    class Meta:  # pylint: disable=missing-class-docstring
        legacy_table_names = False


class SchemaVersion(BaseModel):
    """One row per applied migration."""

    version = peewee.IntegerField(primary_key=True)
    applied_at = peewee.DateTimeField()


class User(BaseModel):
    """An account; `password_hash` is a self-describing scrypt string."""

    id = peewee.CharField(max_length=36, primary_key=True)
    handle = peewee.CharField(max_length=64, unique=True)
    email = peewee.CharField(max_length=254, null=True)
    password_hash = peewee.CharField(max_length=255, null=True)
    is_admin = peewee.BooleanField(default=False)
    is_active = peewee.BooleanField(default=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    last_claimed_at = peewee.DateTimeField(null=True)  # when the dispatcher last took one of their jobs


class Session(BaseModel):
    """One issued token pair. A login starts a family; every refresh rotates to a new row of that family."""

    id = peewee.CharField(max_length=36, primary_key=True)
    user = peewee.ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    family = peewee.CharField(max_length=36, index=True)
    access_hash = peewee.CharField(max_length=64, unique=True)
    refresh_hash = peewee.CharField(max_length=64, unique=True)
    access_expires_at = peewee.DateTimeField()
    refresh_expires_at = peewee.DateTimeField()
    state = peewee.CharField(max_length=16, default="active")  # active | rotated | revoked
    created_at = peewee.DateTimeField()
    last_used_at = peewee.DateTimeField(null=True)


class Task(BaseModel):
    """What a user asked for; its jobs do the work."""

    id = peewee.CharField(max_length=36, primary_key=True)
    owner = peewee.ForeignKeyField(User, backref="tasks", on_delete="CASCADE")
    name = peewee.CharField(max_length=128)
    input_mode = peewee.CharField(max_length=16)  # prompt | script | commands
    prompt = peewee.TextField()
    status = peewee.CharField(max_length=16, default="queued")
    timeout_seconds = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:  # pylint: disable=missing-class-docstring
        indexes = (
            (("owner", "name"), True),  # names are unique per user
            (("owner", "created_at"), False),  # keeps the newest-first list flat as tasks pile up
            (("owner", "status", "created_at"), False),  # the same for a status-filtered list
        )


class Job(BaseModel):
    """One unit of execution. Jobs of a task run one at a time, in `seq` order."""

    id = peewee.CharField(max_length=36, primary_key=True)
    task = peewee.ForeignKeyField(Task, backref="jobs", on_delete="CASCADE")
    seq = peewee.IntegerField()
    kind = peewee.CharField(max_length=16)  # command | script | prompt
    payload = peewee.TextField()  # JSON: what to run
    status = peewee.CharField(max_length=16, default="queued")
    result = peewee.TextField(null=True)  # JSON text, spec/gateway.md §5
    lease_id = peewee.CharField(max_length=36, null=True)
    lease_expires_at = peewee.DateTimeField(null=True)
    claimed_by = peewee.CharField(max_length=128, null=True)
    created_at = peewee.DateTimeField()
    started_at = peewee.DateTimeField(null=True)
    ended_at = peewee.DateTimeField(null=True)
    owner = peewee.ForeignKeyField(User, backref="jobs", on_delete="CASCADE", index=False)  # the task's owner
    # Claims so far (1 once claimed: jobs are never re-queued, as commands may not be idempotent); with lease_id,
    # what a finish must still hold to be stored.
    attempt = peewee.IntegerField(default=0, constraints=[peewee.SQL("DEFAULT 0")])

    class Meta:  # pylint: disable=missing-class-docstring
        indexes = (
            (("status", "created_at"), False),
            (("task", "seq"), True),
            (("owner", "status", "created_at"), False),  # per user: the oldest queued job, the running count
        )


class Artifact(BaseModel):
    """A file kept with a task: an uploaded attachment or a file a job left in out/."""

    id = peewee.CharField(max_length=36, primary_key=True)
    task = peewee.ForeignKeyField(Task, backref="artifacts", on_delete="CASCADE")
    name = peewee.CharField(max_length=512)  # attachments/<file> or out/<path>
    content_type = peewee.CharField(max_length=128)
    size_bytes = peewee.BigIntegerField()
    created_at = peewee.DateTimeField()

    class Meta:  # pylint: disable=missing-class-docstring
        indexes = ((("task", "name"), True),)


class ChatExchange(BaseModel):
    """One chat request and how it ended (spec/gateway.md §8): sizes and timing, never the messages' content."""

    id = peewee.CharField(max_length=36, primary_key=True)
    user = peewee.ForeignKeyField(User, backref="chat_exchanges", on_delete="CASCADE", index=False)
    created_at = peewee.DateTimeField()
    route = peewee.CharField(max_length=32)  # /v1/chat | /v1/chat/completions
    model = peewee.CharField(max_length=256)
    stream = peewee.BooleanField()
    message_count = peewee.IntegerField()
    request_bytes = peewee.IntegerField()  # the messages' content in UTF-8 bytes
    request_chars = peewee.IntegerField()
    response_bytes = peewee.IntegerField()  # the answer's text (as far as it got) in UTF-8 bytes
    response_chars = peewee.IntegerField()
    outcome = peewee.CharField(max_length=16)  # success | error | timeout | canceled
    error_code = peewee.CharField(max_length=64, null=True)
    duration_ms = peewee.IntegerField()
    request_id = peewee.CharField(max_length=64, null=True)

    class Meta:  # pylint: disable=missing-class-docstring
        indexes = ((("user", "created_at"), False),)  # a user's exchanges, newest first


class ApiToken(BaseModel):
    """A personal API token for scripts and CI: long-lived, revocable, stored only as its SHA-256 digest."""

    id = peewee.CharField(max_length=36, primary_key=True)
    user = peewee.ForeignKeyField(User, backref="api_tokens", on_delete="CASCADE", index=False)
    name = peewee.CharField(max_length=64)
    token_hash = peewee.CharField(max_length=64, unique=True)
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField()
    revoked_at = peewee.DateTimeField(null=True)
    last_used_at = peewee.DateTimeField(null=True)

    class Meta:  # pylint: disable=missing-class-docstring
        indexes = ((("user", "created_at"), False),)  # a user's tokens, newest first


class AuditEvent(BaseModel):
    """One audited action or refusal (spec/gateway.md §15). Append-only: nothing updates or deletes a row, and no
    foreign key, so an event outlives whatever it names."""

    id = peewee.CharField(max_length=36, primary_key=True)
    ts = peewee.DateTimeField()
    actor_id = peewee.CharField(max_length=36, null=True)
    actor_handle = peewee.CharField(max_length=64, null=True)
    action = peewee.CharField(max_length=64)
    resource_type = peewee.CharField(max_length=32)
    resource_id = peewee.CharField(max_length=512, null=True)
    decision = peewee.CharField(max_length=8)  # allow | deny
    success = peewee.BooleanField()
    details = peewee.TextField(null=True)  # JSON object; never a secret
    ip_address = peewee.CharField(max_length=64, null=True)
    user_agent = peewee.CharField(max_length=256, null=True)

    class Meta:  # pylint: disable=missing-class-docstring
        indexes = (
            (("ts",), False),  # everything, newest first (admins)
            (("actor_id", "ts"), False),  # one user's events, newest first
            (("resource_type", "ts"), False),
        )


class Preference(BaseModel):
    """A preference entry (spec/gateway.md §11). `scope_id` is '' for the system scope, so the unique index also
    holds there (NULLs never collide in a unique index)."""

    id = peewee.CharField(max_length=36, primary_key=True)
    scope_type = peewee.CharField(max_length=16)  # system | user | group | project | task
    scope_id = peewee.CharField(max_length=36)
    key = peewee.CharField(max_length=256)
    value = peewee.TextField()  # JSON text
    value_type = peewee.CharField(max_length=16)
    version = peewee.IntegerField()
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    updated_by = peewee.CharField(max_length=64)  # handle

    class Meta:  # pylint: disable=missing-class-docstring
        indexes = ((("scope_type", "scope_id", "key"), True),)


class PreferenceAuditLog(BaseModel):
    """Every change of a preference: old and new JSON text (None for a create or a delete)."""

    id = peewee.CharField(max_length=36, primary_key=True)
    entry_id = peewee.CharField(max_length=36, index=True)
    scope_type = peewee.CharField(max_length=16)
    scope_id = peewee.CharField(max_length=36)
    key = peewee.CharField(max_length=256)
    old_value = peewee.TextField(null=True)
    new_value = peewee.TextField(null=True)
    changed_at = peewee.DateTimeField()
    changed_by = peewee.CharField(max_length=64)
    reason = peewee.TextField(null=True)


class SystemSetting(BaseModel):
    """A system-wide setting (spec/gateway.md §12)."""

    key = peewee.CharField(max_length=256, primary_key=True)
    value = peewee.TextField()  # JSON text
    value_type = peewee.CharField(max_length=16)
    version = peewee.IntegerField()
    updated_at = peewee.DateTimeField()
    updated_by = peewee.CharField(max_length=64)


class SystemSettingsAuditLog(BaseModel):
    """Every change of a system setting."""

    id = peewee.CharField(max_length=36, primary_key=True)
    key = peewee.CharField(max_length=256, index=True)
    old_value = peewee.TextField(null=True)
    new_value = peewee.TextField(null=True)
    changed_at = peewee.DateTimeField()
    changed_by = peewee.CharField(max_length=64)
    reason = peewee.TextField(null=True)


class Credential(BaseModel):
    """An egress credential (spec/gateway.md §14): the secret only as authenticated ciphertext."""

    id = peewee.CharField(max_length=36, primary_key=True)
    owner_type = peewee.CharField(max_length=16)  # user | group
    owner_id = peewee.CharField(max_length=36)
    provider = peewee.CharField(max_length=128)
    credential_type = peewee.CharField(max_length=32)
    credential_name = peewee.CharField(max_length=128)
    credential_ciphertext = peewee.TextField()
    credential_kid = peewee.CharField(max_length=64)  # which key encrypted it
    is_active = peewee.BooleanField()
    expires_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    updated_by = peewee.CharField(max_length=36)

    class Meta:  # pylint: disable=missing-class-docstring
        indexes = ((("owner_type", "owner_id", "provider", "credential_name"), True),)


class Node(BaseModel):
    """A dispatcher that runs jobs (spec/gateway.md §13): the in-process one, or a `cynode worker`."""

    id = peewee.CharField(max_length=36, primary_key=True)
    slug = peewee.CharField(max_length=128, unique=True)
    status = peewee.CharField(max_length=16)  # registered | active | inactive | drained
    capabilities = peewee.TextField()  # JSON object
    capability_summary = peewee.CharField(max_length=256)
    config_version = peewee.CharField(max_length=32, null=True)
    config_ack_status = peewee.CharField(max_length=16, null=True)
    config_ack_at = peewee.DateTimeField(null=True)
    worker_api_target_url = peewee.CharField(max_length=512, null=True)
    metadata = peewee.TextField(null=True)  # JSON object, e.g. requested image prefetches
    last_seen_at = peewee.DateTimeField()
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()


class Skill(BaseModel):
    """A Markdown skill document (spec/gateway.md §9); system skills have no owner."""

    id = peewee.CharField(max_length=36, primary_key=True)
    name = peewee.CharField(max_length=256)
    content = peewee.TextField()
    scope = peewee.CharField(max_length=16)  # user | group | project | global
    scope_id = peewee.CharField(max_length=36, null=True)
    owner = peewee.ForeignKeyField(User, backref="skills", on_delete="CASCADE", null=True, index=False)
    is_system = peewee.BooleanField()
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:  # pylint: disable=missing-class-docstring
        indexes = ((("owner", "updated_at"), False),)  # a user's skills, newest first


MODELS = (SchemaVersion, User, Session, Task, Job, Artifact, ChatExchange, ApiToken, AuditEvent, Preference,
          PreferenceAuditLog, SystemSetting, SystemSettingsAuditLog, Credential, Node, Skill)
