"""Versioned schema changes, applied in order at start-up. Append new steps; never edit a released one.

Every step is frozen SQL text: it never reads today's models, so a database at any version upgrades through
exactly the statements that version's build would have run after it. Steps 1 and 2 are the DDL peewee issued
for the models of their time (cynode e82712d); the only differences between the backends are the type names in
TYPES. tests/store/test_migrations.py proves that an upgraded database equals a fresh one and that a fresh one
equals what today's models describe, on both backends.
"""

import peewee

from cynode.store.records import utcnow

TYPES = {
    "sqlite": {"datetime": "DATETIME", "bool": "INTEGER", "bigint": "INTEGER"},
    "postgresql": {"datetime": "TIMESTAMP", "bool": "BOOLEAN", "bigint": "BIGINT"},
}

MIGRATION_LOCK = 0x63796E6F6465  # "cynode": the PostgreSQL advisory lock migrating processes take in turn

SCHEMA_VERSION = ('CREATE TABLE IF NOT EXISTS "schema_version" ("version" INTEGER NOT NULL PRIMARY KEY, '
                  '"applied_at" {datetime} NOT NULL)')

_V1_USERS_AND_SESSIONS = (
    'CREATE TABLE "user" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "handle" VARCHAR(64) NOT NULL, '
    '"email" VARCHAR(254), "password_hash" VARCHAR(255), "is_admin" {bool} NOT NULL, "is_active" {bool} NOT NULL, '
    '"created_at" {datetime} NOT NULL, "updated_at" {datetime} NOT NULL)',
    'CREATE UNIQUE INDEX "user_handle" ON "user" ("handle")',
    'CREATE TABLE "session" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "user_id" VARCHAR(36) NOT NULL, '
    '"family" VARCHAR(36) NOT NULL, "access_hash" VARCHAR(64) NOT NULL, "refresh_hash" VARCHAR(64) NOT NULL, '
    '"access_expires_at" {datetime} NOT NULL, "refresh_expires_at" {datetime} NOT NULL, '
    '"state" VARCHAR(16) NOT NULL, "created_at" {datetime} NOT NULL, "last_used_at" {datetime}, '
    'FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "session_user_id" ON "session" ("user_id")',
    'CREATE INDEX "session_family" ON "session" ("family")',
    'CREATE UNIQUE INDEX "session_access_hash" ON "session" ("access_hash")',
    'CREATE UNIQUE INDEX "session_refresh_hash" ON "session" ("refresh_hash")',
)

_JOB_V2_COLUMNS = (
    '"id" VARCHAR(36) NOT NULL PRIMARY KEY, "task_id" VARCHAR(36) NOT NULL, "seq" INTEGER NOT NULL, '
    '"kind" VARCHAR(16) NOT NULL, "payload" TEXT NOT NULL, "status" VARCHAR(16) NOT NULL, "result" TEXT, '
    '"lease_id" VARCHAR(36), "lease_expires_at" {datetime}, "claimed_by" VARCHAR(128), '
    '"created_at" {datetime} NOT NULL, "started_at" {datetime}, "ended_at" {datetime}')
_JOB_V2_INDEXES = (
    'CREATE INDEX "job_task_id" ON "job" ("task_id")',
    'CREATE INDEX "job_status_created_at" ON "job" ("status", "created_at")',
    'CREATE UNIQUE INDEX "job_task_id_seq" ON "job" ("task_id", "seq")',
)
_TASK_FK = 'FOREIGN KEY ("task_id") REFERENCES "task" ("id") ON DELETE CASCADE'

_V2_TASKS_JOBS_ARTIFACTS = (
    'CREATE TABLE "task" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "owner_id" VARCHAR(36) NOT NULL, '
    '"name" VARCHAR(128) NOT NULL, "input_mode" VARCHAR(16) NOT NULL, "prompt" TEXT NOT NULL, '
    '"status" VARCHAR(16) NOT NULL, "timeout_seconds" INTEGER, "created_at" {datetime} NOT NULL, '
    '"updated_at" {datetime} NOT NULL, FOREIGN KEY ("owner_id") REFERENCES "user" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "task_owner_id" ON "task" ("owner_id")',
    'CREATE UNIQUE INDEX "task_owner_id_name" ON "task" ("owner_id", "name")',
    'CREATE INDEX "task_owner_id_created_at" ON "task" ("owner_id", "created_at")',
    'CREATE INDEX "task_owner_id_status_created_at" ON "task" ("owner_id", "status", "created_at")',
    'CREATE TABLE "artifact" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "task_id" VARCHAR(36) NOT NULL, '
    '"name" VARCHAR(512) NOT NULL, "content_type" VARCHAR(128) NOT NULL, "size_bytes" {bigint} NOT NULL, '
    f'"created_at" {{datetime}} NOT NULL, {_TASK_FK})',
    'CREATE INDEX "artifact_task_id" ON "artifact" ("task_id")',
    'CREATE UNIQUE INDEX "artifact_task_id_name" ON "artifact" ("task_id", "name")',
    f'CREATE TABLE "job" ({_JOB_V2_COLUMNS}, {_TASK_FK})',
    *_JOB_V2_INDEXES,
)

