"""Collecting a job's out/ as root: nothing of the host, each inode once, bounded, every name storable."""

import json
import os

import pytest

from cynode.dispatch import outputs
from cynode.dispatch.outputs import MAX_DEPTH, MAX_LISTED, collect, copy_sparse

from .support import make_deep_tree

MIB = 1 << 20


@pytest.fixture(name="work")
def fixture_work(tmp_path):
    work = tmp_path / "work"
    (work / "out").mkdir(parents=True)
    return work


@pytest.fixture(name="deep_work")
def fixture_deep_work(deep_tmp):
    work = deep_tmp / "work"
    (work / "out").mkdir(parents=True)
    return work


def _collect(work, max_files=256, max_bytes=256 * MIB):
    return collect(work, work.parent / "artifacts", max_files, max_bytes)


def _stored(work) -> list:
    store = work.parent / "artifacts"
    return sorted(os.listdir(store)) if store.exists() else []


def _names(found) -> list[str]:
    return [name for _, name, _, _ in found.artifacts]


@pytest.mark.parametrize("target", ["/etc", "../..", "/", "data dir"])
def test_out_as_a_symlink_gives_no_artifacts_and_says_why(work, target):
    if target == "data dir":
        target = str(work.parent)
        (work.parent / "cynode.db").write_text("the server's database")
    (work / "out").rmdir()
    os.symlink(target, work / "out")
    found = _collect(work)
    assert (found.artifacts, _stored(work)) == ([], [])
    assert found.result_fields() == {
        "artifacts_error": "out is a symbolic link, which is never followed: no artifacts collected"}


def test_out_that_is_a_file_or_missing_gives_no_artifacts_and_says_why(work):
    (work / "out").rmdir()
    assert _collect(work).error == "out does not exist: no artifacts collected"
    (work / "out").write_text("not a folder")
    assert _collect(work).error == "out is not a directory: no artifacts collected"
    assert _collect(work.parent / "no-such-work-dir").error.startswith("the work dir cannot be opened")


def test_symlinks_and_special_files_deeper_down_are_listed_not_followed(work, tmp_path):
    (tmp_path / "secret.txt").write_text("server secret")
    (work / "out" / "sub").mkdir()
    (work / "out" / "sub" / "ok.txt").write_text("ok")
    os.symlink("/etc", work / "out" / "sub" / "etc")
    os.symlink(tmp_path / "secret.txt", work / "out" / "leak.txt")
    os.mkfifo(work / "out" / "fifo")
    found = _collect(work)
    assert _names(found) == ["out/sub/ok.txt"]
    assert found.skipped == [{"name": "out/fifo", "reason": "not a regular file"},
                             {"name": "out/leak.txt", "reason": "a symbolic link, which is never followed"},
                             {"name": "out/sub/etc", "reason": "a symbolic link, which is never followed"}]
    assert found.skipped_count == 3


def test_a_sparse_file_and_its_hard_links_are_stored_once_with_its_holes(work):
    with open(work / "out" / "a", "wb") as sparse:
        sparse.truncate(200 * MIB)
    for number in range(1, 10):
        os.link(work / "out" / "a", work / "out" / f"l{number}")
    found = _collect(work)
    [(artifact_id, name, _, size)] = found.artifacts
    assert (name, size) == ("out/a", 200 * MIB)
    stored = work.parent / "artifacts" / artifact_id
    assert stored.stat().st_size == 200 * MIB and stored.stat().st_blocks * 512 < MIB
    assert found.skipped == [{"name": f"out/l{n}", "reason": "the same file as out/a (a hard link): each file is "
                              "kept once"} for n in range(1, 10)]


def test_the_byte_cap_keeps_what_fits_and_lists_the_rest(work):
    for name in ("a", "b", "c"):
        (work / "out" / name).write_bytes(b"x" * 600)
    found = _collect(work, max_bytes=1300)
    assert _names(found) == ["out/a", "out/b"]
    assert found.skipped == [{"name": "out/c", "reason": "600 bytes, over the 100 bytes left of the limit of "
                              "1300 bytes per task"}]
    assert len(_stored(work)) == 2


