"""Prompt jobs through the dispatcher's run_once, over a real SQLite store and workspace, with the real inference
client talking to the fake backend on loopback in both wire formats: nothing of ours mocked."""

import json
import threading
import time

import pytest

from cynode.dispatch.dispatcher import Dispatcher
from cynode.dispatch.prompt import INFERENCE_NOT_CONFIGURED
from cynode.dispatch.sandbox import ProcessRunner
from cynode.dispatch.workspace import Workspace
from cynode.inference.client import Backend, Client
from cynode.store.preferences import MODEL_SETTING
from cynode.store.store import Store
from tests.bdd.harness import dead_url
from tests.fakes.inference import FakeInference
from tests.support.server import make_settings

APIS = ["ollama", "openai"]
KEY = "sk-secret-key-never-shown"


class World:
    """A dispatcher (not started) whose inference client talks to `url`, a store and one user."""

    def __init__(self, tmp_path, url: str | None, **settings):
        self.settings = make_settings(tmp_path, inference_url=url, inference_model="fake-model", workers=1,
                                      **settings)
        self.store = Store(self.settings.database)
        self.store.migrate()
        workspace = Workspace(self.settings.data_dir)
        workspace.prepare()
        backend = Backend.from_settings(self.settings)
        self.dispatcher = Dispatcher(self.store, ProcessRunner(), self.settings, workspace,
                                     Client(backend) if backend else None)
        self.owner = self.store.create_user("owner", None)

    def prompt(self, text: str, **kwargs):
        return self.store.create_task(self.owner.id, None, "prompt", text, [("prompt", {"prompt": text})], **kwargs)

    def result(self, task) -> dict:
        return json.loads(self.store.jobs_for_task(task.id)[0].result)

    def log(self, task) -> str:
        return self.dispatcher.workspace.read_log(task.id, self.store.jobs_for_task(task.id)[0].id, "stdout")

    def in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.dispatcher.run_once)
        thread.start()
        return thread

    def close(self) -> None:
        self.dispatcher.stop(grace=0)
        self.store.close()


@pytest.fixture(name="fake")
def fixture_fake():
    with FakeInference(model="fake-model", api_key=KEY) as fake:
        yield fake


@pytest.fixture(name="make")
def fixture_make(tmp_path, fake):
    made = []

    def make(api="ollama", url=None, **settings):
        settings = {"inference_api_key": KEY, **settings}
        made.append(World(tmp_path / str(len(made)), fake.url if url is None else url, inference_api=api,
                          **settings))
        return made[-1]

    yield make
    for world in made:
        world.close()


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("api", APIS)
def test_the_answer_becomes_the_result_and_the_prompt_is_one_user_message(make, fake, api):
    world = make(api)
    task = world.prompt("What is the capital of France?")
    assert world.dispatcher.run_once() is True
    assert world.store.task_by_id(task.id).status == "completed"
    result = world.result(task)
    assert (result["status"], result["exit_code"], result["stdout"], result["stderr"]) == (
        "completed", 0, "echo: What is the capital of France?", "")
    assert result["truncated"] == {"stdout": False, "stderr": False} and result["task_id"] == task.id
    [request] = fake.requests
    assert request["path"] == {"ollama": "/api/chat", "openai": "/v1/chat/completions"}[api]
    assert request["body"]["model"] == "fake-model" and request["authorization"] == f"Bearer {KEY}"
    assert request["body"]["messages"] == [{"role": "user", "content": "What is the capital of France?"}]


@pytest.mark.parametrize("api", APIS)
def test_the_answer_streams_into_the_log_while_it_arrives(make, api):
    world = make(api)
    task = world.prompt("[[slow 0.3]] one two three four five")
    worker = world.in_background()
    _wait(lambda: "echo: one" in world.log(task))
    assert world.store.task_by_id(task.id).status == "running" and "five" not in world.log(task)
    worker.join(10)
    assert world.log(task) == "echo: one two three four five" == world.result(task)["stdout"]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("directive, cause", [
    ("[[error 500]]", "HTTP 500: fake failure 500"),
    ("[[error 404]]", "HTTP 404: fake failure 404"),
    ("[[break]] a b c d", "the backend reported: fake stream failure"),
])
def test_an_upstream_error_fails_the_job_naming_the_backend_and_the_cause(make, fake, api, directive, cause):
    world = make(api)
    task = world.prompt(directive)
    world.dispatcher.run_once()
    result = world.result(task)
    assert (result["status"], result["exit_code"]) == ("failed", 1)
    assert result["stderr"] == f"inference backend {fake.url}: {cause}"
    assert KEY not in json.dumps(result) and world.store.task_by_id(task.id).status == "failed"


def test_a_wrong_key_is_an_upstream_error_that_does_not_show_the_key(make, fake):
    world = make("openai", inference_api_key="sk-wrong-key")
    task = world.prompt("hello")
    world.dispatcher.run_once()
    assert world.result(task)["stderr"] == f"inference backend {fake.url}: HTTP 401: invalid api key"
    assert "sk-wrong-key" not in world.result(task)["stderr"]


