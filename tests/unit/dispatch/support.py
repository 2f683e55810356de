"""Helpers for the job runner tests: a job in a temp dir, and finding processes a job left behind."""

import os
import random
import shutil
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

import pytest

from cynode.dispatch.sandbox import SYSTEM_PATH, BwrapRunner, Limits, ProcessRunner, RunResult

BWRAP = shutil.which("bwrap")
NO_BWRAP = "bubblewrap (bwrap) is not installed on this machine"
# Jobs run as uid 65534 under root and see only system dirs under bwrap, so they need a system python3.
PYTHON = shutil.which("python3", path=SYSTEM_PATH)
needs_python = pytest.mark.skipif(PYTHON is None, reason="no python3 in /usr/local/bin, /usr/bin or /bin")
QUICK = Limits(timeout_seconds=30, kill_grace_seconds=0.5)


def runner_of_its_own(kind: str):
    """A runner whose jobs run as a fresh uid (when root). RLIMIT_NPROC counts every process of the uid —
    other jobs', and killed ones that init has not reaped yet — so the process-limit tests must not share one."""
    uid = random.randrange(100_000, 1_000_000)
    user = (uid, uid) if os.geteuid() == 0 else None
    return BwrapRunner(BWRAP, user) if kind == "bwrap" else ProcessRunner(user)


class Job:
    """One work dir and its two log files, and ways to run a job there."""

    def __init__(self, runner, root: Path):
        self.runner = runner
        self.workdir = root / "work"
        self.workdir.mkdir()
        self.stdout_path, self.stderr_path = root / "stdout.log", root / "stderr.log"
        self.cancel = threading.Event()

    def run(self, argv: list[str], limits: Limits = QUICK, env: dict[str, str] | None = None) -> RunResult:
        return self.runner.run(argv, self.workdir, env or {}, limits, self.stdout_path, self.stderr_path,
                               self.cancel)

    def sh(self, script: str, limits: Limits = QUICK, env: dict[str, str] | None = None) -> RunResult:
        return self.run(["sh", "-c", script], limits, env)

    def start_sh(self, script: str, limits: Limits = QUICK) -> Future:
        """Run in a background thread, as the dispatcher does."""
        pool = ThreadPoolExecutor(1)
        future = pool.submit(self.sh, script, limits)
        pool.shutdown(wait=False)
        return future

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text("utf-8") if self.stdout_path.exists() else ""

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8") if self.stderr_path.exists() else ""

    def wait_for_stdout(self, text: str, timeout: float = 10) -> None:
        self._wait_for(self.stdout_path, text, timeout)

    def wait_for_stderr(self, text: str, timeout: float = 10) -> None:
        self._wait_for(self.stderr_path, text, timeout)

    @staticmethod
    def _wait_for(path: Path, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists() or text not in path.read_text("utf-8"):
            assert time.monotonic() < deadline, f"{text!r} never appeared in {path.name}"
            time.sleep(0.02)


def _pids(matches) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and matches(entry):
                pids.append(int(entry.name))
        except OSError:  # it ended while we looked
            continue
    return pids


def processes_with(token: str) -> list[int]:
    """Host pids with token as one of their arguments, like `sleep <token>` (a zombie has none)."""
    return _pids(lambda entry: token.encode() in (entry / "cmdline").read_bytes().split(b"\0"))


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat after "pid (comm)": state, ppid, pgrp, session, ...; comm may hold spaces and parentheses."""
    return Path(f"/proc/{pid}/stat").read_text("ascii", "replace").rsplit(")", 1)[1].split()


def session_of(pid: int) -> int:
    return int(_stat(pid)[3])


def children_of(pid: int) -> dict[int, str]:
    """pid -> state of each process whose parent is `pid` (zombies included)."""
    found = {}
    for child in _pids(lambda entry: int(_stat(int(entry.name))[1]) == pid):
        with suppress(OSError):  # it ended since
            found[child] = _stat(child)[0]
    return found


def processes_in_session(session: int) -> list[int]:
    """Host pids in that session, zombies included (RLIMIT_NPROC counts a process until it is reaped)."""
    return _pids(lambda entry: session_of(int(entry.name)) == session)


def wait_started(token: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not processes_with(token):
        assert time.monotonic() < deadline, f"no process with {token} started"
        time.sleep(0.02)


def assert_all_gone(token: str, timeout: float = 3) -> None:
    deadline = time.monotonic() + timeout
    while processes_with(token):
        assert time.monotonic() < deadline, f"processes left behind: {processes_with(token)}"
        time.sleep(0.02)


def make_deep_tree(top, depth: int, name: str = "d") -> None:
    """top/d/d/.../d (depth folders) with bottom.txt at the bottom, made through dir fds: a path this long is past
    PATH_MAX. Use the deep_tmp fixture for it: pytest's own clean-up recurses and cannot remove it."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(os.open("bottom.txt", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    os.close(fd)