def test_the_file_cap_keeps_the_first_files_and_lists_the_rest(work):
    for number in range(5):
        (work / "out" / f"f{number}").write_text("x")
    found = _collect(work, max_files=3)
    assert _names(found) == ["out/f0", "out/f1", "out/f2"]
    assert found.skipped == [{"name": f"out/f{n}", "reason": "over the limit of 3 files per task"} for n in (3, 4)]


def test_many_skipped_outputs_are_counted_and_the_first_ones_named(work):
    for number in range(MAX_LISTED + 5):
        os.symlink("/etc/passwd", work / "out" / f"link{number:03}")
    found = _collect(work).result_fields()
    assert len(found["artifacts_skipped"]) == MAX_LISTED and found["artifacts_skipped_count"] == MAX_LISTED + 5


def test_a_tree_1200_folders_deep_is_collected_to_the_depth_limit(deep_work):
    work = deep_work
    (work / "out" / "top.txt").write_text("top")
    make_deep_tree(work / "out", 1200)
    found = _collect(work)
    assert _names(found) == ["out/top.txt"]
    assert found.skipped == [{"name": "out/" + "/".join(["d"] * (MAX_DEPTH + 1)),
                              "reason": f"deeper than {MAX_DEPTH} folders: not collected"}]


def test_odd_names_are_stored_as_text_and_unique(work):
    (work / "out" / "a\r\nX-Evil: 1.txt").write_text("crlf")
    (work / "out" / os.fsdecode(b"b\xff.txt")).write_text("latin")
    (work / "out" / "c\\xff.txt").write_text("a backslash")
    (work / "out" / os.fsdecode(b"c\xff.txt")).write_text("the same once escaped")
    (work / "out" / ("n" * 250) / ("n" * 250) / ("n" * 250)).mkdir(parents=True)
    (work / "out" / ("n" * 250) / ("n" * 250) / ("n" * 250) / "f").write_text("too long a name")
    found = _collect(work)
    assert {name: size for _, name, _, size in found.artifacts} == {
        "out/a\r\nX-Evil: 1.txt": 4, "out/b\\xff.txt": 5, "out/c\\xff.txt": 11}
    assert [item["reason"] for item in found.skipped] == ["the same name as another output once made storable",
                                                          "the name is longer than 512 characters"]
    json.dumps(found.result_fields()).encode("utf-8")  # storable: no lone surrogates


def test_a_file_that_changed_after_it_was_listed_is_not_copied(work):
    for name in ("a", "b", "grows", "gone"):
        (work / "out" / name).write_text(name)
    found = outputs.Outputs()
    collector = outputs._Collector(found, work.parent / "artifacts", 10, 10)  # pylint: disable=protected-access
    fd = os.open(work / "out", os.O_RDONLY | os.O_DIRECTORY)
    try:
        listed = {name: os.stat(name, dir_fd=fd, follow_symlinks=False) for name in ("a", "grows", "gone")}
        os.replace(work / "out" / "b", work / "out" / "a")
        (work / "out" / "grows").write_text("now over the ten bytes")
        (work / "out" / "gone").unlink()
        for name, info in listed.items():
            collector._file(fd, name, f"out/{name}", info)  # pylint: disable=protected-access
    finally:
        os.close(fd)
    assert found.skipped == [
        {"name": "out/a", "reason": "it changed while it was collected"},
        {"name": "out/grows", "reason": "22 bytes, over the 10 bytes left of the limit of 10 bytes per task"},
        {"name": "out/gone", "reason": "could not be read (No such file or directory)"}]
    assert (found.artifacts, _stored(work)) == ([], [])


def test_a_sparse_copy_keeps_data_and_holes(tmp_path):
    source = tmp_path / "source"
    with open(source, "wb") as handle:
        handle.write(b"head")
        handle.seek(8 * MIB)
        handle.write(b"middle")
        handle.truncate(16 * MIB)
    src = os.open(source, os.O_RDONLY)
    dst = os.open(tmp_path / "copy", os.O_WRONLY | os.O_CREAT)
    try:
        copy_sparse(src, dst, 16 * MIB)
    finally:
        os.close(src)
        os.close(dst)
    assert (tmp_path / "copy").read_bytes() == source.read_bytes()
    assert (tmp_path / "copy").stat().st_blocks * 512 < 2 * MIB
