"""Task routes through the real app: create (JSON and multipart), list, get, result, cancel, logs, artifacts.

No dispatcher runs here: a test moves jobs along through the store, as the dispatcher would.
"""

import json
import uuid

import pytest

from cynode.contract import MAX_ATTACHMENT_BYTES
from cynode.dispatch.dispatcher import Dispatcher
from cynode.dispatch.sandbox import ProcessRunner
from cynode.server.app import make_app
from cynode.server.deps import Deps
from cynode.server.routes.tasks import content_disposition
from tests.support.server import Backend


def multipart(request: dict | str | None, files=(), extra=()) -> tuple[bytes, str]:
    """A multipart/form-data body: a `request` part, then one `attachments` file part per (name, bytes, type)."""
    boundary = "cynode-test-" + uuid.uuid4().hex
    parts = []
    if request is not None:
        text = request if isinstance(request, str) else json.dumps(request)
        parts.append(f'Content-Disposition: form-data; name="request"\r\n\r\n{text}'.encode())
    for name, data, content_type in files:
        parts.append(f'Content-Disposition: form-data; name="attachments"; filename="{name}"\r\n'
                     f"Content-Type: {content_type}\r\n\r\n".encode() + data)
    for field, value in extra:
        parts.append(f'Content-Disposition: form-data; name="{field}"\r\n\r\n{value}'.encode())
    body = b"".join(f"--{boundary}\r\n".encode() + part + b"\r\n" for part in parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture(name="backend")
def fixture_backend(tmp_path):
    backend = Backend(tmp_path / "data", max_body_bytes=2 << 20)  # room for a prompt over its 1 MiB limit
    yield backend
    backend.close()


def create(alice, **body):
    response = alice("POST", "/v1/tasks", body=body)
    assert response.status == 201, response.body
    return response.json


def test_create_a_prompt_task(alice):
    created = create(alice, prompt="summarise the logs", task_name="My Task!")
    assert (created["status"], created["task_name"], created["summary"], created["input_mode"]) == (
        "queued", "my-task", "my-task", "prompt")
    assert created["id"] == created["task_id"] and created["prompt"] == "summarise the logs"
    assert created["created_at"].endswith("Z") and "attachments" not in created
    assert create(alice, prompt="again", task_name="my task")["task_name"] == "my-task-2"
    assert create(alice, prompt="no name")["task_name"] == "task_name_003"


def test_create_commands_and_script_tasks(alice, backend):
    commands = create(alice, input_mode="commands", commands=["echo a", "echo b"], timeout_seconds=60.0)
    assert (commands["prompt"], commands["timeout_seconds"]) == ("echo a\necho b", 60)
    assert [j.payload for j in backend.store.jobs_for_task(commands["id"])] == [{"command": "echo a"},
                                                                                 {"command": "echo b"}]
    from_prompt = create(alice, input_mode="commands", prompt="ls\n\n  \npwd")
    assert len(backend.store.jobs_for_task(from_prompt["id"])) == 2
    script = create(alice, input_mode="script", prompt="#!/bin/sh\necho hi")
    assert backend.store.jobs_for_task(script["id"])[0].payload == {"script": "#!/bin/sh\necho hi"}


@pytest.mark.parametrize("body, detail", [
    ({}, "Prompt is required"),
    ({"prompt": "   "}, "Prompt is required"),
    ({"prompt": 5}, "prompt must be a string"),
    ({"prompt": "x", "input_mode": "magic"}, "input_mode must be one of: prompt, script, commands"),
    ({"prompt": "x", "commands": ["a"]}, "commands is only valid with input_mode commands"),
    ({"input_mode": "commands"}, "commands is required for input_mode commands"),
    ({"input_mode": "commands", "commands": ["a", ""]}, "commands must be a list of non-empty strings"),
    ({"input_mode": "commands", "commands": "a"}, "commands must be a list of non-empty strings"),
    ({"input_mode": "commands", "commands": ["x"] * 101}, "commands: at most 100"),
    ({"prompt": "x" * (1 << 20) + "x"}, "prompt exceeds 1048576 bytes"),
    ({"input_mode": "commands", "prompt": "x", "commands": ["echo " + "a" * 12_000] * 100},
     "task input (prompt and commands together) exceeds 1048576 bytes"),
    ({"input_mode": "commands", "prompt": "p" * (1 << 19), "commands": ["c" * (1 << 19) + "c"]},
     "task input (prompt and commands together) exceeds 1048576 bytes"),
    ({"prompt": "x", "task_name": 7}, "task_name must be a string"),
    ({"prompt": "x", "timeout_seconds": 0}, "timeout_seconds must be an integer from 1 to 10800"),
    ({"prompt": "x", "timeout_seconds": True}, "timeout_seconds must be an integer from 1 to 10800"),
    ({"prompt": "x", "timeout_seconds": 1.5}, "timeout_seconds must be an integer from 1 to 10800"),
])
def test_create_validation(alice, body, detail):
    response = alice("POST", "/v1/tasks", body=body)
    assert (response.status, response.json["detail"]) == (400, detail)


def test_create_with_attachments(alice, backend):
    body, content_type = multipart({"prompt": "read these", "task_name": "docs"},
                                   [("a.txt", b"alpha", "text/plain"), ("a.txt", b"again", "text/plain"),
                                    ("../../etc/passwd", b"x", "application/octet-stream")])
    response = alice("POST", "/v1/tasks", body=body, headers={"Content-Type": content_type})
    assert response.status == 201, response.body
    created = response.json
    assert created["attachments"] == ["attachments/a-2.txt", "attachments/a.txt", "attachments/passwd"]
    listing = alice("GET", f"/v1/tasks/{created['id']}/artifacts").json
    assert [(a["name"], a["size_bytes"]) for a in listing["artifacts"]] == [
        ("attachments/a-2.txt", 5), ("attachments/a.txt", 5), ("attachments/passwd", 1)]
    first = next(a for a in listing["artifacts"] if a["name"] == "attachments/a.txt")
    download = alice("GET", f"/v1/tasks/docs/artifacts/{first['artifact_id']}")
    assert (download.status, download.body) == (200, b"alpha")
    assert download.header("Content-Disposition") == "attachment; filename=\"a.txt\"; filename*=UTF-8''a.txt"
    assert download.header("Content-Type") == "text/plain"
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        assert alice("GET", f"/v1/tasks/docs/artifacts/{missing}").status == 404
    assert backend.store.task_by_id(created["id"]).name == "docs"


@pytest.mark.parametrize("request_part, files, extra, detail", [
    (None, [], [], "multipart request needs a 'request' part holding the task as JSON"),
    ("{broken", [], [], "request part: Invalid request body"),
    ("[1]", [], [], "request part: Invalid request body"),
    ({"prompt": "x"}, [], [("attachments", "not a file")], "attachments must be file parts"),
    ({"prompt": "x"}, [], [("other", "1")], "multipart body may only hold the parts 'request' and 'attachments'"),
    ({"prompt": "x"}, [(f"f{n}", b"", "text/plain") for n in range(17)], [], "attachments: at most 16 files"),
])
def test_multipart_validation(alice, request_part, files, extra, detail):
    body, content_type = multipart(request_part, files, extra)
    response = alice("POST", "/v1/tasks", body=body, headers={"Content-Type": content_type})
    assert (response.status, response.json["detail"]) == (400, detail)


def test_commands_up_to_the_input_limit_are_accepted_and_a_derived_prompt_is_not_counted_twice(alice):
    commands = ["echo " + "a" * ((1 << 20) // 4 - 5)] * 4  # exactly 1 MiB of commands
    assert alice("POST", "/v1/tasks", body={"input_mode": "commands", "commands": commands}).status == 201
    assert alice("POST", "/v1/tasks", body={"input_mode": "commands", "prompt": "x" * (1 << 19) + "\n" + "y" * 1000
                                            }).status == 201  # commands split from the prompt


@pytest.mark.parametrize("request_part, detail", [
    ('{"prompt": "\\ud800"}', "request part: Invalid request body: text must be valid Unicode"),
    ('{"prompt": "x", "task_name": "a\\u0000b"}', "request part: Invalid request body: NUL characters"),
])
def test_multipart_request_text_that_cannot_be_stored_is_a_400(alice, request_part, detail):
    body, content_type = multipart(request_part)
    response = alice("POST", "/v1/tasks", body=body, headers={"Content-Type": content_type})
    assert response.status == 400 and response.json["detail"].startswith(detail), response.json


def test_a_multipart_body_of_150000_empty_parts_is_refused_at_the_18th(alice):
    body, content_type = multipart({"prompt": "x"}, [("a", b"", "text/plain")] * 150_000)
    response = alice("POST", "/v1/tasks", body=body, headers={"Content-Type": content_type})
    assert (response.status, response.json["detail"]) == (400, "attachments: at most 16 files")


@pytest.mark.parametrize("request_part, extra, detail", [
    ({"prompt": "x"}, [("request", '{"prompt": "y"}')], "multipart body may hold only one 'request' part"),
    ({"prompt": "x" + " " * (8 << 20)}, [], "request part exceeds 8388608 bytes"),
])
def test_one_request_part_of_bounded_size(tmp_path, request_part, extra, detail):
    backend = Backend(tmp_path / "big", max_body_bytes=16 << 20)
    try:
        token = backend.session().access
        body, content_type = multipart(json.dumps(request_part), [], extra)
        response = backend.call("POST", "/v1/tasks", body=body, token=token, headers={"Content-Type": content_type})
        assert (response.status, response.json["detail"]) == (400, detail)
    finally:
        backend.close()


def test_a_prompt_at_its_limit_is_accepted_with_attachments(alice):
    body, content_type = multipart({"prompt": "x" * (1 << 20)}, [("a.txt", b"a", "text/plain")])
    assert alice("POST", "/v1/tasks", body=body, headers={"Content-Type": content_type}).status == 201


def test_list_filters_then_pages(alice, backend):
    made = [create(alice, prompt=f"p{n}", task_name=f"t{n}") for n in range(4)]
    backend.store.cancel_task(made[0]["id"])
    page = alice("GET", "/v1/tasks?limit=2").json
    assert [t["task_name"] for t in page["tasks"]] == ["t3", "t2"]
    assert (page["next_cursor"], page["next_offset"]) == ("2", 2)
    rest = alice("GET", "/v1/tasks?limit=2&cursor=2").json
    assert [t["task_name"] for t in rest["tasks"]] == ["t1", "t0"] and "next_cursor" not in rest
    assert [t["task_name"] for t in alice("GET", "/v1/tasks?status=cancelled").json["tasks"]] == ["t0"]
    assert len(alice("GET", "/v1/tasks?status=pending").json["tasks"]) == 3
    bad = alice("GET", "/v1/tasks?status=done")
    assert (bad.status, bad.json["detail"]) == (400, "status must be one of: queued, running, completed, failed, "
                                                     "canceled")


def test_get_by_id_or_name_and_ownership(alice, backend):
    created = create(alice, prompt="mine", task_name="secret-plan")
    assert alice("GET", f"/v1/tasks/{created['id'].upper()}").json["task_name"] == "secret-plan"
    assert alice("GET", "/v1/tasks/secret-plan").json["id"] == created["id"]
    assert alice("GET", f"/v1/tasks/{uuid.uuid4()}").status == 404
    assert alice("GET", "/v1/tasks/no-such-name").status == 404
    bob = backend.session(backend.add_user("bob")).access
    by_id = backend.call("GET", f"/v1/tasks/{created['id']}", token=bob)
    assert (by_id.status, by_id.json["detail"]) == (403, "Not task owner")
    assert backend.call("GET", "/v1/tasks/secret-plan", token=bob).status == 404  # names never leak
    assert backend.call("GET", "/v1/tasks").status == 401


def test_result_and_logs_follow_the_jobs(alice, backend):
    created = create(alice, input_mode="commands", commands=["echo out", "echo err >&2"], task_name="job")
    queued = alice("GET", "/v1/tasks/job/result").json
    assert (queued["status"], [j["status"] for j in queued["jobs"]]) == ("queued", ["queued", "queued"])
    assert "stdout" not in queued
    first = backend.store.claim_job("w", 60)
    backend.workspace.stage(created["id"], [])
    backend.workspace.log_path(created["id"], first.id, "stdout").write_text("live output\n", encoding="utf-8")
    live = alice("GET", "/v1/tasks/job/logs").json
    assert (live["stdout"], live["stderr"], live["stream"]) == ("live output\n", "", "all")
    backend.store.finish_job(first, "completed", {"stdout": "out\n", "stderr": ""})
    backend.store.finish_job(backend.store.claim_job("w", 60), "completed", {"stdout": "", "stderr": "err\n"})
    result = alice("GET", "/v1/tasks/job/result").json
    assert (result["status"], result["stdout"], result["stderr"]) == ("completed", "out\n", "err\n")
    assert all(set(j) >= {"id", "status", "result", "started_at", "ended_at"} for j in result["jobs"])
    assert alice("GET", "/v1/tasks/job/logs?stream=stdout").json["stderr"] == ""
    assert alice("GET", "/v1/tasks/job/logs?stream=stderr").json["stdout"] == ""
    assert alice("GET", "/v1/tasks/job/logs?stream=both").status == 400


def test_cancel(alice, backend):
    created = create(alice, prompt="long", task_name="long")
    canceled = alice("POST", "/v1/tasks/long/cancel")
    assert canceled.json == {"task_id": created["id"], "task_name": "long", "canceled": True, "status": "canceled"}
    assert alice("POST", "/v1/tasks/long/cancel").status == 200  # canceling again is fine
    done = create(alice, prompt="quick", task_name="quick")
    backend.store.finish_job(backend.store.claim_job("w", 60), "completed", {"stdout": "ok"})
    refused = alice("POST", f"/v1/tasks/{done['id']}/cancel")
    assert (refused.status, refused.json["detail"]) == (409, "Task already completed")


def test_a_task_runs_when_the_dispatcher_takes_it(backend, alice):
    """The whole path in process: create over HTTP, one dispatcher step (its test seam), the result over HTTP."""
    dispatcher = Dispatcher(backend.store, ProcessRunner(), backend.settings, backend.workspace)
    backend.app = make_app(Deps(backend.settings, backend.store, backend.workspace, dispatcher))
    create(alice, input_mode="commands", commands=["echo hello", "echo oops >&2; exit 3"], task_name="run")
    assert dispatcher.run_once() and dispatcher.run_once() and not dispatcher.run_once()
    result = alice("GET", "/v1/tasks/run/result").json
    assert (result["status"], result["stdout"], result["stderr"]) == ("failed", "hello\n", "oops\n")
    queued = create(alice, prompt="later", task_name="later")
    job = backend.store.claim_job("elsewhere", 60)
    assert alice("POST", "/v1/tasks/later/cancel").json["canceled"] is True
    assert backend.store.job_statuses([job.id]) == {job.id: "canceled"} and queued["status"] == "queued"


def test_a_malformed_multipart_body_is_a_400_problem(alice):
    response = alice("POST", "/v1/tasks", body=b"--xyz\r\nno colon here\r\n\r\n{}\r\n--xyz--\r\n",
                     headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert response.status == 400 and response.header("Content-Type") == "application/problem+json"
    assert "header" in response.json["detail"]


def test_an_attachment_over_10_mib_is_refused_and_nothing_is_kept(alice, backend):
    body, content_type = multipart({"prompt": "x"}, [("small.txt", b"ok", "text/plain"),
                                                     ("big.bin", b"\0" * (MAX_ATTACHMENT_BYTES + 1), "x/y")])
    response = alice("POST", "/v1/tasks", body=body, headers={"Content-Type": content_type})
    assert (response.status, response.json["detail"]) == (400, f"attachments/big.bin: exceeds {MAX_ATTACHMENT_BYTES} "
                                                                "bytes")
    assert alice("GET", "/v1/tasks").json["tasks"] == []
    assert not list(backend.workspace.artifact_root.iterdir())


@pytest.mark.parametrize("name, header", [
    ("out/a\r\nX-Evil: 1.txt", "attachment; filename=\"a__X-Evil: 1.txt\"; filename*=UTF-8''a%0D%0AX-Evil%3A%201.txt"),
    ("out/b\\xff \"q\".txt", "attachment; filename=\"b_xff _q_.txt\"; filename*=UTF-8''b%5Cxff%20%22q%22.txt"),
    ("out/r\u00e9sum\u00e9.pdf", "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"),
])
def test_the_download_name_is_escaped_as_rfc_6266_says(name, header):
    assert content_disposition(name) == header
