"""Prompt jobs: the prompt goes to the inference backend as one user message with the configured model, and the
answer streams into the job's stdout log as it arrives (capped like a command's output), so the task's logs show
it growing; the whole of it becomes the result's stdout.

Every way it can end is data: the backend's errors, timeouts and refused connections fail the job with the
client's message on stderr (it names the backend's URL and the cause, never the API key); cancel and the task's
timeout close the upstream request at once, as they kill a command's processes.
"""

import threading
from contextlib import closing

from cynode.contract import TaskStatus
from cynode.dispatch.capture import CappedFile
from cynode.dispatch.outcome import Outcome
from cynode.inference.client import Canceled, InferenceError
from cynode.store.records import utcnow

INFERENCE_NOT_CONFIGURED = "[inference not configured] set CYNODE_INFERENCE_URL"


class _Deadline:
    """The task's timeout: when it passes, the job's cancel switch is set and `passed` says why."""

    def __init__(self, seconds: float, cancel: threading.Event):
        self.passed = False
        self._cancel = cancel
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.passed = True
        self._cancel.set()

    def stop(self) -> None:
        self._timer.cancel()


def _answer(client, prompt: str, stdout: CappedFile, cancel: threading.Event,
            model: str | None) -> tuple[TaskStatus, int, str]:
    """Stream the answer into `stdout`: (how it ended, exit code, what to say on stderr). `model` None: the
    client's configured one."""
    if client is None:
        return TaskStatus.FAILED, 1, INFERENCE_NOT_CONFIGURED
    try:
        with closing(client.stream([{"role": "user", "content": prompt}], model=model, cancel=cancel)) as pieces:
            for piece in pieces:
                stdout.write(piece.encode("utf-8"))
                if stdout.truncated:
                    break  # the rest would be discarded: closing the stream stops the backend generating it
    except Canceled:
        return TaskStatus.CANCELED, -1, ""
    except InferenceError as exc:
        return TaskStatus.FAILED, 1, str(exc)
    return TaskStatus.COMPLETED, 0, ""


def run_prompt(dispatcher, job, cancel: threading.Event) -> Outcome:
    """Ask the dispatcher's inference client (None: not configured, the job fails at once)."""
    workspace, settings = dispatcher.workspace, dispatcher.settings
    workspace.stage(job.task_id, ())  # the log dir, and an (empty) out/ like every task's
    started = utcnow()
    sinks = [CappedFile(workspace.log_path(job.task_id, job.id, stream), settings.job_max_output_bytes)
             for stream in ("stdout", "stderr")]
    deadline = _Deadline(job.timeout_seconds
                         or settings.job_default_timeout_seconds, cancel)
    try:
        # The admins' model setting, read per job, so a change applies to the next prompt without a restart.
        model = dispatcher.store.model_override() if dispatcher.inference else None
        status, code, complaint = _answer(dispatcher.inference, job.payload["prompt"], sinks[0], cancel, model)
        sinks[1].write(complaint.encode("utf-8"))
    finally:
        deadline.stop()
        for sink in sinks:
            sink.close()
    timed_out = status is TaskStatus.CANCELED and deadline.passed
    return Outcome(TaskStatus.FAILED if timed_out else status, code,
                   workspace.read_log(job.task_id, job.id, "stdout"), workspace.read_log(job.task_id, job.id, "stderr"),
                   sinks[0].truncated, sinks[1].truncated, started, utcnow(), timed_out=timed_out)
