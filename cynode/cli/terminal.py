"""What only a person at a terminal sees: colour on status words and a progress line while a command waits.

Both are decoration (spec/cli.md §2.4): never in json mode, never on a stream that is not a terminal, never
with --quiet (progress). --no-color / NO_COLOR means no ANSI code at all: no colour, and a progress line
erased with spaces instead of the erase-line sequence. Payloads never carry ANSI codes.
"""

import threading
import time

STATUS_COLOURS = {"completed": "32", "failed": "31", "canceled": "33", "running": "36", "queued": "2"}
SPINNER = "|/-\\"
TICK = 0.1


def isatty(stream) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def colour_on(ctx, stream) -> bool:
    """Colour for `stream`: a terminal, table mode, no --no-color and no non-empty NO_COLOR."""
    return (not ctx.json and not ctx.args.get("--no-color") and not ctx.env.environ.get("NO_COLOR")
            and isatty(stream))


def paint(text: str, code: str | None) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if code else text


def status_word(ctx, status: str) -> str:
    """A task status for stdout, coloured when a person reads it there."""
    return paint(status, STATUS_COLOURS.get(status)) if colour_on(ctx, ctx.env.stdout) else status


class Progress:
    """`with Progress(ctx, "waiting for task x"):` shows `| waiting for task x (3s)` on stderr, redrawn in place
    from a thread, and erases it on exit, so the result (stdout) and errors start on a clean line."""

    def __init__(self, ctx, label: str):
        self.stream = ctx.env.stderr
        self.label = label
        self.enabled = not ctx.json and not ctx.quiet and isatty(self.stream)
        self.erase = "\r\x1b[K" if colour_on(ctx, self.stream) else "\r" + " " * (len(label) + 16) + "\r"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> "Progress":
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            self.stream.write(self.erase)
            self.stream.flush()

    def _run(self) -> None:
        frame = 0
        while not self._stop.is_set():
            elapsed = int(time.monotonic() - self._started)
            self.stream.write(f"{self.erase}{SPINNER[frame % len(SPINNER)]} {self.label} ({elapsed}s)")
            self.stream.flush()
            frame += 1
            self._stop.wait(TICK)
