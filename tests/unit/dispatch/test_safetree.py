"""Job-controlled trees walked, removed and chowned as root: no symlink followed, any depth, bounded fds."""

import os

import pytest

from cynode.dispatch import safetree

from .support import make_deep_tree


def _fds_into(top) -> int:
    """How many of our fds are open on something under `top` (other tests' threads may open and close others)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(str(top))
        except OSError:
            continue  # closed meanwhile
    return count


def _walked(top):
    fd = safetree.open_dir(top)
    try:
        return [(event, "/".join(here.path), [n for n, _ in here.others]) for event, here, _ in safetree.walk(fd)]
    finally:
        os.close(fd)


def test_the_walk_goes_parents_first_and_never_into_a_symlink(tmp_path):
    secret = tmp_path / "host"
    secret.mkdir()
    (secret / "passwd").write_text("root:x:0:0")
    top = tmp_path / "top"
    (top / "a" / "b").mkdir(parents=True)
    (top / "a" / "b" / "f").write_text("f")
    (top / "z.txt").write_text("z")
    os.symlink(secret, top / "a" / "link")
    assert _walked(top) == [("enter", "", ["z.txt"]), ("enter", "a", ["link"]), ("enter", "a/b", ["f"]),
                            ("leave", "a/b", ["f"]), ("leave", "a", ["link"]), ("leave", "", ["z.txt"])]


def test_a_folder_swapped_for_a_symlink_after_it_was_listed_is_not_entered(tmp_path):
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "shadow").write_text("secret")
    top = tmp_path / "top"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "mine").write_text("mine")
    fd = safetree.open_dir(top)
    seen = []
    for event, here, _ in safetree.walk(fd):
        if here.path == () and event == safetree.ENTER:  # the job races the walk: sub is now a symlink
            (top / "sub" / "mine").unlink()
            (top / "sub").rmdir()
            os.symlink(tmp_path / "host", top / "sub")
        seen += [n for n, _ in here.others]
    os.close(fd)
    assert seen == []


def test_a_tree_1200_folders_deep_is_walked_holding_a_bounded_number_of_fds(deep_tmp):
    make_deep_tree(deep_tmp, 1200)
    most = depth = 0
    fd = safetree.open_dir(deep_tmp)
    for event, here, _ in safetree.walk(fd):
        most = max(most, _fds_into(deep_tmp))
        depth = max(depth, len(here.path)) if event == safetree.ENTER else depth
    os.close(fd)
    assert depth == 1200
    assert most <= safetree.KEEP_FDS + 2  # the walk's own, plus ours on the top
    assert _fds_into(deep_tmp) == 0


def test_a_folder_moved_away_during_a_deep_walk_stops_it(deep_tmp):
    top = deep_tmp / "top"
    top.mkdir()
    make_deep_tree(top, safetree.KEEP_FDS + 5)
    fd = safetree.open_dir(top)
    with pytest.raises(safetree.TreeChanged):
        for event, here, _ in safetree.walk(fd):
            if event == safetree.ENTER and len(here.path) == safetree.KEEP_FDS + 5:
                os.rename(top / "d" / "d", deep_tmp / "elsewhere")  # the walk no longer holds top/d's fd
    os.close(fd)
    assert (deep_tmp / "elsewhere").is_dir()


def test_remove_takes_a_deep_tree_and_only_the_links_not_what_they_point_to(deep_tmp):
    host = deep_tmp / "host"
    host.mkdir()
    (host / "keep.txt").write_text("keep")
    work = deep_tmp / "work"
    work.mkdir()
    make_deep_tree(work, 1200)
    os.symlink(host, work / "out")
    os.symlink(host / "keep.txt", work / "file-link")
    assert safetree.remove(work) is True
    assert not os.path.lexists(work)
    assert (host / "keep.txt").read_text() == "keep"
    assert _fds_into(work) == 0


def test_remove_of_a_symlink_or_of_nothing(tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    os.symlink(host, tmp_path / "link")
    assert safetree.remove(tmp_path / "link") is True
    assert host.is_dir() and not os.path.lexists(tmp_path / "link")
    assert safetree.remove(tmp_path / "missing") is True


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_chown_gives_a_deep_tree_away_but_not_what_its_links_point_to(deep_tmp):
    host = deep_tmp / "host.txt"
    host.write_text("host")
    work = deep_tmp / "work"
    work.mkdir()
    make_deep_tree(work, 1200)
    os.symlink(host, work / "link")
    safetree.chown(work, 54321, 54322)
    fd = safetree.open_dir(work)
    owners = set()
    for event, here, _ in safetree.walk(fd):
        if event == safetree.ENTER:
            owners.add(os.fstat(here.fd)[4:6])
            owners |= {(info.st_uid, info.st_gid) for _, info in here.others}
    os.close(fd)
    assert owners == {(54321, 54322)}
    assert (host.stat().st_uid, host.stat().st_gid) == (0, 0)
