"""Open a peewee database from a URL: SQLite (default, WAL) or PostgreSQL through pg8000."""

import contextlib
import os
import select
import socket
import threading
from urllib.parse import unquote, urlsplit

import peewee
from playhouse.pool import MaxConnectionsExceeded, PooledDatabase

CONNECT_SECONDS = 5  # a server that does not answer fails the start (or a checkout) this soon, not never
DEAD_PEER_SECONDS = 10  # a database host cut off silently is given up this soon (keepalive, TCP user timeout)
_DEAD_PEER_OPTIONS = tuple((level, getattr(socket, name), value) for level, name, value in (
    (socket.SOL_SOCKET, "SO_KEEPALIVE", 1), (socket.IPPROTO_TCP, "TCP_KEEPIDLE", 4),
    (socket.IPPROTO_TCP, "TCP_KEEPINTVL", 2), (socket.IPPROTO_TCP, "TCP_KEEPCNT", 3),
    (socket.IPPROTO_TCP, "TCP_USER_TIMEOUT", DEAD_PEER_SECONDS * 1000)) if hasattr(socket, name))
CHECKOUT_SECONDS = 10  # a thread waits this long for a free pooled connection before its request fails
# SQLSTATEs saying the connection, not the statement, failed: class 08 (connection exception) and the server
# going away (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
_LOST_SQLSTATES = ("08", "57P01", "57P02", "57P03")
_LOST_MESSAGES = ("network error", "communication error", "connection is closed", "Can't create a connection")


class UnsupportedDatabase(ValueError):
    """The database URL names a scheme or shape this build cannot open."""


class DatabaseUnavailable(Exception):
    """No working connection: the server cannot be reached, refused us, or the connection broke mid-use.

    Not a peewee error class (nor named like one), so peewee's exception wrapper passes it through unchanged; the
    message is the reason (never a password), for the log."""


def redact(url: str) -> str:
    """`url` without its password, for anything printed: everything between the scheme and the host's `@` but the
    user is masked, so a password that was not percent-encoded (holding `#`, `/` or `?`) is masked as well."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, has_password, _ = credentials.partition(":")
    return f"{scheme}://{user}:***@{host}" if has_password else url


def resolve_password(password_file: str | None, environ) -> str | None:
    """The PostgreSQL password: the file's content (final newline stripped), else PGPASSWORD, else None (the URL's
    own password, if any, stands). A file that cannot be read is a ValueError naming the file, not the content."""
    if password_file:
        try:
            with open(password_file, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"database_password_file {password_file}: "
                             f"{getattr(exc, 'strerror', None) or type(exc).__name__}") from None
        return text[:-1] if text.endswith("\n") else text
    return environ.get("PGPASSWORD") or None


def _sqlstate(exc) -> str:
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}  # pg8000's error fields
    return str(detail.get("C", ""))


def _chain(exc: BaseException | None):
    """`exc` and what it was raised from: peewee's wrapper keeps pg8000's error, pg8000 the socket's."""
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def lost_reason(exc: BaseException) -> str | None:
    """Why `exc` means the connection is gone (a one-line reason), or None for an ordinary SQL error."""
    chain = list(_chain(exc))
    for seen in chain:
        code = _sqlstate(seen)
        if code.startswith(_LOST_SQLSTATES):
            return f"{seen.args[0].get('M', code)} (SQLSTATE {code})"
    for seen in chain:
        if isinstance(seen, OSError):
            return str(seen) or type(seen).__name__
    for seen in chain:  # pg8000's own words for a socket it found closed (its message is the last argument)
        if type(seen).__name__ == "InterfaceError" and seen.args and str(seen.args[-1]).startswith(_LOST_MESSAGES):
            return str(seen.args[-1])
    return None


def _connect_reason(exc: BaseException) -> str:
    """One line for a failed connect: the server's message (a missing database or role) or the network's."""
    for seen in _chain(exc):
        if _sqlstate(seen):
            return seen.args[0].get("M", _sqlstate(seen))
    return lost_reason(exc) or str(exc)


def _dead(conn) -> bool:
    """A pg8000 connection that is closed, or whose socket is readable while idle: between queries the server
    sends nothing but its farewell (an admin shutdown's FATAL) or EOF. One poll(2), no round trip."""
    sock = conn._usock  # pylint: disable=protected-access  # pg8000 has no public liveness check
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


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

        conn = pg8000.dbapi.connect(database=db.database, timeout=CONNECT_SECONDS, **params)
        # The timeout was for connecting: a query may wait on a lock (the migration's advisory lock, FOR UPDATE) as
        # long as it needs. A peer that is gone shows as EOF or a reset; one cut off silently (a partition, a host
        # that lost power) through keepalive probes when idle and the TCP user timeout while a query waits for its
        # reply: within DEAD_PEER_SECONDS, well inside a job lease, never the kernel's ~15 minutes.
        sock = conn._usock  # pylint: disable=protected-access
        sock.settimeout(None)
        for level, option, value in _DEAD_PEER_OPTIONS:
            with contextlib.suppress(OSError):  # an option this kernel lacks: the peer is found dead later
                sock.setsockopt(level, option, value)
        return conn

    def get_binary_type(self):
        return bytes

    def get_server_version(self, conn):
        major, _, minor = conn.parameter_statuses.get("server_version", "0").split()[0].partition(".")
        return int(major) * 10000 + int((minor or "0").split(".")[0])

    def txn_status(self, conn):
        return self._STATUS.get(conn._transaction_status, self.txn_unknown)  # pylint: disable=protected-access

    def rollback(self, conn):
        conn.cursor().execute("ROLLBACK")


