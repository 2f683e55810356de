"""Collecting the files a job left in out/ as the task's artifacts, as root, from a tree the job controls.

Nothing is followed: the work dir and then out/ are opened with O_NOFOLLOW | O_DIRECTORY, the tree is walked
through directory fds (safetree), and only regular files are copied, each checked (fstat) to be the file the
listing saw. What is kept is bounded: each inode once (a hard link is not a second copy), at most `max_files`
files and `max_bytes` bytes of apparent size per task, holes of sparse files copied as holes, MAX_DEPTH folders
deep. Whatever is left out is listed with the reason, for the job's result.
"""

import errno
import mimetypes
import os
import stat
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cynode.dispatch import safetree

MAX_DEPTH = 32  # folders below out/
MAX_NAME_CHARS = 512  # the artifact name column
MAX_LISTED = 100  # skipped outputs named in the result; the count covers the rest
COPY_CHUNK = 1 << 20


def content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def storable(name: str) -> str:
    """A file name as text that JSON and PostgreSQL can hold: bytes that are not UTF-8 become `\\xNN`."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


@dataclass
class Outputs:
    """What collecting found: the artifacts kept as (artifact_id, name, content_type, size_bytes) tuples, the
    outputs left out ({"name", "reason"}, the first MAX_LISTED of `skipped_count`), and `error` when out/ itself
    could not be used."""

    artifacts: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    skipped_count: int = 0
    error: str | None = None

    def skip(self, name: str, reason: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < MAX_LISTED:
            self.skipped.append({"name": name, "reason": reason})

    def result_fields(self) -> dict:
        """The keys this adds to the job's result: none when everything in out/ was kept."""
        fields = {}
        if self.error:
            fields["artifacts_error"] = self.error
        if self.skipped_count:
            fields["artifacts_skipped"] = self.skipped
            fields["artifacts_skipped_count"] = self.skipped_count
        return fields


def collect(work: Path, target: Path, max_files: int, max_bytes: int) -> Outputs:
    """Copy the regular files under work/out into the directory `target` (created when needed)."""
    found = Outputs()
    try:
        work_fd = safetree.open_dir(work)
    except OSError as exc:
        found.error = f"the work dir cannot be opened ({exc.strerror}): no artifacts collected"
        return found
    try:
        out_fd = _open_out(work_fd, found)
    finally:
        os.close(work_fd)
    if out_fd is None:
        return found
    try:
        _Collector(found, target, max_files, max_bytes).walk(out_fd)
    finally:
        os.close(out_fd)
    return found


def _open_out(work_fd: int, found: Outputs) -> int | None:
    try:
        return safetree.open_dir("out", work_fd)
    except FileNotFoundError:
        found.error = "out does not exist: no artifacts collected"
    except OSError as exc:
        link = exc.errno == errno.ELOOP or stat.S_ISLNK(os.stat("out", dir_fd=work_fd, follow_symlinks=False).st_mode)
        found.error = ("out is a symbolic link, which is never followed: no artifacts collected" if link
                       else "out is not a directory: no artifacts collected")
    return None


def _not_a_file(info: os.stat_result) -> str | None:
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link, which is never followed"
    return None if stat.S_ISREG(info.st_mode) else "not a regular file"


