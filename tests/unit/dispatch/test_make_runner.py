"""Choosing the runner for --sandbox auto|bwrap|process, on this machine and with bwrap missing or broken."""

import pytest

from cynode.dispatch.sandbox import BwrapRunner, ProcessRunner, SandboxUnavailable, make_runner

from .support import BWRAP, NO_BWRAP


def test_process_is_always_available():
    runner, warning = make_runner("process")
    assert isinstance(runner, ProcessRunner) and runner.name == "process" and warning is None


@pytest.mark.skipif(not BWRAP, reason=NO_BWRAP)
@pytest.mark.parametrize("kind", ["auto", "bwrap"])
def test_bwrap_when_it_works(kind):
    runner, warning = make_runner(kind)
    assert isinstance(runner, BwrapRunner) and runner.name == "bwrap" and warning is None


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown sandbox 'docker'"):
        make_runner("docker")


def test_without_bwrap_auto_falls_back_with_a_warning(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    runner, warning = make_runner("auto")
    assert isinstance(runner, ProcessRunner)
    assert warning.startswith("bubblewrap not available: jobs run as plain processes without filesystem/network")
    with pytest.raises(SandboxUnavailable, match=r"bubblewrap \(bwrap\) is not installed"):
        make_runner("bwrap")


def test_a_bwrap_that_cannot_sandbox_is_refused_with_its_reason(monkeypatch, tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SandboxUnavailable, match="cannot create a sandbox here: bwrap: No permissions to create"):
        make_runner("bwrap")
    runner, warning = make_runner("auto")
    assert isinstance(runner, ProcessRunner) and "No permissions to create new namespace" in warning
