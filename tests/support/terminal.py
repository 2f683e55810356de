"""A command with some of its standard streams on a real pseudo-terminal (stdlib pty), the others on pipes.

What a person at a terminal sees is read from the pty's master side (`tty`: echo and whatever the command wrote
to the streams on the terminal, with the terminal's "\\r\\n" line ends); the piped streams are read separately.
"""

import os
import select
import signal
import subprocess
import time

TIMEOUT = 20.0
STREAMS = ("stdin", "stdout", "stderr")


class Terminal:
    """`argv` as a subprocess whose streams named in `on_tty` are a pty; stdin off the pty is empty."""

    def __init__(self, argv, environ, on_tty=("stdin",), cwd=None):
        master, slave = os.openpty()
        self.master: int | None = master
        where = {name: slave if name in on_tty else subprocess.PIPE for name in STREAMS}
        if "stdin" not in on_tty:
            where["stdin"] = subprocess.DEVNULL
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with  # reaped in finish() or by the fixture
            argv, env=environ, cwd=cwd, start_new_session=True, **where)
        os.close(slave)
        self.out = {"tty": b"", "stdout": b"", "stderr": b""}
        self._pipes = {name: getattr(self.proc, name) for name in ("stdout", "stderr") if name not in on_tty}

    @property
    def stderr(self) -> bytes:
        return self.out["stderr"]

    @property
    def echo(self) -> bytes:
        return self.out["tty"]

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

    def wait_for(self, text: str, where: str = "stderr") -> None:
        """Wait until `where` (stdout, stderr or tty) has shown `text`."""
        deadline = time.monotonic() + TIMEOUT
        while text.encode() not in self.out[where]:
            assert time.monotonic() < deadline, f"no {text!r} on {where}; so far: {self.out}"
            assert self.proc.poll() is None or self._pipes or self.master is not None, \
                f"exited {self.proc.returncode} before {text!r} on {where}: {self.out}"
            self._pump(0.1)

    def expect(self, prompt: str) -> None:
        """Wait until stderr ends with `prompt` (the program now waits for input)."""
        deadline = time.monotonic() + TIMEOUT
        while not self.out["stderr"].endswith(prompt.encode()):
            assert time.monotonic() < deadline, f"no {prompt!r} prompt; stderr so far: {self.out['stderr']!r}"
            assert "stderr" in self._pipes, f"stderr closed before {prompt!r}: {self.out['stderr']!r}"
            self._pump(0.1)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def interrupt(self) -> None:
        """What Ctrl+C does to a foreground program: SIGINT."""
        self.proc.send_signal(signal.SIGINT)

    def finish(self) -> tuple[int, str, str]:
        """Wait for the exit and the end of every stream: (exit code, stdout, stderr) of the piped streams."""
        deadline = time.monotonic() + TIMEOUT
        while self.proc.poll() is None or self._pipes:
            assert time.monotonic() < deadline, f"still running after {TIMEOUT:g} s: {self.out}"
            self._pump(0.1)
        while self.master is not None and select.select([self.master], [], [], 0)[0]:
            self._pump(0)
        if self.master is not None:
            os.close(self.master)
            self.master = None
        return self.proc.returncode, self.out["stdout"].decode(), self.out["stderr"].decode()

    def screen(self) -> str:
        """What the terminal showed, with its "\\r\\n" line ends as "\\n"."""
        return self.out["tty"].decode(errors="replace").replace("\r\n", "\n")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in self._pipes.values():
            pipe.close()
        if self.master is not None:
            os.close(self.master)
            self.master = None
