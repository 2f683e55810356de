"""`task ...` in process against the real gateway (which runs no jobs here: tasks stay queued until canceled)."""

import json
import os

import pytest

UUID_LEN = 36


@pytest.fixture(name="user")
def fixture_user(cli, server, request):
    """cli(...) as a fresh user of the module's gateway, so names and listings start empty."""
    token = server.session(server.add_user(f"u{abs(hash(request.node.nodeid)) % 10 ** 8}")).access

    def run(*argv, **kwargs):
        return cli(*argv, env={"CYNORK_TOKEN": token, **kwargs.pop("env", {})}, **kwargs)

    return run


def _ok(result):
    assert result.code == 0, result
    return result


def test_create_get_list_and_result_by_id_and_by_name(user):
    created = _ok(user("task", "create", "--command", "echo a", "--command", "echo b", "--name", "My Job"))
    task_id = created.stdout.split()[0].removeprefix("task_id=")
    assert created.stdout == f"task_id={task_id} task_name=my-job\n" and len(task_id) == UUID_LEN
    for ref in (task_id, "my-job"):
        assert _ok(user("task", "get", ref)).stdout == f"task_id={task_id} status=queued task_name=my-job\n"
        assert _ok(user("task", "result", ref)).stdout == f"task_id={task_id} status=queued task_name=my-job\n"
    task = _ok(user("-o", "json", "task", "get", "my-job")).json
    assert list(task)[:3] == ["task_id", "status", "task_name"] and "id" not in task
    assert (task["input_mode"], task["prompt"]) == ("commands", "echo a\necho b")
    assert _ok(user("-o", "json", "task", "result", "my-job")).json == {
        "task_id": task_id, "status": "queued", "task_name": "my-job", "jobs": task_jobs(user, "my-job")}
    assert _ok(user("task", "list")).stdout == f"task_id={task_id} status=queued task_name=my-job\n"


def task_jobs(user, ref):
    return _ok(user("-o", "json", "task", "result", ref)).json["jobs"]


def test_create_json_and_list_paging(user):
    made = [_ok(user("-o", "json", "task", "create", "-p", f"question {n}")).json for n in range(3)]
    assert all(list(task) == ["task_id", "task_name", "status"] and task["status"] == "queued" for task in made)
    first = _ok(user("-o", "json", "task", "list", "-l", "2")).json
    assert list(first) == ["tasks", "next_cursor"] and len(first["tasks"]) == 2 and first["next_cursor"]
    rest = _ok(user("-o", "json", "task", "list", "--limit=2", "--cursor", first["next_cursor"])).json
    assert rest["next_cursor"] == "" and len(rest["tasks"]) == 1
    seen = {task["task_id"] for task in first["tasks"] + rest["tasks"]}
    assert seen == {task["task_id"] for task in made}
    assert _ok(user("-o", "json", "task", "list", "--status", "running")).json == {"tasks": [], "next_cursor": ""}
    assert _ok(user("task", "list", "--status", "completed")).stdout == ""


