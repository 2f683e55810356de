"""A private PostgreSQL database for one test run, or a visible skip when no server answers.

The server comes from CYNODE_TEST_PG_URL (default postgresql://root@127.0.0.1:5432/test). A database named
cynode_test_<random> is created next to it and dropped at the end, so runs never see each other's rows.
"""

import os
import uuid
from urllib.parse import unquote, urlsplit, urlunsplit

PG_URL_ENV = "CYNODE_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql://root@127.0.0.1:5432/test"
STATEMENT_SECONDS = 120


def base_url() -> str:
    return os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL


def connect(url: str):
    """A pg8000 DB-API connection in autocommit mode; raises when the server cannot be reached."""
    import pg8000.dbapi  # pylint: disable=import-outside-toplevel

    parts = urlsplit(url)
    conn = pg8000.dbapi.connect(user=unquote(parts.username or ""), password=unquote(parts.password or "") or None,
                                host=parts.hostname or "localhost", port=parts.port or 5432,
                                database=parts.path.lstrip("/"), timeout=5)
    # 5 s was for reaching the server; a statement may take longer: DROP DATABASE waits for a checkpoint, which
    # took over 5 s on a loaded CI run and failed a scenario's teardown.
    conn._usock.settimeout(STATEMENT_SECONDS)  # pylint: disable=protected-access  # pg8000 has no setter
    conn.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    return conn


def _execute(conn, sql: str) -> None:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


class PrivateDatabase:
    """CREATE DATABASE through `conn` (a connection from connect(base_url())); DROP DATABASE on close().

    With `template` (the name of a database nobody is connected to) the new database is a copy of it. With
    `keep_connection=False` `conn` is closed at once and close() connects again (a connection fewer meanwhile).
    """

    def __init__(self, conn, template: str | None = None, prefix: str = "cynode_test_", keep_connection: bool = True):
        self.admin_url = base_url()
        self.name = prefix + uuid.uuid4().hex[:12]
        self._conn = conn
        self.migrated = False  # for callers that keep the schema between tests
        try:
            _execute(conn, f'CREATE DATABASE "{self.name}"' + (f' TEMPLATE "{template}"' if template else ""))
        finally:
            if not keep_connection:
                conn.close()
                self._conn = None
        parts = urlsplit(self.admin_url)
        self.url = urlunsplit(parts._replace(path="/" + self.name))

    def reset(self) -> None:
        """An empty public schema, as if the database had never been migrated."""
        self.migrated = False
        conn = connect(self.url)
        try:
            _execute(conn, "DROP SCHEMA public CASCADE")
            _execute(conn, "CREATE SCHEMA public")
        finally:
            conn.close()

    def close(self) -> None:
        if self._conn is None:
            self._conn = connect(self.admin_url)
        try:
            _execute(self._conn, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            self._conn.close()


def rows_text(url: str) -> str:
    """Every row of every table of the database at `url`, as PostgreSQL spells a row as text (bytea as \\x hex)."""
    conn = connect(url)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                       "AND table_type = 'BASE TABLE' ORDER BY table_name")
        lines = []
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT CAST(t AS text) FROM "{table}" t')
            lines.extend(f"{table} {row}" for (row,) in cursor.fetchall())
        cursor.close()
        return "\n".join(lines)
    finally:
        conn.close()
