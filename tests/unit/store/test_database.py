"""Database URLs: which backend a URL opens, and the mistakes that are refused before anything connects."""

import pytest

from cynode.store.database import Pg8000Database, SqliteDatabase, UnsupportedDatabase, connect


def test_sqlite_urls_and_bare_paths(tmp_path):
    absolute = connect(f"sqlite:///{tmp_path}/a/cynode.db")
    assert isinstance(absolute, SqliteDatabase) and absolute.database == f"{tmp_path}/a/cynode.db"
    assert (tmp_path / "a").is_dir()  # the folder is made, private
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700
    bare = connect(str(tmp_path / "plain.db"))
    assert isinstance(bare, SqliteDatabase) and bare.database == str(tmp_path / "plain.db")
    assert connect("sqlite:///:memory:").database == ":memory:"


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
