"""The job fork server: a small single-threaded process (spawner.py starts it) that starts every job, so the
dispatcher itself never forks.

Why: forking the server, a large multi-threaded Python process, copies its page tables with the GIL held, and a
preexec_fn then runs Python in the child; namespaces (a network namespace alone costs over a millisecond) were
made on each job's critical path. Here spare children are forked ahead of time, already isolated, and each
waits for one job: all it does then is apply rlimits, niceness and the job user, and exec.

Protocol, over the socket it is given (requests are pickled, each after a 4-byte length sent with its fds):
- ("spawn", Request) with fds [stdout, stderr, status]: the job runs with those as its stdout and stderr, in
  a session of its own. On `status` (a pipe) the server writes
  ("pid", pid) once the job has exec'd, or ("error", errno, strerror, filename) if it could not start; then
  ("exit", returncode) once it has exited, after killing the rest of its process group; then closes it.
- ("release", pid): the exited job may now be reaped. Until then it stays a zombie, so neither its pid nor its
  process group id can be reused under a caller that still signals them.
It exits when the socket reaches EOF (the server is gone); its spares die with it.
"""

import errno
import os
import pickle
import resource
import selectors
import signal
import socket
import struct
from collections import deque
from contextlib import suppress
from dataclasses import dataclass

from cynode.dispatch import kernel

HEADER = struct.Struct("!I")
SPARES = 2  # children forked and isolated ahead of time: jobs start on several threads at once


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


def send_framed(conn: socket.socket, data: bytes, fds) -> None:
    """One message on a socket: its length with the fds it carries, then the pickled data."""
    socket.send_fds(conn, [HEADER.pack(len(data))], fds)
    conn.sendall(data)


def _tell(status: int, data: bytes) -> None:
    """One message on a job's status pipe (small: one atomic write). A caller that stopped listening (it gave
    the job up) costs nothing."""
    with suppress(BrokenPipeError):
        os.write(status, HEADER.pack(len(data)) + data)


def read_message(fd: int):
    """The next message on a pipe; None at EOF."""
    header = _read_exactly(fd, HEADER.size)
    return pickle.loads(_read_exactly(fd, HEADER.unpack(header)[0])) if header else None


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def _recv_request(conn: socket.socket):
    """(request, fds) from the socket; (None, []) at EOF."""
    header, fds, _flags, _addr = socket.recv_fds(conn, HEADER.size, 3)
    for fd in fds:
        os.set_inheritable(fd, False)
    if len(header) < HEADER.size:
        for fd in fds:
            os.close(fd)
        return None, []
    data = conn.recv(HEADER.unpack(header)[0], socket.MSG_WAITALL)
    return pickle.loads(data), fds


class _Spare:
    """A forked child waiting for one job; `control` reaches EOF when it has exec'd."""

    def __init__(self, isolate):
        control, child_end = socket.socketpair()
        server = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover  # the child execs or exits: coverage never sees its data
            control.close()
            _await_job(child_end, isolate, server)
        child_end.close()
        self.control = control


def _await_job(control: socket.socket, isolate, server: int) -> None:  # pragma: no cover  # the forked child
    """The spare child: isolate (as root) now, then wait for a job and become it. Never returns."""
    code = 127
    try:
        kernel.set_parent_death_signal(signal.SIGKILL)  # a spare dies with the fork server...
        if os.getppid() != server:
            return  # ...which may have died before that was set
        signal.set_wakeup_fd(-1)
        _default_signals()
        failure, hidden = None, {}
        try:
            if isolate:
                hidden = isolate()
        except OSError as exc:
            failure = exc
        request, fds = _recv_request(control)
        if request is None:
            code = 0
        else:
            try:
                if failure:
                    raise failure
                _become_job(control.fileno(), request, fds, hidden)
            except OSError as exc:
                control.sendall(pickle.dumps(("error", exc.errno, exc.strerror, exc.filename)))
            except Exception as exc:  # pylint: disable=broad-exception-caught  # said, not lost in a dead child
                control.sendall(pickle.dumps(("error", None, f"{type(exc).__name__}: {exc}", None)))
    finally:
        os._exit(code)  # pylint: disable=protected-access  # a forked child must not run the parent's clean-up


