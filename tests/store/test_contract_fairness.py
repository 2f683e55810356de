"""The storage contract for sharing the dispatcher between users: round-robin claims, the per-user running cap,
and disabling a user. Runs on SQLite and PostgreSQL (fixtures in conftest.py).
"""

import threading
import time

import pytest

from cynode.store.database import connect
from cynode.store.records import utcnow
from tests.store.claimers import TIMEOUT, claim_in_processes, claim_in_threads



@pytest.fixture(name="users")
def fixture_users(store):
    return {handle: store.create_user(handle, None) for handle in ("alice", "bob", "carol")}


def queue(store, user, count: int, jobs=(("command", {"command": "true"}),), first: int = 1) -> list[str]:
    """`count` tasks of `user`, named <handle>-<first>...; returns their names."""
    return [store.create_task(user.id, f"{user.handle}-{n}", "commands", "x", list(jobs)).name
            for n in range(first, first + count)]


def name_of(store, job) -> str:
    return store.task_by_id(job.task_id).name


def claim_names(store, count: int, cap: int = 0, finish: bool = True) -> list[str]:
    names = []
    for _ in range(count):
        job = store.claim_job("worker-1", TIMEOUT, cap)
        if job is None:
            break
        names.append(name_of(store, job))
        if finish:
            store.finish_job(job, "completed", {})
    return names


def test_claims_go_round_robin_between_users_with_queued_work(store, users):
    queue(store, users["alice"], 5)
    queue(store, users["bob"], 1)
    queue(store, users["carol"], 2)
    assert claim_names(store, 10) == ["alice-1", "bob-1", "carol-1", "alice-2", "carol-2", "alice-3", "alice-4",
                                      "alice-5"]


def test_round_robin_holds_while_jobs_are_still_running(store, users):
    queue(store, users["alice"], 3)
    queue(store, users["bob"], 2)
    assert claim_names(store, 10, finish=False) == ["alice-1", "bob-1", "alice-2", "bob-2", "alice-3"]


def test_a_user_who_comes_back_is_served_next(store, users):
    queue(store, users["alice"], 4)
    assert claim_names(store, 2) == ["alice-1", "alice-2"]
    queue(store, users["bob"], 1)
    assert claim_names(store, 3) == ["bob-1", "alice-3", "alice-4"]


def test_a_users_later_commands_wait_for_their_earlier_ones(store, users):
    queue(store, users["alice"], 1, jobs=[("command", {"command": "a"}), ("command", {"command": "b"})])
    queue(store, users["bob"], 1)
    first = store.claim_job("w", TIMEOUT)
    assert (name_of(store, first), first.seq) == ("alice-1", 0)
    assert claim_names(store, 3, finish=False) == ["bob-1"]  # alice's second command waits for her first
    store.finish_job(first, "completed", {})
    job = store.claim_job("w", TIMEOUT)
    assert (name_of(store, job), job.seq) == ("alice-1", 1)


def test_a_user_never_has_more_jobs_running_than_the_cap(store, users):
    queue(store, users["alice"], 4)
    queue(store, users["bob"], 1)
    assert claim_names(store, 10, cap=2, finish=False) == ["alice-1", "bob-1", "alice-2"]
    first = store.jobs_for_task(store.task_by_name(users["alice"].id, "alice-1").id)[0]
    store.finish_job(first, "completed", {})
    assert claim_names(store, 10, cap=2, finish=False) == ["alice-3"]
    assert claim_names(store, 10, cap=0, finish=False) == ["alice-4"]  # no cap: everything runs


def test_a_disabled_users_work_is_not_claimed(store, users):
    queue(store, users["alice"], 1)
    store.db.execute_sql('UPDATE "user" SET is_active = %s WHERE id = %s'.replace("%s", store.db.param),
                         (False, users["alice"].id))
    assert store.claim_job("w", TIMEOUT) is None


def serving(store, handle: str):
    """Another claimer serving `handle` right now: it holds their row, stamped as just served, uncommitted."""
    other = connect(store.url)
    other.execute_sql("BEGIN IMMEDIATE" if store.backend == "sqlite" else "BEGIN")
    other.execute_sql(f'UPDATE "user" SET last_claimed_at = {other.param} WHERE handle = {other.param}',
                      (utcnow(), handle))
    return other


def claim_in_background(store):
    """A thread claiming one job: the list its job lands in, and the thread."""
    claimed = []
    claimer = threading.Thread(target=lambda: (claimed.append(store.claim_job("w", TIMEOUT)), store.close()))
    claimer.start()
    return claimed, claimer


