"""What the process runner isolates when the server is root, and what it leaves behind (nothing): real jobs,
a real loopback listener, a real unix socket under /run, real leftovers in /tmp and /dev/shm."""

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from cynode.dispatch.jobusers import JOB_UIDS
from cynode.dispatch.sandbox import ProcessRunner, UnisolatedRunner

from .support import QUICK, Job, needs_python

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="per-job uids and namespaces need a root server")
SETPRIV = shutil.which("setpriv")
CONNECT = "python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 2); print('connected')\""


@pytest.fixture(name="listener")
def fixture_listener():
    """A TCP service on loopback, like the gateway or PostgreSQL."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.fixture(name="run_socket")
def fixture_run_socket():
    """A unix socket under /run, like PostgreSQL's /run/postgresql/.s.PGSQL.5432."""
    folder = Path(f"/run/cynode-test-{os.getpid()}")
    folder.mkdir(mode=0o755)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(folder / "s"))
        sock.listen()
        (folder / "s").chmod(0o777)
        yield folder / "s"
    shutil.rmtree(folder)


@needs_python
def test_a_job_reaches_no_loopback_service(job, listener):
    result = job.sh(CONNECT.format(port=listener))
    assert result.status == "failed" and "connected" not in job.stdout
    assert "Network is unreachable" in job.stderr or "Connection refused" in job.stderr, job.stderr


def test_a_job_sees_no_unix_socket_under_run(job, run_socket):
    assert job.sh(f"test -e {run_socket} && echo visible || echo absent").status == "completed"
    assert job.stdout == "absent\n"


def test_a_job_cannot_gain_privileges_through_setuid_programs(job):
    assert job.sh("grep NoNewPrivs /proc/self/status").status == "completed"
    assert job.stdout.split() == ["NoNewPrivs:", "1"]


def test_what_a_job_leaves_in_tmp_and_dev_shm_is_gone_after_it(job):
    tag = f"cynode-left-{os.getpid()}-{time.monotonic_ns()}"
    # (in bubblewrap /tmp is private and /var/tmp and /dev/shm are not writable: the writes there just fail)
    script = (f"echo x > /tmp/{tag}; mkdir -p /tmp/{tag}.d/a/b && echo y > /tmp/{tag}.d/a/b/c; "
              f"ln -s /etc/passwd /tmp/{tag}.link; echo z 2>/dev/null > /var/tmp/{tag}; "
              f"echo s 2>/dev/null > /dev/shm/{tag}; ls /tmp/{tag}.d/a/b")
    assert job.sh(script).stdout_truncated is False and job.stdout == "c\n", job.stderr
    left = [p for p in (f"/tmp/{tag}", f"/tmp/{tag}.d", f"/tmp/{tag}.link", f"/var/tmp/{tag}", f"/dev/shm/{tag}")
            if os.path.lexists(p)]
    assert not left and os.path.exists("/etc/passwd")


def test_a_job_sees_none_of_the_hosts_temp_files_and_leaves_none(job):
    tag = f"cynode-host-{os.getpid()}-{time.monotonic_ns()}"
    planted = [Path(folder, tag) for folder in ("/tmp", "/var/tmp", "/dev/shm")]
    for path in planted:  # another user's temp files, world-readable, and a socket of some service in /tmp
        path.write_text("host secret\n")
    sock_path = Path("/tmp", f"{tag}.sock")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        try:
            script = "; ".join(f"cat {path} 2>/dev/null || echo hidden" for path in planted)
            assert job.sh(f"{script}; test -e {sock_path} && echo visible || echo absent; "
                          f"echo mine > /tmp/{tag}.job").status == "completed"
            assert job.stdout == "hidden\nhidden\nhidden\nabsent\n"
            assert not Path("/tmp", f"{tag}.job").exists()
        finally:
            sock_path.unlink()
            for path in planted:
                path.unlink()


def test_a_work_dir_under_tmp_is_there_and_nothing_beside_it(tmp_path):
    # pytest's tmp_path is under /tmp: the job's own log files sit beside its work dir there
    job = Job(ProcessRunner(), tmp_path)
    assert str(job.workdir).startswith("/tmp/") and job.stdout_path.parent == job.workdir.parent
    assert job.sh("pwd; ls -a ..; echo made > here.txt").status == "completed", job.stderr
    assert job.stdout == f"{job.workdir}\n.\n..\nwork\n" and (job.workdir / "here.txt").read_text() == "made\n"


def test_a_jobs_private_temp_dirs_hold_no_more_than_its_memory_limit(job):
    # tmpfs pages are RAM that no rlimit counts: without a size, one job could fill the host's memory through /tmp
    limits = replace(QUICK, memory_bytes=64 << 20)
    result = job.sh("head -c 100000000 /dev/zero > /tmp/big; echo $?; rm /tmp/big; "
                    "head -c 10000000 /dev/zero > /tmp/small && echo fits", limits)
    assert result.status == "completed" and job.stdout == "1\nfits\n" and "No space left" in job.stderr


def test_the_finished_work_dir_is_closed_to_job_uids(job):
    assert job.sh("echo kept > out.txt; id -u").status == "completed"
    info = job.workdir.stat()
    assert (info.st_uid, oct(info.st_mode & 0o777)) == (0, "0o700")
    assert (job.workdir / "out.txt").stat().st_uid in JOB_UIDS  # the contents stay as the job left them


@needs_python
def test_none_tells_the_truth_it_isolates_nothing_but_the_uid(tmp_path, listener):
    job = Job(UnisolatedRunner(), tmp_path)
    assert job.sh(CONNECT.format(port=listener) + "; id -u").status == "completed", job.stderr
    connected, uid = job.stdout.split()
    assert connected == "connected" and int(uid) in JOB_UIDS


@pytest.mark.skipif(not SETPRIV, reason="setpriv (util-linux) is not installed")
def test_a_process_that_is_not_dumpable_hides_its_environ_from_its_own_uid():
    code = ("import sys, time\nfrom cynode.dispatch import kernel\nkernel.set_dumpable(False)\n"
            "print(kernel.is_dumpable(), flush=True)\ntime.sleep(30)\n")
    as_nobody = [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[3]), "SECRET": "canary"}
    with subprocess.Popen([*as_nobody, sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                          text=True) as server:
        try:
            assert server.stdout.readline() == "False\n"
            peek = subprocess.run([*as_nobody, "cat", f"/proc/{server.pid}/environ"], capture_output=True,
                                  text=True, check=False)
            assert peek.returncode != 0 and "Permission denied" in peek.stderr and "canary" not in peek.stdout
        finally:
            server.kill()
