"""The job runner: runs one job process and reports what happened. No HTTP, no database.

A job gets its own session (so cancel and timeout kill its whole process group: SIGTERM, then SIGKILL after a
grace), rlimits, a scrubbed environment and its output streamed to size-capped files. When the server is root
each running job gets a uid of its own from a pool (gid 65534): the kernel does not enforce RLIMIT_NPROC for
root, and counts it per uid, so with one uid per job a fork bomb exhausts only its own job's budget; and when
the job ends, whatever still runs under its uid (even a process that escaped with setsid) is killed. BwrapRunner adds
bubblewrap namespaces (no network, own pids, only system dirs and the work dir visible); ProcessRunner is the
fallback without them. Every job is started by the fork server (spawner.py), never by forking this process.
Job failures never raise: they come back as a RunResult.
"""

import abc
import functools
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cynode.dispatch import kernel, safetree
from cynode.dispatch.capture import CappedFile, Pump, drain, killpg
from cynode.dispatch.jobusers import SHARED_DIRS, UidPool
from cynode.dispatch.forkserver import Request
from cynode.dispatch.spawner import JobLost, Started, spawner
from cynode.dispatch.workspace import take_back

# Every job's environment is PATH=SYSTEM_PATH, LANG=C.UTF-8 and HOME=its work dir (/work inside bwrap, so
# tools that write to ~ stay inside it), with the job's own env dict laid over it; nothing else.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
SANDBOX_WORKDIR = "/work"
SANDBOX_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime")
NO_BWRAP = ("bubblewrap not available: jobs run as plain processes with a uid of their own, and see the host's "
            "files as that uid may")
NO_NAMESPACES = "jobs have the host's network and /run: root cannot create namespaces here"
UNISOLATED = ("jobs are unisolated (--sandbox none): no namespaces; a non-root server's jobs run as its own user "
              "and can read its data dir")
SAME_USER = "would run jobs as the server's own user, able to read its database and secrets"
FIXES = ("install bubblewrap (apt-get install bubblewrap), run the server as root (a uid per job), or pass "
         "--sandbox none to accept unisolated jobs")


class SandboxUnavailable(ValueError):
    """The requested sandbox cannot run jobs on this machine; the message says why."""


@dataclass(frozen=True)
class Limits:
    """What one job may use. Output caps apply per stream."""

    timeout_seconds: float = 300
    max_output_bytes: int = 262144
    memory_bytes: int = 1 << 30
    max_processes: int = 256
    file_size_bytes: int = 256 << 20
    cpu_seconds: int = 600
    kill_grace_seconds: float = 5.0


@dataclass(frozen=True)
class RunResult:
    """What happened. status: completed | failed | timeout | canceled; exit_code -1 when killed or never run."""

    status: str
    exit_code: int
    stdout_truncated: bool
    stderr_truncated: bool
    started_at: datetime
    ended_at: datetime
    error: str | None = None


# Jobs run below the server's priority: a job that keeps every core busy (a fork bomb up to its process limit,
# a tight loop in each of its processes) must not starve the threads that answer the API and cancel it.
JOB_NICENESS = 10


JOB_RLIMITS = (resource.RLIMIT_AS, resource.RLIMIT_NPROC, resource.RLIMIT_FSIZE, resource.RLIMIT_CPU,
               resource.RLIMIT_CORE)


def _job_rlimits(limits: Limits) -> list[tuple[int, int]]:
    """(resource, value) for each of JOB_RLIMITS: the job's limit clamped to our own hard limit (a child cannot
    raise it), used as both its soft and hard limit."""
    wanted = {resource.RLIMIT_AS: limits.memory_bytes, resource.RLIMIT_NPROC: limits.max_processes,
              resource.RLIMIT_FSIZE: limits.file_size_bytes, resource.RLIMIT_CPU: limits.cpu_seconds,
              resource.RLIMIT_CORE: 0}
    clamped = []
    for res in JOB_RLIMITS:
        hard = resource.getrlimit(res)[1]
        clamped.append((res, wanted[res] if hard == resource.RLIM_INFINITY else min(wanted[res], hard)))
    return clamped


def _give_to(workdir: Path, user: tuple[int, int]) -> None:
    """chown the work dir tree to the job user through dir fds, iteratively (a tree an earlier job of the task
    made may be any depth), never following a symlink a job planted."""
    safetree.chown(workdir, *user)


