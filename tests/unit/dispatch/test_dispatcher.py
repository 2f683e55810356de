"""The dispatcher over a real SQLite store, real workspace and the real process runner: nothing of ours mocked."""

import json
import os
import subprocess
import threading
import time
from datetime import timedelta

import pytest

from cynode.dispatch import dispatcher as dispatcher_module
from cynode.dispatch.dispatcher import Dispatcher
from cynode.dispatch.jobusers import NOGROUP, UidPool
from cynode.dispatch.prompt import INFERENCE_NOT_CONFIGURED
from cynode.dispatch.sandbox import ProcessRunner
from cynode.dispatch.workspace import Workspace
from cynode.store.records import utcnow
from cynode.store.store import Store
from tests.support.pg import PrivateDatabase, base_url
from tests.support.pg import connect as pg_connect
from tests.support.server import make_settings
from tests.support.tcpproxy import TcpProxy


def _dispatcher(tmp_path, **settings) -> tuple[Dispatcher, Store]:
    """A dispatcher (not started) over a fresh store and workspace, running jobs as plain processes."""
    settings = make_settings(tmp_path, **settings)
    store = Store(settings.database)
    store.migrate()
    workspace = Workspace(settings.data_dir)
    workspace.prepare()
    return Dispatcher(store, ProcessRunner(), settings, workspace), store


@pytest.fixture(name="world")
def fixture_world(tmp_path):
    dispatcher, store = _dispatcher(tmp_path, workers=2, job_kill_grace_seconds=1, work_retention_seconds=60)
    owner = store.create_user("owner", None)
    yield dispatcher, store, owner
    dispatcher.stop(grace=0)
    store.close()


def _task(store, owner, *commands, mode="commands", **kwargs):
    kind = {"commands": "command"}.get(mode, mode)
    jobs = [(kind, {kind: text}) for text in commands]
    return store.create_task(owner.id, None, mode, "\n".join(commands), jobs, **kwargs)


def _results(store, task_id):
    return [json.loads(job.result) for job in store.jobs_for_task(task_id)]


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_run_once_runs_one_job_and_stores_its_output(world):
    dispatcher, store, owner = world
    task = _task(store, owner, "echo out; echo err >&2; mkdir -p out; printf data > out/r.txt")
    assert dispatcher.run_once() is True
    assert dispatcher.run_once() is False  # nothing left
    assert store.task_by_id(task.id).status == "completed"
    [result] = _results(store, task.id)
    assert (result["status"], result["exit_code"], result["stdout"], result["stderr"]) == ("completed", 0,
                                                                                           "out\n", "err\n")
    [artifact] = store.artifacts_for_task(task.id)
    assert artifact.name == "out/r.txt" and artifact.size_bytes == 4
    assert dispatcher.workspace.artifact_path(task.id, artifact.id).read_bytes() == b"data"


def test_a_script_with_a_shebang_runs_as_a_file(world):
    dispatcher, store, owner = world
    task = _task(store, owner, "#!/bin/sh\necho from-file \"$0\"", mode="script")
    dispatcher.run_once()
    assert _results(store, task.id)[0]["stdout"] == "from-file ./.cynode-script\n"


def test_a_prompt_fails_at_once_naming_the_setting(world):
    dispatcher, store, owner = world
    task = _task(store, owner, "hello", mode="prompt")
    dispatcher.run_once()
    assert store.task_by_id(task.id).status == "failed"
    assert _results(store, task.id)[0]["stderr"] == INFERENCE_NOT_CONFIGURED


def test_a_timeout_fails_the_task_and_keeps_earlier_output(world):
    dispatcher, store, owner = world
    task = _task(store, owner, "echo before; exec sleep 30", timeout_seconds=1)
    started = time.monotonic()
    dispatcher.run_once()
    assert time.monotonic() - started < 10
    [result] = _results(store, task.id)
    assert (result["status"], result["exit_code"], result["stdout"]) == ("timeout", -1, "before\n")
    assert store.task_by_id(task.id).status == "failed"