# v3, fair dispatch: every job names its owner (backfilled from its task), and users remember when the dispatcher
# last served them. SQLite cannot add a NOT NULL foreign-key column, so it rebuilds the job table.
_V3_OWNER_INDEX = 'CREATE INDEX "job_owner_id_status_created_at" ON "job" ("owner_id", "status", "created_at")'
_V3_LAST_CLAIMED = 'ALTER TABLE "user" ADD COLUMN "last_claimed_at" {datetime}'
_JOB_V2_NAMES = ('"id", "task_id", "seq", "kind", "payload", "status", "result", "lease_id", "lease_expires_at", '
                 '"claimed_by", "created_at", "started_at", "ended_at"')
_JOB_V2_OF_JOB = ", ".join('"job".' + name for name in _JOB_V2_NAMES.split(", "))
# Claims now pass over inactive users, and disabling a user cancels their work; a user disabled before v3 kept
# theirs queued, where it would wait forever, so the step cancels it as disabling does now.
_V3_CANCEL_DISABLED = (
    'UPDATE "job" SET "status" = \'canceled\' WHERE "status" IN (\'queued\', \'running\') AND "task_id" IN '
    '(SELECT "task"."id" FROM "task" JOIN "user" ON "user"."id" = "task"."owner_id" WHERE NOT "user"."is_active")',
    'UPDATE "task" SET "status" = \'canceled\' WHERE "status" IN (\'queued\', \'running\') AND "owner_id" IN '
    '(SELECT "id" FROM "user" WHERE NOT "is_active")',
)
_V3_FAIR_DISPATCH = {
    "sqlite": (
        _V3_LAST_CLAIMED,
        f'CREATE TABLE "job_v3" ({_JOB_V2_COLUMNS}, "owner_id" VARCHAR(36) NOT NULL, {_TASK_FK}, '
        'FOREIGN KEY ("owner_id") REFERENCES "user" ("id") ON DELETE CASCADE)',
        f'INSERT INTO "job_v3" ({_JOB_V2_NAMES}, "owner_id") SELECT {_JOB_V2_OF_JOB}, "task"."owner_id" '
        'FROM "job" JOIN "task" ON "task"."id" = "job"."task_id"',
        'DROP TABLE "job"',
        'ALTER TABLE "job_v3" RENAME TO "job"',
        *_JOB_V2_INDEXES,
        _V3_OWNER_INDEX,
        *_V3_CANCEL_DISABLED,
    ),
    "postgresql": (
        _V3_LAST_CLAIMED,
        'ALTER TABLE "job" ADD COLUMN "owner_id" VARCHAR(36)',
        'UPDATE "job" SET "owner_id" = "task"."owner_id" FROM "task" WHERE "task"."id" = "job"."task_id"',
        'ALTER TABLE "job" ALTER COLUMN "owner_id" SET NOT NULL',
        'ALTER TABLE "job" ADD CONSTRAINT "job_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "user" ("id") '
        'ON DELETE CASCADE',
        _V3_OWNER_INDEX,
        *_V3_CANCEL_DISABLED,
    ),
}

# v4, chat exchanges: one row per chat request (who, when, model, sizes, outcome, timing), never its content.
_V4_CHAT_EXCHANGES = (
    'CREATE TABLE "chat_exchange" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "user_id" VARCHAR(36) NOT NULL, '
    '"created_at" {datetime} NOT NULL, "route" VARCHAR(32) NOT NULL, "model" VARCHAR(256) NOT NULL, '
    '"stream" {bool} NOT NULL, "message_count" INTEGER NOT NULL, "request_bytes" INTEGER NOT NULL, '
    '"request_chars" INTEGER NOT NULL, "response_bytes" INTEGER NOT NULL, "response_chars" INTEGER NOT NULL, '
    '"outcome" VARCHAR(16) NOT NULL, "error_code" VARCHAR(64), "duration_ms" INTEGER NOT NULL, '
    '"request_id" VARCHAR(64), FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "chat_exchange_user_id_created_at" ON "chat_exchange" ("user_id", "created_at")',
)

