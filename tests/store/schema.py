"""What a database's schema is, read from its catalog, in a form two databases can be compared by.

Per table: columns in order (name, type, nullable, default, primary key), indexes by name (columns in order,
unique), foreign keys (column, target table and column, ON DELETE). Names SQLite makes up itself
(sqlite_autoindex_*) are replaced by what they index.
"""

import re
from contextlib import contextmanager

import peewee

from cynode.store.database import connect
from tests.support.pg import PrivateDatabase, base_url
from tests.support.pg import connect as pg_connect


def rows(db, sql: str, params=()) -> list[tuple]:
    return [tuple(row) for row in db.execute_sql(sql, params).fetchall()]


def _sqlite_table(db, table: str) -> dict:
    columns = [(name, kind, not notnull, default, bool(pk))
               for _cid, name, kind, notnull, default, pk in rows(db, f'PRAGMA table_info("{table}")')]
    indexes = {}
    for _seq, name, unique, origin, partial in rows(db, f'PRAGMA index_list("{table}")'):
        cols = tuple(col for _n, _cid, col in rows(db, f'PRAGMA index_info("{name}")'))
        key = f"({origin}) {cols}" if name.startswith("sqlite_autoindex_") else name
        indexes[key] = (cols, bool(unique), bool(partial))
    fks = sorted((src, dest, to, on_delete) for _id, _seq, dest, src, to, _upd, on_delete, _match
                 in rows(db, f'PRAGMA foreign_key_list("{table}")'))
    return {"columns": columns, "indexes": indexes, "foreign_keys": fks}


def _pg_table(db, table: str) -> dict:
    columns = rows(db, "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
                       "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
                       "ORDER BY ordinal_position", (table,))
    indexes = {name: re.sub(r"\bpublic\.", "", definition) for name, definition in rows(
        db, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s", (table,))}
    constraints = sorted(rows(db, "SELECT c.conname, c.contype, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                                  "JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace"
                                  " WHERE n.nspname = 'public' AND r.relname = %s", (table,)))
    return {"columns": columns, "indexes": indexes, "constraints": constraints}


def schema(db: peewee.Database) -> dict:
    """{table: its description} for every table of the database."""
    if isinstance(db, peewee.PostgresqlDatabase):
        tables = [name for (name,) in rows(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {table: _pg_table(db, table) for table in sorted(tables)}
    tables = [name for (name,) in rows(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%'")]
    return {table: _sqlite_table(db, table) for table in sorted(tables)}


@contextmanager
def another_database(backend: str, tmp_path, name: str):
    """A second empty database of the same backend (a file, or a private PostgreSQL database), open."""
    if backend == "sqlite":
        db = connect(f"sqlite:///{tmp_path}/{name}.db")
        try:
            yield db
        finally:
            db.close()
        return
    private = PrivateDatabase(pg_connect(base_url()))
    db = connect(private.url)
    try:
        yield db
    finally:
        db.close()
        private.close()


def load_sql(db, path) -> None:
    """Run a fixture written one statement a line ('--' lines are comments), in one transaction."""
    with db.atomic():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("--"):
                db.execute_sql(line.rstrip().removesuffix(";"))
