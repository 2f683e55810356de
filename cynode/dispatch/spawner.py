"""Starting job processes through the fork server (forkserver.py): the dispatcher's side.

One fork server per process and kind (isolated or not), started at the first job and shared by every runner:
a dispatcher thread sends it a request and waits on a pipe of its own for the job's pid, then for its exit
status; no thread of ours forks. If the fork server dies, its running jobs are reported lost and the next job
starts a new one.
"""

import os
import pickle
import socket
import subprocess
import sys
import threading
from contextlib import suppress

from cynode.dispatch.forkserver import Request, read_message, send_framed

BOOT = "import sys; sys.path[:0] = sys.argv[3:]; from cynode.dispatch import forkserver; " \
       "forkserver.main(int(sys.argv[1]), sys.argv[2] == '1')"
LOST = "the job fork server exited while the job ran"


class JobLost(OSError):
    """The fork server went away while the job ran: its exit status is unknown."""


class Started:
    """A job the fork server has started: its pid, and its exit status once it has exited."""

    def __init__(self, server: "Spawner", pid: int, status: int):
        self._server, self.pid, self._status = server, pid, status
        self.returncode: int | None = None

    def fileno(self) -> int:
        """Readable once the job has exited (or the fork server is gone): for select()."""
        return self._status

    def poll(self) -> int | None:
        """The exit status (as Popen's returncode) once the job has exited and its process group was killed,
        else None. Call when fileno() is readable; raises JobLost if the fork server went away."""
        if self.returncode is None:
            message = read_message(self._status)
            if message is None:
                raise JobLost(LOST)
            self.returncode = message[1]
        return self.returncode

    def release(self) -> None:
        """Let the fork server reap the job (once it has exited) and forget it; closes the status pipe."""
        os.close(self._status)
        with suppress(OSError):  # the fork server is gone, and its zombies with it
            self._server.send(("release", self.pid), [])


class Spawner:
    """A connection to one fork server."""

    def __init__(self, isolated: bool):
        self.owner = os.getpid()
        self._conn, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen(  # pylint: disable=consider-using-with  # lives as long as we do
                [sys.executable, "-I", "-c", BOOT, str(theirs.fileno()), "1" if isolated else "0", *sys.path],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                start_new_session=True)  # a Ctrl-C at the server's terminal must not kill it before the jobs end
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def send(self, message, fds: list[int]) -> None:
        with self._lock:
            send_framed(self._conn, pickle.dumps(message), fds)

    def start(self, request: Request, stdout: int, stderr: int) -> Started:
        """Start the job with these as its stdout and stderr; OSError if it could not be started."""
        status_read, status_write = os.pipe()
        try:
            try:
                self.send(("spawn", request), [stdout, stderr, status_write])
            finally:
                os.close(status_write)
            reply = read_message(status_read)
        except BaseException:
            os.close(status_read)
            raise
        if reply is None or reply[0] != "pid":
            os.close(status_read)
            if reply is None:
                raise OSError("the job fork server exited before the job started")
            _kind, errno, strerror, filename = reply
            raise OSError(errno, strerror, filename) if errno is not None else OSError(strerror)
        return Started(self, reply[1], status_read)


_SPAWNERS: dict[bool, Spawner] = {}
_LOCK = threading.Lock()


def spawner(isolated: bool) -> Spawner:
    """This process's fork server for isolated (new network and mount namespaces) or plain jobs, started now if
    there is none yet or it has died."""
    with _LOCK:
        current = _SPAWNERS.get(isolated)
        if current is None or not current.alive or current.owner != os.getpid():
            current = _SPAWNERS[isolated] = Spawner(isolated)
        return current
