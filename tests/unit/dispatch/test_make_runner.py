"""Choosing the runner for --sandbox auto|bwrap|process|none: on this machine, with bwrap missing or broken, and
as a non-root user (a real subprocess as uid 65534), where nothing may fall back to unisolated jobs silently."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cynode.dispatch.sandbox import (BwrapRunner, ProcessRunner, SandboxUnavailable, UnisolatedRunner,
                                     make_runner)

from .support import BWRAP, NO_BWRAP

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (per-job uids, switching to uid 65534)")
SETPRIV = shutil.which("setpriv")
REPO = Path(__file__).resolve().parents[3]


def test_none_is_always_available_and_says_what_it_means():
    runner, warning = make_runner("none")
    assert isinstance(runner, UnisolatedRunner) and runner.name == "none" and not runner.isolated
    assert warning.startswith("jobs are unisolated (--sandbox none)")


@ROOT_ONLY
def test_process_as_root_isolates_the_network():
    runner, warning = make_runner("process")
    assert isinstance(runner, ProcessRunner) and runner.name == "process"
    assert warning is None and runner.isolated


@pytest.mark.skipif(not BWRAP, reason=NO_BWRAP)
@pytest.mark.parametrize("kind", ["auto", "bwrap"])
def test_bwrap_when_it_works(kind):
    runner, warning = make_runner(kind)
    assert isinstance(runner, BwrapRunner) and runner.name == "bwrap" and warning is None


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown sandbox 'docker'"):
        make_runner("docker")


@ROOT_ONLY
def test_without_bwrap_root_falls_back_to_processes_with_a_warning(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    runner, warning = make_runner("auto")
    assert isinstance(runner, ProcessRunner) and runner.name == "process"
    assert warning.startswith("bubblewrap not available: jobs run as plain processes with a uid of their own")
    with pytest.raises(SandboxUnavailable, match=r"bubblewrap \(bwrap\) is not installed"):
        make_runner("bwrap")


@ROOT_ONLY
def test_a_bwrap_that_cannot_sandbox_is_refused_with_its_reason(monkeypatch, tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SandboxUnavailable, match="cannot create a sandbox here: bwrap: No permissions to create"):
        make_runner("bwrap")
    runner, warning = make_runner("auto")
    assert isinstance(runner, ProcessRunner) and "No permissions to create new namespace" in warning


def _as_nobody(kind: str, path: str) -> subprocess.CompletedProcess:
    """make_runner(kind) in a Python process running as uid 65534 with PATH=path; prints the runner's name."""
    code = ("import sys\nfrom cynode.dispatch.sandbox import make_runner, SandboxUnavailable\n"
            "try:\n    print(make_runner(sys.argv[1])[0].name)\n"
            "except SandboxUnavailable as exc:\n    print('refused:', exc)\n")
    return subprocess.run([SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code,
                           kind], cwd=REPO, env={"PATH": path, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, check=True, timeout=60)


@ROOT_ONLY
@pytest.mark.skipif(not SETPRIV, reason="setpriv (util-linux) is not installed")
@pytest.mark.parametrize("kind", ["auto", "process"])
def test_a_non_root_server_without_bwrap_refuses_to_run_jobs_as_itself(kind, tmp_path):
    tmp_path.chmod(0o755)
    result = _as_nobody(kind, str(tmp_path))
    assert result.stdout.startswith("refused: "), result
    for fix in ("install bubblewrap", "run the server as root", "--sandbox none"):
        assert fix in result.stdout
    assert "would run jobs as the server's own user" in result.stdout
    assert _as_nobody("none", str(tmp_path)).stdout == "none\n"
