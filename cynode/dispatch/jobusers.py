"""Job uids for a root server: one per running job, from a pool (gid 65534).

The kernel counts RLIMIT_NPROC per uid and does not enforce it for root. With a uid per job a fork bomb
exhausts only its own job's budget, never another job's; and when the job ends, every process still running
under its uid (even one that escaped its process group with setsid) is found and killed.
"""

import fcntl
import os
import signal
import stat
import threading
from contextlib import contextmanager

from cynode.dispatch import kernel, safetree

NOGROUP = 65534
JOB_UIDS = range(1_500_000_000, 1_500_000_000 + 4096)  # far above any real account; never in /etc/passwd
# World-writable places a job may leave files in outside its work dir; emptied of its uid's files after it.
SHARED_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
# Where the uid claims live: one place for every process on the host, whatever its TMPDIR or a private /tmp
# (systemd's PrivateTmp) says, or two servers would hand out the same uid and reap each other's running jobs.
# Root only (the pool exists only for a root server); /run is the host's, never a job's.
LOCK_DIR = "/run/cynode-job-uids"
SHARED_DEPTH = 4  # how deep to look through world-writable dirs that belong to others (/tmp/.X11-unix)


class UidPool:
    """Job uids, each held by exactly one running job on this host.

    Several servers (or a server and its tests) may run jobs on one host: a uid is claimed with an exclusive
    flock on a file named after it, so no two processes ever share one, and a crashed process's claims end
    with it. Uids are handed out round-robin, so a released one is reused last.
    """

    def __init__(self, uids: range = JOB_UIDS, lock_dir: str | None = None):
        self._uids = uids
        self._dir = _private_dir(lock_dir or LOCK_DIR)
        self._held: dict[int, int] = {}  # uid -> fd of its locked file
        self._cursor = 0
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            for step in range(len(self._uids)):
                uid = self._uids[(self._cursor + step) % len(self._uids)]
                if uid not in self._held and self._claim(uid):
                    self._cursor = (self._cursor + step + 1) % len(self._uids)
                    return uid
        raise OSError("no free job uid: too many jobs at once")

    def _claim(self, uid: int) -> bool:
        fd = os.open(os.path.join(self._dir, str(uid)), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._held[uid] = fd
        return True

    def release(self, uid: int) -> None:
        with self._lock:
            os.close(self._held.pop(uid))  # closing drops the flock

    def reap_orphans(self) -> int:
        """Kill processes, and remove files in the shared temp dirs, left under job uids that no live process
        holds (a crashed server's jobs: the plain process runner has no die-with-parent). Returns how many
        uids had leftovers."""
        owners = {entry.stat().st_uid for entry in _processes()}
        for folder in SHARED_DIRS:
            owners |= _owners_in(folder)
        reaped = 0
        for uid in sorted(owners & set(self._uids)):
            with self._lock:
                if uid in self._held or not self._claim(uid):
                    continue  # a running job's, here or in another server
            try:
                _clean_up_after(uid)
                reaped += 1
            finally:
                self.release(uid)
        return reaped

    @contextmanager
    def job_user(self, shared_dirs: tuple[str, ...] = SHARED_DIRS):
        """(uid, gid) for one job; afterwards everything left under the uid is killed, its files in those of the
        `shared_dirs` the job could write to are removed, and the uid returned."""
        uid = self.acquire()
        try:
            yield uid, NOGROUP
        finally:
            _clean_up_after(uid, shared_dirs)
            self.release(uid)


def _clean_up_after(uid: int, shared_dirs: tuple[str, ...] = SHARED_DIRS) -> None:
    """Everything a job uid left: its processes, then its files in the shared temp dirs."""
    kill_uid(uid)
    for folder in shared_dirs:
        remove_files_of(uid, folder)


def _owners_in(folder: str) -> set[int]:
    try:
        with os.scandir(folder) as entries:
            return {entry.stat(follow_symlinks=False).st_uid for entry in entries}
    except OSError:
        return set()


def _private_dir(path: str) -> str:
    """A directory only root can write, or an error: a planted one could let another user steal job uids."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise OSError(f"{path} must be a directory owned by uid {os.geteuid()} with mode 0700")
    return path


def kill_uid(uid: int) -> None:
    """SIGKILL every process running as `uid` (a job's leftovers, wherever they went).

    A kill(-1) from a thread that is `uid` for that call (kernel.kill_uid_processes): no scan of /proc per job.
    Where that cannot run, a scan: /proc/<pid> belongs to the process's effective uid, one stat per process, no
    file reads. A job user holds no capabilities, so it cannot have changed its uids to hide.
    """
    if kernel.kill_uid_processes(uid):
        return
    for entry in _processes():
        try:
            if entry.stat().st_uid == uid:
                os.kill(int(entry.name), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # gone meanwhile


def remove_files_of(uid: int, folder: str) -> None:
    """Remove what `uid` owns in a world-writable folder (and in the world-writable folders of others in it).

    Runs after the uid's processes are dead, so nothing moves meanwhile; lstat and safetree mean a symlink the
    job planted is removed, never followed, and a tree of any depth goes."""
    pending = [(folder, SHARED_DEPTH)]
    while pending:
        path, depth = pending.pop()
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    info = entry.stat(follow_symlinks=False)
                    if info.st_uid == uid:
                        safetree.remove(entry.path)
                    elif stat.S_ISDIR(info.st_mode) and info.st_mode & 0o002 and depth > 1:
                        pending.append((entry.path, depth - 1))
        except OSError:
            continue  # no such folder here, or gone meanwhile


def _processes():
    """/proc entries of processes that still exist when their owner is read."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                entry.stat()
            except FileNotFoundError:
                continue
            yield entry