class _Watch:
    """Enforces the timeout and cancel on a running job: SIGTERM to its groups, SIGKILL after the grace."""

    def __init__(self, runner: "Runner", pid: int, limits: Limits, cancel: threading.Event):
        self._groups_of = functools.partial(runner.job_groups, pid)
        self._groups = [pid]  # SIGKILL goes to these: our child's group, plus any found for SIGTERM
        self._cancel, self._grace = cancel, limits.kill_grace_seconds
        self._deadline = time.monotonic() + limits.timeout_seconds
        self._kill_at: float | None = None
        self.reason: str | None = None

    def enforce(self, now: float) -> None:
        if self.reason is None and (self._cancel.is_set() or now >= self._deadline):
            self.reason = "canceled" if self._cancel.is_set() else "timeout"
            found = self._groups_of()
            for group in found:
                killpg(group, signal.SIGTERM)
            self._groups = list({*self._groups, *found})
            self._kill_at = now + self._grace
        elif self._kill_at is not None and now >= self._kill_at:
            for group in self._groups:
                killpg(group, signal.SIGKILL)


class Runner(abc.ABC):
    """Runs one job per call; safe to call from several threads at once."""

    name = ""

    def __init__(self, job_user: tuple[int, int] | None = None):
        # root must hand the job to an unprivileged user, or RLIMIT_NPROC (fork bombs) is not enforced.
        self.job_user = job_user
        self._pool = UidPool() if job_user is None and os.geteuid() == 0 else None
        self.isolated = False  # jobs get new network and mount namespaces from the fork server

    def run(self, argv: list[str], workdir: Path, env: dict[str, str], limits: Limits,  # pylint: disable=too-many-arguments
            stdout_path: Path, stderr_path: Path, cancel: threading.Event) -> RunResult:
        """Run argv in workdir until it exits, times out or `cancel` is set. Raises only if the output files
        cannot be created."""
        started = datetime.now(timezone.utc)
        sinks = (CappedFile(stdout_path, limits.max_output_bytes), CappedFile(stderr_path, limits.max_output_bytes))
        try:
            with self._job_user() as user:
                try:
                    status, code, error = self._run(argv, Path(workdir), env, limits, sinks, cancel, user)
                finally:
                    if user:
                        take_back(Path(workdir))
        finally:
            for sink in sinks:
                sink.close()
        return RunResult(status, code, sinks[0].truncated, sinks[1].truncated, started, datetime.now(timezone.utc),
                         error)

    def reap_orphans(self) -> int:
        """At start-up: kill what jobs of a crashed server left running (see UidPool.reap_orphans)."""
        return self._pool.reap_orphans() if self._pool else 0

    def _job_user(self):
        """The (uid, gid) a job runs as, for the length of the job; None: as ourselves."""
        return self._pool.job_user(self.shared_dirs) if self._pool else nullcontext(self.job_user)

    @property
    def shared_dirs(self) -> tuple[str, ...]:
        """The host's world-writable temp dirs a job can write to: its uid's files there go when it ends."""
        return SHARED_DIRS

    def _run(self, argv, workdir, env, limits, sinks, cancel, user):  # pylint: disable=too-many-arguments
        try:
            job, reads = self._start(argv, workdir, env, limits, user)
        except (OSError, ValueError) as exc:
            error = f"cannot start job: {exc}"
            sinks[1].write(error.encode() + b"\n")
            return "failed", -1, error
        try:
            watch = _Watch(self, job.pid, limits, cancel)
            code = drain(job, Pump(dict(zip(reads, sinks))), watch.enforce)
        except JobLost as exc:
            sinks[1].write(f"{exc}\n".encode())
            return "failed", -1, str(exc)
        finally:
            job.release()
        if watch.reason:
            return watch.reason, -1, None
        code = code if code >= 0 else 128 - code  # killed by a signal: report it the way shells (and bwrap) do
        return ("completed" if code == 0 else "failed"), code, None

    def _start(self, argv, workdir, env, limits, user) -> tuple[Started, tuple[int, int]]:  # pylint: disable=R0913
        """The started job and the read ends of its stdout and stderr pipes."""
        if not argv:
            raise ValueError("empty command")
        if not workdir.is_dir():
            raise FileNotFoundError(f"work dir {workdir} does not exist")
        command, child_user = self._command(list(argv), workdir, env, user, limits)
        # a job's private temp dirs (tmpfs: RAM, which no rlimit counts) hold at most its memory limit each
        request = Request.of(command, self._env(env, workdir), workdir, _job_rlimits(limits), JOB_NICENESS,
                             child_user, limits.memory_bytes)
        if user:
            _give_to(workdir, user)
        reads, writes = zip(os.pipe(), os.pipe())
        try:
            return spawner(self.isolated).start(request, *writes), reads
        except BaseException:
            for fd in reads:
                os.close(fd)
            raise
        finally:
            for fd in writes:
                os.close(fd)

    def _env(self, env: dict[str, str], workdir: Path) -> dict[str, str]:
        return {"PATH": SYSTEM_PATH, "HOME": self._home(workdir), "LANG": "C.UTF-8", **env}

    def _home(self, workdir: Path) -> str:
        return str(workdir)

    @abc.abstractmethod
    def _command(self, argv: list[str], workdir: Path, env: dict[str, str],  # pylint: disable=too-many-arguments
                 user: tuple[int, int] | None, limits: Limits) -> tuple[list[str], tuple[int, int] | None]:
        """What to execute as `user` (None: as ourselves), and the user the child is to drop to before exec
        (None when the command drops privileges itself)."""

    def job_groups(self, pid: int) -> list[int]:
        """The process groups that get SIGTERM on cancel or timeout."""
        return [pid]


