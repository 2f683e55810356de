"""Where job work dirs go: reachable by job users (0711 on the way, nothing listable), the rest of the data dir
closed, and a root server with a private data dir moving them to /var/lib/cynode/work/<id>."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from cynode.dispatch.workspace import (SHARED_WORK_ROOT, UnreachableWorkRoot, Workspace, closed_ancestor,
                                       work_root_for)


def _mode(path) -> str:
    return oct(path.stat().st_mode & 0o777)


@pytest.fixture(name="open_tmp")
def fixture_open_tmp():
    """A folder whose parents anyone may enter (pytest's own tmp root is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="cynode-test-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root)


def test_the_first_closed_directory_above_a_path_is_named(tmp_path):
    outer = tmp_path / "private"
    (outer / "data").mkdir(parents=True)
    outer.chmod(0o700)
    found = closed_ancestor(outer / "data" / "work")
    assert found is not None and not found.stat().st_mode & 0o001
    outer.chmod(0o711)
    assert closed_ancestor(outer / "data" / "work") in (None, *[p for p in outer.parents if p != outer])


def test_work_dirs_inside_the_data_dir_keep_it_enterable_only(open_tmp):
    workspace = Workspace(str(open_tmp / "data"), work_root_for(str(open_tmp / "data"), None, True))
    workspace.prepare()
    assert workspace.work_root == (open_tmp / "data" / "work")
    assert _mode(workspace.root) == "0o711" and _mode(workspace.work_root) == "0o711"
    assert _mode(workspace.log_root) == "0o700" and _mode(workspace.artifact_root) == "0o700"


def test_a_work_root_outside_closes_the_data_dir_and_opens_every_level_it_creates(open_tmp):
    target = open_tmp / "a" / "b" / "work"
    workspace = Workspace(str(open_tmp / "data"), work_root_for(str(open_tmp / "data"), str(target), True))
    old = os.umask(0o077)
    try:
        workspace.prepare()
    finally:
        os.umask(old)
    assert _mode(workspace.root) == "0o700"
    assert [_mode(p) for p in (open_tmp / "a", open_tmp / "a" / "b", target)] == ["0o711"] * 3


def test_a_work_root_job_users_cannot_enter_is_refused_when_they_walk_paths(tmp_path):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(UnreachableWorkRoot, match="job users cannot enter"):
        work_root_for(str(tmp_path / "data"), str(closed / "work"), True)
    assert work_root_for(str(tmp_path / "data"), str(closed / "work"), False) == closed / "work"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to plant a directory of another user")
def test_a_work_root_that_is_not_ours_is_refused(open_tmp):
    target = open_tmp / "planted"
    target.mkdir()
    os.chown(target, 65534, 65534)
    with pytest.raises(UnreachableWorkRoot, match="must be a directory owned by uid"):
        Workspace(str(open_tmp / "data"), target).prepare()


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root server moves work dirs to /var/lib/cynode")
def test_a_private_data_dir_moves_work_dirs_to_a_shared_root_of_their_own(tmp_path):
    closed = tmp_path / "home"
    closed.mkdir(mode=0o700)
    first = work_root_for(str(closed / "a"), None, True)
    second = work_root_for(str(closed / "b"), None, True)
    assert first.parent == second.parent == SHARED_WORK_ROOT and first != second
    assert work_root_for(str(closed / "a"), None, False) == (closed / "a" / "work")
    workspace = Workspace(str(closed / "a"), first)
    try:
        workspace.prepare()
        assert closed_ancestor(first) is None and _mode(first) == "0o711"
    finally:
        shutil.rmtree(first, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to leave a work dir owned by a job uid")
def test_work_dirs_a_crashed_server_left_to_job_uids_are_taken_back_at_start(open_tmp):
    workspace = Workspace(str(open_tmp / "data"))
    workspace.prepare()
    left = workspace.work_dir("crashed-task")
    left.mkdir()
    (left / "secret.txt").write_text("job output")
    os.chown(left, 1_500_000_007, 65534)
    left.chmod(0o755)
    workspace.prepare()
    assert (left.stat().st_uid, _mode(left)) == (os.geteuid(), "0o700")
