"""The workspace: uploads within limits, outputs collected without following what a job planted."""

import io
import os

import pytest

from cynode.dispatch.outputs import content_type
from cynode.dispatch.workspace import Workspace


@pytest.fixture(name="workspace")
def fixture_workspace(tmp_path):
    workspace = Workspace(str(tmp_path / "data"))
    workspace.prepare()
    return workspace


def test_prepare_makes_the_data_dir_enterable_but_keeps_the_rest_private(workspace):
    assert oct(workspace.root.stat().st_mode & 0o777) == "0o711"
    assert oct(workspace.work_root.stat().st_mode & 0o777) == "0o711"
    assert oct(workspace.log_root.stat().st_mode & 0o777) == "0o700"
    assert oct(workspace.artifact_root.stat().st_mode & 0o777) == "0o700"


def test_an_upload_over_its_limit_is_refused_and_not_kept(workspace):
    assert workspace.save_upload("t1", "a1", io.BytesIO(b"x" * 10), limit=10) == 10
    with pytest.raises(ValueError, match="exceeds 10 bytes"):
        workspace.save_upload("t1", "a2", io.BytesIO(b"x" * 11), limit=10)
    assert not workspace.artifact_path("t1", "a2").exists()
    workspace.discard_task("t1")
    assert not (workspace.artifact_root / "t1").exists()


def test_outputs_are_copied_but_links_and_special_files_are_not_followed(workspace, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("server secret")
    work = workspace.stage("t1", ())
    (work / "out" / "sub").mkdir()
    (work / "out" / "a.json").write_text("{}")
    (work / "out" / "sub" / "b.txt").write_text("bee")
    os.symlink(secret, work / "out" / "leak.txt")
    os.symlink(tmp_path, work / "out" / "dirlink")
    os.mkfifo(work / "out" / "fifo")
    found = {name: (ctype, size) for _, name, ctype, size in workspace.collect_outputs("t1", 256, 1 << 20).artifacts}
    assert found == {"out/a.json": ("application/json", 2), "out/sub/b.txt": ("text/plain", 3)}


def test_live_logs_read_what_is_there_and_nothing_when_missing(workspace):
    workspace.stage("t1", ())
    workspace.log_path("t1", "j1", "stdout").write_bytes(b"half a line \xff")
    assert workspace.read_log("t1", "j1", "stdout") == "half a line \ufffd"
    assert workspace.read_log("t1", "j2", "stdout") == ""


def test_remove_work_leaves_artifacts(workspace):
    workspace.stage("t1", ())
    workspace.save_upload("t1", "a1", io.BytesIO(b"kept"), limit=100)
    assert workspace.work_task_ids() == ["t1"]
    workspace.remove_work("t1")
    assert workspace.work_task_ids() == []
    assert workspace.artifact_path("t1", "a1").read_bytes() == b"kept"


def test_unknown_extensions_are_octet_streams():
    assert content_type("out/blob.unknownext") == "application/octet-stream"