class ProcessRunner(Runner):
    """A plain child process: own session, rlimits, scrubbed env, a job uid of its own (root only), and, when
    root can create namespaces, no network, private /run, /dev/shm, /tmp and /var/tmp and no_new_privs. It sees
    the host's other files as its uid may; see the README's security section."""

    name = "process"

    def __init__(self, job_user: tuple[int, int] | None = None, isolated: bool = True):
        super().__init__(job_user)
        self.isolated = isolated and os.geteuid() == 0

    def _command(self, argv, workdir, env, user, limits):  # pylint: disable=too-many-arguments
        return argv, user

    @property
    def shared_dirs(self) -> tuple[str, ...]:
        # isolated, a job has a private tmpfs over each of them (kernel.PRIVATE_DIRS): nothing to clean up
        private = {path.decode() for path, _ in kernel.PRIVATE_DIRS} if self.isolated else set()
        return tuple(folder for folder in SHARED_DIRS if folder not in private)


class UnisolatedRunner(ProcessRunner):
    """--sandbox none: plain processes without namespaces. As a non-root server, jobs run as its own user and
    can read whatever it can (its database included); a root server still gives each job a uid of its own."""

    name = "none"

    def __init__(self, job_user: tuple[int, int] | None = None):
        super().__init__(job_user, isolated=False)


