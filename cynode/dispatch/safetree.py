"""Walking, removing and chowning a directory tree a job controls, as root, without ever following a symlink.

A job may race us: swap a directory for a symlink while we walk, or move one elsewhere. So every step goes
through directory file descriptors: a child is opened relative to its parent's fd with O_NOFOLLOW | O_DIRECTORY
and checked (fstat) to be the directory the listing saw; nothing is ever resolved by path. The walk is iterative
(Python 3.11's os.walk, os.fwalk and shutil.rmtree recurse, so a tree 1,200 folders deep raises RecursionError),
and it keeps at most KEEP_FDS descriptors open however deep the tree: above that it closes the oldest and, on the
way back up, reopens it as ".." of its child, which must be the very directory it was (same device and inode),
or the walk stops with TreeChanged.
"""

import os
import stat
from contextlib import suppress
from dataclasses import dataclass, field

KEEP_FDS = 32
ENTER, LEAVE = "enter", "leave"
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class TreeChanged(OSError):
    """A directory was moved away while we walked below it: the walk cannot safely go on."""


@dataclass(eq=False)
class Dir:
    """One directory of a walk. `path`: its entry names from the top (() for the top); `fd`: open while the walk
    is at it or below; `dirs` and `others`: (name, lstat) of its subdirectories and of everything else, sorted
    by name. Clear or edit `dirs` at ENTER to keep the walk out of them."""

    path: tuple[str, ...]
    fd: int | None
    ident: tuple[int, int]
    dirs: list = field(default_factory=list)
    others: list = field(default_factory=list)
    pending: list = field(default_factory=list)


def open_dir(name, dir_fd: int | None = None) -> int:
    """An fd of the directory `name` (relative to dir_fd); a symlink in its last component is an OSError."""
    return os.open(name, DIR_FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)


def _ident(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


def _listed(fd: int, path: tuple[str, ...]) -> Dir:
    """The directory open at fd, listed; fd is closed if it cannot be."""
    try:
        here, names = Dir(path, fd, _ident(os.fstat(fd))), sorted(os.listdir(fd))
    except BaseException:
        os.close(fd)
        raise
    for name in names:
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed since it was listed
        (here.dirs if stat.S_ISDIR(info.st_mode) else here.others).append((name, info))
    return here


def _open_child(parent_fd: int, name: str, seen: os.stat_result) -> int | None:
    """The subdirectory the listing saw, or None when it is gone or was swapped (for a symlink, say)."""
    try:
        fd = open_dir(name, parent_fd)
    except OSError:  # gone, or ELOOP / ENOTDIR: a symlink or a file now
        return None
    if _ident(os.fstat(fd)) != _ident(seen):
        os.close(fd)
        return None
    return fd


def _reopen_parent(child_fd: int, expected: tuple[int, int]) -> int:
    fd = os.open("..", DIR_FLAGS, dir_fd=child_fd)
    if _ident(os.fstat(fd)) != expected:
        os.close(fd)
        raise TreeChanged("a directory was moved while its tree was walked")
    return fd


def walk(top_fd: int):
    """Yield (ENTER, dir, parent) for every directory under top_fd (top first, parents before children) and
    (LEAVE, dir, parent) once its subtree is done; parent is None for the top. Fds are valid until the next
    step. Symlinks are entries in `others`, never followed."""
    stack = [_listed(os.dup(top_fd), ())]
    closed = 0  # stack[:closed] have had their fds closed to bound how many stay open
    try:
        yield ENTER, stack[0], None
        stack[0].pending = stack[0].dirs[::-1]
        while stack:
            here = stack[-1]
            if here.pending:
                name, seen = here.pending.pop()
                fd = _open_child(here.fd, name, seen)
                if fd is None:
                    continue
                child = _listed(fd, here.path + (name,))
                stack.append(child)
                if len(stack) - closed > KEEP_FDS:
                    os.close(stack[closed].fd)
                    stack[closed].fd, closed = None, closed + 1
                yield ENTER, child, here
                child.pending = child.dirs[::-1]
                continue
            parent = stack[-2] if len(stack) > 1 else None
            if parent is not None and parent.fd is None:
                parent.fd, closed = _reopen_parent(here.fd, parent.ident), closed - 1
            yield LEAVE, here, parent
            stack.pop()
            os.close(here.fd)
    finally:
        for left in stack:
            if left.fd is not None:
                os.close(left.fd)


def _quietly(call, *args, **kwargs) -> None:
    with suppress(OSError):  # gone already, or not empty because something in it could not go: left as it is
        call(*args, **kwargs)


def remove(path) -> bool:
    """Remove `path` and everything under it without following any symlink; True when it is gone. Best effort:
    what cannot be removed stays (a later call tries again)."""
    parent, name = os.path.split(os.path.abspath(path))
    parent_fd = os.open(parent, DIR_FLAGS)
    try:
        try:
            fd = open_dir(name, parent_fd)
        except FileNotFoundError:
            return True
        except OSError:  # a symlink or a file: the entry itself goes
            _quietly(os.unlink, name, dir_fd=parent_fd)
        else:
            try:
                _empty(fd)
            finally:
                os.close(fd)
            _quietly(os.rmdir, name, dir_fd=parent_fd)
        return not _exists(name, parent_fd)
    finally:
        os.close(parent_fd)


def _empty(fd: int) -> None:
    with suppress(TreeChanged):
        for event, here, parent in walk(fd):
            if event == ENTER:
                for name, _ in here.others:
                    _quietly(os.unlink, name, dir_fd=here.fd)
            elif parent is not None:
                _quietly(os.rmdir, here.path[-1], dir_fd=parent.fd)


def _exists(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def chown(path, uid: int, gid: int) -> None:
    """chown `path` and everything under it (symlinks themselves, never what they point to)."""
    fd = open_dir(path)
    try:
        for event, here, _ in walk(fd):
            if event == ENTER:
                os.chown(here.fd, uid, gid)
                for name, _ in here.others:
                    with suppress(FileNotFoundError):
                        os.chown(name, uid, gid, dir_fd=here.fd, follow_symlinks=False)
    finally:
        os.close(fd)