def test_a_backend_silent_past_the_read_timeout_fails_the_job(make, fake):
    world = make("ollama", inference_read_timeout=1)
    task = world.prompt("[[silent 3]] hello")
    world.dispatcher.run_once()
    result = world.result(task)  # failed, not answered: the job gave up before the backend's 3 s of silence ended
    assert (result["status"], result["exit_code"]) == ("failed", 1)
    assert result["stderr"] == f"inference backend {fake.url}: timed out waiting for the backend"


def test_a_refused_connection_fails_the_job(make):
    url = dead_url()
    world = make("openai", url=url)
    task = world.prompt("hello")
    world.dispatcher.run_once()
    result = world.result(task)
    assert (result["status"], result["exit_code"], result["stderr"]) == (
        "failed", 1, f"inference backend {url}: connection refused")


def test_without_a_backend_the_job_fails_at_once_naming_the_setting(tmp_path):
    world = World(tmp_path, None)
    try:
        task = world.prompt("hello")
        world.dispatcher.run_once()
        result = world.result(task)
        assert (result["status"], result["exit_code"], result["stdout"], result["stderr"]) == (
            "failed", 1, "", INFERENCE_NOT_CONFIGURED)
        assert INFERENCE_NOT_CONFIGURED == "[inference not configured] set CYNODE_INFERENCE_URL"
        assert world.dispatcher.workspace.read_log(task.id, result["job_id"], "stderr") == INFERENCE_NOT_CONFIGURED
    finally:
        world.close()


@pytest.mark.parametrize("api", APIS)
def test_cancel_closes_the_upstream_request_at_once_and_keeps_the_partial_answer(make, fake, api):
    world = make(api)
    task = world.prompt("[[slow 0.5]] a b c d e f g h i j")
    worker = world.in_background()
    _wait(lambda: "echo: a" in world.log(task))
    _, running = world.store.cancel_task(task.id)
    shown = world.log(task)
    world.dispatcher.cancel(running)
    assert fake.disconnected.wait(5)
    worker.join(5)
    [job] = world.store.jobs_for_task(task.id)
    result = json.loads(job.result)
    assert (job.status, result["error"], result["exit_code"]) == ("canceled", "canceled", -1)
    # "At once", without a clock: the backend sends a word every 0.5 s, and the answer kept at most the one
    # word that was already on its way when the cancel came.
    assert result["stdout"].startswith(shown) and len(result["stdout"].split()) <= len(shown.split()) + 1


def test_the_tasks_timeout_ends_a_prompt_job_like_a_timed_out_command(make, fake):
    world = make("openai")
    task = world.prompt("[[slow 0.4]] a b c d e f g h i j", timeout_seconds=1)
    world.dispatcher.run_once()
    assert fake.disconnected.wait(5)
    result = world.result(task)
    assert (result["status"], result["exit_code"]) == ("timeout", -1) and "error" not in result
    assert result["stdout"].startswith("echo: a") and world.store.task_by_id(task.id).status == "failed"
    assert "j" not in result["stdout"]  # stopped at the 1 s timeout, long before the 4 s answer's end


def test_an_answer_over_the_cap_is_cut_and_the_backend_stops_generating(make, fake):
    world = make("ollama", job_max_output_bytes=20)
    # far more than socket buffers hold: the fake cannot finish writing before the cut, so it sees the hang-up
    task = world.prompt("[[tokens 200000]]")
    world.dispatcher.run_once()
    result = world.result(task)
    assert (result["status"], result["truncated"]) == ("completed", {"stdout": True, "stderr": False})
    assert result["stdout"] == "w0 w1 w2 w3 w4 w5 w6"[:20] and fake.disconnected.wait(2)


def test_a_shutdown_interrupts_a_running_prompt_job(make, fake):
    world = make("ollama")
    task = world.prompt("[[slow 0.5]] a b c d e f g h i j")
    world.dispatcher.start()
    _wait(lambda: "echo:" in world.log(task))
    world.dispatcher.stop(grace=0.1)
    [job] = world.store.jobs_for_task(task.id)
    assert job.status == "failed" and "shut down" in json.loads(job.result)["error"]
    assert fake.disconnected.wait(2)


def test_the_admins_model_setting_replaces_the_configured_model_from_the_next_job_on(make, fake):
    world = make()
    world.store.set_setting(MODEL_SETTING, "llama3.2:1b", "string", by="admin")
    world.prompt("first")
    assert world.dispatcher.run_once() is True
    world.store.delete_setting(MODEL_SETTING, by="admin")
    world.prompt("second")
    assert world.dispatcher.run_once() is True
    assert [request["body"]["model"] for request in fake.requests] == ["llama3.2:1b", "fake-model"]
