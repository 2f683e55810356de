"""A newcomer's scripted journey with the CLI, end to end: log in, create three tasks of different input modes,
list them as JSON, follow the logs of a running one and cancel it, fetch an artifact and read a result.

It is a script rather than a feature because it is one story told once; the behaviours it strings together
each have their scenarios in features/cynork/. In CI `just bdd-pyz` runs it again with the server and the CLI
taken from the built zipapp (it carries the pyz mark, like the scenarios tagged @pyz).
"""

import json
import subprocess

import pytest

from tests.bdd.conftest import SHARED_SETTINGS
from tests.bdd.harness import ADMIN_PASSWORD, Profile, Server, cynode_command, run_cli

pytestmark = [pytest.mark.suite_cynork, pytest.mark.pyz]
FOLLOW_TIMEOUT = 60.0

SLOW_SCRIPT = "for i in $(seq 1 120); do echo \"tick $i\"; sleep 0.5; done\n"


@pytest.fixture(name="server")
def fixture_server(tmp_path):
    server = Server(tmp_path / "server", dict(SHARED_SETTINGS)).start()
    yield server
    server.check_clean_exit()


class Cli:
    """`cynode cli` as one person, each run expected to exit with `code`."""

    def __init__(self, environ: dict):
        self.environ = environ

    def __call__(self, *args, stdin=None, code=0):
        result = run_cli(list(args), self.environ, stdin)
        assert result.code == code, result.report()
        return result


def create_three_tasks(cli: Cli, folder) -> dict:
    """A command task, a script and a commands file with an attachment; their create outputs by name."""
    (folder / "slow.sh").write_text(SLOW_SCRIPT, encoding="utf-8")
    (folder / "steps.txt").write_text("\necho one\n\ncat attachments/notes.txt\n", encoding="utf-8")
    (folder / "notes.txt").write_text("attached notes\n", encoding="utf-8")
    return {
        "build": cli("-o", "json", "task", "create", "--name", "build", "--command", "echo building",
                     "--command", "mkdir -p out && printf 'the report' > out/report.txt").json,
        "slow": cli("-o", "json", "task", "create", "--name", "slow", "-s", str(folder / "slow.sh")).json,
        "listing": cli("-o", "json", "task", "create", "--name", "listing", "--commands-file",
                       str(folder / "steps.txt"), "-a", str(folder / "notes.txt")).json,
    }


def follow_then_cancel(cli: Cli, task_id: str) -> None:
    """Follow the slow task's logs live; cancel it from a second process; the follower then ends by itself."""
    follower = subprocess.Popen(  # pylint: disable=consider-using-with  # waited for below
        [*cynode_command(), "cli", "task", "logs", "slow", "-F"], env=cli.environ, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = follower.stdout.readline()
        assert first == "tick 1\n", first
        assert follower.poll() is None  # still following: the script has a minute to go
        assert cli("task", "cancel", "slow", "-y").stdout == f"task_id={task_id} canceled=true task_name=slow\n"
        rest, errors = follower.communicate(timeout=FOLLOW_TIMEOUT)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.communicate()
    assert follower.returncode == 0, errors
    assert "Traceback" not in errors
    assert "tick 120" not in rest  # it stopped with the task, long before the script's end


def test_a_newcomers_journey(server, tmp_path):
    cli = Cli(Profile(tmp_path / "me").environ(server.url, {}))
    cli("auth", "login", "--handle", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    created = create_three_tasks(cli, tmp_path)

    listed = json.loads(cli("task", "list", "-o", "json").stdout)
    assert {task["task_name"]: task["task_id"] for task in listed["tasks"]} == {
        name: task["task_id"] for name, task in created.items()}
    assert listed["next_cursor"] == ""

    follow_then_cancel(cli, created["slow"]["task_id"])
    assert cli("task", "get", "slow", "-o", "json").json["status"] == "canceled"

    # an artifact the build left in out/, fetched into a folder that does not exist yet
    result = cli("-o", "json", "task", "result", "build", "--wait").json
    assert (result["status"], result["stdout"]) == ("completed", "building\n")
    artifacts = cli("-o", "json", "task", "artifacts", "list", "build").json["artifacts"]
    report = next(item for item in artifacts if item["name"].endswith("report.txt"))
    target = tmp_path / "downloads" / "report.txt"
    saved = cli("-o", "json", "task", "artifacts", "get", "build", report["artifact_id"], "--out", str(target)).json
    assert saved == {"saved": True, "path": str(target)}
    assert target.read_bytes() == b"the report"

    # the commands file ran in order, blank lines dropped, with the attachment in place
    assert cli("task", "result", "listing", "-w").stdout == (
        f"task_id={created['listing']['task_id']} status=completed task_name=listing "
        'stdout="one\\nattached notes\\n" stderr=""\n')
