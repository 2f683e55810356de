"""Running one claimed job: stage the work dir, run it in the sandbox, store the result, collect outputs."""

from cynode.dispatch.sandbox import Limits
from cynode.store.records import utcnow

INFERENCE_NOT_CONFIGURED = "[inference not configured] set OLLAMA_BASE_URL or INFERENCE_URL"
SCRIPT_NAME = ".cynode-script"


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


def _result(job, run, stdout: str, stderr: str, status: str) -> dict:
    result = {"version": 1, "task_id": job.task_id, "job_id": job.id, "status": status, "exit_code": run.exit_code,
              "stdout": stdout, "stderr": stderr, "started_at": _iso(run.started_at), "ended_at": _iso(run.ended_at),
              "truncated": {"stdout": run.stdout_truncated, "stderr": run.stderr_truncated}}
    if run.error:
        result["error"] = run.error
    return result


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fail_prompt(dispatcher, job) -> None:
    now = _iso(utcnow())
    dispatcher.store.finish_job(job, "failed", {
        "version": 1, "task_id": job.task_id, "job_id": job.id, "status": "failed", "exit_code": 1, "stdout": "",
        "stderr": INFERENCE_NOT_CONFIGURED, "started_at": now, "ended_at": now,
        "truncated": {"stdout": False, "stderr": False}})


def _run(dispatcher, job, cancel):
    """Stage the work dir (attachments before the first job) and run the job in the sandbox."""
    store, workspace = dispatcher.store, dispatcher.workspace
    attachments = [a for a in store.artifacts_for_task(job.task_id) if a.name.startswith("attachments/")]
    work = workspace.stage(job.task_id, attachments if job.seq == 0 else ())
    limits = limits_for(dispatcher.settings, store.task_by_id(job.task_id).timeout_seconds)
    env = {"CYNODE_TASK_ID": job.task_id, "CYNODE_JOB_ID": job.id}
    return dispatcher.runner.run(_argv(job, work), work, env, limits, workspace.log_path(job.task_id, job.id, "stdout"),
                                 workspace.log_path(job.task_id, job.id, "stderr"), cancel)


def execute(dispatcher, job, cancel) -> None:
    store, workspace = dispatcher.store, dispatcher.workspace
    if job.kind == "prompt":
        _fail_prompt(dispatcher, job)
        return
    run = _run(dispatcher, job, cancel)
    stdout, stderr = (workspace.read_log(job.task_id, job.id, s) for s in ("stdout", "stderr"))
    status = {"completed": "completed", "timeout": "timeout"}.get(run.status, "failed")
    result = _result(job, run, stdout, stderr, status)
    if run.status == "canceled" and dispatcher.stopping:
        result["error"] = "interrupted: the server shut down before the job finished"
    elif run.status == "canceled":
        result["error"] = "canceled"
    if status != "completed" or not store.has_later_jobs(job):
        # The task ends with this job: list its outputs first, so whoever sees it finished also sees them.
        outputs = workspace.collect_outputs(job.task_id, dispatcher.settings.task_max_artifact_files,
                                            dispatcher.settings.task_max_artifact_bytes)
        store.add_artifacts(job.task_id, outputs.artifacts)
        result.update(outputs.result_fields())
    store.finish_job(job, "completed" if status == "completed" else "failed", result)
