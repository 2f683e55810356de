"""What a command runs with: injected I/O, parsed flags, config, token, and a lazily built gateway client."""

import getpass
import os
import sys

from cynode.cli import config as config_mod
from cynode.cli import credhelper
from cynode.cli.exits import CliError, ExitStatus
from cynode.cli.output import json_text

NOT_LOGGED_IN = "not logged in: run 'cynode cli auth login' or set CYNORK_TOKEN"


class Env:
    """The process's streams and environment, injectable so tests capture output without patching.

    A plain class for start-up time (see Config).
    """

    def __init__(self, stdin=None, stdout=None, stderr=None, environ: dict | None = None):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.environ = dict(os.environ) if environ is None else environ

    def stdin_is_tty(self) -> bool:
        return bool(getattr(self.stdin, "isatty", lambda: False)())

    def secret(self, prompt: str) -> str:
        """Read a secret: no echo on a terminal; from stdin as a whole otherwise (spec/cli.md §7.3.1)."""
        if self.stdin_is_tty():
            return getpass.getpass(prompt, stream=self.stderr)
        return read_stdin_secret(self.stdin)

    def ask(self, prompt: str) -> str | None:
        """One line of input after a prompt on stderr; None at end of input."""
        self.stderr.write(prompt)
        self.stderr.flush()
        line = self.stdin.readline()
        if not self.stdin_is_tty():
            self.stderr.write("\n")  # no terminal echoed the answer: end the prompt's line so errors start their own
        return line.rstrip("\r\n") if line else None


def read_stdin_secret(stream) -> str:
    """All of stdin, less exactly one trailing newline."""
    return without_final_newline(stream.read())


def without_final_newline(text: str) -> str:
    """`text` less exactly one trailing `\n` or `\r\n` (how a secret from a pipe or a file ends)."""
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


class Context:
    """Per-invocation state. The token is resolved at most once, lazily (spec/cli.md §5.1)."""

    def __init__(self, args: dict, env: Env, cfg: config_mod.Config):
        self.args = args
        self.env = env
        self.config = cfg
        self.json = (args.get("--output") or "table") == "json"
        self.quiet = bool(args.get("--quiet"))
        self._token: str | None = None
        self._gateway = None

    # output -------------------------------------------------------------------------------------------------

    def emit(self, table: str | None, data) -> None:
        """The command's result: `data` as JSON in json mode, else `table` (a line or block of text)."""
        text = json_text(data) if self.json else table
        if text is not None:
            self.env.stdout.write(text + "\n")

    def warn(self, message: str) -> None:
        self.env.stderr.write(message + "\n")

    def hint(self, message: str) -> None:
        """A non-essential line for a person (stderr); --quiet drops it."""
        if not self.quiet:
            self.warn(message)

    def confirmed(self, question: str) -> bool:
        """`--yes`, or `question` answered y/Y on stderr (spec/cli.md §7.4.4: anything else, EOF included, is no).
        Not being logged in fails before the question is asked."""
        if self.args.get("--yes"):
            return True
        self.token()
        return (self.env.ask(question) or "").strip() in ("y", "Y")

    # auth ---------------------------------------------------------------------------------------------------

    def token(self) -> str:
        if self._token is None:
            self._token = (self.config.env_token or self.config.get("token") or self._helper_token() or "")
        if not self._token:
            raise CliError(NOT_LOGGED_IN, ExitStatus.AUTH)
        return self._token

    def _helper_token(self) -> str | None:
        helper = self.config.get("credential_helper")
        return credhelper.get(helper, self.warn) if helper else None

    def refresh(self) -> bool:
        """Swap the stored refresh token for a new pair after a 401; True when the request may be retried.

        Only for tokens this client stored itself: an env token or a helper's token is left alone.
        """
        refresh_token = self.config.get("refresh_token")
        if self.config.env_token or not refresh_token or self._token != self.config.get("token"):
            return False
        try:
            tokens = self.gateway().json("POST", "/v1/auth/refresh", body={"refresh_token": refresh_token},
                                         auth=False)
        except CliError:
            return False
        self.store_tokens(tokens)
        return True

    def store_tokens(self, tokens: dict) -> None:
        """Persist a login/refresh response: via the credential helper when one is set, else in the file."""
        helper = self.config.get("credential_helper")
        if helper:
            credhelper.store(helper, tokens["access_token"])
            self.config.save_tokens(token=None, refresh_token=None)  # a stale file token would shadow the helper
        else:
            self.config.save_tokens(token=tokens["access_token"], refresh_token=tokens.get("refresh_token"))
        self._token = tokens["access_token"]

    def gateway(self):
        if self._gateway is None:
            from cynode.cli.gateway import Gateway  # pylint: disable=import-outside-toplevel  # urllib3 is slow

            self._gateway = Gateway(self.config.gateway_url, auth=self)
        return self._gateway