@pytest.mark.parametrize("argv, message", [
    (["task", "list", "-l", "0"], "--limit must be a whole number from 1 to 200, got '0'"),
    (["task", "list", "-l", "201"], "--limit must be a whole number from 1 to 200, got '201'"),
    (["task", "watch", "t", "-n", "soon"], "--interval must be a duration such as 500ms, 2s or 1m30s, got 'soon'"),
])
def test_bad_flag_values_are_usage_errors_before_the_token(cli, argv, message):
    result = cli(*argv)
    assert (result.code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")


def test_without_a_token_every_command_exits_3(cli):
    for argv in (["task", "list"], ["task", "get", "x"], ["task", "cancel", "x"], ["task", "create", "-p", "x"]):
        result = cli(*argv)
        assert (result.code, result.stdout) == (3, ""), result
        assert result.stderr == "Error: not logged in: run 'cynode cli auth login' or set CYNORK_TOKEN\n"


def test_cancel_asks_and_only_y_proceeds(user):
    _ok(user("task", "create", "-p", "x", "--name", "c"))
    for answer in ("", "n\n", "yes\n", "Y es\n"):
        result = _ok(user("task", "cancel", "c", stdin=answer))
        assert (result.stdout, result.stderr) == ("", "Cancel task c? [y/N] \n")
    assert "status=queued" in _ok(user("task", "get", "c")).stdout
    result = _ok(user("task", "cancel", "c", stdin=" Y \n"))
    assert result.stdout.endswith(" canceled=true task_name=c\n")
    again = _ok(user("-o", "json", "task", "cancel", "c", "--yes")).json
    assert list(again) == ["task_id", "canceled", "task_name"] and again["canceled"] is True


def test_a_canceled_task_has_an_empty_result_and_logs(user):
    _ok(user("task", "create", "--command", "true", "--name", "k"))
    _ok(user("task", "cancel", "k", "-y"))
    assert _ok(user("task", "result", "k", "--wait")).stdout.endswith(" status=canceled task_name=k stdout=\"\" "
                                                                      "stderr=\"\"\n")
    assert _ok(user("task", "logs", "k")).stdout == ""
    logs = _ok(user("-o", "json", "task", "logs", "k", "--stream", "stderr")).json
    assert logs == {"task_id": logs["task_id"], "task_name": "k", "stream": "stderr", "lines": []}
    assert _ok(user("task", "logs", "k", "--follow")).stdout == ""
    watched = _ok(user("-o", "json", "task", "watch", "k")).json
    assert (watched["status"], watched["stdout"], watched["stderr"]) == ("canceled", "", "")
    table = _ok(user("-q", "task", "watch", "k", "-n", "10ms")).stdout
    assert table.startswith("task_id=") and "\x1b" not in table
    assert _ok(user("task", "watch", "k", "--no-clear")).stdout.startswith("Every 2s: cynode cli task result k  ")


def test_unknown_tasks_exit_4(user):
    for argv in (["task", "get", "nope"], ["task", "result", "nope"], ["task", "logs", "nope"],
                 ["task", "cancel", "nope", "-y"], ["task", "artifacts", "list", "nope"]):
        result = user(*argv)
        assert (result.code, result.stdout, result.stderr) == (4, "", "Error: 404 Not Found: Task not found\n")


def test_attachments_are_uploaded_listed_and_fetched(user, tmp_path):
    data = os.urandom(200_000)
    (tmp_path / "blob.bin").write_bytes(data)
    (tmp_path / "note.txt").write_text("hello\n")
    _ok(user("task", "create", "--command", "ls", "-a", str(tmp_path / "blob.bin"), "--attach",
             str(tmp_path / "note.txt"), "--name", "up"))
    listing = _ok(user("-o", "json", "task", "artifacts", "list", "up")).json
    assert list(listing) == ["task_id", "task_name", "artifacts"]
    rows = {item["name"]: item for item in listing["artifacts"]}
    assert {name: (item["content_type"], item["size_bytes"]) for name, item in rows.items()} == {
        "attachments/blob.bin": ("application/octet-stream", 200_000), "attachments/note.txt": ("text/plain", 6)}
    assert all(list(item)[:4] == ["artifact_id", "name", "content_type", "size_bytes"] for item in rows.values())
    table = _ok(user("task", "artifacts", "list", "up")).stdout.splitlines()
    assert table[0] == "artifact_id\tname\tcontent_type\tsize_bytes" and len(table) == 3
    blob = rows["attachments/blob.bin"]["artifact_id"]
    out = tmp_path / "new" / "dir" / "blob.bin"
    result = _ok(user("task", "artifacts", "get", "up", blob, "--out", str(out)))
    assert result.stdout == f"saved=true path={out}\n" and out.read_bytes() == data
    again = user("task", "artifacts", "get", "up", blob, "--out", str(out))
    assert (again.code, again.stderr) == (2, f"Error: {out} already exists (use --force)\n")
    out.write_bytes(b"old")
    forced = _ok(user("-o", "json", "task", "artifacts", "get", "up", blob, "--out", str(out), "--force")).json
    assert forced == {"saved": True, "path": str(out)} and out.read_bytes() == data
    assert sorted(os.listdir(out.parent)) == ["blob.bin"]


def test_a_download_that_cannot_be_written_exits_8_and_leaves_nothing(user, tmp_path):
    (tmp_path / "a.txt").write_text("a")
    _ok(user("task", "create", "-p", "x", "-a", str(tmp_path / "a.txt"), "--name", "w"))
    artifact = _ok(user("-o", "json", "task", "artifacts", "list", "w")).json["artifacts"][0]["artifact_id"]
    result = user("task", "artifacts", "get", "w", artifact, "--out", str(tmp_path / "a.txt" / "b.txt"))
    assert (result.code, result.stdout) == (8, "") and result.stderr.startswith(f"Error: write {tmp_path}/a.txt/b.txt:")
    (tmp_path / "dir").mkdir()
    result = user("task", "artifacts", "get", "w", artifact, "--out", str(tmp_path / "dir"), "--force")
    assert result.code == 8, result
    assert os.listdir(tmp_path / "dir") == []
    missing = user("task", "artifacts", "get", "w", "00000000-0000-4000-8000-000000000000", "--out",
                   str(tmp_path / "c.txt"))
    assert (missing.code, missing.stderr) == (4, "Error: 404 Not Found: Artifact not found\n")
    assert not (tmp_path / "c.txt").exists()


def test_results_without_gateway_text_are_built_from_the_jobs():
    from cynode.cli.taskview import result_json  # pylint: disable=import-outside-toplevel

    jobs = [{"id": "1", "status": "completed", "result": json.dumps({"stdout": "a\n", "stderr": "e"})},
            {"id": "2", "status": "completed"}, {"id": "3", "status": "failed", "result": "plain text"},
            {"id": "4", "status": "completed", "result": json.dumps({"stdout": "b"})}]
    shown = result_json({"id": "t", "status": "cancelled", "jobs": jobs})
    assert shown == {"task_id": "t", "status": "canceled", "stdout": "a\nplain textb", "stderr": "e", "jobs": jobs}
