"""A program on a real pseudo-terminal, for what only a terminal shows: readline's tab completion and history.

The child gets the pty as its controlling terminal (pty.fork), so getpass and readline behave as for a person.
Every read has a deadline: a test that waits for text that never comes fails with what the screen showed.
"""

import os
import pty
import re
import select
import signal
import time

READ_TIMEOUT = 15.0
EXIT_TIMEOUT = 15.0
# Cursor movement and other control sequences readline may send even on TERM=dumb.
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|[\x07\r]")


class PtySession:
    """One child on a pty; `screen` is everything it wrote (stdout and stderr alike), control sequences removed."""

    def __init__(self, argv: list[str], environ: dict[str, str]):
        self.raw = b""
        self.seen = 0  # how much of `screen` earlier waits have consumed
        self.code: int | None = None
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the program (nothing else may run here)
            try:
                os.execve(argv[0], argv, environ)
            finally:
                os._exit(127)  # pylint: disable=protected-access  # only if exec failed: never run pytest twice

    @property
    def screen(self) -> str:
        return CONTROL.sub("", self.raw.decode("utf-8", "replace"))

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode("utf-8"))

    def _read(self, deadline: float) -> bool:
        """Read what is there (waiting until `deadline`); False at end of output."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.raw += chunk
        return bool(chunk)

    def expect(self, text: str, timeout: float = READ_TIMEOUT) -> str:
        """Wait until `text` appears after what earlier waits consumed; returns the screen up to and including it."""
        deadline = time.monotonic() + timeout
        while True:
            at = self.screen.find(text, self.seen)
            if at >= 0:
                start, self.seen = self.seen, at + len(text)
                return self.screen[start:self.seen]
            if time.monotonic() >= deadline or not self._read(deadline):
                raise AssertionError(f"{text!r} did not appear within {timeout:.0f} s; the terminal showed:\n"
                                     f"{self.screen}")

    def expect_prompt(self, text: str, timeout: float = READ_TIMEOUT) -> None:
        """Wait until the screen ends with `text` after what earlier waits consumed (the program now waits for a
        key); that last line stays unconsumed, so a next wait for (part of) the same prompt returns at once."""
        deadline = time.monotonic() + timeout
        while not (self.screen.endswith(text) and len(self.screen) - len(text) >= self.seen):
            if time.monotonic() >= deadline or not self._read(deadline):
                raise AssertionError(f"the terminal did not come to end with {text!r} within {timeout:.0f} s; "
                                     f"it showed:\n{self.screen}")
        self.seen = max(self.seen, self.screen.rfind("\n", 0, len(self.screen) - len(text)) + 1)

    def interrupt(self, prompt: str, patience: float = 2.0) -> None:
        """Ctrl+C, then wait for `prompt`. CPython's readline notices a signal only while it waits for a key: a
        Ctrl+C that lands while it is still drawing the last key stays pending until another signal comes. So a
        Ctrl+C without an answer after `patience` seconds is sent once more (a person would press it again)."""
        self.send("\x03")
        try:
            self.expect_prompt(prompt, timeout=patience)
        except AssertionError:
            self.send("\x03")
            self.expect_prompt(prompt)

    def wait(self, timeout: float = EXIT_TIMEOUT) -> int:
        """The exit code once the child ends (reading on, so it never blocks on a full terminal)."""
        deadline = time.monotonic() + timeout
        while self.code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() >= deadline:
                self.kill()
                raise AssertionError(f"the program did not exit within {timeout:.0f} s:\n{self.screen}")
            if not self._read(min(deadline, time.monotonic() + 0.1)):
                time.sleep(0.01)  # output is closed but the process is not reaped yet
        self._read(time.monotonic())
        return self.code

    def kill(self) -> None:
        if self.code is None:
            os.kill(self.pid, signal.SIGKILL)
            _, status = os.waitpid(self.pid, 0)
            self.code = os.waitstatus_to_exitcode(status)

    def close(self) -> None:
        self.kill()
        os.close(self.fd)
