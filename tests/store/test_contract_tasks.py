"""The storage contract for tasks, jobs and artifacts: naming, listing, cancel, and the dispatcher's job queue.

Runs on SQLite and PostgreSQL (fixtures in conftest.py), like the rest of the contract.
"""

import threading
import time
import uuid
from datetime import timedelta

import pytest

from cynode.store.records import utcnow
from tests.store.claimers import TIMEOUT, claim_in_processes, claim_in_threads
from tests.support.pg import connect

INTERRUPTED = {"version": 1, "status": "failed", "error": "interrupted"}  # what the dispatcher passes


@pytest.fixture(name="owner")
def fixture_owner(store):
    return store.create_user("owner", None)


def commands(*names):
    return [("command", {"command": name}) for name in names]


def task(store, owner, name=None, jobs=None, **kwargs):
    return store.create_task(owner.id, name, "commands", "x", jobs or commands("true"), **kwargs)


def claim(store):
    return store.claim_job("worker-1", TIMEOUT)


# tasks -----------------------------------------------------------------------------------------------------------


def test_create_stores_the_task_its_queued_jobs_and_attachments(store, owner):
    attachment = (str(uuid.uuid4()), "attachments/a.txt", "text/plain", 12)
    created = store.create_task(owner.id, "build", "commands", "make\nmake test", commands("make", "make test"),
                                timeout_seconds=60, attachments=[attachment])
    assert (created.name, created.status, created.input_mode, created.timeout_seconds) == ("build", "queued",
                                                                                          "commands", 60)
    assert store.task_by_id(created.id) == created
    jobs = store.jobs_for_task(created.id)
    assert [(j.seq, j.kind, j.payload, j.status) for j in jobs] == [
        (0, "command", {"command": "make"}, "queued"), (1, "command", {"command": "make test"}, "queued")]
    [stored] = store.artifacts_for_task(created.id)
    assert (stored.id, stored.name, stored.content_type, stored.size_bytes) == attachment
    assert store.artifact(created.id, attachment[0]) == stored
    assert store.artifact(created.id, str(uuid.uuid4())) is None


def test_names_are_unique_per_owner(store, owner):
    other = store.create_user("other", None)
    assert [task(store, owner, "build").name for _ in range(3)] == ["build", "build-2", "build-3"]
    assert task(store, other, "build").name == "build"
    assert task(store, owner, "build-2").name == "build-2-2"
    first, second = task(store, other).name, task(store, other).name
    assert (first, second) == ("task_name_002", "task_name_003")


def test_find_by_name_sees_only_the_owners_tasks(store, owner):
    other = store.create_user("other", None)
    mine = task(store, owner, "deploy")
    assert store.task_by_name(owner.id, "deploy") == mine
    assert store.task_by_name(other.id, "deploy") is None
    assert store.task_by_id(str(uuid.uuid4())) is None


def test_list_is_newest_first_filtered_then_paged(store, owner):
    made = [task(store, owner, f"t{n}") for n in range(5)]
    store.cancel_task(made[1].id)
    store.cancel_task(made[3].id)
    assert [t.name for t in store.list_tasks(owner.id, None, 10, 0)] == ["t4", "t3", "t2", "t1", "t0"]
    assert [t.name for t in store.list_tasks(owner.id, None, 2, 2)] == ["t2", "t1"]
    assert [t.name for t in store.list_tasks(owner.id, "queued", 2, 0)] == ["t4", "t2"]
    assert [t.name for t in store.list_tasks(owner.id, "canceled", 10, 1)] == ["t1"]
    assert store.list_tasks(store.create_user("nobody", None).id, None, 10, 0) == []


def test_cancel(store, owner):
    queued = task(store, owner, jobs=commands("a", "b"))
    assert store.cancel_task(queued.id) == ("queued", [])
    assert store.task_by_id(queued.id).status == "canceled"
    assert {j.status for j in store.jobs_for_task(queued.id)} == {"canceled"}
    assert store.cancel_task(queued.id) == ("canceled", [])
    assert store.cancel_task(str(uuid.uuid4())) == ("missing", [])
    running = task(store, owner)
    job = claim(store)
    assert store.cancel_task(running.id) == ("running", [job.id])
    done = task(store, owner)
    store.finish_job(claim(store), "completed", {"stdout": "ok"})
    assert store.cancel_task(done.id) == ("completed", [])
    assert store.task_by_id(done.id).status == "completed"