def test_workers_pick_up_work_at_once_and_cancel_kills_a_running_job(world):
    dispatcher, store, owner = world
    dispatcher.start()
    quick = _task(store, owner, "true")
    dispatcher.wake()
    _wait(lambda: store.task_by_id(quick.id).status == "completed")
    slow = _task(store, owner, "echo started; exec sleep 300")
    dispatcher.wake()
    _wait(lambda: "started" in dispatcher.workspace.read_log(
        slow.id, store.jobs_for_task(slow.id)[0].id, "stdout"))
    _, running = store.cancel_task(slow.id)
    dispatcher.cancel(running)
    _wait(lambda: store.jobs_for_task(slow.id)[0].result is not None)
    [job] = store.jobs_for_task(slow.id)
    assert job.status == "canceled" and json.loads(job.result)["error"] == "canceled"


def _running_sleeper(dispatcher, store, owner):
    """Started workers, and a task whose job is running (and would run for 5 minutes)."""
    dispatcher.start()
    task = _task(store, owner, "exec sleep 300")
    dispatcher.wake()
    _wait(lambda: store.task_by_id(task.id).status == "running")
    return task


def test_a_cancel_made_elsewhere_reaches_the_running_job_through_the_monitor(world):
    dispatcher, store, owner = world
    task = _running_sleeper(dispatcher, store, owner)
    store.cancel_task(task.id)  # as another server process would: no in-process signal
    _wait(lambda: store.jobs_for_task(task.id)[0].result is not None)
    assert store.jobs_for_task(task.id)[0].status == "canceled"


def test_stop_kills_what_outlives_the_grace_and_records_it_as_failed(world):
    dispatcher, store, owner = world
    task = _running_sleeper(dispatcher, store, owner)
    dispatcher.stop(grace=0.2)
    [job] = store.jobs_for_task(task.id)
    assert job.status == "failed" and "shut down" in json.loads(job.result)["error"]
    assert dispatcher.stopping


def test_recover_fails_jobs_left_running(world):
    dispatcher, store, owner = world
    task = _task(store, owner, "true")
    store.claim_job("a-crashed-server", 300)
    assert dispatcher.recover() == 1
    assert store.task_by_id(task.id).status == "failed"
    assert "restarted" in _results(store, task.id)[0]["error"]


def test_a_running_dispatcher_fails_jobs_whose_lease_ran_out(tmp_path):
    """A server killed mid-job leaves it running; once its lease is over, the heartbeat of any live node fails it
    (on PostgreSQL a restart does not, as another node may own it)."""
    dispatcher, store = _dispatcher(tmp_path, workers=1, job_lease_seconds=3)
    try:
        task = _task(store, store.create_user("owner", None), "true")
        store.claim_job("a-killed-server", 300)
        dispatcher.start()
        time.sleep(1.5)  # a beat or more: the lease still runs
        assert store.task_by_id(task.id).status == "running"
        store.db.execute_sql(f"UPDATE job SET lease_expires_at = {store.db.param}", (utcnow() - timedelta(seconds=1),))
        _wait(lambda: store.task_by_id(task.id).status == "failed", timeout=5)
        assert "stopped renewing its lease" in _results(store, task.id)[0]["error"]
    finally:
        dispatcher.stop(grace=0)
        store.close()


def test_the_sweep_removes_work_dirs_of_long_finished_tasks_only(world):
    dispatcher, store, owner = world
    old, fresh = _task(store, owner, "true"), _task(store, owner, "true")
    dispatcher.run_once()
    dispatcher.run_once()
    for task in (old, fresh):
        assert dispatcher.workspace.work_dir(task.id).is_dir()
    later = utcnow() + timedelta(seconds=120)
    from cynode.store.models import Task  # pylint: disable=import-outside-toplevel  # backdate one task
    Task.update(updated_at=later - timedelta(seconds=3600)).where(Task.id == old.id).execute()
    dispatcher._sweep(force=True)  # pylint: disable=protected-access  # the monitor runs it every 10 minutes
    assert not dispatcher.workspace.work_dir(old.id).exists()
    assert dispatcher.workspace.work_dir(fresh.id).is_dir()
    assert store.artifacts_for_task(old.id) == []  # artifacts (none here) are not the sweep's business


