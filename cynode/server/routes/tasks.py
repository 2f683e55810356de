"""Task routes: create, list, get, result, cancel, logs, artifacts. Every single-task route checks ownership."""

import json
import urllib.parse
import uuid

from cynode.contract import MAX_ATTACHMENT_BYTES, TaskStatus, rfc3339
from cynode.server import taskinput
from cynode.server.audit import audit
from cynode.server.auth import authenticate
from cynode.server.deps import Reply
from cynode.server.errors import BadRequest, Conflict, Forbidden, NotFound
from cynode.server.jsonio import is_uuid, page, page_params
from cynode.server.routes.credentials import task_credentials

STREAMS = ("stdout", "stderr", "all")
STATUS_ALIASES = {"pending": "queued", "cancelled": "canceled"}


def task_json(task, attachments=()) -> dict:
    body = {"id": task.id, "task_id": task.id, "status": task.status, "task_name": task.name, "summary": task.name,
            "input_mode": task.input_mode, "prompt": task.prompt, "created_at": rfc3339(task.created_at),
            "updated_at": rfc3339(task.updated_at)}
    if task.timeout_seconds:
        body["timeout_seconds"] = task.timeout_seconds
    names = [a.name for a in attachments if a.name.startswith("attachments/")]
    if names:
        body["attachments"] = names
    return body


def owned_task(deps, req, ref: str):
    """The caller's task by id or name. Another user's id -> 403; names only ever match the caller's own."""
    user = authenticate(deps, req).user
    if is_uuid(ref):
        task = deps.store.task_by_id(ref.lower())
        if task is None:
            raise NotFound("Task not found")
        if task.owner_id != user.id:
            raise Forbidden("Not task owner")
        return task
    task = deps.store.task_by_name(user.id, ref)
    if task is None:
        raise NotFound("Task not found")
    return task


def create_task(deps, req):
    user = authenticate(deps, req).user
    spec = taskinput.parse(req, deps.settings.job_max_timeout_seconds)
    if spec.credentials:  # ids only: jobs get the secrets at run time, never through the payload
        credential_ids = task_credentials(deps, user, spec.credentials)
        spec.jobs = [(kind, {**payload, "credentials": credential_ids}) for kind, payload in spec.jobs]
    task_id = str(uuid.uuid4())
    attachments = []
    try:
        for upload, filename in zip(spec.uploads, taskinput.upload_names(spec.uploads)):
            artifact_id = str(uuid.uuid4())
            name = "attachments/" + filename
            try:
                size = deps.workspace.save_upload(task_id, artifact_id, upload.file, MAX_ATTACHMENT_BYTES)
            except ValueError:
                raise BadRequest(f"{name}: exceeds {MAX_ATTACHMENT_BYTES} bytes") from None
            attachments.append((artifact_id, name, upload.content_type or "application/octet-stream", size))
        task = deps.store.create_task(user.id, spec.name, spec.input_mode, spec.prompt, spec.jobs,
                                      timeout_seconds=spec.timeout_seconds, attachments=attachments,
                                      task_id=task_id)
    except BaseException:
        deps.workspace.discard_task(task_id)
        raise
    deps.wake_dispatcher()
    audit(deps, req, "task.create", "task", task.id, details={"input_mode": task.input_mode})
    # Just created, so its only artifacts are the uploads: no need to read them back.
    return Reply(201, task_json(task, deps.store.artifacts_for_task(task.id) if attachments else ()))


def list_tasks(deps, req):
    user = authenticate(deps, req).user
    limit, offset = page_params(req.query)
    status = req.query.get("status") or None
    status = STATUS_ALIASES.get(status, status)
    if status is not None and status not in {s.value for s in TaskStatus}:
        raise BadRequest("status must be one of: " + ", ".join(s.value for s in TaskStatus))
    tasks = deps.store.list_tasks(user.id, status, limit + 1, offset)
    body = page([task_json(t) for t in tasks], limit, offset, "tasks")
    if "next_cursor" in body:
        body["next_offset"] = offset + limit
    return body


def get_task(deps, req, ref):
    task = owned_task(deps, req, ref)
    return task_json(task, deps.store.artifacts_for_task(task.id))


