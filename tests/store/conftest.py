"""Every store test runs once per backend: SQLite in a temp file, and PostgreSQL in a private database."""

import peewee
import pytest

from cynode.store.models import MODELS, SchemaVersion
from cynode.store.store import Store
from tests.support.pg import PrivateDatabase, base_url, connect


@pytest.fixture(scope="session", name="pg_database")
def fixture_pg_database():
    try:
        conn = connect(base_url())
    except Exception as exc:  # pylint: disable=broad-exception-caught  # any failure to connect means: skip
        pytest.skip(f"PostgreSQL not reachable at {base_url()} (set CYNODE_TEST_PG_URL): {exc}")
    database = PrivateDatabase(conn)
    yield database
    database.close()


@pytest.fixture(name="backend", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fixture_backend(request):
    return request.param


@pytest.fixture(name="url")
def fixture_url(backend, request, tmp_path):
    """A database that was never migrated (and on PostgreSQL is emptied again afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/cynode.db"
        return
    database = request.getfixturevalue("pg_database")
    database.reset()
    yield database.url
    database.reset()


@pytest.fixture(name="unmigrated")
def fixture_unmigrated(url):
    """A Store on a database that was never migrated; closed afterwards."""
    store = Store(url)
    yield store
    store.close()


@pytest.fixture(name="store")
def fixture_store(backend, request, tmp_path):
    """An open, migrated Store with no rows. The models are bound to it alone until it closes.

    PostgreSQL keeps its schema between tests (migrating is slow there) and is emptied row by row instead.
    """
    database = request.getfixturevalue("pg_database") if backend == "postgresql" else None
    store = Store(database.url if database else f"sqlite:///{tmp_path}/cynode.db")
    if not (database and database.migrated):
        store.migrate()
    if database:
        database.migrated = True
        for model in reversed(peewee.sort_models(MODELS)):  # children first; DELETE is far quicker than TRUNCATE
            if model is not SchemaVersion:
                model.delete().execute()
    yield store
    store.close()
