"""The few Linux calls the standard library lacks on Python 3.11: unshare, mount, prctl and a one-thread setresuid,
through libc.

Used by the server on itself (not dumpable) and by the process runner in a job's child between fork and exec,
where only syscalls run (no imports, no locks), as the sandbox's rlimits already do.
"""

import ctypes
import functools
import os
import signal
from contextlib import suppress

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
# setresuid(2) as a raw system call changes the calling thread's credentials only (glibc's wrapper changes every
# thread's). Its number on the architectures we know; elsewhere callers fall back to scanning /proc.
SYS_SETRESUID = {"x86_64": 117, "aarch64": 147, "riscv64": 147, "ppc64le": 164, "ppc64": 164,
                 "s390x": 208}.get(os.uname().machine)
# Host dirs a process-mode job gets an empty private tmpfs over: a network namespace does not cover filesystem
# sockets (PostgreSQL's, D-Bus's, Docker's under /run, X11's and others in /tmp), shared memory, and the
# world-writable temp dirs, where other users' files are and where concurrent jobs could meet.
PRIVATE_DIRS = ((b"/run", b"mode=0755"), (b"/dev/shm", b"mode=1777"), (b"/tmp", b"mode=1777"),
                (b"/var/tmp", b"mode=1777"))

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


def set_parent_death_signal(signum: int) -> None:
    """The signal this process gets when its parent dies; 0 for none."""
    _check(_libc().prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def is_dumpable() -> bool:
    return bool(_libc().prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE


def isolator():
    """A function for a child (run as root, before it drops to the job user) that gives it no network and no way
    to gain privileges through setuid programs, and returns {each of PRIVATE_DIRS: an fd of the host's dir} for
    make_private(), which the job's start calls. The libc functions are looked up here, in the parent, so the
    child only calls them."""
    libc = _libc()
    unshare, mount, prctl = libc.unshare, libc.mount, libc.prctl

    def isolate() -> dict[bytes, int]:
        _check(unshare(CLONE_NEWNET | CLONE_NEWNS), "unshare")
        _check(mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")  # nothing leaks
        hidden = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path, _ in PRIVATE_DIRS if os.path.isdir(path)}
        _check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
        return hidden
    return isolate


def make_private(hidden: dict[bytes, int], workdir: bytes, size: int) -> None:
    """In an isolated child: an empty tmpfs of at most `size` bytes (tmpfs pages are RAM no rlimit counts) over
    each dir isolate() found; then the work dir, when it lies in one of them (a data dir under /tmp), mounted back
    at its place from the host's dir, and nothing else of what the tmpfs hides. The levels above it are made
    0755 (root's), so the job user can reach it."""
    mount = _libc().mount
    for path, options in PRIVATE_DIRS:
        if path in hidden:
            _check(mount(b"tmpfs", path, b"tmpfs", MS_NOSUID | MS_NODEV, b"%s,size=%d" % (options, size)),
                   f"mount {path!r}")
    for top, fd in hidden.items():
        if workdir.startswith(top + b"/"):
            level = top
            for part in workdir[len(top) + 1:].split(b"/"):
                level += b"/" + part
                if not os.path.isdir(level):
                    os.mkdir(level)
                    os.chmod(level, 0o755)
            source = b"/proc/self/fd/%d/%s" % (fd, workdir[len(top) + 1:])
            _check(mount(source, workdir, None, MS_BIND | MS_REC, None), f"mount --rbind {workdir!r}")


def kill_uid_processes(uid: int) -> bool:
    """SIGKILL every process whose real or saved uid is `uid`, without looking at any other process: this thread
    (only) becomes `uid` (real and effective; saved stays root, so it can come back; the effective capabilities,
    CAP_KILL among them, go with the effective root) for one kill(-1, SIGKILL), which the kernel then delivers to
    exactly the processes that uid may signal, a non-dumpable one included. Our own process is never a target.

    False when this cannot be done here (not root, an architecture without a known syscall number, or the switch
    refused): the caller kills by other means. Coming back to root cannot fail; if it ever did, this thread
    would act with a job's uid, so the process stops."""
    if SYS_SETRESUID is None or os.geteuid() != 0 or os.getuid() != 0:
        return False
    syscall = _libc().syscall
    syscall.restype = ctypes.c_long
    if syscall(ctypes.c_long(SYS_SETRESUID), ctypes.c_uint(uid), ctypes.c_uint(uid), ctypes.c_uint(0)) != 0:
        return False
    try:
        with suppress(ProcessLookupError):  # ESRCH: nothing of that uid runs
            os.kill(-1, signal.SIGKILL)
    finally:
        if syscall(ctypes.c_long(SYS_SETRESUID), ctypes.c_uint(0), ctypes.c_uint(0), ctypes.c_uint(0)) != 0:
            os.write(2, b"cynode: cannot switch a thread back to root after killing a job uid's processes\n")
            os._exit(70)  # pylint: disable=protected-access  # acting on as a job's uid is worse than stopping
    return True
