"""Both runners, with real processes: output, kill, environment, rlimits, start failures."""

import os
import random
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timezone
from pathlib import Path

import pytest

import cynode
from cynode.dispatch.jobusers import JOB_UIDS

from .support import (PYTHON, QUICK, Job, assert_all_gone, needs_python, processes_in_session, processes_with,
                      runner_of_its_own, session_of, wait_started)

SHORT = replace(QUICK, timeout_seconds=1)


def token() -> str:
    """A sleep length no other process on the machine uses, so `sleep <token>` can be found in /proc."""
    return str(random.randrange(100_000, 999_999))


# --- output -------------------------------------------------------------------------------------------------

def test_output_is_in_the_files_while_the_job_runs(job):
    future = job.start_sh("echo first; echo oops >&2; while [ ! -e go ]; do sleep 0.02; done; echo second")
    job.wait_for_stdout("first\n")
    job.wait_for_stderr("oops\n")
    assert "second" not in job.stdout
    (job.workdir / "go").touch()
    result = future.result(timeout=10)
    assert (result.status, result.exit_code, result.error) == ("completed", 0, None)
    assert job.stdout == "first\nsecond\n" and job.stderr == "oops\n"
    assert result.started_at.tzinfo is timezone.utc and result.started_at <= result.ended_at


def test_output_past_the_cap_is_read_and_dropped(job):
    limits = replace(QUICK, max_output_bytes=65536)
    start = time.monotonic()
    # 20 MiB through a 64 KiB pipe: the job only finishes if the runner keeps reading past the cap.
    result = job.sh("head -c 20971520 /dev/zero | tr '\\0' x; echo small >&2", limits)
    assert result.status == "completed" and time.monotonic() - start < 10
    assert job.stdout_path.read_bytes() == b"x" * 65536
    assert (result.stdout_truncated, result.stderr_truncated) == (True, False)
    assert job.stderr == "small\n"


# --- exit status --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("script, status, code", [
    ("exit 0", "completed", 0),
    ("exit 3", "failed", 3),
    ("kill -9 $$", "failed", 137),  # killed by a signal: 128 + signal number, as shells report it
])
def test_exit_status(job, script, status, code):
    result = job.sh(script)
    assert (result.status, result.exit_code) == (status, code)


def test_a_program_in_the_work_dir_runs(job):
    script = job.workdir / "hello.sh"
    script.write_text("#!/bin/sh\necho hello from $0\n")
    script.chmod(0o755)
    assert job.run(["./hello.sh"]).status == "completed"
    assert job.stdout == "hello from ./hello.sh\n"


@pytest.mark.parametrize("argv, workdir, env, message", [
    (["no-such-program-xyz"], None, {}, "no-such-program-xyz"),
    ([], None, {}, "empty command"),
    (["true"], "missing", {}, "does not exist"),
    (["true"], None, {"BAD": "nul\0byte"}, "null byte"),
    (["true"], None, {"A=B": "1"}, "illegal environment variable name"),
    (["echo", "lone \udc00 surrogate"], None, {}, "surrogate"),
])
def test_start_failure_is_data(job, argv, workdir, env, message):
    if workdir:
        job.workdir = job.workdir / workdir
    result = job.run(argv, env=env)
    assert (result.status, result.exit_code) == ("failed", -1)
    assert message in result.error and result.error in job.stderr
    assert job.stdout == ""


# --- timeout and cancel kill the whole group ----------------------------------------------------------------

def test_timeout_kills_the_group_and_keeps_output(job):
    tok = token()
    start = time.monotonic()
    result = job.sh(f"echo before; sleep {tok} & wait", SHORT)
    assert (result.status, result.exit_code) == ("timeout", -1)
    assert job.stdout == "before\n"
    assert 1 <= time.monotonic() - start < 5
    assert_all_gone(tok)


def test_cancel_kills_the_group_and_keeps_output(job):
    tok = token()
    future = job.start_sh(f"echo before; sleep {tok} & wait")
    wait_started(tok)  # the grandchild
    job.cancel.set()
    result = future.result(timeout=5)
    assert (result.status, result.exit_code) == ("canceled", -1)
    assert job.stdout == "before\n"
    assert_all_gone(tok)


