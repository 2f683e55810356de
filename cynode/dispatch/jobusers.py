"""Job uids for a root server: one per running job, from a pool (gid 65534).

The kernel counts RLIMIT_NPROC per uid and does not enforce it for root. With a uid per job a fork bomb
exhausts only its own job's budget, never another job's; and when the job ends, every process still running
under its uid (even one that escaped its process group with setsid) is found and killed.
"""

import os
import signal
import threading
from contextlib import contextmanager

NOGROUP = 65534
JOB_UIDS = range(1_500_000_000, 1_500_000_000 + 4096)  # far above any real account; never in /etc/passwd


class UidPool:
    """Free job uids; a uid goes back only after everything that ran under it was killed."""

    def __init__(self, uids: range = JOB_UIDS):
        self._free = list(reversed(uids))
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            if not self._free:
                raise OSError("no free job uid: too many jobs at once")
            return self._free.pop()

    def release(self, uid: int) -> None:
        with self._lock:
            self._free.insert(0, uid)  # reused last, after the kernel has long reaped its processes

    @contextmanager
    def job_user(self):
        """(uid, gid) for one job; afterwards everything left under the uid is killed and the uid returned."""
        uid = self.acquire()
        try:
            yield uid, NOGROUP
        finally:
            kill_uid(uid)
            self.release(uid)


def kill_uid(uid: int) -> None:
    """SIGKILL every process running as `uid` (a job's leftovers, wherever they went).

    /proc/<pid> belongs to the process's effective uid: one stat per process, no file reads. A job user holds
    no capabilities, so it cannot have changed its uids to hide.
    """
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                os.kill(int(entry.name), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # gone meanwhile
