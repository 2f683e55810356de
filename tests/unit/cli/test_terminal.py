"""Prompts on a real terminal (a pty): the handle is echoed, passwords are not, and `users create` asks twice."""

import os
import sys

import pytest

from tests.support.server import PASSWORD
from tests.support.terminal import Terminal


@pytest.fixture(name="terminal")
def fixture_terminal(environ):
    environ = {**{k: v for k, v in os.environ.items() if not k.startswith(("CYNORK_", "CYNODE_"))}, **environ}
    opened = []

    def start(*argv, token=None):
        opened.append(Terminal([sys.executable, "-m", "cynode", "cli", *argv],
                               {**environ, **({"CYNORK_TOKEN": token} if token else {})}))
        return opened[-1]

    yield start
    for term in opened:
        term.close()


def test_login_prompts_without_echoing_the_password(terminal):
    term = terminal("auth", "login")
    term.expect("Handle: ")
    term.type("admin\n")
    term.expect("Password: ")
    term.type(PASSWORD + "\n")
    code, stdout, stderr = term.finish()
    assert (code, stdout, stderr) == (0, "logged_in=true handle=admin\n", "Handle: Password: \n")
    assert "admin" in term.screen() and PASSWORD not in term.screen()


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
    assert "ivy-password" not in term.screen()

    term = terminal("-o", "json", "users", "create", "ivy", token=token)
    for prompt in ("Password: ", "Repeat password: "):
        term.expect(prompt)
        term.type("ivy-password-1\n")
    code, stdout, _ = term.finish()
    assert code == 0 and '"handle": "ivy"' in stdout
