"""Schema upgrades on SQLite and PostgreSQL: frozen steps, a real previous-version database, and the models.

tests/store/fixtures/schema_v2.<backend>.sql is a database at schema version 2 exactly as the build before
frozen migrations (e82712d) created and filled it: users (one disabled), sessions, finished, failed and queued
tasks with their jobs, and artifacts.
"""

from pathlib import Path

from cynode.store import migrations
from cynode.store.models import MODELS
from cynode.store.records import utcnow
from cynode.store.store import Store
from tests.store.schema import another_database, load_sql, rows, schema

FIXTURES = Path(__file__).parent / "fixtures"
V2_TABLES = ("schema_version", "user", "session", "task", "job", "artifact")


def fixture(backend: str) -> Path:
    return FIXTURES / f"schema_v2.{backend}.sql"


def table_rows(db, table: str, columns: str = "*") -> list[tuple]:
    return rows(db, f'SELECT {columns} FROM "{table}" ORDER BY 1')


def v2_columns(db, table: str) -> str:
    """The columns a table had at version 2, from the fixture database before the upgrade."""
    cursor = db.execute_sql(f'SELECT * FROM "{table}" WHERE 1 = 0')
    return ", ".join(f'"{d[0]}"' for d in cursor.description)


def test_a_fresh_install_is_what_the_models_describe(backend, url, tmp_path):
    """A model changed without a migration step (or a step without its model change) fails here."""
    store = Store(url)
    try:
        assert store.migrate() == len(migrations.STEPS)
        migrated = schema(store.db)
        with another_database(backend, tmp_path, "models") as db:
            with db.bind_ctx(MODELS):
                db.create_tables(MODELS)
            from_models = schema(db)
    finally:
        store.close()
    assert migrated == from_models


def test_the_frozen_first_two_steps_build_exactly_the_version_2_schema(backend, url, tmp_path):
    store = Store(url)
    try:
        with store.db.connection_context():
            assert migrations.migrate(store.db, target=2) == 2
            frozen = schema(store.db)
    finally:
        store.close()
    with another_database(backend, tmp_path, "v2") as db:
        load_sql(db, fixture(backend))
        assert schema(db) == frozen


def test_a_version_2_database_upgrades_with_its_rows_intact(backend, url, tmp_path):
    store = Store(url)
    try:
        with store.db.connection_context():
            load_sql(store.db, fixture(backend))
            columns = {table: v2_columns(store.db, table) for table in V2_TABLES}
            before = {table: table_rows(store.db, table, columns[table]) for table in V2_TABLES}
        assert store.migrate() == len(migrations.STEPS)
        with store.db.connection_context():
            after = {table: table_rows(store.db, table, columns[table]) for table in V2_TABLES}
            owners = rows(store.db, 'SELECT "job"."owner_id", "task"."owner_id" FROM "job" '
                                    'JOIN "task" ON "task"."id" = "job"."task_id"')
            served = table_rows(store.db, "user", '"last_claimed_at"')
            upgraded = schema(store.db)
        assert [row[0] for row in after.pop("schema_version")] == list(range(1, len(migrations.STEPS) + 1))
        before.pop("schema_version")
        assert after == before
        assert len(owners) == 6 and all(job_owner == task_owner for job_owner, task_owner in owners)
        assert served == [(None,)] * 3
        old_rows_serve(store)
    finally:
        store.close()
    with another_database(backend, tmp_path, "fresh") as db:
        migrations.migrate(db)
        assert upgraded == schema(db)


def old_rows_serve(store) -> None:
    """The fixture's rows read through today's store, and its queue goes on where it stopped."""
    alice = store.user_by_handle("alice")
    assert alice.email == "alice@example.org" and store.user_by_handle("bob").is_active is False
    listed = {t.name: t.status for t in store.list_tasks(alice.id, None, 10, 0)}
    assert listed == {"old-done": "completed", "old-failed": "failed", "old-queued-2": "queued"}
    done = store.task_by_name(alice.id, "old-done")
    assert '"stdout": "hi\\n"' in store.jobs_for_task(done.id)[0].result
    assert sorted(a.name for a in store.artifacts_for_task(done.id)) == ["attachments/in.txt", "out/report.txt"]
    claimed = {store.claim_job("w", 60).task_id for _ in range(2)}
    assert claimed == {store.task_by_name(alice.id, "old-queued-2").id,
                       store.task_by_name(store.user_by_handle("admin").id, "old-queued").id}


def test_each_step_runs_in_its_own_transaction_and_only_once(backend, unmigrated):
    store = unmigrated
    with store.db.connection_context():
        assert migrations.migrate(store.db, target=1) == 1
    store.create_user("kept", None)
    assert store.migrate() == len(migrations.STEPS)
    assert store.migrate() == len(migrations.STEPS)
    with store.db.connection_context():
        versions = [v for (v,) in table_rows(store.db, "schema_version", "version")]
        assert versions == list(range(1, len(migrations.STEPS) + 1))
    assert store.user_by_handle("kept") is not None, backend


def test_work_a_user_disabled_before_version_3_left_queued_is_canceled(backend, unmigrated):
    """Disabling did not cancel anything before v3, and claims now pass over inactive users: left queued, such
    work would wait forever."""
    store = unmigrated
    with store.db.connection_context():
        load_sql(store.db, fixture(backend))
        param, bob = store.db.param, table_rows(store.db, "user", '"id", "handle"')
        bob_id = next(user_id for user_id, handle in bob if handle == "bob")
        now = utcnow()
        store.db.execute_sql(
            'INSERT INTO "task" ("id", "owner_id", "name", "input_mode", "prompt", "status", "created_at", '
            f'"updated_at") VALUES ({param}, {param}, \'bobs\', \'commands\', \'true\', \'queued\', {param}, {param})',
            ("b0b00000-0000-4000-8000-000000000001", bob_id, now, now))
        store.db.execute_sql(
            'INSERT INTO "job" ("id", "task_id", "seq", "kind", "payload", "status", "created_at") VALUES '
            f'({param}, {param}, 0, \'command\', \'{{"command": "true"}}\', \'queued\', {param})',
            ("b0b00000-0000-4000-8000-000000000002", "b0b00000-0000-4000-8000-000000000001", now))
    store.migrate()
    assert store.task_by_id("b0b00000-0000-4000-8000-000000000001").status == "canceled"
    assert [j.status for j in store.jobs_for_task("b0b00000-0000-4000-8000-000000000001")] == ["canceled"]
    alice = store.user_by_handle("alice")
    assert store.task_by_name(alice.id, "old-queued-2").status == "queued"  # active users' work stays