# v5, personal API tokens: only the SHA-256 digest of each token is kept; revoking stamps revoked_at.
_V5_API_TOKENS = (
    'CREATE TABLE "api_token" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "user_id" VARCHAR(36) NOT NULL, '
    '"name" VARCHAR(64) NOT NULL, "token_hash" VARCHAR(64) NOT NULL, "created_at" {datetime} NOT NULL, '
    '"expires_at" {datetime} NOT NULL, "revoked_at" {datetime}, "last_used_at" {datetime}, '
    'FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE CASCADE)',
    'CREATE UNIQUE INDEX "api_token_token_hash" ON "api_token" ("token_hash")',
    'CREATE INDEX "api_token_user_id_created_at" ON "api_token" ("user_id", "created_at")',
)

# v6, audit events: one append-only table for every audited action and refusal (spec/gateway.md §15).
_V6_AUDIT_EVENTS = (
    'CREATE TABLE "audit_event" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "ts" {datetime} NOT NULL, '
    '"actor_id" VARCHAR(36), "actor_handle" VARCHAR(64), "action" VARCHAR(64) NOT NULL, '
    '"resource_type" VARCHAR(32) NOT NULL, "resource_id" VARCHAR(512), "decision" VARCHAR(8) NOT NULL, '
    '"success" {bool} NOT NULL, "details" TEXT, "ip_address" VARCHAR(64), "user_agent" VARCHAR(256))',
    'CREATE INDEX "audit_event_ts" ON "audit_event" ("ts")',
    'CREATE INDEX "audit_event_actor_id_ts" ON "audit_event" ("actor_id", "ts")',
    'CREATE INDEX "audit_event_resource_type_ts" ON "audit_event" ("resource_type", "ts")',
)

# v7, preferences and system settings, each with its change history (spec/gateway.md §11, §12).
_V7_PREFERENCES_AND_SETTINGS = (
    'CREATE TABLE "preference" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "scope_type" VARCHAR(16) NOT NULL, '
    '"scope_id" VARCHAR(36) NOT NULL, "key" VARCHAR(256) NOT NULL, "value" TEXT NOT NULL, '
    '"value_type" VARCHAR(16) NOT NULL, "version" INTEGER NOT NULL, "created_at" {datetime} NOT NULL, '
    '"updated_at" {datetime} NOT NULL, "updated_by" VARCHAR(64) NOT NULL)',
    'CREATE UNIQUE INDEX "preference_scope_type_scope_id_key" ON "preference" ("scope_type", "scope_id", "key")',
    'CREATE TABLE "preference_audit_log" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "entry_id" VARCHAR(36) NOT NULL, '
    '"scope_type" VARCHAR(16) NOT NULL, "scope_id" VARCHAR(36) NOT NULL, "key" VARCHAR(256) NOT NULL, '
    '"old_value" TEXT, "new_value" TEXT, "changed_at" {datetime} NOT NULL, "changed_by" VARCHAR(64) NOT NULL, '
    '"reason" TEXT)',
    'CREATE INDEX "preference_audit_log_entry_id" ON "preference_audit_log" ("entry_id")',
    'CREATE TABLE "system_setting" ("key" VARCHAR(256) NOT NULL PRIMARY KEY, "value" TEXT NOT NULL, '
    '"value_type" VARCHAR(16) NOT NULL, "version" INTEGER NOT NULL, "updated_at" {datetime} NOT NULL, '
    '"updated_by" VARCHAR(64) NOT NULL)',
    'CREATE TABLE "system_settings_audit_log" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "key" VARCHAR(256) NOT NULL, '
    '"old_value" TEXT, "new_value" TEXT, "changed_at" {datetime} NOT NULL, "changed_by" VARCHAR(64) NOT NULL, '
    '"reason" TEXT)',
    'CREATE INDEX "system_settings_audit_log_key" ON "system_settings_audit_log" ("key")',
)

# v8, egress credentials: the secret only as authenticated ciphertext, with the id of the key (spec/gateway.md §14).
_V8_CREDENTIALS = (
    'CREATE TABLE "credential" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "owner_type" VARCHAR(16) NOT NULL, '
    '"owner_id" VARCHAR(36) NOT NULL, "provider" VARCHAR(128) NOT NULL, "credential_type" VARCHAR(32) NOT NULL, '
    '"credential_name" VARCHAR(128) NOT NULL, "credential_ciphertext" TEXT NOT NULL, '
    '"credential_kid" VARCHAR(64) NOT NULL, "is_active" {bool} NOT NULL, "expires_at" {datetime}, '
    '"created_at" {datetime} NOT NULL, "updated_at" {datetime} NOT NULL, "updated_by" VARCHAR(36) NOT NULL)',
    'CREATE UNIQUE INDEX "credential_owner_type_owner_id_provider_credential_name" ON "credential" '
    '("owner_type", "owner_id", "provider", "credential_name")',
)

