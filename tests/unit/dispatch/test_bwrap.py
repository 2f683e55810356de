"""What a job inside bubblewrap can and cannot reach, proven from inside real jobs."""

import os
import socket
import uuid
from pathlib import Path

from cynode.dispatch.sandbox import SANDBOX_ETC

from .support import PYTHON, needs_python


@needs_python
def test_no_network(bwrap_job):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        connect = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5); print('connected')"
        result = bwrap_job.run([PYTHON, "-c", connect])
        assert result.status == "failed" and "connected" not in bwrap_job.stdout
        assert "ConnectionRefusedError" in bwrap_job.stderr  # its own empty loopback, not the host's listener
        bwrap_job.run(["cat", "/proc/net/dev"])
        assert sorted(line.split(":")[0].strip() for line in bwrap_job.stdout.splitlines()[2:]) == ["lo"]


def test_only_system_dirs_and_the_work_dir_are_visible(bwrap_job, tmp_path):
    data_dir = tmp_path / "server-data"  # stands for the server's data dir, config and secrets
    data_dir.mkdir()
    (data_dir / "secret.txt").write_text("s3cret\n")
    (data_dir / "secret.txt").chmod(0o644)  # readable by anyone who reaches it: only the mounts protect it
    hidden = [data_dir, data_dir / "secret.txt", Path.cwd(), "/root", "/home", "/var", "/etc/passwd", "/run"]
    script = f"ls /; echo --; ls /etc; echo --; for p in {' '.join(map(str, hidden))}; do test -e $p && echo $p; done"
    assert bwrap_job.sh(script + f"; cat {data_dir}/secret.txt").status == "failed"
    root, etc, seen = (part.split() for part in bwrap_job.stdout.split("--\n"))
    assert {"usr", "work", "tmp", "proc", "dev", "etc"} <= set(root)
    assert set(root) <= {"usr", "work", "tmp", "proc", "dev", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}
    assert set(etc) <= set(SANDBOX_ETC)
    assert not seen and "s3cret" not in bwrap_job.stdout


def test_a_host_program_outside_the_sandbox_is_a_start_failure(bwrap_job, tmp_path):
    tool = tmp_path / "tool.sh"
    tool.write_text("#!/bin/sh\necho ran\n")
    tool.chmod(0o755)
    result = bwrap_job.run([str(tool)])
    assert (result.status, result.exit_code) == ("failed", -1)
    assert "no executable" in result.error and bwrap_job.stdout == ""


def test_root_is_read_only_except_the_work_dir_and_tmp(bwrap_job):
    script = "for p in /x /usr/x /etc/x /proc/x /work/x /tmp/x; do touch $p 2>/dev/null && echo $p; done"
    assert bwrap_job.sh(script).status == "completed"
    assert bwrap_job.stdout.split() == ["/work/x", "/tmp/x"]
    assert (bwrap_job.workdir / "x").exists()


def test_tmp_is_private(bwrap_job):
    name = f"cynode-private-{uuid.uuid4().hex}"
    assert bwrap_job.sh(f"echo hidden > /tmp/{name} && cat /tmp/{name}").status == "completed"
    assert bwrap_job.stdout == "hidden\n"
    assert not Path("/tmp", name).exists()


def test_host_processes_are_invisible_and_unreachable(bwrap_job):
    me = os.getpid()
    result = bwrap_job.sh(f"ls /proc | grep -c '^[0-9]'; kill -0 {me} 2>/dev/null && echo reached; kill -TERM {me}")
    assert result.status == "failed"  # kill -TERM found no such process
    assert int(bwrap_job.stdout.split()[0]) <= 5  # its reaper, sh, ls, grep
    assert "reached" not in bwrap_job.stdout