# the job queue -----------------------------------------------------------------------------------------------------


def test_claim_takes_the_oldest_runnable_job_once(store, owner):
    first = task(store, owner, jobs=commands("one", "two"))
    second = task(store, owner)
    job = claim(store)
    assert (job.task_id, job.seq, job.status) == (first.id, 0, "running") and job.lease_id and job.started_at
    assert store.task_by_id(first.id).status == "running"
    other = claim(store)  # the first task's second job waits for its first one
    assert (other.task_id, other.seq) == (second.id, 0)
    assert claim(store) is None
    store.finish_job(job, "completed", {"stdout": "1"})
    assert (claim(store).task_id, store.task_by_id(first.id).status) == (first.id, "running")


def test_the_last_completed_job_completes_the_task(store, owner):
    made = task(store, owner, jobs=commands("a", "b"))
    assert store.finish_job(claim(store), "completed", {"stdout": "a"}) == "running"
    assert store.finish_job(claim(store), "completed", {"stdout": "b"}) == "completed"
    assert [j.result for j in store.jobs_for_task(made.id)] == ['{"stdout": "a"}', '{"stdout": "b"}']
    assert all(j.ended_at for j in store.jobs_for_task(made.id))


def test_a_failed_job_fails_the_task_and_cancels_the_rest(store, owner):
    made = task(store, owner, jobs=commands("a", "b", "c"))
    assert store.finish_job(claim(store), "failed", {"exit_code": 1}) == "failed"
    assert [j.status for j in store.jobs_for_task(made.id)] == ["failed", "canceled", "canceled"]
    assert claim(store) is None


def test_a_stale_lease_changes_nothing(store, owner):
    made = task(store, owner)
    job = claim(store)
    stale = type(job)(**{**job.__dict__, "lease_id": str(uuid.uuid4())})
    assert store.finish_job(stale, "completed", {}) is None
    assert store.jobs_for_task(made.id)[0].status == "running"


def test_a_job_canceled_while_running_keeps_canceled_but_gets_its_output(store, owner):
    made = task(store, owner)
    job = claim(store)
    store.cancel_task(made.id)
    assert store.job_statuses([job.id]) == {job.id: "canceled"}
    assert store.finish_job(job, "completed", {"stdout": "partial"}) == "canceled"
    [stored] = store.jobs_for_task(made.id)
    assert (stored.status, stored.result) == ("canceled", '{"stdout": "partial"}')
    assert store.job_statuses([]) == {}


def test_recovery_fails_running_jobs_and_their_tasks(store, owner):
    crashed = task(store, owner, jobs=commands("a", "b"))
    claim(store)
    waiting = task(store, owner)
    assert store.recover_jobs(INTERRUPTED, expired_only=True) == 0  # the lease is still good
    assert store.recover_jobs(INTERRUPTED, expired_only=False) == 1
    assert store.task_by_id(crashed.id).status == "failed"
    assert [j.status for j in store.jobs_for_task(crashed.id)] == ["failed", "canceled"]
    assert '"error": "interrupted"' in store.jobs_for_task(crashed.id)[0].result
    assert store.task_by_id(waiting.id).status == "queued"


def test_expired_leases_are_recovered(store, owner):
    made = task(store, owner, timeout_seconds=1)
    store.claim_job("gone", TIMEOUT)
    # A lease runs for the timeout plus a grace; a claim made long ago is simulated by a claim "from the past".
    store.db.execute_sql("UPDATE job SET lease_expires_at = %s".replace("%s", store.db.param),
                         (utcnow() - timedelta(seconds=1),))
    assert store.recover_jobs(INTERRUPTED, expired_only=True) == 1
    assert store.task_by_id(made.id).status == "failed"