# v9, nodes: every dispatcher registers itself, heartbeats and obeys enable/disable/drain (spec/gateway.md §13).
_V9_NODES = (
    'CREATE TABLE "node" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "slug" VARCHAR(128) NOT NULL, '
    '"status" VARCHAR(16) NOT NULL, "capabilities" TEXT NOT NULL, "capability_summary" VARCHAR(256) NOT NULL, '
    '"config_version" VARCHAR(32), "config_ack_status" VARCHAR(16), "config_ack_at" {datetime}, '
    '"worker_api_target_url" VARCHAR(512), "metadata" TEXT, "last_seen_at" {datetime} NOT NULL, '
    '"created_at" {datetime} NOT NULL, "updated_at" {datetime} NOT NULL)',
    'CREATE UNIQUE INDEX "node_slug" ON "node" ("slug")',
)

# v10, skills: Markdown documents with a scope; system skills have no owner (spec/gateway.md §9).
_V10_SKILLS = (
    'CREATE TABLE "skill" ("id" VARCHAR(36) NOT NULL PRIMARY KEY, "name" VARCHAR(256) NOT NULL, '
    '"content" TEXT NOT NULL, "scope" VARCHAR(16) NOT NULL, "scope_id" VARCHAR(36), "owner_id" VARCHAR(36), '
    '"is_system" {bool} NOT NULL, "created_at" {datetime} NOT NULL, "updated_at" {datetime} NOT NULL, '
    'FOREIGN KEY ("owner_id") REFERENCES "user" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "skill_owner_id_updated_at" ON "skill" ("owner_id", "updated_at")',
)

# v11, leases with attempts: a job's claim number, the fencing token a finish must still hold, so a worker whose
# lease expired (it stopped heartbeating) can no longer write the job's result.
_V11_JOB_ATTEMPTS = (
    'ALTER TABLE "job" ADD COLUMN "attempt" INTEGER NOT NULL DEFAULT 0',
)


def _same_on_both(statements: tuple) -> dict:
    return {"sqlite": statements, "postgresql": statements}


STEPS = (
    _same_on_both(_V1_USERS_AND_SESSIONS),
    _same_on_both(_V2_TASKS_JOBS_ARTIFACTS),
    _V3_FAIR_DISPATCH,
    _same_on_both(_V4_CHAT_EXCHANGES),
    _same_on_both(_V5_API_TOKENS),
    _same_on_both(_V6_AUDIT_EVENTS),
    _same_on_both(_V7_PREFERENCES_AND_SETTINGS),
    _same_on_both(_V8_CREDENTIALS),
    _same_on_both(_V9_NODES),
    _same_on_both(_V10_SKILLS),
    _same_on_both(_V11_JOB_ATTEMPTS),
)


def backend_of(db) -> str:
    return "postgresql" if isinstance(db, peewee.PostgresqlDatabase) else "sqlite"


def _run(db, statement: str) -> None:
    db.execute_sql(statement.format(**TYPES[backend_of(db)]))


def apply_step(db, number: int) -> None:
    """Run step `number` (1-based) and record it; the caller holds the transaction."""
    for statement in STEPS[number - 1][backend_of(db)]:
        _run(db, statement)
    db.execute_sql(f"INSERT INTO schema_version (version, applied_at) VALUES ({db.param}, {db.param})",
                   (number, utcnow()))


def current_version(db) -> int:
    _run(db, SCHEMA_VERSION)
    return db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0


def migrate(db, target: int | None = None) -> int:
    """Apply every step newer than the database's version (up to `target`, default all), each in its own
    transaction; returns the version reached.

    Several processes may start on one database at once (`serve` and `worker`s): on PostgreSQL they take turns on
    an advisory lock, and each step reads the version again in its own transaction (SQLite's IMMEDIATE one is
    that lock), so a step already applied by another process is skipped, never applied twice."""
    target = len(STEPS) if target is None else target
    postgres = backend_of(db) == "postgresql"
    if postgres:
        db.execute_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
    try:
        version = current_version(db)
        if version > len(STEPS):
            raise RuntimeError(f"database schema version {version} is newer than this build ({len(STEPS)})")
        for number in range(version + 1, target + 1):
            with db.atomic():
                if current_version(db) < number:
                    apply_step(db, number)
        return max(version, target)
    finally:
        if postgres:
            db.execute_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