def test_a_job_that_cannot_even_be_staged_is_recorded_as_failed(world):
    dispatcher, store, owner = world
    task = _task(store, owner, "true")
    work_root = dispatcher.workspace.work_root
    work_root.rmdir()
    work_root.write_text("a file where the work dirs belong")  # a broken data dir: staging raises
    assert dispatcher.run_once() is True  # recorded, not raised: a worker thread would live on
    [result] = _results(store, task.id)
    assert result["error"] == "internal error while running the job"
    assert store.task_by_id(task.id).status == "failed"


DEEP_TREE = "d=out; i=0; while [ $i -lt 1200 ]; do d=$d/d; i=$((i+1)); done; mkdir -p $d && echo x > $d/f"


def test_outputs_that_are_not_kept_are_listed_in_the_result(world):
    dispatcher, store, owner = world
    linked = _task(store, owner, "rm -rf out; ln -s / out")
    dispatcher.run_once()
    assert store.artifacts_for_task(linked.id) == []
    [result] = _results(store, linked.id)
    assert result["artifacts_error"] == "out is a symbolic link, which is never followed: no artifacts collected"
    assert result["status"] == "completed" and "artifacts_skipped" not in result
    hard = _task(store, owner, "truncate -s 200M out/a; ln out/a out/b")
    dispatcher.run_once()
    assert [a.name for a in store.artifacts_for_task(hard.id)] == ["out/a"]
    [result] = _results(store, hard.id)
    assert result["artifacts_skipped"] == [
        {"name": "out/b", "reason": "the same file as out/a (a hard link): each file is kept once"}]
    assert result["artifacts_skipped_count"] == 1 and "artifacts_error" not in result


def test_a_deep_tree_neither_fails_later_jobs_nor_the_task(world):
    dispatcher, store, owner = world
    task = _task(store, owner, DEEP_TREE, "echo second > out/second.txt", "rm -rf out; ln -s /nowhere out", "true")
    for _ in range(4):
        assert dispatcher.run_once() is True
    assert store.task_by_id(task.id).status == "completed", _results(store, task.id)
    assert "out is a symbolic link" in _results(store, task.id)[-1]["artifacts_error"]
    assert dispatcher.workspace.remove_work(task.id) is True
    assert not dispatcher.workspace.work_dir(task.id).exists()


def test_with_no_retention_the_monitor_sweeps_a_deep_work_dir_within_seconds(tmp_path):
    dispatcher, store = _dispatcher(tmp_path, workers=1, work_retention_seconds=0)
    workspace = dispatcher.workspace
    try:
        dispatcher.start()
        task = _task(store, store.create_user("owner", None), DEEP_TREE)
        dispatcher.wake()
        _wait(lambda: store.task_by_id(task.id).status == "completed")
        _wait(lambda: not workspace.work_dir(task.id).exists(), timeout=5)
    finally:
        dispatcher.stop(grace=0)
        store.close()


def test_with_a_running_cap_a_users_jobs_wait_while_others_run(tmp_path):
    """Two workers, at most one running job per user: alice's two jobs run one after the other, bob's beside."""
    dispatcher, store = _dispatcher(tmp_path, workers=2, max_running_per_user=1)
    alice, bob = store.create_user("alice", None), store.create_user("bob", None)
    tasks = [_task(store, alice, "sleep 0.4"), _task(store, alice, "sleep 0.4"), _task(store, bob, "sleep 0.4")]
    dispatcher.start()
    try:
        _wait(lambda: all(store.task_by_id(t.id).status == "completed" for t in tasks))
    finally:
        dispatcher.stop(grace=0)
    (a1,), (a2,), (b1,) = (store.jobs_for_task(t.id) for t in tasks)
    assert a2.started_at >= a1.ended_at  # never two of alice's at once
    assert b1.started_at < a1.ended_at  # bob did not wait for her
    store.close()