class BwrapRunner(Runner):
    """The job inside bubblewrap: no network, own pid/ipc/uts namespaces, read-only system dirs, the work dir
    read-write at /work, a private /tmp, and nothing else of the host filesystem."""

    name = "bwrap"

    def __init__(self, bwrap: str, job_user: tuple[int, int] | None = None):
        super().__init__(job_user)
        # No --unshare-user: bwrap implies it for an unprivileged caller; run by root it would map root to root,
        # where setresuid(65534) is impossible. So root's bwrap mounts without one, and setpriv hands the job
        # to 65534 inside (bwrap's reaper, pid 1, stays root: --die-with-parent still holds for it).
        self._prefix = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                        "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]
        self._tops = {"/usr"}
        for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
            if os.path.islink(top):  # merged /usr: /bin -> usr/bin
                self._prefix += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                self._prefix += ["--ro-bind", top, top]
            else:
                continue
            self._tops.add(top)
        for name in SANDBOX_ETC:
            self._prefix += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        self._prefix += ["--proc", "/proc", "--dev", "/dev"]
        # --size (bubblewrap 0.5) caps the private /tmp: its pages are RAM, which no rlimit counts
        self._sized = "--size" in subprocess.run([bwrap, "--help"], capture_output=True, text=True,
                                                 check=False).stdout
        self._setpriv = None
        if self.job_user or self._pool:
            self._setpriv = shutil.which("setpriv", path=SYSTEM_PATH)
            if not self._setpriv:
                raise SandboxUnavailable("setpriv (util-linux) is needed to run sandboxed jobs unprivileged")

    def _home(self, workdir: Path) -> str:
        return SANDBOX_WORKDIR

    @property
    def shared_dirs(self) -> tuple[str, ...]:
        return ()  # its /tmp and /dev are private tmpfs, /var is not there: it writes only to its work dir

    def _command(self, argv, workdir, env, user, limits):  # pylint: disable=too-many-arguments
        if not self._visible_executable(argv[0], workdir, self._env(env, workdir)["PATH"]):
            raise FileNotFoundError(f"no executable {argv[0]!r} inside the sandbox")
        drop = [self._setpriv, f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--"] if user else []
        # The env reaches bwrap as its exec environment (exactly the job's env) rather than as --setenv arguments,
        # which any host user could read in bwrap's command line.
        tmp = [*(["--size", str(limits.memory_bytes)] if self._sized else []), "--perms", "1777", "--tmpfs", "/tmp"]
        return [*self._prefix, *tmp, "--bind", str(workdir), SANDBOX_WORKDIR, "--remount-ro", "/",
                "--chdir", SANDBOX_WORKDIR, "--", *drop, *argv], None

    def _visible_executable(self, name: str, workdir: Path, path: str) -> bool:
        """Whether `name` resolves to an executable in the sandbox's view, so that a missing program is a start
        failure like in ProcessRunner rather than an exit 1 from bwrap."""
        for candidate in [name] if "/" in name else [f"{d}/{name}" for d in path.split(":") if d]:
            inside = os.path.normpath(os.path.join(SANDBOX_WORKDIR, candidate))
            if inside == SANDBOX_WORKDIR or inside.startswith(SANDBOX_WORKDIR + "/"):
                host = str(workdir) + inside[len(SANDBOX_WORKDIR):]
            else:
                host = inside if "/" + inside.split("/")[1] in self._tops else ""
            if host and os.path.isfile(host) and os.access(host, os.X_OK):
                return True
        return False

    def job_groups(self, pid: int) -> list[int]:
        # bwrap's reaper (our child, pid 1 inside) leads the job's session (--new-session). SIGTERM goes there:
        # bwrap itself would die at once and tear the namespace down before the job could clean up. Without
        # /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN) we fall back to exactly that.
        try:
            reapers = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text("ascii").split()]
        except OSError:
            reapers = []
        return reapers or [pid]


def _probe(runner: Runner, what: str) -> Runner:
    """`runner` once it has run `true`; SandboxUnavailable with the job's complaint otherwise."""
    with tempfile.TemporaryDirectory(prefix="cynode-probe-") as tmp:
        work, err = Path(tmp, "work"), Path(tmp, "stderr")
        work.mkdir()
        result = runner.run(["true"], work, {}, Limits(timeout_seconds=30), Path(tmp, "stdout"), err,
                            threading.Event())
        if result.status != "completed":
            detail = err.read_text("utf-8", "replace").strip() or result.status
            raise SandboxUnavailable(f"{what} cannot create a sandbox here: {detail}")
    return runner


def probe_bwrap() -> BwrapRunner:
    """A BwrapRunner that has just run `true`; SandboxUnavailable says why not."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed")
    return _probe(BwrapRunner(bwrap), f"bubblewrap ({bwrap})")


def _root_process_runner() -> tuple[Runner, str | None]:
    """Per-job uids, plus namespaces when this host lets root create them (a container may not)."""
    try:
        return _probe(ProcessRunner(), "the process runner"), None
    except SandboxUnavailable as exc:
        return ProcessRunner(isolated=False), f"{NO_NAMESPACES} ({exc})"


def make_runner(kind: str) -> tuple[Runner, str | None]:
    """The runner for --sandbox auto|bwrap|process|none, and a warning to log and show in /readyz.

    A non-root server without bubblewrap cannot keep jobs away from itself: it refuses to start unless told
    `none`, so nobody runs unisolated jobs without having said so."""
    root = os.geteuid() == 0
    if kind == "none":
        return UnisolatedRunner(), UNISOLATED
    if kind == "process":
        if not root:
            raise SandboxUnavailable(f"--sandbox process as a non-root user {SAME_USER}; {FIXES}")
        return _root_process_runner()
    if kind not in ("auto", "bwrap"):
        raise SandboxUnavailable(f"unknown sandbox {kind!r}: use auto, bwrap, process or none")
    try:
        return probe_bwrap(), None
    except SandboxUnavailable as exc:
        if kind == "bwrap":
            raise
        if not root:
            raise SandboxUnavailable(f"{exc}, and without it a non-root server {SAME_USER}; {FIXES}") from None
        runner, warning = _root_process_runner()
        return runner, "; ".join(filter(None, (f"{NO_BWRAP} ({exc})", warning)))