def _default_signals() -> None:  # pragma: no cover  # runs in the forked child
    """Every signal at its default and none blocked, as a job expects: not what Python set here (SIGPIPE ignored,
    our SIGCHLD handler), nor what the server was started with (`nohup` ignores SIGHUP; `cmd &` in a script,
    SIGINT and SIGQUIT); ignored signals stay ignored across exec. (glibc keeps its internal two to itself.)"""
    for signum in signal.valid_signals():
        if signum not in (signal.SIGKILL, signal.SIGSTOP):
            with suppress(OSError, ValueError):
                signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def _become_job(control: int, job: Request, fds, hidden: dict[bytes, int]) -> None:  # pragma: no cover  # the child
    """exec the job: its own session, stdin /dev/null, the given stdout and stderr, rlimits, niceness, then the
    job user (set last: isolation and rlimits need root). Returns only by raising OSError."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    kernel.make_private(hidden, job.cwd, job.tmpfs_bytes)
    os.chdir(job.cwd)
    for res, value in job.rlimits:
        resource.setrlimit(res, (value, value))
    os.nice(job.nice)
    if job.user:
        os.setgroups([])
        os.setresgid(job.user[1], job.user[1], job.user[1])
        os.setresuid(job.user[0], job.user[0], job.user[0])
    kernel.set_parent_death_signal(0)  # the job outlives the fork server like any process outlives its parent
    os.closerange(3, control)
    os.closerange(control + 1, 1 << 20)  # only 0-2 reach the job; control is close-on-exec
    _exec_on_path(job.argv, job.env)


def _exec_on_path(argv: list[bytes], env: dict[bytes, bytes]) -> None:  # pragma: no cover  # the forked child
    """execve argv[0], searched on the job's PATH when it has no slash, as subprocess does: the first error
    other than "not there" is the one reported, with the name the caller gave."""
    first = last = None
    name = argv[0]
    folders = [b""] if b"/" in name else env.get(b"PATH", os.defpath.encode()).split(b":")
    for path in [os.path.join(folder, name) for folder in folders]:
        try:
            os.execve(path, argv, env)
        except OSError as exc:
            if first is None and exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                first = exc
            last = exc
    failure = first or last
    raise OSError(failure.errno, failure.strerror, os.fsdecode(argv[0]))


class ForkServer:
    """The fork server's loop: requests from the socket, jobs' starts and exits."""

    def __init__(self, conn: socket.socket, isolated: bool):
        self._conn = conn
        self._isolate = kernel.isolator() if isolated else None
        self._selector = selectors.DefaultSelector()
        wakeup_read, wakeup_write = os.pipe()
        for fd in (wakeup_read, wakeup_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wakeup_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to write to the wakeup fd
        self._spares: deque[_Spare] = deque()
        self._running: dict[int, int] = {}  # job pid -> its status fd
        self._abandoned: set[int] = set()  # released while running: reaped as they exit
        self._selector.register(conn, selectors.EVENT_READ, self._on_request)
        self._selector.register(wakeup_read, selectors.EVENT_READ, self._on_signal)

    def serve(self) -> None:
        self._refill()
        while True:
            for key, _ in self._selector.select():
                if key.data(key.fileobj) is False:
                    return

    def _refill(self) -> None:
        while len(self._spares) < SPARES:
            self._spares.append(_Spare(self._isolate))

    def _on_request(self, conn) -> bool:
        request, fds = _recv_request(conn)
        if request is None:
            for spare in self._spares:
                os.kill(spare.pid, signal.SIGKILL)
            return False
        if request[0] == "release":
            self._release(request[1])
            return True
        try:
            spare = self._hand_over(pickle.dumps(request[1]), fds[:2])
        except OSError as exc:
            _tell(fds[2], pickle.dumps(("error", exc.errno, f"no child took the job: {exc.strerror}", None)))
            os.close(fds[2])
            return True
        finally:
            os.close(fds[0])
            os.close(fds[1])
        self._selector.register(spare.control, selectors.EVENT_READ, lambda control: self._on_start(spare, fds[2]))
        return True  # the spare is replaced once this job has started: forking now would delay it

    def _hand_over(self, data: bytes, fds: list[int]) -> _Spare:
        """The spare that took the job: a spare killed since the last SIGCHLD was handled is reaped, and the
        next one (or a new one) takes it."""
        for _attempt in range(SPARES + 1):  # each spare, then a fresh one
            spare = self._spares.popleft() if self._spares else _Spare(self._isolate)
            try:
                send_framed(spare.control, data, fds)
                return spare
            except OSError as exc:  # EPIPE, ECONNRESET: it is dead
                failure = exc
                spare.control.close()
                os.waitpid(spare.pid, 0)
        raise failure

    def _on_start(self, spare: _Spare, status: int) -> bool:
        """The spare has exec'd (its control socket is at EOF) or reports why it could not."""
        try:
            data = spare.control.recv(65536)
        except ConnectionResetError:  # it died before reading its job: an exec leaves nothing unread
            data = pickle.dumps(("error", None, "the job's process was killed before it started", None))
        self._selector.unregister(spare.control)
        spare.control.close()
        if data:
            _tell(status, data)
            os.close(status)
            os.waitpid(spare.pid, 0)
            self._refill()
            return True
        _tell(status, pickle.dumps(("pid", spare.pid)))
        self._running[spare.pid] = status
        self._check(spare.pid)
        self._refill()
        return True

    def _on_signal(self, wakeup) -> bool:
        with suppress(BlockingIOError):  # empty now: every signal since the last wake-up is handled below
            while os.read(wakeup, 512):
                pass
        for pid in list(self._running):
            self._check(pid)
        for spare in list(self._spares):  # a spare that died (killed by someone): reaped and replaced
            if os.waitpid(spare.pid, os.WNOHANG)[0]:
                self._spares.remove(spare)
                spare.control.close()
        self._refill()
        return True

    def _release(self, pid: int) -> None:
        """A started job's pid: reaped now if it has exited (a zombie until now), else as it exits."""
        if pid in self._running:  # given up on before it exited
            self._abandoned.add(pid)
        else:
            with suppress(ChildProcessError):  # released twice: a caller's bug must not end every job
                os.waitpid(pid, 0)

    def _check(self, pid: int) -> None:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is None:
            return
        with suppress(ProcessLookupError, PermissionError):  # the job is over: so are its background processes
            os.killpg(pid, signal.SIGKILL)
        code = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
        status = self._running.pop(pid)
        _tell(status, pickle.dumps(("exit", code)))
        os.close(status)
        if pid in self._abandoned:
            self._abandoned.discard(pid)
            os.waitpid(pid, 0)


def main(fd: int, isolated: bool) -> None:
    kernel.set_dumpable(False)  # jobs' environments (credentials) pass through here
    ForkServer(socket.socket(fileno=fd), isolated).serve()
