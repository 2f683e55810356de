"""Output capture for a job: its stdout/stderr pipes drained into size-capped files as data arrives, until the
job has exited."""

import os
import select
import selectors
import time
from contextlib import suppress
from pathlib import Path
from typing import Callable

READ_CHUNK = 65536
POLL_SECONDS = 0.05
# After the job exits, how long to keep reading pipes that an escaped process (setsid) still holds open.
DRAIN_SECONDS = 1.0


def utf8_cut(data: bytes, limit: int) -> int:
    """Largest cut <= limit that does not split a UTF-8 sequence started inside `data`.

    Backs off at most 3 bytes (the longest continuation run); binary data is cut at most 3 bytes short.
    """
    cut = limit
    while cut > 0 and limit - cut < 3 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut if (data[cut] & 0xC0) != 0x80 else limit


class CappedFile:
    """One stream written to a file unbuffered, so a reader sees output at once; keeps at most `cap` bytes.

    Bytes past the cap are dropped but still read from the pipe, so the job never blocks on a full pipe.
    """

    def __init__(self, path: Path, cap: int):
        self._file = open(path, "wb", buffering=0)  # pylint: disable=consider-using-with  # closed by close()
        self._room = cap
        self.truncated = False

    def write(self, data: bytes) -> None:
        if self.truncated:
            return
        if len(data) > self._room:
            self.truncated = True
            data = data[:utf8_cut(data, self._room)]
        if data:
            self._file.write(data)
            self._room -= len(data)

    def close(self) -> None:
        self._file.close()


class Pump:
    """Moves whatever the job has written from its pipes into their files; call pump() repeatedly."""

    def __init__(self, pipes: dict[int, CappedFile]):
        self._selector = selectors.DefaultSelector()
        for fd, sink in pipes.items():
            self._selector.register(fd, selectors.EVENT_READ, sink)

    @property
    def is_open(self) -> bool:
        return bool(self._selector.get_map())

    def pump(self, timeout: float) -> None:
        """Wait up to `timeout` for output and copy it; a pipe at EOF is closed and forgotten."""
        for key, _ in self._selector.select(timeout):
            data = os.read(key.fd, READ_CHUNK)
            if data:
                key.data.write(data)
            else:
                self._forget(key.fd)

    def close(self) -> None:
        """Stop reading: pipes still held open by stray processes are closed (they get EPIPE)."""
        for fd in list(self._selector.get_map()):
            self._forget(fd)
        self._selector.close()

    def _forget(self, fd: int) -> None:
        self._selector.unregister(fd)
        os.close(fd)


def killpg(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def drain(job, pump: Pump, enforce: Callable[[float], None]) -> int:
    """Copy output until `job` (spawner.Started) has exited and its pipes are closed, calling enforce(now)
    (timeout, cancel) every POLL_SECONDS while it runs; its exit status. The fork server kills the rest of the
    job's process group before it reports the exit, and keeps its pid reserved until the job is released."""
    exited_at = None
    try:
        while exited_at is None or (pump.is_open and time.monotonic() < exited_at + DRAIN_SECONDS):
            if exited_at is None:
                # Pipes usually reach EOF a moment before the exit is reported: waiting on the report instead
                # of sleeping a poll interval saves up to 50 ms on every job.
                if select.select([job], [], [], 0 if pump.is_open else POLL_SECONDS)[0]:
                    job.poll()
                    exited_at = time.monotonic()
                else:
                    enforce(time.monotonic())
            if pump.is_open:
                pump.pump(POLL_SECONDS)
    finally:
        pump.close()
    return job.returncode