class Pg8000Database(PooledDatabase, peewee.PostgresqlDatabase):
    """PostgreSQL through pg8000, from a bounded pool (peewee's): a thread holds a connection from its first query
    until close() gives it back. A connection that broke is never used again: a connection-level failure raises
    DatabaseUnavailable and closes it, and a dead one (checked with one poll(2)) is dropped before a thread's next
    statement or a checkout, so the server recovers by itself once the database is back."""

    def init(self, database, **kwargs):  # pylint: disable=arguments-differ  # psycopg-only options dropped
        super().init(database, **kwargs)
        self._adapter = _Pg8000Adapter()  # pylint: disable=attribute-defined-outside-init  # peewee's init()

    def connect(self, reuse_if_open=False):
        try:
            return super().connect(reuse_if_open)
        except MaxConnectionsExceeded:
            raise DatabaseUnavailable(f"no free connection in the pool of {self._max_connections} "
                                      f"within {self._wait_timeout} s") from None
        except (peewee.PeeweeException, OSError) as exc:  # OSError: a timeout in pg8000's start-up exchange
            raise DatabaseUnavailable(_connect_reason(exc)) from exc

    def cursor(self, named_cursor=None):
        conn = self._state.conn
        if conn is not None and not self.in_transaction() and _dead(conn):
            self.close()  # back to the pool, which closes it (not reusable); super() connects anew
        return super().cursor(named_cursor)

    def open_unmanaged(self):
        """A new pg8000 connection in autocommit mode that neither peewee nor the pool tracks (a LISTEN needs one of
        its own: notifications arriving while it idles would make the pool take it for dead)."""
        conn = self._adapter.connect(self, **self.connect_params)
        conn.autocommit = True
        return conn

    def execute_sql(self, sql, params=None):
        """pg8000 raises DatabaseError for every server error; constraint violations (SQLSTATE class 23)
        become IntegrityError here, as they do with psycopg, so callers can tell a taken name from a fault."""
        with self._guard():
            try:
                return super().execute_sql(sql, params)
            except peewee.DatabaseError as exc:
                if _sqlstate(exc).startswith("23"):
                    raise peewee.IntegrityError(*exc.args) from exc
                raise

    def begin(self, isolation_level=None):
        with self._guard():
            super().begin(isolation_level)

    def commit(self):
        with self._guard():
            super().commit()

    def rollback(self):
        if self.is_closed() or _dead(self._state.conn):
            return  # the server ended the transaction with the connection
        with self._guard():
            super().rollback()

    @contextlib.contextmanager
    def _guard(self):
        """A connection-level failure closes the connection and becomes DatabaseUnavailable; SQL errors pass."""
        try:
            yield
        except peewee.PeeweeException as exc:
            reason = lost_reason(exc)
            if reason is None:
                raise
            if self._state.conn is not None:
                self._close_raw(self._state.conn)  # dead for good: every later check sees it closed
            if not self.in_transaction():  # else the transaction's end gives it back
                self.close()
            raise DatabaseUnavailable(reason) from exc

    # the pool's hooks: which connections it may hand out again
    def _is_closed(self, conn):
        return _dead(conn)

    def _can_reuse(self, conn):
        return not _dead(conn) and self._adapter.txn_status(conn) == self._adapter.txn_idle


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


def _postgres(url: str, password: str | None, max_connections: int) -> Pg8000Database:
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:  # its message would quote what follows the `:`, which may be a password
        raise UnsupportedDatabase("PostgreSQL URL: the port is not a number (percent-encode a password holding "
                                  "`/`, `?`, `#` or `@`, or give it in database_password_file or PGPASSWORD)") from None
    params = {"host": parts.hostname or "localhost", "port": port, "user": unquote(parts.username or "")}
    password = password or unquote(parts.password or "")
    if password:
        params["password"] = password
    name = parts.path.lstrip("/")
    if not name or not params["user"]:
        raise UnsupportedDatabase("PostgreSQL URL needs a user and a database: postgresql://USER@HOST:PORT/DB")
    return Pg8000Database(name, max_connections=max_connections, timeout=CHECKOUT_SECONDS, **params)


def connect(url: str, *, password: str | None = None, max_connections: int = 20) -> peewee.Database:
    """A peewee database for `url`: sqlite:///PATH, a bare file path, or postgresql://USER[:PW]@HOST[:PORT]/DB.

    PostgreSQL only: `password` replaces the URL's, and at most `max_connections` are open at once."""
    scheme = url.split(":", 1)[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        return _sqlite(url[len("sqlite:///"):])  # sqlite:///rel/path or sqlite:////abs/path
    if scheme in ("postgres", "postgresql"):
        return _postgres(url, password, max_connections)
    if scheme:
        raise UnsupportedDatabase(f"unsupported database URL scheme {scheme!r}: use sqlite:/// or postgresql://")
    return _sqlite(url)


def first_locked(query: peewee.Select, backend: str):
    """The first row of `query`, locked until the transaction ends: FOR UPDATE on PostgreSQL; SQLite's
    transactions begin IMMEDIATE, which already keeps other writers out."""
    return (query.for_update() if backend == "postgresql" else query).first()
