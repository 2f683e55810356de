"""Where a task's files live under the data dir: work dirs, live logs, stored artifacts.

  <data>/work/<task>/          the job's only writable place: attachments/ staged in, out/ collected after
  <data>/logs/<task>/<job>.*   stdout/stderr while a job runs (outside the work dir: the job cannot edit them)
  <data>/artifacts/<task>/<id> attachment and output bytes, kept after the work dir is removed

The data dir is 0711 (enter, not list) so an unprivileged job user can reach its own work dir, while the
database, logs and artifacts stay root-only (0700 dirs, 0600 files via the server's umask 077).
"""

import os
import shutil
from contextlib import suppress
from pathlib import Path

from cynode.dispatch import safetree
from cynode.dispatch.outputs import COPY_CHUNK, Outputs, collect


class TooLarge(ValueError):
    """An upload went over its size limit."""


class Workspace:
    """Paths and file moves under one data dir."""

    def __init__(self, data_dir: str):
        self.root = Path(data_dir)
        self.work_root = self.root / "work"
        self.log_root = self.root / "logs"
        self.artifact_root = self.root / "artifacts"

    def prepare(self) -> None:
        for path, mode in ((self.root, 0o711), (self.work_root, 0o711), (self.log_root, 0o700),
                           (self.artifact_root, 0o700)):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(mode)

    def closed_ancestor(self) -> Path | None:
        """The first directory above the work dirs that other users cannot enter, if any. Jobs the plain
        process runner starts as an unprivileged user could not reach their work dir through it."""
        for folder in reversed(self.work_root.resolve().parents):
            if not folder.stat().st_mode & 0o001:
                return folder
        return None

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
