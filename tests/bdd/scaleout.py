"""Scale-out processes for the BDD suite: `cynode serve --no-dispatch` gateways and `cynode worker` processes on one
private PostgreSQL database and one shared data dir, started and stopped as real subprocesses.

A `Deployment` owns them all. Nothing is mocked: readiness is the gateway's /healthz and the worker's
`worker <name> ready:` log line; the database is read directly (pg8000) only to observe what the processes did.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.bdd.harness import STOP_TIMEOUT, Server, child_environ, cynode_command, free_port, with_source
from tests.support.pg import connect

# Processes starting at once on a fresh database take turns migrating it: give them longer than one server alone.
SCALEOUT_READY_TIMEOUT = 60.0


@dataclass
class Gateway(Server):
    """`cynode serve` whose data dir is given (shared with the other processes of its deployment), so its own
    workdir holds only its log."""

    data_dir: Path | None = None

    def launch(self) -> "Gateway":
        """Start the process without waiting for it to be ready (several may start at once)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        overrides = {"CYNODE_ADMIN_PASSWORD": self.admin_password, **self.settings}
        self.secrets.add(self.admin_password)
        argv = [*cynode_command(), "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir),
                *self.args]
        with open(self.log_path, "wb") as log:
            # pylint: disable-next=consider-using-with  # the server outlives this call; stop() reaps it
            self.process = subprocess.Popen(argv, env=with_source(child_environ(overrides)), stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self) -> "Gateway":
        self._wait_ready()
        return self

    def start(self) -> "Gateway":
        return self.launch().wait_ready()


def _terminate(process: subprocess.Popen, timeout: float) -> bool:
    """SIGTERM (unless it already ended) and reap; False when it had to be killed after `timeout` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False


@dataclass
class Worker:
    """`cynode worker` in a subprocess; its log (stderr and stdout) goes to a file."""

    workdir: Path
    name: str
    database: str
    data_dir: Path
    settings: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None
    exit_code: int | None = None
    killed: bool = False

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def pid(self) -> int:
        return self.process.pid

    def claimed_by_prefix(self, hostname: str) -> str:
        """How the jobs this worker claims are stamped (dispatcher name `host:pid`, then the thread)."""
        return f"{hostname}:{self.pid}:"

    def launch(self) -> "Worker":
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [*cynode_command(), "worker", "--database", self.database, "--data-dir", str(self.data_dir),
                "--node-name", self.name, *self.args]
        with open(self.log_path, "wb") as log:
            # pylint: disable-next=consider-using-with  # the worker outlives this call; stop() reaps it
            self.process = subprocess.Popen(argv, env=with_source(child_environ(self.settings)),
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = SCALEOUT_READY_TIMEOUT) -> "Worker":
        deadline = time.monotonic() + timeout
        while f"worker {self.name} ready:" not in self.log():
            if self.process.poll() is not None:
                raise AssertionError(f"cynode worker {self.name} exited with {self.process.returncode} before it was "
                                     f"ready:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"cynode worker {self.name} was not ready within {timeout:.0f} s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def start(self) -> "Worker":
        return self.launch().wait_ready()

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.killed = True
        self.exit_code = self.process.returncode

    def stop(self, timeout: float = STOP_TIMEOUT + 5) -> int:
        """SIGTERM, then wait (a worker gives running jobs a grace); the exit code."""
        if self.process is not None and not self.killed:
            if not _terminate(self.process, timeout):
                raise AssertionError(f"cynode worker {self.name} did not exit within {timeout} s of SIGTERM:\n"
                                     f"{self.log()}")
            self.exit_code = self.process.returncode
        return self.exit_code

    def check_clean_exit(self) -> None:
        code = self.stop()
        log = self.log()
        assert code == 0, f"cynode worker {self.name} exited with {code} after SIGTERM:\n{log}"
        assert "Traceback" not in log, f"the log of worker {self.name} holds a traceback:\n{log}"


class Deployment:
    """Gateways and workers sharing one PostgreSQL database (`url`) and one data dir, under `root`."""

    def __init__(self, root: Path, url: str, settings: dict[str, str] | None = None):
        self.root = root
        self.url = url
        # CYNODE_* for every process. Few HTTP threads: each holds a database connection, and the test server's
        # max_connections (100 by default) is shared with whatever else runs there.
        self.settings = {"CYNODE_HTTP_THREADS": "4", **(settings or {})}
        self.data_dir = root / "data"
        self.gateways: list[Gateway] = []
        self.workers: list[Worker] = []
        self._strays: list[int] = []  # pidfds of job processes a test left running (killed at the end)
        self._db = None
        # Jobs run as a pool uid even under `--sandbox none` as root: the files they write for the test go to a
        # world-writable dir that uid can reach (pytest's tmp dirs are private to root).
        self.exchange = Path(tempfile.mkdtemp(prefix="cynode-scaleout-"))
        self.exchange.chmod(0o777)

    def gateway(self) -> Gateway:
        """A new gateway (not started): `serve --no-dispatch`."""
        gateway = Gateway(self.root / f"gateway{len(self.gateways)}",
                          {**self.settings, "CYNODE_DATABASE": self.url, "CYNODE_NO_DISPATCH": "1"},
                          data_dir=self.data_dir)
        self.gateways.append(gateway)
        return gateway

    def worker(self, name: str | None = None, sandbox: str = "none", threads: int = 2) -> Worker:
        """A new worker (not started)."""
        worker = Worker(self.root / "workers", name or f"so-worker-{len(self.workers) + 1}", self.url, self.data_dir,
                        dict(self.settings), ["--sandbox", sandbox, "--workers", str(threads)])
        self.workers.append(worker)
        return worker

    def start(self, gateways: int, workers: int, *, at_once: bool = False) -> None:
        """Start that many more gateways and workers: one after the other, or all launched at once (then waited)."""
        processes = [self.gateway() for _ in range(gateways)] + [self.worker() for _ in range(workers)]
        if at_once:
            for process in processes:
                process.launch()
            for process in processes:
                if isinstance(process, Gateway):
                    process._wait_ready()  # pylint: disable=protected-access  # the harness's readiness poll
                else:
                    process.wait_ready()
        else:
            for process in processes:
                process.start()

    # observing the database ----------------------------------------------------------------------------------

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self._db is None:
            self._db = connect(self.url)
        cursor = self._db.cursor()
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []

    # the end ---------------------------------------------------------------------------------------------------

    def stop_and_check(self) -> None:
        """SIGTERM every process still alive: each must exit 0 with no traceback in its log (all are stopped even
        when one fails); then the job processes killed workers left behind are killed."""
        failures = []
        for process in [*self.workers, *self.gateways]:
            if process.process is None and process.exit_code is None or getattr(process, "killed", False):
                continue  # never started (an earlier one failed), or SIGKILLed on purpose
            try:
                process.check_clean_exit()
            except AssertionError as exc:
                failures.append(str(exc))
        self.kill_strays()
        self.close()
        assert not failures, "\n\n".join(failures)

    def add_stray(self, pid: int) -> None:
        """A job process to kill at the end if it still runs. Held as a pidfd, not a pid: by the end the process may
        be gone (a worker's heartbeat reaps a dead worker's jobs) and its pid reused by another test's job."""
        with contextlib.suppress(ProcessLookupError):
            self._strays.append(os.pidfd_open(pid))

    def kill_strays(self) -> None:
        strays, self._strays = self._strays, []
        for fd in strays:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            os.close(fd)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        shutil.rmtree(self.exchange, ignore_errors=True)


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    """Poll `condition()` until it returns something true (returned), or fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
