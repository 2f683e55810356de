"""Which database the BDD servers use: CYNODE_TEST_BACKEND=sqlite (default; a file in each server's data dir) or
postgresql (a private database per server on the server of CYNODE_TEST_PG_URL, dropped when the server stops).

A server's private PostgreSQL database belongs to its work dir, so a server started again on the same work dir
(after SIGKILL, say) finds its data as it would in its data dir. Private databases are copies of a template this
process migrates once: CREATE DATABASE ... TEMPLATE costs about what an empty CREATE DATABASE does, and saves
every server from migrating at start. With PostgreSQL selected and unreachable every server start fails, so a
PostgreSQL run can never pass without PostgreSQL.
"""

import os
import time
from pathlib import Path

from tests.support.pg import PG_URL_ENV, PrivateDatabase, base_url, connect

BACKEND_ENV = "CYNODE_TEST_BACKEND"
BACKENDS = ("sqlite", "postgresql")
# A server holds up to one connection per thread (8 HTTP, 4 workers, 3 more) and PostgreSQL allows 100 by default:
# parallel test processes, and other runs on the same PostgreSQL server, can exhaust it ("too many clients"). A
# server is started once this many connections are free, or after HEADROOM_WAIT seconds anyway.
HEADROOM = 30
HEADROOM_WAIT = 60.0
PREFIX = "cynode_bdd_"  # the databases of a BDD run, told apart from the store tests' (cynode_test_)


def backend() -> str:
    value = os.environ.get(BACKEND_ENV) or "sqlite"
    if value not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV}={value!r}: expected one of {', '.join(BACKENDS)}")
    return value


def _connect():
    try:
        return connect(base_url())
    except Exception as exc:  # pylint: disable=broad-exception-caught  # whatever it is, it must fail the test
        raise AssertionError(f"{BACKEND_ENV}=postgresql, but PostgreSQL at {base_url()} cannot be reached (set "
                             f"{PG_URL_ENV}, or unset {BACKEND_ENV} to run on SQLite): {exc}") from exc


class Databases:
    """This test process's private PostgreSQL databases, by server work dir, and their template."""

    def __init__(self):
        self._template: PrivateDatabase | None = None
        self._by_workdir: dict[Path, PrivateDatabase] = {}

    def _template_name(self) -> str:
        if self._template is None:
            from cynode.store.store import Store  # pylint: disable=import-outside-toplevel  # PostgreSQL runs only

            template = PrivateDatabase(_connect(), prefix=PREFIX + "tmpl_", keep_connection=False)
            store = Store(template.url)
            try:
                store.migrate()
            finally:
                store.close()  # CREATE DATABASE ... TEMPLATE refuses a template anyone is connected to
            self._template = template
        return self._template.name

    def empty(self, workdir: Path) -> PrivateDatabase:
        """A database never migrated, for the server that will start on `workdir` (e.g. to load an old schema)."""
        database = self._by_workdir[Path(workdir)] = PrivateDatabase(_connect(), prefix=PREFIX, keep_connection=False)
        return database

    def for_server(self, workdir: Path) -> PrivateDatabase:
        """The work dir's database: the one a server there used before, else a new copy of the template. Waits
        for PostgreSQL to have connections to spare for one more server."""
        workdir = Path(workdir)
        wait_for_headroom()
        if workdir not in self._by_workdir:
            self._by_workdir[workdir] = PrivateDatabase(_connect(), template=self._template_name(), prefix=PREFIX,
                                                        keep_connection=False)
        return self._by_workdir[workdir]

    def release(self, workdir: Path) -> None:
        database = self._by_workdir.pop(Path(workdir), None)
        if database:
            database.close()

    def close(self) -> None:
        """Drop every database still here (servers that never stopped cleanly) and the template."""
        for workdir in list(self._by_workdir):
            self.release(workdir)
        if self._template:
            self._template.close()
            self._template = None


DATABASES = Databases()


def free_connections() -> int:
    conn = _connect()
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT current_setting('max_connections')::int - current_setting("
                       "'superuser_reserved_connections')::int - (SELECT COUNT(*) FROM pg_stat_activity "
                       "WHERE backend_type = 'client backend')")
        return cursor.fetchone()[0]
    finally:
        conn.close()


def wait_for_headroom() -> None:
    deadline = time.monotonic() + HEADROOM_WAIT
    while free_connections() < HEADROOM and time.monotonic() < deadline:
        time.sleep(0.5)


def stored(database_url: str) -> dict[str, bytes]:
    """What a server's database holds, by where: the raw bytes of its SQLite files (database, -wal, -journal), or
    every row of its PostgreSQL database as text. Look for a value with holds()."""
    if database_url.startswith("postgresql"):
        from tests.support.pg import rows_text  # pylint: disable=import-outside-toplevel

        return {database_url: rows_text(database_url).encode("utf-8")}
    path = Path(database_url.removeprefix("sqlite:///"))
    return {str(file): file.read_bytes() for file in path.parent.glob(path.name + "*") if file.is_file()}


def holds(raw: bytes, value: bytes) -> bool:
    """`value` in `raw`, as it is or hex-encoded (PostgreSQL prints bytea as hex)."""
    return value in raw or value.hex().encode() in raw.lower()
