"""Running one claimed job: a table from job kind to the code that runs it (commands and scripts in the sandbox,
prompts with the inference client), each ending in an Outcome; then outputs are collected and the result stored."""

import logging

from cynode.contract import TaskStatus
from cynode.dispatch.jobcreds import CredentialUnavailable, credential_env
from cynode.dispatch.outcome import CANCELED, SHUT_DOWN, Outcome
from cynode.dispatch.prompt import run_prompt
from cynode.dispatch.sandbox import Limits

LOG = logging.getLogger("cynode.dispatch")
SCRIPT_NAME = ".cynode-script"
# RunResult.status -> (the job's end, whether that was its timeout)
RUN_ENDS = {"completed": (TaskStatus.COMPLETED, False), "failed": (TaskStatus.FAILED, False),
            "timeout": (TaskStatus.FAILED, True), "canceled": (TaskStatus.CANCELED, False)}


def limits_for(settings, task_timeout: int | None) -> Limits:
    return Limits(timeout_seconds=task_timeout or settings.job_default_timeout_seconds,
                  max_output_bytes=settings.job_max_output_bytes, memory_bytes=settings.job_memory_bytes,
                  max_processes=settings.job_max_processes, file_size_bytes=settings.job_file_size_bytes,
                  cpu_seconds=settings.job_cpu_seconds, kill_grace_seconds=settings.job_kill_grace_seconds)


def _argv(job, work) -> list[str]:
    """What to execute. A script with a shebang runs as a file, so `#!/usr/bin/env python3` works."""
    if job.kind == "script" and job.payload["script"].startswith("#!"):
        path = work / SCRIPT_NAME
        path.write_text(job.payload["script"], encoding="utf-8")
        path.chmod(0o755)
        return ["./" + SCRIPT_NAME]
    return ["sh", "-c", job.payload.get("script") or job.payload["command"]]


def run_process(dispatcher, job, cancel) -> Outcome:
    """A command or script: stage the work dir (attachments before the first job) and run it in the sandbox."""
    store, workspace = dispatcher.store, dispatcher.workspace
    env = {"CYNODE_TASK_ID": job.task_id, "CYNODE_JOB_ID": job.id}
    try:  # checked again now: a credential disabled while the task waited is not handed out
        env.update(credential_env(store, dispatcher.secretbox, job.payload.get("credentials", ()), job.owner_id))
    except CredentialUnavailable as exc:
        return Outcome.dispatch_error(str(exc))
    work = workspace.stage(job.task_id, job.attachments)  # the claim read them (first job of a task only)
    limits = limits_for(dispatcher.settings, job.timeout_seconds)
    run = dispatcher.runner.run(_argv(job, work), work, env, limits, workspace.log_path(job.task_id, job.id, "stdout"),
                                workspace.log_path(job.task_id, job.id, "stderr"), cancel)
    status, timed_out = RUN_ENDS[run.status]
    return Outcome(status, run.exit_code, workspace.read_log(job.task_id, job.id, "stdout"),
                   workspace.read_log(job.task_id, job.id, "stderr"), run.stdout_truncated, run.stderr_truncated,
                   run.started_at, run.ended_at, run.error, timed_out)


KINDS = {"command": run_process, "script": run_process, "prompt": run_prompt}


def execute(dispatcher, job, cancel) -> None:
    """Run a claimed job (a ClaimedJob) by its kind and store its result; raises only on a bug or a broken data
    dir."""
    workspace = dispatcher.workspace
    outcome = KINDS[job.kind](dispatcher, job, cancel)
    if outcome.status is TaskStatus.CANCELED:
        outcome = outcome.but(error=SHUT_DOWN if dispatcher.stopping else CANCELED)
    artifacts = ()
    if outcome.status is not TaskStatus.COMPLETED or not job.has_later:
        # The task ends with this job: its outputs are stored in the transaction that finishes it, so whoever
        # sees it finished also sees them.
        outputs = workspace.collect_outputs(job.task_id, dispatcher.settings.task_max_artifact_files,
                                            dispatcher.settings.task_max_artifact_bytes)
        artifacts = outputs.artifacts
        outcome = outcome.but(extra=outputs.result_fields())
    if dispatcher.finish(job, outcome.job_status, outcome.result(job.task_id, job.id), artifacts) is None:
        LOG.warning("job %s (attempt %d): result refused: its lease was revoked after it ran out, and the job was "
                    "failed meanwhile", job.id, job.attempt)