def _job_output(deps, job) -> tuple[str, str]:
    """A job's stdout/stderr: the stored result once it has one, else the live log files since it started."""
    if job.result:
        data = json.loads(job.result)
        return data.get("stdout") or "", data.get("stderr") or ""
    if job.started_at:  # running, or canceled and still being killed: its log files hold the output so far
        return (deps.workspace.read_log(job.task_id, job.id, "stdout"),
                deps.workspace.read_log(job.task_id, job.id, "stderr"))
    return "", ""


def _output(deps, jobs) -> tuple[str, str]:
    outputs = [_job_output(deps, job) for job in jobs]
    return "".join(o for o, _ in outputs), "".join(e for _, e in outputs)


def get_result(deps, req, ref):
    task = owned_task(deps, req, ref)
    jobs = deps.store.jobs_for_task(task.id)
    body = {"task_id": task.id, "task_name": task.name, "status": task.status, "jobs": []}
    for job in jobs:
        item = {"id": job.id, "status": job.status}
        if job.result:
            item["result"] = job.result
        for key in ("started_at", "ended_at"):
            if getattr(job, key):
                item[key] = rfc3339(getattr(job, key))
        body["jobs"].append(item)
    if TaskStatus(task.status).terminal:
        body["stdout"], body["stderr"] = _output(deps, jobs)
    return body


def cancel_task(deps, req, ref):
    task = owned_task(deps, req, ref)
    before, running = deps.store.cancel_task(task.id)
    if before in ("completed", "failed"):
        raise Conflict(f"Task already {before}")
    deps.cancel_jobs(running)
    audit(deps, req, "task.cancel", "task", task.id, details={"status_before": before})
    return {"task_id": task.id, "task_name": task.name, "canceled": True, "status": "canceled"}


def get_logs(deps, req, ref):
    task = owned_task(deps, req, ref)
    stream = req.query.get("stream") or "all"
    if stream not in STREAMS:
        raise BadRequest("stream must be one of: stdout, stderr, all")
    stdout, stderr = _output(deps, deps.store.jobs_for_task(task.id))
    return {"task_id": task.id, "task_name": task.name, "stream": stream,
            "stdout": stdout if stream != "stderr" else "", "stderr": stderr if stream != "stdout" else ""}


def _artifact_json(artifact) -> dict:
    return {"artifact_id": artifact.id, "name": artifact.name, "content_type": artifact.content_type,
            "size_bytes": artifact.size_bytes, "created_at": rfc3339(artifact.created_at)}


def list_artifacts(deps, req, ref):
    task = owned_task(deps, req, ref)
    return {"task_id": task.id, "task_name": task.name,
            "artifacts": [_artifact_json(a) for a in deps.store.artifacts_for_task(task.id)]}


def get_artifact(deps, req, ref, artifact_id):
    task = owned_task(deps, req, ref)
    artifact = deps.store.artifact(task.id, artifact_id.lower()) if is_uuid(artifact_id) else None
    if artifact is None:
        raise NotFound("Artifact not found")
    return Reply(200, deps.workspace.artifact_path(task.id, artifact.id), {
        "Content-Type": artifact.content_type, "Content-Disposition": content_disposition(artifact.name)})


def content_disposition(name: str) -> str:
    """`attachment` with the file's last name component (RFC 6266): a plain-ASCII `filename` fallback (anything
    else, quotes and backslashes as "_") and the exact name as RFC 5987 `filename*`, percent-encoded UTF-8.
    No byte of the name reaches the header unescaped, so a CR/LF in a name cannot add a header."""
    filename = name.rsplit("/", 1)[-1]
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    exact = urllib.parse.quote(filename.encode("utf-8", "backslashreplace"), safe="!#$&+^`|")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


ROUTES = [
    ("POST", "/v1/tasks", create_task),
    ("GET", "/v1/tasks", list_tasks),
    ("GET", "/v1/tasks/<ref>", get_task),
    ("GET", "/v1/tasks/<ref>/result", get_result),
    ("POST", "/v1/tasks/<ref>/cancel", cancel_task),
    ("GET", "/v1/tasks/<ref>/logs", get_logs),
    ("GET", "/v1/tasks/<ref>/artifacts", list_artifacts),
    ("GET", "/v1/tasks/<ref>/artifacts/<artifact_id>", get_artifact),
]
