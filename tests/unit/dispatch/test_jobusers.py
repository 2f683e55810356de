"""Job uids: never shared between processes (or pools) on one host; the lock directory cannot be planted."""

import os
import subprocess
import tempfile
import sys

import pytest

from cynode.dispatch.jobusers import UidPool

UIDS = range(1_600_000_000, 1_600_000_000 + 3)


@pytest.fixture(name="lock_dir")
def fixture_lock_dir(tmp_path):
    path = tmp_path / "uids"
    path.mkdir(mode=0o700)
    return str(path)


def test_two_pools_on_one_host_never_hand_out_the_same_uid(lock_dir):
    first, second = UidPool(UIDS, lock_dir), UidPool(UIDS, lock_dir)
    taken = [first.acquire(), second.acquire(), first.acquire()]
    assert sorted(taken) == list(UIDS)
    with pytest.raises(OSError, match="no free job uid"):
        second.acquire()
    first.release(taken[0])
    assert second.acquire() == taken[0]


def test_a_uid_held_by_another_process_is_skipped_and_freed_when_it_exits(lock_dir):
    holder = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-c", "import sys; from cynode.dispatch.jobusers import UidPool; "
         f"UidPool(range({UIDS[0]}, {UIDS[0] + 1}), {lock_dir!r}).acquire(); print('held', flush=True); "
         "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        pool = UidPool(UIDS, lock_dir)
        assert pool.acquire() == UIDS[1]
    finally:
        holder.communicate("", timeout=10)
    assert UidPool(range(UIDS[0], UIDS[0] + 1), lock_dir).acquire() == UIDS[0]


def test_the_lock_directory_must_be_private(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(OSError, match="mode 0700"):
        UidPool(UIDS, str(shared))


@pytest.mark.skipif(os.geteuid() != 0, reason="job uids exist only when the runner is root")
def test_orphans_of_a_dead_holder_are_killed_but_a_live_holders_jobs_are_not(lock_dir):
    orphan_uid, live_uid = UIDS[0], UIDS[1]
    # "sleep" as two job users: one whose server died (no lock held), one whose server is alive (lock held).
    orphan = subprocess.Popen(["sleep", "300"], user=orphan_uid, group=65534)  # pylint: disable=consider-using-with
    alive = subprocess.Popen(["sleep", "300"], user=live_uid, group=65534)  # pylint: disable=consider-using-with
    holder = UidPool(range(live_uid, live_uid + 1), lock_dir)
    assert holder.acquire() == live_uid
    try:
        assert UidPool(UIDS, lock_dir).reap_orphans() == 1
        assert orphan.wait(timeout=10) == -9
        assert alive.poll() is None
    finally:
        alive.kill()
        alive.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own files as a job uid")
def test_files_a_dead_holders_job_left_in_tmp_are_removed_at_start_up_but_a_live_holders_are_not(lock_dir):
    orphan, held = UIDS[0], UIDS[1]
    tag = f"/tmp/cynode-orphan-{os.getpid()}"
    for uid, path in ((orphan, tag + "-orphan"), (held, tag + "-held")):
        os.makedirs(path + "/a/b")
        for folder in (path, path + "/a", path + "/a/b"):
            os.chown(folder, uid, uid)
    holder = UidPool(UIDS, lock_dir)
    assert holder.acquire() == orphan and holder.acquire() == held
    holder.release(orphan)  # its job "died"; `held` still runs
    try:
        assert UidPool(UIDS, lock_dir).reap_orphans() == 1
        assert not os.path.lexists(tag + "-orphan") and os.path.isdir(tag + "-held/a/b")
    finally:
        subprocess.run(["rm", "-rf", tag + "-orphan", tag + "-held"], check=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the host-wide lock directory is root's")
def test_every_process_on_the_host_claims_uids_in_one_place_whatever_its_temp_dir(tmp_path, monkeypatch):
    """A server whose TMPDIR (or a private /tmp) differs from another's must still see that one's claims: else both
    hand out one uid, and each one's reaping kills the other's running jobs as orphans."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # what `serve` does to itself, and TMPDIR would
    here = UidPool(UIDS)
    monkeypatch.setattr(tempfile, "tempdir", None)
    elsewhere = UidPool(UIDS)
    taken = here.acquire()
    try:
        assert elsewhere.acquire() != taken
    finally:
        here.release(taken)