def test_finished_tasks_before_a_cutoff(store, owner):
    done, live = task(store, owner), task(store, owner)
    store.cancel_task(done.id)
    later = utcnow() + timedelta(seconds=5)
    assert store.finished_tasks_before([done.id, live.id], later) == [done.id]
    assert store.finished_tasks_before([done.id], utcnow() - timedelta(hours=1)) == []
    assert store.finished_tasks_before([], later) == []


def test_concurrent_claimers_never_take_the_same_job(store, owner):
    """Several dispatchers (threads here, processes in production) share one queue: each job runs once."""
    made = {task(store, owner).id for _ in range(12)}
    claimed = claim_in_threads(store, 4)
    assert sorted(claimed) == sorted(made)


def test_claimers_in_separate_processes_never_take_the_same_job(store, owner):
    made = {task(store, owner).id for _ in range(30)}
    url = store.url
    store.close()  # the children open their own connections
    claimed = claim_in_processes(url, 3)
    assert sorted(claimed) == sorted(made)


def test_a_claimed_job_knows_whether_later_jobs_follow_it(store, owner):
    task(store, owner, jobs=commands("first", "second"))
    first = claim(store)
    assert first.has_later
    store.finish_job(first, "completed", {})
    assert not claim(store).has_later


def test_a_lease_renewed_while_another_process_fails_expired_ones_is_kept(store, owner, backend, request):
    """PostgreSQL, READ COMMITTED: a node renews its lease just as another process fails expired leases. The job must
    stay running: failing it would revoke a lease its live node just renewed, and kill a healthy job (it was: the
    sweep SELECTed the expired rows, then its UPDATE, waiting for the renewal's row lock, checked only `running`)."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: the sweep's transaction starts after the renewal's commit")
    made = task(store, owner)
    job = claim(store)
    store.db.execute_sql('UPDATE "job" SET "lease_expires_at" = %s', (utcnow() - timedelta(seconds=1),))
    url = request.getfixturevalue("pg_database").url
    renewer, watcher = connect(url), connect(url)  # pg_stat_activity holds still within a transaction: watch apart
    try:
        cursor = renewer.cursor()
        cursor.execute("BEGIN")
        cursor.execute('UPDATE "job" SET "lease_expires_at" = %s WHERE "lease_id" = %s',
                       (utcnow() + timedelta(seconds=30), job.lease_id))  # uncommitted: the row is locked
        failed = []
        sweep = threading.Thread(target=lambda: failed.append(store.recover_jobs(INTERRUPTED, expired_only=True)))
        sweep.start()
        deadline = time.monotonic() + 10
        while not (waited := _waiting_on_a_lock(watcher)) and time.monotonic() < deadline:
            time.sleep(0.01)
        cursor.execute("COMMIT")
        sweep.join(10)
    finally:
        renewer.close()
        watcher.close()
    assert waited, "the sweep never waited for the renewal's row lock"
    assert failed == [0]
    assert store.job_statuses([job.id]) == {job.id: "running"}
    assert store.task_by_id(made.id).status == "running"
    assert store.renew_leases([job.lease_id], TIMEOUT) == {job.lease_id}


def _waiting_on_a_lock(conn) -> bool:
    cursor = conn.cursor()
    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND wait_event_type = 'Lock'")
    return cursor.fetchone()[0] > 0


def test_concurrent_creates_of_one_owner_all_get_a_name(store, owner, backend):
    """Several gateways create one user's tasks at once (scale-out): every create succeeds with its own default
    name. On PostgreSQL they picked the same next name, and a create could lose all its retries (RuntimeError).
    (Threads here: each has its own connection, as each gateway does.)"""
    if backend != "postgresql":
        pytest.skip("SQLite serves one process, whose writes take turns")
    errors, names = [], []

    def create(count: int) -> None:
        try:
            for _ in range(count):
                names.append(task(store, owner).name)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # reported below
            errors.append(repr(exc))
        finally:
            store.db.close()

    threads = [threading.Thread(target=create, args=(25,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors[:3]
    assert len(names) == len(set(names)) == 200
