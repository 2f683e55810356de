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
from dataclasses import dataclass

from cynode.dispatch.forkserver import HEADER, read_message

BOOT = "import sys; sys.path[:0] = sys.argv[3:]; from cynode.dispatch import forkserver; " \
       "forkserver.main(int(sys.argv[1]), sys.argv[2] == '1')"
LOST = "the job fork server exited while the job ran"


@dataclass(frozen=True)
class Request:
    """What one job is: bytes as exec takes them (checked here, so bad input fails in the caller)."""

    argv: list[bytes]
    env: dict[bytes, bytes]
    cwd: bytes
    rlimits: list[tuple[int, int]]
    nice: int
    user: tuple[int, int] | None
    tmpfs_bytes: int  # the size of each private tmpfs of an isolated job

    @classmethod
    def of(cls, argv, env, cwd, rlimits, nice, user, tmpfs_bytes):  # pylint: disable=too-many-arguments
        """Encoded and checked the way subprocess.Popen does: ValueError for a NUL byte or an '=' in a name,
        UnicodeEncodeError (a ValueError) for what the filesystem encoding cannot carry."""
        encoded = [os.fsencode(arg) for arg in argv]
        environment = {os.fsencode(key): os.fsencode(value) for key, value in env.items()}
        if any(b"=" in key for key in environment):
            raise ValueError("illegal environment variable name")
        if any(b"\0" in part for part in [*encoded, *environment, *environment.values()]):
            raise ValueError("embedded null byte")
        return cls(encoded, environment, os.fsencode(cwd), list(rlimits), nice, user, tmpfs_bytes)


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
        try:
            self._server.send(("release", self.pid), [])
        except OSError:
            pass  # the fork server is gone, and its zombies with it


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
        data = pickle.dumps(message)
        with self._lock:
            socket.send_fds(self._conn, [HEADER.pack(len(data))], fds)
            self._conn.sendall(data)

    def start(self, request: Request, stdout: int, stderr: int) -> Started:
        """Start the job with these as its stdout and stderr; OSError if it could not be started."""
        status_read, status_write = os.pipe()
        try:
            try:
                self.send(("spawn", request.argv, request.env, request.cwd, request.rlimits, request.nice,
                           request.user, request.tmpfs_bytes), [stdout, stderr, status_write])
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
