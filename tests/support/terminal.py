"""A command with some of its standard streams on a real pseudo-terminal (stdlib pty), the others on pipes.

What a person at the terminal sees is read from the pty's master side (the echo of what was typed and whatever
the command wrote to the streams on the terminal); the piped streams are read separately. Every wait has a
deadline: a test that waits for text that never comes fails with what each stream showed.
"""

import fcntl
import os
import re
import select
import signal
import subprocess
import termios
import time

TIMEOUT = 20.0
STREAMS = ("stdin", "stdout", "stderr")
KEYS = {"Enter": "\n", "Tab": "\t", "Ctrl+C": "\x03", "Ctrl+D": "\x04", "Ctrl+P": "\x10"}
# Cursor movement and other control sequences (readline sends some even on TERM=dumb), and carriage returns.
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|[\x07\r]")


class Terminal:
    """`argv` as a subprocess in a session of its own, whose streams named in `on_tty` are the pty (stdin off the
    pty is empty).

    With `controlling`, the pty is also the session's controlling terminal, as for a person: the line discipline
    turns a typed Ctrl+C into a real SIGINT, and readline and getpass use the terminal. getpass then prompts on
    /dev/tty, not on stderr, so tests that read password prompts from stderr leave it off."""

    def __init__(self, argv, environ, on_tty=("stdin",), cwd=None, controlling=False):
        master, slave = os.openpty()
        self.master: int | None = master
        self.on_tty, self.controlling = tuple(on_tty), controlling
        where = {name: slave if name in on_tty else subprocess.PIPE for name in STREAMS}
        if "stdin" not in on_tty:
            where["stdin"] = subprocess.DEVNULL
        tty_fd = min(STREAMS.index(name) for name in on_tty) if controlling else None
        # Reaped in finish() or close(). preexec_fn only makes one ioctl: safe before exec even with threads around.
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with,subprocess-popen-preexec-fn
            argv, env=environ, cwd=cwd, start_new_session=True,
            preexec_fn=None if tty_fd is None else lambda: fcntl.ioctl(tty_fd, termios.TIOCSCTTY, 0), **where)
        os.close(slave)
        self.out = {"tty": b"", "stdout": b"", "stderr": b""}
        self._pipes = {name: getattr(self.proc, name) for name in ("stdout", "stderr") if name not in on_tty}
        self._seen = {"tty": 0, "stdout": 0, "stderr": 0}  # how much of each stream earlier waits consumed
        # How much of stderr there was when something was last typed: a prompt counts only if it came after it
        # (the previous prompt is still at the end of stderr until the program answers).
        self._typed_at = 0

    def _source(self, stream: str) -> str:
        return "tty" if stream in self.on_tty else stream

    def _raw(self, stream: str) -> str:
        """What `stream` (stdout, stderr or tty) showed; a stream on the terminal is all the terminal showed."""
        return self.out[self._source(stream)].decode(errors="replace")

    def _text(self, stream: str) -> str:
        """`_raw`, on the terminal as plain text without control codes: what waits match."""
        return CONTROL.sub("", self._raw(stream)) if self._source(stream) == "tty" else self._raw(stream)

    stdout = property(lambda self: self._raw("stdout"))
    stderr = property(lambda self: self._raw("stderr"))

    def screen(self, plain: bool = False) -> str:
        """What the terminal showed, with its "\\r\\n" line ends as "\\n" (`plain`: with no control codes at all)."""
        return self._text("tty") if plain else self._raw("tty").replace("\r\n", "\n")

    def _open(self, source: str) -> bool:
        return self.master is not None if source == "tty" else source in self._pipes

    def _pump(self, wait: float) -> None:
        """Read whatever is ready (at most `wait` seconds of waiting) into `out`."""
        sources = {pipe.fileno(): name for name, pipe in self._pipes.items()}
        if self.master is not None:
            sources[self.master] = "tty"
        if not sources:
            time.sleep(wait)
            return
        ready, _, _ = select.select(list(sources), [], [], wait)
        for fd in ready:
            name = sources[fd]
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the pty's other side is gone
                chunk = b""
            if chunk:
                self.out[name] += chunk
            elif name == "tty":
                os.close(self.master)
                self.master = None
            else:
                self._pipes.pop(name).close()

    def _wait(self, done, stream: str, what: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"{what} within {timeout:g} s; so far: {self.out}"
            assert self._open(self._source(stream)), f"{stream} ended, {what}: {self.out}"
            self._pump(0.05)

    def wait_for(self, text: str, stream: str = "tty") -> str:
        """Wait until `text` shows on `stream` after what earlier waits on it consumed; return what showed from
        there up to and including `text` (so waiting twice for the same text finds a second one)."""
        source = self._source(stream)
        self._wait(lambda: text in self._text(source)[self._seen[source]:], source, f"no {text!r} on {stream}")
        start = self._seen[source]
        self._seen[source] = self._text(source).index(text, start) + len(text)
        return self._text(source)[start:self._seen[source]]

    def expect(self, prompt: str, timeout: float = TIMEOUT) -> None:
        """Wait until stderr, grown since the last typing, ends with `prompt`: the program waits for input. (Grown,
        as not all of the prompt need be new: readline shows a line recalled by Ctrl+P after the prompt it had.)
        What came before the prompt's line counts as consumed by later waits; the line itself stays."""
        source = self._source("stderr")
        self._wait(lambda: len(self._text(source)) > self._typed_at and self._text(source).endswith(prompt),
                   source, f"no new {prompt!r} prompt", timeout)
        shown = self._text(source)
        self._seen[source] = max(self._seen[source], shown.rfind("\n", 0, len(shown) - len(prompt)) + 1)

    def type(self, text: str) -> None:
        self._typed_at = len(self._text("stderr"))
        os.write(self.master, text.encode())

    def interrupt(self) -> None:
        """What Ctrl+C does: typed, where the line discipline makes it SIGINT; else SIGINT sent to the program."""
        if self.controlling:
            self.type(KEYS["Ctrl+C"])
        else:
            self._typed_at = len(self._text("stderr"))
            self.proc.send_signal(signal.SIGINT)

    def finish(self) -> tuple[int, str, str]:
        """Wait for the exit and the end of every stream: (exit code, stdout, stderr), as the properties."""
        deadline = time.monotonic() + TIMEOUT
        while self.proc.poll() is None or self._pipes:
            assert time.monotonic() < deadline, f"still running after {TIMEOUT:g} s: {self.out}"
            self._pump(0.05)
        while self.master is not None and select.select([self.master], [], [], 0)[0]:
            self._pump(0)
        self.close()
        return self.proc.returncode, self.stdout, self.stderr

    def close(self) -> None:
        """Kill the program if it still runs (a failed test), and close what is open."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in self._pipes.values():
            pipe.close()
        self._pipes.clear()
        if self.master is not None:
            os.close(self.master)
            self.master = None
