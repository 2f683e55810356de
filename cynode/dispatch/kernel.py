"""The few Linux calls the standard library lacks on Python 3.11: unshare, mount and prctl, through libc.

Used by the server on itself (not dumpable) and by the process runner in a job's child between fork and exec,
where only syscalls run (no imports, no locks), as the sandbox's rlimits already do.
"""

import ctypes
import functools
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x4000, 1 << 18
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
# Host dirs that hold unix sockets (PostgreSQL, MySQL, D-Bus, Docker...) or shared memory: a process-mode job
# gets an empty private tmpfs over each, since a network namespace does not cover filesystem sockets.
PRIVATE_DIRS = ((b"/run", b"mode=0755"), (b"/dev/shm", b"mode=1777"))


@functools.cache
def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def set_dumpable(dumpable: bool) -> None:
    """A process that is not dumpable cannot be ptraced by, nor have its /proc/PID/environ or memory read by,
    other processes of the same uid (a job running as the server's user)."""
    _check(_libc().prctl(PR_SET_DUMPABLE, int(dumpable), 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def is_dumpable() -> bool:
    return bool(_libc().prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE


def isolator():
    """A function for a child (run as root, before it drops to the job user) that gives it no network, private
    /run and /dev/shm, and no way to gain privileges through setuid programs. The libc functions are looked up
    here, in the parent, so the child only calls them."""
    libc = _libc()
    unshare, mount, prctl = libc.unshare, libc.mount, libc.prctl

    def isolate() -> None:
        _check(unshare(CLONE_NEWNET | CLONE_NEWNS), "unshare")
        _check(mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")  # nothing leaks
        for path, options in PRIVATE_DIRS:
            if os.path.isdir(path):
                _check(mount(b"tmpfs", path, b"tmpfs", MS_NOSUID | MS_NODEV, options), f"mount {path!r}")
        _check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    return isolate
