"""Database URLs: which backend a URL opens, and the mistakes that are refused before anything connects."""

import os

import peewee
import pg8000.exceptions
import pytest

from cynode.store.database import (Pg8000Database, SqliteDatabase, UnsupportedDatabase, connect, lost_reason,
                                   redact, resolve_password)


def test_sqlite_urls_and_bare_paths(tmp_path):
    absolute = connect(f"sqlite:///{tmp_path}/a/cynode.db")
    assert isinstance(absolute, SqliteDatabase) and absolute.database == f"{tmp_path}/a/cynode.db"
    assert (tmp_path / "a").is_dir()  # the folder is made, private
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700
    bare = connect(str(tmp_path / "plain.db"))
    assert isinstance(bare, SqliteDatabase) and bare.database == str(tmp_path / "plain.db")
    assert connect("sqlite:///:memory:").database == ":memory:"


def test_a_new_sqlite_database_and_its_wal_files_are_private_whatever_the_umask(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    old = os.umask(0o022)
    try:
        database = connect(f"sqlite:///{folder}/cynode.db")
        database.execute_sql("CREATE TABLE t (x INTEGER)")
        modes = {path.name: path.stat().st_mode & 0o777 for path in folder.iterdir()}
        database.close()
    finally:
        os.umask(old)
    assert modes == {"cynode.db": 0o600, "cynode.db-wal": 0o600, "cynode.db-shm": 0o600}


def test_postgresql_urls_are_parsed_without_connecting():
    database = connect("postgresql://alice:p%40ss@db.example/cynode")
    assert isinstance(database, Pg8000Database) and database.database == "cynode"
    assert database.connect_params == {"host": "db.example", "port": 5432, "user": "alice", "password": "p@ss"}
    assert connect("postgres://bob@10.0.0.1:6543/x").connect_params == {"host": "10.0.0.1", "port": 6543,
                                                                         "user": "bob"}


@pytest.mark.parametrize("url, message", [
    ("mysql://root@db/cynode", "unsupported database URL scheme 'mysql'"),
    ("postgresql://db.example/cynode", "PostgreSQL URL needs a user and a database"),
    ("postgresql://alice@db.example/", "PostgreSQL URL needs a user and a database"),
])
def test_unusable_urls_are_refused(url, message):
    with pytest.raises(UnsupportedDatabase, match=message):
        connect(url)


def test_a_given_password_replaces_the_urls():
    assert connect("postgresql://alice:old@db/x", password="new").connect_params["password"] == "new"
    assert connect("postgresql://alice:old@db/x", password=None).connect_params["password"] == "old"


def test_printed_urls_never_show_a_password():
    assert (redact("postgresql://alice:s%40cret@db.example:5433/cynode")
            == "postgresql://alice:***@db.example:5433/cynode")
    assert redact("postgresql://alice@db/x") == "postgresql://alice@db/x"
    assert redact("sqlite:////var/lib/cynode.db") == "sqlite:////var/lib/cynode.db"
    for raw in ("s3cr#t", "a/b?c", "p@ss"):  # not percent-encoded: the URL parser would cut the password short
        assert redact(f"postgresql://alice:{raw}@db:5432/x") == "postgresql://alice:***@db:5432/x"


def test_a_url_whose_password_breaks_the_port_is_refused_without_quoting_it():
    with pytest.raises(UnsupportedDatabase) as refused:
        connect("postgresql://alice:s3cr#t@db:5432/x")
    assert "s3cr" not in str(refused.value) and "percent-encode" in str(refused.value)


def test_the_password_comes_from_the_file_then_pgpassword(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("from file\n\n")
    assert resolve_password(str(secret), {"PGPASSWORD": "env"}) == "from file\n"  # one final newline stripped
    assert resolve_password(None, {"PGPASSWORD": "env"}) == "env"
    assert resolve_password(None, {"PGPASSWORD": ""}) is None  # the URL's password stands
    missing = tmp_path / "nope"
    with pytest.raises(ValueError) as caught:
        resolve_password(str(missing), {})
    assert str(caught.value) == f"database_password_file {missing}: No such file or directory"



def test_connection_level_failures_are_told_from_sql_errors():
    shutdown = pg8000.exceptions.DatabaseError({"C": "57P01", "M": "terminating connection due to administrator "
                                                "command"})
    assert lost_reason(shutdown) == "terminating connection due to administrator command (SQLSTATE 57P01)"
    refused = pg8000.exceptions.InterfaceError("Can't create a connection to host 127.0.0.1 and port 1")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    as_peewee_raises_it = peewee.InterfaceError(refused, *refused.args)
    as_peewee_raises_it.__context__ = refused
    assert lost_reason(as_peewee_raises_it) == "[Errno 111] Connection refused"
    assert lost_reason(pg8000.exceptions.InterfaceError("network error")) == "network error"
    assert lost_reason(pg8000.exceptions.DatabaseError({"C": "42P01", "M": "relation does not exist"})) is None
    assert lost_reason(pg8000.exceptions.InterfaceError("identifier must be a str")) is None