def test_sigterm_first_then_sigkill_after_the_grace(job):
    future = job.start_sh("trap 'echo got TERM' TERM; echo ready; while :; do sleep 0.05; done")
    job.wait_for_stdout("ready")
    job.cancel.set()
    start = time.monotonic()
    result = future.result(timeout=5)
    # The job saw SIGTERM (and ignored it), so SIGKILL came only after the 0.5 s grace.
    assert 0.5 <= time.monotonic() - start < 5
    assert result.status == "canceled" and "got TERM" in job.stdout


def test_a_job_that_exits_on_sigterm_is_not_waited_for(job):
    future = job.start_sh("trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done",
                          replace(QUICK, kill_grace_seconds=10))
    job.wait_for_stdout("ready")
    job.cancel.set()
    assert future.result(timeout=3).status == "canceled"
    assert job.stdout == "ready\nbye\n"


def test_background_processes_die_with_the_job(job):
    tok = token()
    start = time.monotonic()
    result = job.sh(f"sleep {tok} & echo done")
    assert result.status == "completed" and job.stdout == "done\n"
    assert time.monotonic() - start < 5
    assert_all_gone(tok)


def test_an_escaped_process_holding_the_pipe_does_not_hang_the_runner(job):
    tok = token()
    start = time.monotonic()
    result = job.sh(f"setsid sh -c 'touch escaped; exec sleep {tok}' & "
                    "while [ ! -e escaped ]; do sleep 0.01; done; echo done")
    assert result.status == "completed" and time.monotonic() - start < 5
    if job.runner.name == "bwrap" or os.geteuid() == 0:
        # bwrap: the pid namespace dies with the job. root: the job's own uid gives the escapee away.
        assert_all_gone(tok)
    else:
        escaped = processes_with(tok)  # a new session escapes a process group: a known limit of "process"
        for pid in escaped:
            os.kill(pid, 9)
        assert escaped


# --- environment and user -----------------------------------------------------------------------------------

def test_environment_is_scrubbed(job, monkeypatch):
    monkeypatch.setenv("CYNODE_SECRET_TEST", "leaked")
    result = job.run(["env"], env={"JOB_VAR": "1", "LANG": "C"})
    assert result.status == "completed"
    env = dict(line.split("=", 1) for line in job.stdout.splitlines())
    assert "CYNODE_SECRET_TEST" not in env
    assert set(env) <= {"PATH", "HOME", "LANG", "JOB_VAR", "PWD"}
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin" and env["JOB_VAR"] == "1" and env["LANG"] == "C"


@pytest.mark.skipif(os.geteuid() != 0, reason="job uids are only handed out when the runner is root")
def test_root_runs_the_job_as_an_unprivileged_uid_of_its_own_in_a_work_dir_it_owns(job):
    (job.workdir / "attachments").mkdir()
    (job.workdir / "attachments" / "a.txt").write_text("given\n")
    result = job.sh("id -u; id -G; grep CapEff /proc/self/status; echo more >> attachments/a.txt; "
                    "mkdir out && echo x > out/r.txt")
    assert result.status == "completed", job.stderr
    uid, gid, caps = job.stdout.splitlines()
    assert int(uid) in JOB_UIDS and gid == "65534" and caps == "CapEff:\t0000000000000000"
    assert (job.workdir / "attachments" / "a.txt").read_text() == "given\nmore\n"
    assert (job.workdir / "out" / "r.txt").stat().st_uid == int(uid)



# --- rlimits ------------------------------------------------------------------------------------------------

def test_all_rlimits_are_set(job):
    limits = replace(QUICK, memory_bytes=900 << 20, max_processes=77, file_size_bytes=5 << 20, cpu_seconds=33)
    assert job.run(["cat", "/proc/self/limits"], limits).status == "completed"
    rows = {line[:26].strip(): line[26:].split()[:2] for line in job.stdout.splitlines()[1:]}
    assert rows["Max address space"] == [str(900 << 20)] * 2
    assert rows["Max processes"] == ["77", "77"]
    assert rows["Max file size"] == [str(5 << 20)] * 2
    assert rows["Max cpu time"] == ["33", "33"]
    assert rows["Max core file size"] == ["0", "0"]


def test_jobs_run_below_the_servers_priority(job):
    """A job that keeps every core busy must not starve the server's threads."""
    assert job.run(["nice"], QUICK).status == "completed"
    assert int(job.stdout) == min(19, os.nice(0) + 10)


