"""The storage contract for job leases across processes: attempts, renewal, expiry, the fence on a late result,
the notifications that wake other processes, and processes migrating one database at once.

Runs on SQLite and PostgreSQL (fixtures in conftest.py); notifications are PostgreSQL's alone.
"""

import json
import multiprocessing
import threading
from datetime import timedelta

import pytest

from cynode.store import migrations, signals
from cynode.store import jobs as job_queries
from cynode.store.models import Job
from cynode.store.records import utcnow
from cynode.store.store import Store
from tests.store.claimers import TIMEOUT

ONLY_POSTGRES = pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
EXPIRED = {"version": 1, "status": "failed", "error": "interrupted: lease ran out"}


@pytest.fixture(name="owner")
def fixture_owner(store):
    return store.create_user("owner", None)


def new_task(store, owner, *commands):
    jobs = [("command", {"command": command}) for command in commands or ["true"]]
    return store.create_task(owner.id, None, "commands", "x", jobs)


def expire(store, job) -> None:
    """The lease ran out: as if its node stopped renewing it a while ago."""
    store.db.execute_sql(f"UPDATE job SET lease_expires_at = {store.db.param} WHERE id = {store.db.param}",
                         (utcnow() - timedelta(seconds=1), job.id))


def test_a_claim_is_a_lease_under_the_next_attempt(store, owner):
    new_task(store, owner)
    before = utcnow()
    job = store.claim_job("w", 7)
    assert job.attempt == 1 and job.lease_id
    row = Job.get_by_id(job.id)
    assert before + timedelta(seconds=6) < row.lease_expires_at <= utcnow() + timedelta(seconds=7)
    assert row.attempt == 1


def test_renewal_extends_held_leases_and_names_the_lost_ones(store, owner):
    new_task(store, owner)
    new_task(store, owner)
    kept, lost = store.claim_job("w", 2), store.claim_job("w", 2)
    store.cancel_task(lost.task_id)
    assert store.renew_leases([kept.lease_id, lost.lease_id, "never-held"], 600) == {kept.lease_id}
    assert Job.get_by_id(kept.id).lease_expires_at > utcnow() + timedelta(seconds=590)
    assert store.renew_leases([], 600) == set()


def test_an_expired_lease_fails_its_job_and_fences_off_the_late_result(store, owner):
    made = new_task(store, owner, "slow", "next")
    job = store.claim_job("killed-worker", TIMEOUT)
    assert store.recover_jobs(EXPIRED, expired_only=True) == 0  # still held
    expire(store, job)
    assert store.recover_jobs(EXPIRED, expired_only=True) == 1
    assert store.renew_leases([job.lease_id], TIMEOUT) == set()  # the old worker learns it lost the job
    assert store.finish_job(job, "completed", {"stdout": "too late"}) is None
    jobs = store.jobs_for_task(made.id)
    assert [j.status for j in jobs] == ["failed", "canceled"]
    assert json.loads(jobs[0].result) == EXPIRED and jobs[0].lease_id is None
    assert store.task_by_id(made.id).status == "failed"


def test_a_fenced_off_finish_keeps_none_of_its_outputs(store, owner):
    made = new_task(store, owner)
    job = store.claim_job("killed-worker", TIMEOUT)
    expire(store, job)
    store.recover_jobs(EXPIRED, expired_only=True)
    late = ("a1", "out/report.pdf", "application/pdf", 10)
    assert store.finish_job(job, "completed", {"stdout": "late"}, [late]) is None
    assert store.artifacts_for_task(made.id) == []


def test_a_finish_under_an_older_attempt_is_refused(store, owner):
    new_task(store, owner)
    job = store.claim_job("w", TIMEOUT)
    stale = type(job)(**{**job.__dict__, "attempt": job.attempt - 1})
    assert store.finish_job(stale, "completed", {"stdout": "stale"}) is None
    assert store.finish_job(job, "completed", {"stdout": "ok"}) == "completed"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_has_no_listener(store):
    """One process, which wakes its own threads."""
    assert store.job_listener() is None


