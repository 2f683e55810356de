"""Open a peewee database from a URL: SQLite (default, WAL) or PostgreSQL through pg8000."""

import os
import threading
from urllib.parse import unquote, urlsplit

import peewee


class UnsupportedDatabase(ValueError):
    """The database URL names a scheme or shape this build cannot open."""


class _Pg8000Adapter(peewee._BasePsycopgAdapter):  # pylint: disable=protected-access
    """Lets peewee's PostgreSQL dialect drive a pg8000 connection.

    peewee ships adapters for psycopg2/3 only; psycopg needs a compiled library, pg8000 is pure Python, so the
    zipapp runs anywhere. pg8000's `format` paramstyle matches peewee's `%s`.
    """

    # pg8000 keeps the ReadyForQuery status byte; peewee wants ordered ints (usable while < in-error).
    txn_idle, txn_active, txn_inerror, txn_unknown = 0, 1, 3, 4
    _STATUS = {b"I": 0, b"T": 1, b"E": 3}

    def check_driver(self):
        """pg8000 is imported lazily in connect(); it is a declared dependency."""

    def connect(self, db, **params):
        import pg8000.dbapi  # pylint: disable=import-outside-toplevel  # ~100 ms; only for PostgreSQL

        return pg8000.dbapi.connect(database=db.database, **params)

    def get_binary_type(self):
        return bytes

    def get_server_version(self, conn):
        major, _, minor = conn.parameter_statuses.get("server_version", "0").split()[0].partition(".")
        return int(major) * 10000 + int((minor or "0").split(".")[0])

    def txn_status(self, conn):
        return self._STATUS.get(conn._transaction_status, self.txn_unknown)  # pylint: disable=protected-access

    def rollback(self, conn):
        conn.cursor().execute("ROLLBACK")


class Pg8000Database(peewee.PostgresqlDatabase):
    """PostgreSQL through pg8000."""

    def init(self, database, **kwargs):  # pylint: disable=arguments-differ  # psycopg-only options dropped
        super().init(database, **kwargs)
        self._adapter = _Pg8000Adapter()  # pylint: disable=attribute-defined-outside-init  # peewee's init()

    def _connect(self):
        return self.open_unmanaged()

    def open_unmanaged(self):
        """A new pg8000 connection in autocommit mode that peewee does not track (a LISTEN needs one of its own)."""
        conn = self._adapter.connect(self, **self.connect_params)
        conn.autocommit = True  # peewee issues BEGIN itself for atomic()
        return conn

    def execute_sql(self, sql, params=None):
        """pg8000 raises DatabaseError for every server error; constraint violations (SQLSTATE class 23)
        become IntegrityError here, as they do with psycopg, so callers can tell a taken name from a fault."""
        try:
            return super().execute_sql(sql, params)
        except peewee.DatabaseError as exc:
            detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}  # pg8000's error fields
            if str(detail.get("C", "")).startswith("23"):
                raise peewee.IntegrityError(*exc.args) from exc
            raise


class SqliteDatabase(peewee.SqliteDatabase):  # pylint: disable=abstract-method  # sequences: PostgreSQL only
    """SQLite where every transaction takes the write lock up front (BEGIN IMMEDIATE).

    In WAL mode a deferred transaction that has read cannot upgrade to a write once another connection
    committed: SQLite answers SQLITE_BUSY at once, without the busy timeout. IMMEDIATE waits its turn instead.

    Threads of this process queue for the write lock on a mutex first: SQLite's busy handler polls with sleeps of
    1, 2, 5, 10... ms, so four workers contending for it waited milliseconds for a lock held for microseconds.
    Other processes still wait through the busy timeout.
    """

    def init(self, database, **kwargs):  # pylint: disable=arguments-differ  # peewee's init(database, **kwargs)
        super().init(database, **kwargs)
        self._writer = threading.RLock()  # pylint: disable=attribute-defined-outside-init  # peewee's init()

    def atomic(self, *args, **kwargs):
        kwargs.setdefault("lock_type", "IMMEDIATE")
        return _Serialized(self._writer, super().atomic(*args, **kwargs))


class _Serialized:
    """A peewee atomic block entered only while holding `lock` (re-entrant: nested blocks are savepoints)."""

    def __init__(self, lock, block):
        self._lock, self._block = lock, block

    def __enter__(self):
        self._lock.acquire()  # pylint: disable=consider-using-with  # released in __exit__
        try:
            return self._block.__enter__()
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc):
        try:
            return self._block.__exit__(*exc)
        finally:
            self._lock.release()


def _sqlite(path: str) -> SqliteDatabase:
    if path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
        # Private whatever the umask and the folder's mode: SQLite gives the -wal and -shm files the database's mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    return SqliteDatabase(
        path,
        pragmas={
            "journal_mode": "wal",  # readers never block the writer
            "synchronous": "normal",  # durable across process crashes; measured ~9k commits/s here
            "foreign_keys": 1,
            "busy_timeout": 10000,
        },
        timeout=10,
    )


def _postgres(url: str) -> Pg8000Database:
    parts = urlsplit(url)
    params = {"host": parts.hostname or "localhost", "port": parts.port or 5432, "user": unquote(parts.username or "")}
    if parts.password:
        params["password"] = unquote(parts.password)
    name = parts.path.lstrip("/")
    if not name or not params["user"]:
        raise UnsupportedDatabase("PostgreSQL URL needs a user and a database: postgresql://USER@HOST:PORT/DB")
    return Pg8000Database(name, **params)


def connect(url: str) -> peewee.Database:
    """A peewee database for `url`: sqlite:///PATH, a bare file path, or postgresql://USER[:PW]@HOST[:PORT]/DB."""
    scheme = url.split(":", 1)[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        return _sqlite(url[len("sqlite:///"):])  # sqlite:///rel/path or sqlite:////abs/path
    if scheme in ("postgres", "postgresql"):
        return _postgres(url)
    if scheme:
        raise UnsupportedDatabase(f"unsupported database URL scheme {scheme!r}: use sqlite:/// or postgresql://")
    return _sqlite(url)


def first_locked(query: peewee.Select, backend: str):
    """The first row of `query`, locked until the transaction ends: FOR UPDATE on PostgreSQL; SQLite's
    transactions begin IMMEDIATE, which already keeps other writers out."""
    return (query.for_update() if backend == "postgresql" else query).first()