@needs_python
def test_fork_loop_hits_the_process_limit(job):
    script = ("import os, time\nn = 0\ntry:\n    while n < 1000:\n        if os.fork() == 0:\n"
              "            time.sleep(30)\n            os._exit(0)\n        n += 1\n"
              "except OSError as e:\n    print('fork failed after', n, e.strerror)\n")
    job.runner = runner_of_its_own(job.runner.name)
    start = time.monotonic()
    result = job.run([PYTHON, "-c", script], replace(QUICK, max_processes=20))
    assert result.status == "completed", job.stderr
    words = job.stdout.split()
    assert words[:3] == ["fork", "failed", "after"] and int(words[3]) < 20, job.stdout
    assert time.monotonic() - start < 10  # and the 30 s sleepers died with the job


def test_fork_bomb_ends_with_the_timeout_and_the_host_stays_responsive(job):
    job.runner = runner_of_its_own(job.runner.name)
    tok = token()
    future = job.start_sh(f"b(){{ b|b& }}; b & exec sleep {tok}", replace(QUICK, timeout_seconds=1.5, max_processes=32))
    wait_started(tok)
    session = session_of(processes_with(tok)[0])
    worst, most = 0.0, 0
    while not future.done():
        tick = time.monotonic()
        with socket.socket() as probe:  # something the server does all the time
            probe.bind(("127.0.0.1", 0))
        most = max(most, len(processes_in_session(session)))
        time.sleep(0.01)
        worst = max(worst, time.monotonic() - tick)
    result = future.result()
    assert result.status == "timeout" and "Cannot fork" in job.stderr  # it hit the limit, again and again
    assert worst < 1
    assert most <= 2 * 32  # never far past it (a scan of /proc is not atomic while the bomb churns)


@needs_python
def test_memory_hog_fails(job):
    result = job.run([PYTHON, "-c", "b = bytearray(4 << 30)"])
    assert (result.status, result.exit_code) == ("failed", 1)
    assert "MemoryError" in job.stderr


def test_file_size_limit(job):
    result = job.sh("head -c 2097152 /dev/zero > big", replace(QUICK, file_size_bytes=1 << 20))
    assert result.status == "failed" and result.exit_code == 128 + 25  # SIGXFSZ
    assert (job.workdir / "big").stat().st_size == 1 << 20


def test_cpu_limit(job):
    result = job.sh("while :; do :; done", replace(QUICK, cpu_seconds=1))
    # Killed by the kernel (SIGKILL or SIGXCPU) long before the 30 s timeout.
    assert result.status == "failed" and result.exit_code in (128 + 9, 128 + 24)


# --- threads ------------------------------------------------------------------------------------------------

def test_jobs_run_concurrently_from_several_threads(job, tmp_path):
    jobs = []
    for n in range(6):
        (tmp_path / str(n)).mkdir()
        jobs.append(Job(job.runner, tmp_path / str(n)))
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda n: jobs[n].sh("sleep 0.2; echo $N", env={"N": str(n)}), range(6)))
    assert [r.status for r in results] == ["completed"] * 6
    assert [each.stdout for each in jobs] == [f"{n}\n" for n in range(6)]


# --- the server dies ----------------------------------------------------------------------------------------

SERVER = """
import os, sys, threading
from pathlib import Path
from cynode.dispatch.sandbox import Limits, make_runner
runner, _ = make_runner(sys.argv[1])
work = Path(sys.argv[2])
# bwrap's reaper arms its own parent-death signal only after forking the job: give it that moment.
runner.run(["sh", "-c", 'sleep 0.5; exec sleep "$TOKEN"'], work, {"TOKEN": os.environ["TOKEN"]}, Limits(),
           work.parent / "out", work.parent / "err", threading.Event())
"""


def test_when_the_server_is_killed(job):
    tok = token()
    root = Path(cynode.__file__).parent.parent
    with subprocess.Popen([sys.executable, "-c", SERVER, job.runner.name, str(job.workdir)],
                          env={**os.environ, "PYTHONPATH": str(root), "TOKEN": tok}) as server:
        wait_started(tok)
        server.kill()
    if job.runner.name == "bwrap":
        assert_all_gone(tok)  # --die-with-parent: bwrap, its pid namespace and the job die with the server
    else:
        orphans = processes_with(tok)  # no namespace: the job outlives a killed server, a known limit of "process"
        for pid in orphans:
            os.kill(pid, 9)
        assert orphans