def test_the_heartbeat_renews_leases_a_third_of_a_lease_apart(tmp_path):
    dispatcher, store = _dispatcher(tmp_path, workers=1, job_lease_seconds=3)
    try:
        assert dispatcher.node.heartbeat_seconds == 1
        task = _running_sleeper(dispatcher, store, store.create_user("owner", None))
        time.sleep(4.5)  # past the first lease: only renewals keep the job alive
        assert store.task_by_id(task.id).status == "running"
    finally:
        dispatcher.stop(grace=0)
        store.close()


def test_a_job_whose_lease_another_node_revoked_is_killed_and_its_result_refused(tmp_path, caplog):
    """This node lost the database for longer than a lease: another node failed the job meanwhile. The next
    renewal finds the lease gone, kills the job, and the job's own end changes nothing."""
    dispatcher, store = _dispatcher(tmp_path, workers=1, job_lease_seconds=3, job_kill_grace_seconds=1)
    try:
        task = _running_sleeper(dispatcher, store, store.create_user("owner", None))
        store.db.execute_sql(f"UPDATE job SET lease_expires_at = {store.db.param}",
                             (utcnow() - timedelta(seconds=1),))
        assert store.recover_jobs({"version": 1, "status": "failed", "error": "lease ran out"},
                                  expired_only=True) == 1
        _wait(lambda: "result refused" in caplog.text)
        [job] = store.jobs_for_task(task.id)
        assert job.status == "failed" and json.loads(job.result)["error"] == "lease ran out"
    finally:
        dispatcher.stop(grace=0)
        store.close()


@pytest.fixture(name="pg_url")
def fixture_pg_url():
    try:
        database = PrivateDatabase(pg_connect(base_url()))
    except Exception as exc:  # pylint: disable=broad-exception-caught  # any failure to connect means: skip
        pytest.skip(f"PostgreSQL not reachable at {base_url()} (set CYNODE_TEST_PG_URL): {exc}")
    yield database.url
    database.close()


@pytest.mark.postgres
def test_on_postgresql_work_from_another_process_arrives_by_notification_not_by_polling(tmp_path, pg_url,
                                                                                         monkeypatch):
    """With polling slowed to 30 s, a task created and then canceled through another connection (as a gateway
    process would) still starts and is killed at once: LISTEN/NOTIFY carried both."""
    monkeypatch.setattr(dispatcher_module, "POLL_SECONDS", 30.0)
    monkeypatch.setattr(dispatcher_module, "MONITOR_SECONDS", 30.0)
    dispatcher, store = _dispatcher(tmp_path, workers=1, database=pg_url, job_kill_grace_seconds=1)
    gateway = Store(pg_url)
    try:
        owner = gateway.create_user("owner", None)
        dispatcher.start()
        time.sleep(0.3)  # the worker is idle in its 30 s wait
        task = _task(gateway, owner, "exec sleep 300")
        _wait(lambda: gateway.task_by_id(task.id).status == "running", timeout=5)
        gateway.cancel_task(task.id)
        _wait(lambda: gateway.jobs_for_task(task.id)[0].result is not None, timeout=5)
        assert json.loads(gateway.jobs_for_task(task.id)[0].result)["error"] == "canceled"
    finally:
        dispatcher.stop(grace=0)
        store.close()
        gateway.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="job uids exist only when the runner is root")
