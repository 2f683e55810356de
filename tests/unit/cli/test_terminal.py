"""Prompts on a real terminal (a pty): the handle is echoed, passwords are not, and `users create` asks twice."""

import os
import select
import subprocess
import sys
import time

import pytest

from tests.support.server import PASSWORD

TIMEOUT = 20.0


class Terminal:
    """`cynode cli ARGS` as a subprocess whose stdin is a pty; stdout and stderr are pipes."""

    def __init__(self, argv, environ):
        master, slave = os.openpty()
        self.master = master
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with  # closed in finish()
            [sys.executable, "-m", "cynode", "cli", *argv], stdin=slave, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=environ, start_new_session=True)
        os.close(slave)
        self.stderr = b""
        self.echo = b""

    def expect(self, prompt: str) -> None:
        """Wait until stderr ends with `prompt` (the program now waits for input)."""
        deadline = time.monotonic() + TIMEOUT
        while not self.stderr.endswith(prompt.encode()):
            assert time.monotonic() < deadline, f"no {prompt!r} prompt; stderr so far: {self.stderr!r}"
            ready, _, _ = select.select([self.proc.stderr, self.master], [], [], 0.1)
            if self.proc.stderr in ready:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                assert chunk, f"stderr closed before {prompt!r}: {self.stderr!r}"
                self.stderr += chunk
            if self.master in ready:
                self.echo += os.read(self.master, 4096)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self) -> tuple[int, str, str]:
        stdout, rest = self.proc.communicate(timeout=TIMEOUT)
        self.stderr += rest
        while select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the other side is gone
                break
            if not chunk:
                break
            self.echo += chunk
        os.close(self.master)
        return self.proc.returncode, stdout.decode(), self.stderr.decode()


@pytest.fixture(name="terminal")
def fixture_terminal(environ):
    environ = {**{k: v for k, v in os.environ.items() if not k.startswith(("CYNORK_", "CYNODE_"))}, **environ}
    opened = []

    def start(*argv, token=None):
        opened.append(Terminal(argv, {**environ, **({"CYNORK_TOKEN": token} if token else {})}))
        return opened[-1]

    yield start
    for term in opened:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()


def test_login_prompts_without_echoing_the_password(terminal):
    term = terminal("auth", "login")
    term.expect("Handle: ")
    term.type("admin\n")
    term.expect("Password: ")
    term.type(PASSWORD + "\n")
    code, stdout, stderr = term.finish()
    assert (code, stdout, stderr) == (0, "logged_in=true handle=admin\n", "Handle: Password: \n")
    assert b"admin" in term.echo and PASSWORD.encode() not in term.echo


def test_users_create_asks_twice_and_refuses_a_mismatch(terminal, server):
    token = server.session().access
    term = terminal("users", "create", "ivy", token=token)
    term.expect("Password: ")
    term.type("ivy-password-1\n")
    term.expect("Repeat password: ")
    term.type("ivy-password-2\n")
    code, stdout, stderr = term.finish()
    assert (code, stdout) == (2, "")
    assert stderr.endswith("Error: passwords do not match\n")
    assert b"ivy-password" not in term.echo

    term = terminal("-o", "json", "users", "create", "ivy", token=token)
    for prompt in ("Password: ", "Repeat password: "):
        term.expect(prompt)
        term.type("ivy-password-1\n")
    code, stdout, _ = term.finish()
    assert code == 0 and '"handle": "ivy"' in stdout
