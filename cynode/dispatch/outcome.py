"""How a job ended, whatever its kind (command, script, prompt): one type, and the one place its stored result
JSON (spec/gateway.md §5) is built.

An Outcome's `status` is the job's own end in the task vocabulary (completed, failed, canceled); `timed_out`
says a failure was the job's timeout. The result's `status` (completed | failed | timeout) follows from both.
"""

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from cynode.contract import ResultStatus, TaskStatus, rfc3339

RESULT_VERSION = 1
ENDS = (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELED)
CANCELED = "canceled"
SHUT_DOWN = "interrupted: the server shut down before the job finished"
RESTARTED = "interrupted: server restarted while the job was running"
LEASE_EXPIRED = "interrupted: the server running the job stopped (its lease expired)"
CRASHED = "internal error while running the job"


@dataclass(frozen=True)
class Outcome:  # pylint: disable=too-many-instance-attributes  # the fields of spec/gateway.md §5.1
    """What one job produced. An outcome without `started_at` is a dispatch error: the job never ran properly,
    and its result is the short §5.2 form `{version, status: failed, error}`."""

    status: TaskStatus
    exit_code: int = -1
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None
    timed_out: bool = False
    extra: dict = field(default_factory=dict)  # runner-specific keys passed through (artifacts_*)

    def __post_init__(self):
        object.__setattr__(self, "status", TaskStatus(self.status))  # "failed" works too; `is` checks hold
        if self.status not in ENDS:
            raise ValueError(f"a job cannot end {self.status.value!r}")

    @classmethod
    def dispatch_error(cls, error: str) -> "Outcome":
        """A job that never ran properly: the server crashed or restarted under it, or running it raised."""
        return cls(TaskStatus.FAILED, error=error)

    def but(self, **changes) -> "Outcome":
        return dataclasses.replace(self, **changes)

    @property
    def result_status(self) -> ResultStatus:
        if self.status is TaskStatus.COMPLETED:
            return ResultStatus.COMPLETED
        return ResultStatus.TIMEOUT if self.timed_out else ResultStatus.FAILED

    @property
    def job_status(self) -> str:
        """What the job row becomes: completed or failed. A job canceled by its user is already `canceled` in the
        database, and the store's guarded write keeps it so; one canceled by a shutdown ends failed."""
        return (TaskStatus.COMPLETED if self.status is TaskStatus.COMPLETED else TaskStatus.FAILED).value

    def result(self, task_id: str | None = None, job_id: str | None = None) -> dict:
        """The job's result as stored and returned."""
        if self.started_at is None:
            return {"version": RESULT_VERSION, "status": self.result_status.value, "error": self.error}
        result = {"version": RESULT_VERSION, "task_id": task_id, "job_id": job_id, "status": self.result_status.value,
                  "exit_code": self.exit_code, "stdout": self.stdout, "stderr": self.stderr,
                  "started_at": rfc3339(self.started_at), "ended_at": rfc3339(self.ended_at or self.started_at),
                  "truncated": {"stdout": self.stdout_truncated, "stderr": self.stderr_truncated}}
        if self.error:
            result["error"] = self.error
        result.update(self.extra)
        return result