def test_a_claimer_passes_by_a_user_another_claimer_is_serving(store, users):
    """Another claimer is serving alice (it holds her row, about to stamp her as just served) when this claimer
    chooses: it takes bob's job, not alice's. PostgreSQL passes her by at once (her row is locked), so claimers
    spread over users instead of queueing on one; SQLite's claimer waits for the write lock, then sees her stamp."""
    queue(store, users["alice"], 2)
    queue(store, users["bob"], 2)
    other = serving(store, "alice")
    claimed, claimer = claim_in_background(store)
    if store.backend == "postgresql":
        claimer.join(timeout=30)
        assert claimed and name_of(store, claimed[0]) == "bob-1"  # while the other still holds alice
    time.sleep(0.5)
    assert claimer.is_alive() == (store.backend == "sqlite")  # SQLite: waiting for the other claimer
    other.execute_sql("COMMIT")
    other.close()
    claimer.join(timeout=30)
    assert name_of(store, claimed[0]) == "bob-1"


def test_a_claimer_that_waited_for_another_serving_the_only_user_with_work_claims_at_once(store, users,
                                                                                          monkeypatch):
    """The same wait when alice is the only user with queued work: there is no next user, so this claimer takes
    alice's next job under the lock it now holds, in one attempt. (It chose again, found alice again, and waited
    again: with one busy user every claim made every waiting claimer start over, so more `cynode worker`
    processes meant more CPU per job and fewer jobs/s.)"""
    queue(store, users["alice"], 2)
    attempts = []
    attempt = store._claim_attempt  # pylint: disable=protected-access
    monkeypatch.setattr(store, "_claim_attempt", lambda *args: attempts.append(1) or attempt(*args))
    other = serving(store, "alice")
    claimed, claimer = claim_in_background(store)
    time.sleep(0.5)
    assert claimer.is_alive()  # waiting for the other claimer
    other.execute_sql("COMMIT")
    other.close()
    claimer.join(timeout=30)
    assert name_of(store, claimed[0]) == "alice-1"
    assert len(attempts) == 1

def test_concurrent_claimers_keep_the_cap_and_never_take_the_same_job(store, users):
    for user in users.values():
        queue(store, user, 6)
    claimed = claim_in_threads(store, 4, cap=2)
    assert len(claimed) == len(set(claimed)) == 6
    owners = sorted(store.task_by_id(task_id).owner_id for task_id in claimed)
    assert owners == sorted([u.id for u in users.values()] * 2)


def test_claimers_in_separate_processes_keep_the_cap(store, users):
    for user in users.values():
        queue(store, user, 8)
    claimed = claim_in_processes(store.url, 4, cap=3)
    assert len(claimed) == len(set(claimed)) == 9
    owners = sorted(store.task_by_id(task_id).owner_id for task_id in claimed)
    assert owners == sorted([u.id for u in users.values()] * 3)


def test_disabling_a_user_cancels_their_unfinished_tasks_at_once(store, users):
    alice, bob = users["alice"], users["bob"]
    queue(store, alice, 1, jobs=[("command", {"command": "a"}), ("command", {"command": "b"})])
    queue(store, alice, 2, first=2)
    queue(store, bob, 1)
    running = store.claim_job("w", TIMEOUT)
    done = store.claim_job("w", TIMEOUT)  # bob-1
    store.finish_job(done, "completed", {})
    assert name_of(store, running) == "alice-1"
    user, running_ids = store.set_user_active(alice.id, False)
    assert (user.is_active, running_ids) == (False, [running.id])
    assert {t.name: t.status for t in store.list_tasks(alice.id, None, 10, 0)} == {
        "alice-1": "canceled", "alice-2": "canceled", "alice-3": "canceled"}
    assert {j.status for t in store.list_tasks(alice.id, None, 10, 0) for j in store.jobs_for_task(t.id)} == {
        "canceled"}
    assert store.task_by_name(bob.id, "bob-1").status == "completed"
    assert store.finish_job(running, "completed", {"stdout": "partial"}) == "canceled"
    assert store.claim_job("w", TIMEOUT) is None
    # enabling again does not bring the work back
    assert store.set_user_active(alice.id, True) == (store.user_by_id(alice.id), [])
    assert store.claim_job("w", TIMEOUT) is None
    assert {t.status for t in store.list_tasks(alice.id, None, 10, 0)} == {"canceled"}