class _Collector:
    """One task's collection: the budget left and the inodes already kept."""

    def __init__(self, found: Outputs, target: Path, max_files: int, max_bytes: int):
        self.found, self.target = found, target
        self.max_files, self.max_bytes = max_files, max_bytes
        self.files_left, self.bytes_left = max_files, max_bytes
        self.kept: dict[tuple[int, int], str] = {}  # (device, inode) -> the name it was kept (or judged) under
        self.names: set[str] = set()

    def walk(self, out_fd: int) -> None:
        try:
            for event, here, _ in safetree.walk(out_fd):
                if event == safetree.ENTER:
                    self._directory(here)
        except safetree.TreeChanged:
            self.found.error = "out changed while it was collected: collection stopped"
        except OSError as exc:
            self.found.error = f"out could not be read completely ({exc.strerror}): collection stopped"

    def _directory(self, here: safetree.Dir) -> None:
        prefix = "/".join(["out", *map(storable, here.path)])
        if len(here.path) >= MAX_DEPTH:
            for name, _ in here.dirs:
                self.found.skip(f"{prefix}/{storable(name)}", f"deeper than {MAX_DEPTH} folders: not collected")
            here.dirs.clear()
        for name, info in here.others:
            self._file(here.fd, name, f"{prefix}/{storable(name)}", info)

    def _file(self, dir_fd: int, name: str, shown: str, info: os.stat_result) -> None:
        reason = self._refusal(shown, info)
        if reason:
            self.found.skip(shown, reason)
            return
        self.names.add(shown)
        self.kept[(info.st_dev, info.st_ino)] = shown
        try:
            item = self._copy(dir_fd, name, shown, info)
        except OSError as exc:
            item = f"could not be read ({exc.strerror})"
        if isinstance(item, str):
            self.found.skip(shown, item)
        else:
            self.found.artifacts.append(item)

    def _refusal(self, shown: str, info: os.stat_result) -> str | None:
        """Why this entry is not kept, judged from its listing; None: copy it."""
        return _not_a_file(info) or self._bad_name(shown) or self._kept_already(info) or self._over_limits(info)

    def _bad_name(self, shown: str) -> str | None:
        if len(shown) > MAX_NAME_CHARS:
            return f"the name is longer than {MAX_NAME_CHARS} characters"
        if shown in self.names:
            return "the same name as another output once made storable"
        return None

    def _kept_already(self, info: os.stat_result) -> str | None:
        first = self.kept.get((info.st_dev, info.st_ino))
        return f"the same file as {first} (a hard link): each file is kept once" if first else None

    def _over_limits(self, info: os.stat_result) -> str | None:
        if not self.files_left:
            return f"over the limit of {self.max_files} files per task"
        return self._over_budget(info.st_size)

    def _over_budget(self, size: int) -> str | None:
        if size <= self.bytes_left:
            return None
        return (f"{size} bytes, over the {self.bytes_left} bytes left of the limit of {self.max_bytes} bytes "
                "per task")

    def _copy(self, dir_fd: int, name: str, shown: str, listed: os.stat_result):
        """(artifact_id, name, content_type, size) of the stored copy, or why it was not stored."""
        source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            info = os.fstat(source)
            if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != (listed.st_dev, listed.st_ino):
                return "it changed while it was collected"
            reason = self._over_budget(info.st_size)
            if reason:
                return reason
            artifact_id = str(uuid.uuid4())
            self.target.mkdir(parents=True, exist_ok=True)
            path = self.target / artifact_id
            copy = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                copy_sparse(source, copy, info.st_size)
            except BaseException:
                path.unlink()
                raise
            finally:
                os.close(copy)
        finally:
            os.close(source)
        self.files_left -= 1
        self.bytes_left -= info.st_size
        return artifact_id, shown, content_type(shown), info.st_size


def copy_sparse(source: int, target: int, size: int) -> None:
    """Copy the first `size` bytes of source to target, holes as holes (SEEK_DATA / SEEK_HOLE)."""
    offset = 0
    while offset < size:
        try:
            data = os.lseek(source, offset, os.SEEK_DATA)
            hole = os.lseek(source, data, os.SEEK_HOLE)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # nothing but a hole up to the end
                break
            data, hole = offset, size  # a file system without SEEK_DATA: copy it all
        hole = min(hole, size)
        while data < hole:
            chunk = os.pread(source, min(COPY_CHUNK, hole - data), data)
            if not chunk:  # it shrank meanwhile
                break
            os.pwrite(target, chunk, data)
            data += len(chunk)
        offset = max(hole, offset + 1) if data >= hole else size
    os.ftruncate(target, size)
