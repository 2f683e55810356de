"""Steps for section 2 of the hardening feature: what the process runner isolates, and servers run by an
unprivileged user (through setpriv, as uid 65534), with and without a way to isolate their jobs."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from tests.bdd.harness import Server, child_environ, cynode_command, free_port
from tests.bdd.task_steps import CANARIES, SHARED_SETTINGS, _use, tasks_of

NOBODY = 65534
SETPRIV = shutil.which("setpriv")
AS_NOBODY = [SETPRIV or "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
# coverage, followed into subprocesses through this variable, could not write its data file as uid 65534
NO_COVERAGE = {"COVERAGE_PROCESS_CONFIG": None}


def _needs_root() -> None:
    if os.geteuid() != 0 or not SETPRIV:
        pytest.skip("starting a server as another user needs root and setpriv (util-linux)")


def _nobody_workdir(request, server_check=None) -> Path:
    """A server work dir that uid 65534 owns, under folders anyone may enter; removed after the scenario (once
    `server_check`, its server's clean-exit check, has passed)."""
    root = Path(tempfile.mkdtemp(prefix="cynode-bdd-nobody-"))
    root.chmod(0o755)

    def finish():
        try:
            if server_check:
                server_check[0]()
        finally:
            shutil.rmtree(root, ignore_errors=True)
    request.addfinalizer(finish)
    workdir = root / "server"
    workdir.mkdir()
    os.chown(workdir, NOBODY, NOBODY)
    return workdir


def _without_bwrap(request) -> dict[str, str]:
    """PATH for a server that finds no bubblewrap: an empty folder (jobs get the system PATH regardless)."""
    empty = Path(tempfile.mkdtemp(prefix="cynode-bdd-path-"))
    empty.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(empty, ignore_errors=True))
    return {"PATH": str(empty)}


@when(parsers.re(r'cynode serve is started(?P<nobody> by an unprivileged user without bubblewrap)? '
                 r'with "(?P<flags>[^"]*)"'))
def _start_to_the_end(world, request, nobody, flags):
    """`cynode serve FLAGS` run until it exits by itself (or 60 s pass): for start-ups that must be refused."""
    if nobody:
        _needs_root()
    workdir = _nobody_workdir(request) if nobody else world.tmp / "refused"
    argv = [*(AS_NOBODY if nobody else ()), *cynode_command(), "serve", "--listen", f"127.0.0.1:{free_port()}",
            "--data-dir", str(workdir / "data"), *flags.split()]
    done = subprocess.run(argv, env=child_environ({**_without_bwrap(request), **NO_COVERAGE} if nobody else {}),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False)
    world.remembered["serve"] = done


@then(parsers.parse("cynode serve exited with code {code:d} without listening"))
def _serve_exit(world, code):
    done = world.remembered["serve"]
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "listening on" not in done.stderr and "Traceback" not in done.stderr, done.stderr


@then(parsers.parse('its error says "{text}"'))
def _serve_error(world, text):
    assert text in world.remembered["serve"].stderr, world.remembered["serve"].stderr


@given(parsers.re(r'a separate cynode server started with the flags "(?P<flags>[^"]*)"'))
def _server_with_flags(world, flags):
    server = Server(world.tmp / f"server{len(world.own_servers)}", dict(SHARED_SETTINGS), args=flags.split())
    world.own_servers.append(server)
    _use(world, server.start())


@given(parsers.re(r'a separate cynode server run by an unprivileged user with "(?P<flags>[^"]*)"'))
def _nobody_server(world, request, flags):
    _needs_root()
    check = []  # filled below: the finalizer must check the server's exit before its folder goes
    server = Server(_nobody_workdir(request, check), {**SHARED_SETTINGS, **CANARIES, **NO_COVERAGE},
                    prefix=AS_NOBODY, args=flags.split())
    check.append(server.check_clean_exit)
    server.secrets.update(CANARIES.values())
    _use(world, server.start())


@then("the server runs as an unprivileged user")
def _server_uid(world):
    assert os.stat(f"/proc/{world.server.process.pid}").st_uid == NOBODY


@then(parsers.parse("the task's work dir on the host belongs to root with mode {mode}"))
def _work_dir_closed(world, mode):
    work = _work_root(world) / tasks_of(world).pick()[0]
    info = work.stat()
    assert (info.st_uid, oct(info.st_mode & 0o777)) == (0, "0o" + mode.lstrip("0")), (info.st_uid, info.st_mode)


def _work_root(world) -> Path:
    line = next(line for line in world.server.log().splitlines() if " work_root=" in line)
    return Path(line.rsplit(" work_root=", 1)[1].strip())


@then(parsers.parse('the server keeps job work dirs under "{prefix}", where job users can enter'))
def _work_root_under(world, request, prefix):
    root = _work_root(world)
    request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
    assert str(root).startswith(prefix), root
    assert all(folder.stat().st_mode & 0o001 for folder in (root, *root.parents)), root