def test_the_heartbeat_kills_what_the_jobs_of_a_dead_worker_on_this_host_left_running(tmp_path):
    """A worker killed with -9 leaves its plain-process jobs running under their uids, now held by nobody."""
    pool = UidPool()
    uid = pool.acquire()
    orphan = subprocess.Popen(["sleep", "300"], user=uid, group=NOGROUP)  # pylint: disable=consider-using-with
    pool.release(uid)  # the worker holding it "died"
    settings = make_settings(tmp_path, workers=1)
    store = Store(settings.database)
    store.migrate()
    workspace = Workspace(settings.data_dir)
    workspace.prepare()
    dispatcher = Dispatcher(store, ProcessRunner(), settings, workspace, heartbeat_seconds=0.2)
    try:
        dispatcher.start()
        assert orphan.wait(timeout=10) == -9
    finally:
        orphan.kill()
        dispatcher.stop(grace=0)
        store.close()


@pytest.mark.postgres
def test_a_node_cut_off_from_the_database_for_a_lease_kills_its_jobs(tmp_path, pg_url):
    """Other nodes fail the jobs of a node that stops renewing; that node must stop them too, not let them act on."""
    proxy = TcpProxy(("127.0.0.1", 5432)).start()
    via_proxy = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    dispatcher, store = _dispatcher(tmp_path, workers=1, database=via_proxy, job_lease_seconds=2,
                                    job_kill_grace_seconds=1)
    try:
        task = _task(store, store.create_user("owner", None), "echo $$ > pid; exec sleep 300")
        dispatcher.start()
        pid_file = dispatcher.workspace.work_dir(task.id) / "pid"
        _wait(lambda: pid_file.exists() and pid_file.read_text().strip())
        pid = int(pid_file.read_text())
        proxy.cut()
        _wait(lambda: not _alive(pid), timeout=15)
    finally:
        proxy.restore()
        dispatcher.stop(grace=0)
        store.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_while_stopping_the_heartbeat_keeps_renewing_the_leases_of_jobs_finishing_in_the_grace(tmp_path):
    """A job outliving its lease during the shutdown grace is still renewed, so no other node fails it meanwhile."""
    dispatcher, store = _dispatcher(tmp_path, workers=1, job_lease_seconds=2)
    try:
        task = _running_sleeper(dispatcher, store, store.create_user("owner", None))
        stopper = threading.Thread(target=dispatcher.stop, kwargs={"grace": 4})
        stopper.start()
        deadline = time.monotonic() + 3.5  # well past the 2 s lease, within the grace
        while time.monotonic() < deadline:
            assert store.recover_jobs({"version": 1, "status": "failed", "error": "expired"}, expired_only=True) == 0
            time.sleep(0.2)
        stopper.join(timeout=30)
        [job] = store.jobs_for_task(task.id)
        assert job.status == "failed" and "shut down" in json.loads(job.result)["error"]  # killed after the grace
    finally:
        dispatcher.stop(grace=0)
        store.close()


@pytest.mark.postgres
def test_a_result_ready_while_the_database_is_away_is_stored_once_it_is_back(tmp_path, pg_url):
    """PostgreSQL restarts just as a job ends: the result waits and is stored when the database answers again,
    within the lease, instead of the job being failed for a lost lease."""
    proxy = TcpProxy(("127.0.0.1", 5432)).start()
    via_proxy = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    dispatcher, store = _dispatcher(tmp_path, workers=1, database=via_proxy, job_lease_seconds=15)
    try:
        task = _task(store, store.create_user("owner", None), "touch started; sleep 1; echo done")
        dispatcher.start()
        _wait((dispatcher.workspace.work_dir(task.id) / "started").exists)
        proxy.cut()
        time.sleep(2.5)  # the job ended meanwhile; its result could not be stored
        proxy.restore()
        _wait(lambda: store.task_by_id(task.id).status == "completed", timeout=15)
        assert _results(store, task.id)[0]["stdout"] == "done\n"
    finally:
        dispatcher.stop(grace=0)
        store.close()
        proxy.cut()
