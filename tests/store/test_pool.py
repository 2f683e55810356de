"""PostgreSQL connections: a bounded pool, broken connections discarded, connection failures told from SQL errors.

Faults are real: the server ends our backend (pg_terminate_backend), or nothing listens where the URL points.
"""

import socket
import threading

import peewee
import pytest

from cynode.store import database
from cynode.store.database import DatabaseUnavailable
from cynode.store.store import Store
from tests.support.pg import base_url, connect

pytestmark = pytest.mark.postgres


@pytest.fixture(name="store")
def fixture_store(pg_database):
    store = Store(pg_database.url, max_connections=2)
    yield store
    store.close()


@pytest.fixture(name="admin")
def fixture_admin():
    conn = connect(base_url())
    yield conn
    conn.close()


def backend_pid(store) -> int:
    return store.db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def terminate(admin, pid: int) -> None:
    """End that backend and wait until it is gone (the server has sent its FATAL and closed the socket)."""
    cursor = admin.cursor()
    cursor.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    assert cursor.fetchone()[0] is True


def in_thread(work):
    """Run work() in a new thread (a thread of its own holds its own connection); its result or its exception."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except Exception as exc:  # pylint: disable=broad-exception-caught  # handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return outcome


def test_a_connection_the_server_ended_is_dropped_before_the_next_query(store, admin):
    first = backend_pid(store)
    terminate(admin, first)
    second = backend_pid(store)  # no error: the dead connection is noticed before anything is sent on it
    assert second != first


def test_a_connection_lost_mid_transaction_fails_that_transaction_only(store, admin):
    first = backend_pid(store)
    with pytest.raises(DatabaseUnavailable, match="network error|57P01"):
        with store.db.atomic():
            store.db.execute_sql("SELECT 1")
            terminate(admin, first)
            store.db.execute_sql("SELECT 1")
    assert backend_pid(store) != first  # and the store works again at once
    store.release()
    assert not store.db._connections or all(  # pylint: disable=protected-access  # the pool's idle list
        not database._dead(conn) for _, _, conn in store.db._connections)  # pylint: disable=protected-access


def test_a_connection_ended_mid_query_fails_that_query_only(store, admin):
    first = backend_pid(store)
    ender = threading.Timer(0.3, terminate, (admin, first))
    ender.start()
    with pytest.raises(DatabaseUnavailable, match="network error"):  # pg8000 reads the server's FATAL, then EOF
        store.db.execute_sql("SELECT pg_sleep(10)")
    ender.join()
    assert backend_pid(store) != first


def test_a_released_connection_is_reused_and_a_dead_idle_one_is_never_handed_out(store, admin):
    first = backend_pid(store)
    store.release()
    assert in_thread(lambda: (backend_pid(store), store.release())[0]) == {"value": first}  # the pool's one
    terminate(admin, first)
    outcome = in_thread(lambda: (backend_pid(store), store.release())[0])
    assert "error" not in outcome and outcome["value"] != first


def test_the_pool_is_bounded_and_a_checkout_past_it_fails_clearly(pg_database, monkeypatch):
    monkeypatch.setattr(database, "CHECKOUT_SECONDS", 0.3)
    before = sessions(pg_database.url)  # what earlier tests may still hold on this database
    store = Store(pg_database.url, max_connections=2)
    try:
        holders = [in_thread(lambda: backend_pid(store)) for _ in range(2)]  # threads end holding a connection
        assert all("value" in held for held in holders)
        third = in_thread(lambda: backend_pid(store))
        assert isinstance(third.get("error"), DatabaseUnavailable)
        assert str(third["error"]) == "no free connection in the pool of 2 within 0.3 s"
        assert sessions(pg_database.url) - before == {held["value"] for held in holders}
    finally:
        store.close()


def sessions(url: str) -> set[int]:
    """The server processes connected to this database, but for the connection asking."""
    watcher = connect(url)
    try:
        cursor = watcher.cursor()
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return {pid for (pid,) in cursor.fetchall()}
    finally:
        watcher.close()


def test_an_sql_error_stays_an_sql_error_and_keeps_the_connection(store):
    first = backend_pid(store)
    with pytest.raises(peewee.DatabaseError) as caught:
        store.db.execute_sql("SELECT * FROM no_such_table")
    assert not isinstance(caught.value, DatabaseUnavailable)
    assert backend_pid(store) == first


def test_a_server_that_cannot_be_reached_or_refuses_us_is_unavailable_with_its_reason(pg_database):
    for url, reason in (("postgresql://root@127.0.0.1:1/test", "Connection refused"),
                        (pg_database.url + "_missing", "does not exist"),
                        ("postgresql://no_such_role@127.0.0.1:5432/test", 'role "no_such_role" does not exist')):
        store = Store(url)
        try:
            with pytest.raises(DatabaseUnavailable, match=reason):
                store.ping()
        finally:
            store.close()


def test_a_server_that_accepts_but_never_answers_is_unavailable_not_a_crash(monkeypatch):
    """A host that takes the TCP connection and then says nothing (overloaded, half dead): pg8000's start-up
    exchange times out, which is DatabaseUnavailable (a 503, one start-up line), not a bare TimeoutError."""
    monkeypatch.setattr(database, "CONNECT_SECONDS", 0.3)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes the handshake; nobody ever reads or writes
        store = Store(f"postgresql://root@127.0.0.1:{silent.getsockname()[1]}/test")
        try:
            with pytest.raises(DatabaseUnavailable):
                store.ping()
        finally:
            store.close()


def test_a_pooled_connection_gives_up_on_a_silent_peer_within_seconds(store):
    """A partition cannot be made without packet-level control of the network, so this checks what bounds it:
    keepalive probes while idle and the TCP user timeout while a reply is awaited."""
    store.ping()
    sock = store.db.connection()._usock  # pylint: disable=protected-access
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == database.DEAD_PEER_SECONDS * 1000
    assert sock.gettimeout() is None  # a long lock wait on a live server is not cut short