@ONLY_POSTGRES
def test_leases_are_judged_by_the_databases_clock_not_each_hosts(store, owner, monkeypatch):
    """A node whose clock runs 31 s ahead sweeps expired leases: a live 30 s lease of another node is not one."""
    new_task(store, owner)
    store.claim_job("healthy-node", 30)
    ahead = Store(store.url)
    try:
        monkeypatch.setattr(job_queries, "utcnow", lambda: utcnow() + timedelta(seconds=31))
        assert ahead.recover_jobs(EXPIRED, expired_only=True) == 0
        assert abs(ahead.db_now() - utcnow()) < timedelta(seconds=2)  # the database's time, not the skewed one
    finally:
        ahead.close()


@ONLY_POSTGRES
def test_a_new_task_notifies_listeners_once_committed(store, owner):
    listener = store.job_listener()
    try:
        assert listener.wait(0.01) == []  # connected and listening
        with store.db.atomic():
            new_task(store, owner)
            assert listener.wait(0.2) == []  # not before the rows can be read
        assert listener.wait(5) == [signals.JOBS]
    finally:
        listener.close()


@ONLY_POSTGRES
def test_a_cancel_of_a_running_job_notifies_listeners(store, owner):
    queued, running = new_task(store, owner), new_task(store, owner)
    store.claim_job("w", TIMEOUT)  # the older task's job runs
    listener = store.job_listener()
    try:
        listener.wait(0.01)
        store.cancel_task(running.id)
        store.cancel_task(queued.id)  # nothing ran: no worker needs telling
        assert listener.wait(5) == [signals.CANCELS]
    finally:
        listener.close()


@ONLY_POSTGRES
def test_a_listener_that_loses_its_connection_listens_again(store, owner):
    listener = store.job_listener()
    try:
        listener.wait(0.01)
        store.db.execute_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT 1' "
                             "AND pid <> pg_backend_pid() AND datname = current_database()")
        assert listener.wait(0.05) == []  # the loss is noticed and survived
        # Back: whatever was sent meanwhile is lost, so it reports both channels, and the caller looks at once.
        assert sorted(listener.wait(0.05)) == sorted([signals.JOBS, signals.CANCELS])
        new_task(store, owner)
        assert listener.wait(5) == [signals.JOBS]
    finally:
        listener.close()


def _migrate(url: str, out) -> None:
    try:
        store = Store(url)
        out.put(store.migrate())
        store.close()
    except Exception as exc:  # pylint: disable=broad-exception-caught  # reported by the parent
        out.put(repr(exc))


def test_processes_starting_at_once_migrate_a_new_database_once(url):
    """Gateways and workers start together on a fresh database: each reaches the latest version, none fails."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    processes = [context.Process(target=_migrate, args=(url, out)) for _ in range(3)]
    for process in processes:
        process.start()
    results = [out.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    assert results == [len(migrations.STEPS)] * 3
    store = Store(url)
    try:
        versions = [row[0] for row in store.db.execute_sql("SELECT version FROM schema_version").fetchall()]
    finally:
        store.close()
    assert sorted(versions) == list(range(1, len(migrations.STEPS) + 1))


def test_threads_migrating_at_once_agree(url):
    results = []
    stores = [Store(url) for _ in range(3)]

    def migrate(one):
        results.append(one.migrate())
        one.close()

    threads = [threading.Thread(target=migrate, args=(one,)) for one in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [len(migrations.STEPS)] * 3


@ONLY_POSTGRES
def test_creating_a_task_never_waits_for_a_claim_serving_its_owner(store, owner):
    """A claim holds its user's row for the length of its transaction; a new task of that user (a row referring
    to it) goes ahead meanwhile. (SQLite has one writer at a time.)"""
    new_task(store, owner)
    with store.db.atomic():
        assert store.db.execute_sql(store._lock_owner, (owner.id,)).fetchone()  # pylint: disable=protected-access
        creator = Store(store.url)
        created = threading.Thread(target=lambda: (new_task(creator, owner), creator.close()))
        created.start()
        created.join(timeout=5)
        assert not created.is_alive()
