"""Where a task's files live under the data dir: work dirs, live logs, stored artifacts.

  <data>/work/<task>/          the job's only writable place: attachments/ staged in, out/ collected after
  <data>/logs/<task>/<job>.*   stdout/stderr while a job runs (outside the work dir: the job cannot edit them)
  <data>/artifacts/<task>/<id> attachment and output bytes, kept after the work dir is removed

  <work root>/<task>/          the work dirs themselves, when a work root is set or needed (see below)

Job users must be able to walk the path to their own work dir and nothing else: the work root is 0711 (enter,
not list) and owned by the server, each work dir 0700 and owned by the job's uid while it runs. The data dir
is 0711 only when the work root lies inside it, else 0700; the database, logs and artifacts stay private to the
server (0700 dirs, 0600 files via the server's umask 077). A root server whose data dir sits under a directory
others cannot enter (root's ~/.local/share) keeps its work dirs under /var/lib/cynode/work/<id> instead.
"""

import hashlib
import os
import shutil
import stat
from contextlib import suppress
from pathlib import Path

from cynode.dispatch import safetree
from cynode.dispatch.outputs import COPY_CHUNK, Outputs, collect

SHARED_WORK_ROOT = Path("/var/lib/cynode/work")


class TooLarge(ValueError):
    """An upload went over its size limit."""


class UnreachableWorkRoot(ValueError):
    """Job users could not reach their work dirs under this work root; the message says why."""


def closed_ancestor(path: Path) -> Path | None:
    """The first existing directory above `path` that other users cannot enter, if any (missing ones will be
    created enterable)."""
    for folder in reversed(path.parents):
        if folder.exists() and not folder.stat().st_mode & 0o001:
            return folder
    return None


def work_root_for(data_dir: str, work_root: str | None, jobs_walk_paths: bool) -> Path:
    """Where work dirs go: the setting, else <data dir>/work, unless job users walk host paths to their work
    dir (root's process runner) and cannot enter the data dir's parents: then /var/lib/cynode/work/<id>, the
    id taken from the data dir so that servers on one host never share one."""
    if work_root:
        root = Path(work_root)
        closed = closed_ancestor(root) if jobs_walk_paths else None
        if closed:
            raise UnreachableWorkRoot(f"work_root {root}: job users cannot enter {closed}; chmod o+x it or choose "
                                      "another work_root")
        return root
    inside = Path(data_dir).resolve() / "work"
    if jobs_walk_paths and closed_ancestor(inside):
        return SHARED_WORK_ROOT / hashlib.sha256(str(inside.parent).encode()).hexdigest()[:16]
    return inside


def take_back(workdir: Path) -> None:
    """A work dir belongs to the server again (0700), so a later job given the same uid (they are reused, after
    a restart too) cannot reach what an earlier one left in it."""
    try:
        fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return  # the job never started
    try:
        os.fchown(fd, os.geteuid(), os.getegid())
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)


def _reachable_dirs(path: Path) -> None:
    """mkdir -p with every created level 0711, whatever the umask: job users must pass through them."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        folder.chmod(0o711)


class Workspace:
    """Paths and file moves under one data dir (and its work root)."""

    def __init__(self, data_dir: str, work_root: Path | None = None):
        self.root = Path(data_dir)
        self.work_root = Path(work_root) if work_root else self.root / "work"
        self.log_root = self.root / "logs"
        self.artifact_root = self.root / "artifacts"

    def prepare(self) -> None:
        inside = self.root.resolve() in self.work_root.resolve().parents
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711 if inside else 0o700)
        _reachable_dirs(self.work_root)
        info = os.lstat(self.work_root)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            raise UnreachableWorkRoot(f"work_root {self.work_root} must be a directory owned by uid {os.geteuid()}")
        self.work_root.chmod(0o711)
        for path in (self.log_root, self.artifact_root):
            path.mkdir(exist_ok=True)
            path.chmod(0o700)
        self._close_work_dirs()

    def _close_work_dirs(self) -> None:
        """Work dirs a crashed server left with a job uid go back to us (0700): job uids are reused."""
        with os.scandir(self.work_root) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_uid != os.geteuid():
                    take_back(Path(entry.path))

    def work_dir(self, task_id: str) -> Path:
        return self.work_root / task_id

    def log_path(self, task_id: str, job_id: str, stream: str) -> Path:
        return self.log_root / task_id / f"{job_id}.{stream}"

    def artifact_path(self, task_id: str, artifact_id: str) -> Path:
        return self.artifact_root / task_id / artifact_id

    def save_upload(self, task_id: str, artifact_id: str, source, limit: int) -> int:
        """Stream an uploaded file to artifact storage; over `limit` bytes -> TooLarge (nothing kept)."""
        target = self.artifact_path(task_id, artifact_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        with open(target, "wb") as out:
            while chunk := source.read(COPY_CHUNK):
                size += len(chunk)
                if size > limit:
                    out.close()
                    target.unlink()
                    raise TooLarge(f"exceeds {limit} bytes")
                out.write(chunk)
        return size

    def discard_task(self, task_id: str) -> None:
        """Remove everything of a task that was never created (a failed upload)."""
        shutil.rmtree(self.artifact_root / task_id, ignore_errors=True)

    def stage(self, task_id: str, attachments) -> Path:
        """Create the work dir (attachments/ and out/) and copy the task's attachments in."""
        work = self.work_dir(task_id)
        work.mkdir(parents=True, exist_ok=True)
        for folder in ("attachments", "out"):
            with suppress(FileExistsError):  # left by an earlier job of the task, maybe as a symlink: not followed
                os.mkdir(work / folder)
        (self.log_root / task_id).mkdir(mode=0o700, exist_ok=True)
        for item in attachments:
            shutil.copyfile(self.artifact_path(task_id, item.id), work / item.name)
        return work

    def collect_outputs(self, task_id: str, max_files: int, max_bytes: int) -> Outputs:
        """Copy the regular files under the work dir's out/ into artifact storage (see outputs.collect)."""
        return collect(self.work_dir(task_id), self.artifact_root / task_id, max_files, max_bytes)

    def read_log(self, task_id: str, job_id: str, stream: str) -> str:
        try:
            return self.log_path(task_id, job_id, stream).read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def remove_work(self, task_id: str) -> bool:
        """Remove a task's work dir and live logs, never following what a job planted; True when both are gone."""
        return all([safetree.remove(self.work_dir(task_id)), safetree.remove(self.log_root / task_id)])

    def work_task_ids(self) -> list[str]:
        return [entry.name for entry in os.scandir(self.work_root)] if self.work_root.exists() else []
