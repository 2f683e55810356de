"""`cynode serve`: its command line, start-up failures, and a real start and SIGTERM stop."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from cynode import daemon
from cynode.server import serve
from cynode.settings import SPECS
from cynode.store.store import Store
from tests.support.server import make_settings

START_TIMEOUT = 30.0


@pytest.fixture(autouse=True)
def _temp_dir_restored(monkeypatch):
    """serve.run() moves its process's temp files into the data dir; run in this test process, that is undone
    after each test, or every later test of the process would make its temp dirs in a deleted, private place."""
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)


@pytest.fixture(name="clean_env")
def fixture_clean_env(monkeypatch):
    """No CYNODE_* settings from the environment running the tests; the umask restored afterwards."""
    for name in list(os.environ):
        if name.startswith("CYNODE_") and not name.startswith("CYNODE_TEST_"):
            monkeypatch.delenv(name)
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)


def test_help_lists_every_setting(clean_env, capsys):  # pylint: disable=unused-argument
    assert serve.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage:\n  cynode serve [--listen=HOST:PORT]")
    for spec in SPECS:
        assert spec.env in out


@pytest.mark.parametrize("argv, message", [
    (["--bogus"], "Error: "),
    (["extra"], "Error: "),
    (["--listen", "nope"], "Error: listen: expected HOST:PORT, got 'nope'"),
    (["--listen", "127.0.0.1:99999"], "Error: listen: expected HOST:PORT, got '127.0.0.1:99999'"),
    (["--inference-api", "anthropic"], "Error: inference_api: expected ollama or openai, got 'anthropic'"),
    (["--inference-url", "ftp://models"], "Error: inference_url: expected an http:// or https:// URL"),
])
def test_bad_command_lines_exit_2(clean_env, capsys, argv, message):  # pylint: disable=unused-argument
    assert serve.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("Error:") == 1


def test_an_unknown_flag_is_named_plainly(clean_env, capsys):  # pylint: disable=unused-argument
    assert serve.main(["--bogus"]) == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert "--bogus" in first and "Option(" not in first


def test_a_bad_setting_from_the_environment_exits_2(clean_env, monkeypatch, capsys):  # pylint: disable=unused-argument
    monkeypatch.setenv("CYNODE_HTTP_THREADS", "many")
    assert serve.main([]) == 2
    assert capsys.readouterr().err == "Error: http_threads: expected an integer, got 'many'\n"


def test_start_up_refuses_a_database_from_a_newer_build(clean_env, tmp_path, capsys):  # pylint: disable=unused-argument
    settings = make_settings(tmp_path)
    store = Store(settings.database)
    store.migrate()
    store.db.execute_sql("INSERT INTO schema_version (version, applied_at) VALUES (99, '2030-01-01 00:00:00')")
    store.close()
    assert serve.run(settings) == 2
    assert "database schema version 99 is newer than this build" in capsys.readouterr().err


@pytest.mark.parametrize("overrides, message", [
    ({"admin_password": "short"}, "Error: password must be at least 8 characters\n"),
    ({"database": "mysql://db/cynode"}, "Error: unsupported database URL scheme 'mysql'"),
    ({"database": "postgresql://db.example/cynode"}, "Error: PostgreSQL URL needs a user and a database"),
    ({"database": "postgresql://root:url-pw@127.0.0.1:1/test"},  # nothing listens on port 1
     "Error: database unreachable (postgresql://root:***@127.0.0.1:1/test): [Errno 111] Connection refused\n"),
    ({"database": "postgresql://root@127.0.0.1:1/test", "database_password_file": "/nonexistent/pw"},
     "Error: database_password_file /nonexistent/pw: No such file or directory\n"),
])
def test_start_up_failures_exit_2_with_one_line(clean_env, tmp_path, capsys, overrides, message):  # pylint: disable=unused-argument
    assert serve.run(make_settings(tmp_path, **overrides)) == 2
    assert capsys.readouterr().err.startswith(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_until(proc, pattern: str, lines: list) -> re.Match:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no {pattern!r} in the server's stderr:\n{''.join(lines)}")


def test_serve_starts_announces_the_admin_password_and_stops_cleanly_on_sigterm(tmp_path):
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CYNODE_", "CYNORK_"))}
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", "cynode", "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path)],
        env={**environ, "CYNODE_WORKERS": "1", "CYNODE_SANDBOX": "process"}, stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        password = _read_until(proc, r"created user 'admin' with password: (\S+)", lines).group(1)
        _read_until(proc, rf"listening on http://127.0.0.1:{port} database=sqlite", lines)
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            assert response.read() == b"ok"
        with urllib.request.urlopen(base + "/readyz", timeout=10) as response:
            assert response.read().startswith(b"ready")
        login = urllib.request.Request(base + "/v1/auth/login", method="POST", headers={
            "Content-Type": "application/json"}, data=json.dumps({"handle": "admin", "password": password}).encode())
        with urllib.request.urlopen(login, timeout=30) as response:
            tokens = json.load(response)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = "".join(lines) + proc.stderr.read()
    proc.stderr.close()
    work_root = re.search(r" work_root=(\S+)", log).group(1)
    if work_root.startswith("/var/lib/cynode/work/"):  # root, whose jobs cannot enter pytest's private tmp
        shutil.rmtree(work_root)
    assert "SIGTERM: shutting down" in log and "Traceback" not in log
    assert "method=POST path=/v1/auth/login status=200" in log
    assert tokens["access_token"] not in log and tokens["refresh_token"] not in log
    assert log.count(password) == 1  # announced once, never logged again
    assert oct(os.stat(tmp_path / "cynode.db").st_mode & 0o777) == oct(0o600)


def test_the_servers_temp_files_go_to_a_private_dir_in_the_data_dir_emptied_at_start(tmp_path):
    """Each process sharing a data dir (scale-out) has its own; a dead process's is removed, a live one's kept."""
    child = subprocess.Popen(["true"])  # pylint: disable=consider-using-with  # its pid is no longer alive
    child.wait()
    for owner, content in ((str(child.pid), b"a crashed server's spooled upload"), ("1", b"a live process's"),
                           ("tmpabc123", b"from an older build")):
        (tmp_path / "tmp" / owner).mkdir(parents=True, exist_ok=True)
        (tmp_path / "tmp" / owner / "body").write_bytes(content)
    path = daemon.private_tempdir(str(tmp_path))
    assert path == str(tmp_path / "tmp" / str(os.getpid()))
    assert os.listdir(path) == []
    assert os.stat(path).st_mode & 0o777 == 0o700
    assert sorted(os.listdir(tmp_path / "tmp")) == sorted(["1", str(os.getpid())])
