"""The fork server every job starts from: what a job inherits from it, and what happens when it or its owner
dies. Real processes throughout."""

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

from cynode.dispatch import forkserver
from cynode.dispatch.sandbox import SYSTEM_PATH
from cynode.dispatch.spawner import spawner

from .support import QUICK, assert_all_gone, children_of, wait_started
from .test_sandbox import token

REPO = Path(__file__).resolve().parents[3]


def gone(pid: int, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_job_holds_only_stdin_stdout_and_stderr(job):
    assert job.sh("ls /proc/$$/fd").status == "completed"
    assert job.stdout.split() == ["0", "1", "2"]


SIGNALS = """
import signal, sys, threading, tempfile
from pathlib import Path
for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1):
    signal.signal(signum, signal.SIG_IGN)  # as `nohup cynode serve &` in a script would leave it
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
from cynode.dispatch.sandbox import Limits, make_runner
runner, _ = make_runner(sys.argv[1])
with tempfile.TemporaryDirectory() as tmp:
    work = Path(tmp, "w")
    work.mkdir(mode=0o755)
    runner.run(["cat", "/proc/self/status"], work, {}, Limits(), Path(tmp, "o"), Path(tmp, "e"), threading.Event())
    print(Path(tmp, "o").read_text())
"""
GLIBC_INTERNAL = 0b11 << 31  # signals 32 and 33: glibc's own, which no program's code can set (`just` ignores them)


def test_a_job_starts_with_no_signal_ignored_or_blocked_whatever_the_server_was_started_with():
    # Python ignores SIGPIPE: a job that inherited that would see EPIPE where a shell pipeline expects to die.
    kind = "process" if os.geteuid() == 0 else "none"
    owner = subprocess.run([sys.executable, "-c", SIGNALS, kind], cwd=REPO, capture_output=True, text=True,
                           check=True, timeout=60)
    status = dict(line.split(":\t", 1) for line in owner.stdout.splitlines() if ":\t" in line)
    assert int(status["SigIgn"], 16) & ~GLIBC_INTERNAL == 0 and int(status["SigBlk"], 16) == 0, status


def test_a_job_whose_fork_server_dies_fails_and_the_next_job_runs(job):
    tok = token()
    future = job.start_sh(f"echo started; sleep {tok}")
    wait_started(tok)
    server = spawner(job.runner.isolated)
    os.kill(server._process.pid, signal.SIGKILL)  # pylint: disable=protected-access  # an OOM kill, say
    result = future.result(timeout=10)
    assert (result.status, result.exit_code) == ("failed", -1)
    assert result.error == "the job fork server exited while the job ran" and result.error in job.stderr
    assert_all_gone(tok)  # root: its uid is swept; bwrap: it dies with its parent
    assert job.sh("echo again").status == "completed" and job.stdout == "again\n"


def test_no_job_is_left_a_zombie_whatever_its_end(job):
    outcomes = [job.sh("exit 0").status, job.sh("exit 3").status, job.run(["no-such-program-xyz"]).status,
                job.sh("sleep 5", replace(QUICK, timeout_seconds=0.2, kill_grace_seconds=0.1)).status]
    future = job.start_sh("sleep 5")
    time.sleep(0.2)
    job.cancel.set()
    outcomes.append(future.result(timeout=5).status)
    assert outcomes == ["completed", "failed", "failed", "timeout", "canceled"]
    children = children_of(spawner(job.runner.isolated)._process.pid)  # pylint: disable=protected-access
    assert "Z" not in children.values() and len(children) == forkserver.SPARES


OWNER = """
import sys
from cynode.dispatch.sandbox import make_runner
from cynode.dispatch.spawner import spawner
runner, _ = make_runner(sys.argv[1])  # its probe runs a job
print(spawner(runner.isolated)._process.pid, flush=True)
sys.stdin.read()
"""


def test_the_fork_server_and_its_spares_go_when_its_owner_is_killed():
    kind = "process" if os.geteuid() == 0 else "none"
    with subprocess.Popen([sys.executable, "-c", OWNER, kind], cwd=REPO, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as owner:
        try:
            pid = int(owner.stdout.readline())
            spares = children_of(pid)
            assert len(spares) == forkserver.SPARES
        finally:
            owner.kill()
    assert gone(pid) and all(gone(spare) for spare in spares)


def test_a_ctrl_c_at_the_servers_terminal_does_not_reach_the_fork_server(job):
    # SIGINT goes to the terminal's foreground process group; the server shuts down on it, letting its jobs end,
    # which needs the fork server alive until then.
    assert job.sh("true").status == "completed"
    pid = spawner(job.runner.isolated)._process.pid  # pylint: disable=protected-access
    assert os.getpgid(pid) != os.getpgid(0) and os.getsid(pid) != os.getsid(0)


def test_killed_spares_are_replaced_and_jobs_still_start(job):
    assert job.sh("true").status == "completed"
    server = spawner(job.runner.isolated)._process.pid  # pylint: disable=protected-access
    for spare in children_of(server):  # the OOM killer's pick, say
        with suppress(ProcessLookupError):  # a job of the last test, reaped since it was listed
            os.kill(spare, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while sorted(children_of(server).values()) != ["S"] * forkserver.SPARES:
        assert time.monotonic() < deadline, f"spares not replaced: {children_of(server)}"
        time.sleep(0.02)
    assert job.sh("echo fine").status == "completed" and job.stdout == "fine\n"


def test_a_job_given_up_on_before_it_exits_is_reaped_when_it_does(tmp_path):
    server = spawner(False)
    read, write = os.pipe()
    try:
        sleeper = forkserver.Request.of(["sleep", "0.3"], {"PATH": SYSTEM_PATH}, tmp_path, [], 0, None, 1 << 20)
        started = server.start(sleeper, write, write)
    finally:
        os.close(write)
        os.close(read)
    started.release()  # before it has exited
    assert gone(started.pid)  # not left a zombie
    assert "Z" not in children_of(server._process.pid).values()  # pylint: disable=protected-access


def test_jobs_handed_to_spares_killed_a_moment_before_end_clearly_and_the_fork_server_carries_on(job):
    assert job.sh("true").status == "completed"
    server = spawner(job.runner.isolated)._process.pid  # pylint: disable=protected-access
    for attempt in range(20):  # the fork server may not have seen the deaths yet when the job comes
        for spare in children_of(server):
            with suppress(ProcessLookupError):  # reaped since it was listed
                os.kill(spare, signal.SIGKILL)
        result = job.sh(f"echo {attempt}")
        # another spare took it; or the one that took it was killed: before reading it, or while setting it up
        assert (result.status == "completed" and job.stdout == f"{attempt}\n") or (
            result.status == "failed" and (result.exit_code == 137 or result.error ==
                                           "cannot start job: the job's process was killed before it started"))
    assert spawner(job.runner.isolated)._process.pid == server  # pylint: disable=protected-access
    assert job.sh("echo after").status == "completed" and job.stdout == "after\n"
