"""`cynode cli ...` at a real terminal: stdin is a pseudo-terminal (stdlib pty), stdout and stderr are pipes read
as they come, so a test sees prompts, answers and echo separately and in order.
"""

import fcntl
import os
import select
import subprocess
import sys
import termios
import time

TIMEOUT = 20.0
CTRL_C, CTRL_D = "\x03", "\x04"


def _take_terminal() -> None:
    """In the child, after setsid: make the pty (stdin) the controlling terminal, so a typed Ctrl+C is SIGINT."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """`command` (default: cynode from the source tree) + `cli ARGV` with `environ`. With `controlling`, the pty
    is the process's controlling terminal: the line discipline turns a typed Ctrl+C into SIGINT (and getpass
    would talk to /dev/tty, so password prompts tests leave it off)."""

    def __init__(self, argv, environ, command=None, controlling=False, stderr_on_terminal=False):
        master, slave = os.openpty()
        self.master = master
        self.stderr_on_terminal = stderr_on_terminal  # then stderr is read with the echo, as a person sees both
        # closed in finish(); preexec_fn only runs ioctl, safe before exec even with threads around
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with,subprocess-popen-preexec-fn
            [*(command or [sys.executable, "-m", "cynode"]), "cli", *argv], stdin=slave, stdout=subprocess.PIPE,
            stderr=slave if stderr_on_terminal else subprocess.PIPE, env=environ, start_new_session=True,
            preexec_fn=_take_terminal if controlling else None)
        os.close(slave)
        self.stdout = b""
        self.stderr = b""
        self.echo = b""
        self.typed_at = 0  # how much of stderr had been read when something was last typed

    def _pump(self, done, what: str) -> None:
        """Read whatever comes on stdout, stderr and the terminal until done() holds."""
        deadline = time.monotonic() + TIMEOUT
        while not done():
            assert time.monotonic() < deadline, f"{what}; stdout: {self.stdout!r}, stderr: {self.stderr!r}"
            pipes = [pipe for pipe in (self.proc.stdout, self.proc.stderr) if pipe]
            ready, _, _ = select.select([*pipes, self.master], [], [], 0.1)
            for stream, name in ((self.proc.stdout, "stdout"), (self.proc.stderr, "stderr")):
                if stream and stream in ready:
                    chunk = os.read(stream.fileno(), 4096)
                    assert chunk, f"{name} closed: {what}; stdout: {self.stdout!r}, stderr: {self.stderr!r}"
                    setattr(self, name, getattr(self, name) + chunk)
            if self.master in ready:
                self._from_terminal(os.read(self.master, 4096))

    def _from_terminal(self, chunk: bytes) -> None:
        self.echo += chunk
        if self.stderr_on_terminal:
            self.stderr += chunk

    def expect(self, prompt: str) -> None:
        """Wait until stderr ends with `prompt` written after the last typing (the program waits for input)."""
        self._pump(lambda: self.stderr[self.typed_at:].endswith(prompt.encode()), f"no new {prompt!r} prompt")

    def expect_stdout(self, text: str) -> None:
        """Wait until `text` has been printed on stdout."""
        self._pump(lambda: text.encode() in self.stdout, f"no {text!r} on stdout")

    def running(self) -> bool:
        return self.proc.poll() is None

    def type(self, text: str) -> None:
        self.typed_at = len(self.stderr)
        os.write(self.master, text.encode())

    def finish(self) -> tuple[int, str, str]:
        stdout, rest = self.proc.communicate(timeout=TIMEOUT)
        self.stdout += stdout
        self.stderr += rest or b""
        while select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the other side is gone
                break
            if not chunk:
                break
            self._from_terminal(chunk)
        os.close(self.master)
        return self.proc.returncode, self.stdout.decode(), self.stderr.decode()

    def kill(self) -> None:
        """Stop a process a failed test left running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
