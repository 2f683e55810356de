"""Steps for prompt tasks: a real `cynode serve` whose inference backend is the fake (tests/fakes/inference.py),
serving in this pytest process on 127.0.0.1, so a scenario sees both what the server answers and what reached
the backend (the request, the connection closing on cancel).
"""

import json
import time

import pytest
from pytest_bdd import given, parsers, then

from tests.bdd.harness import dead_url
from tests.bdd.task_steps import _job_result, _logs, _result, _task
from tests.bdd.task_steps_support import TERMINAL, wait_until
from tests.fakes.inference import FakeInference

MODEL = "fake-model"
API_KEY = "sk-bdd-inference-key-never-shown"


@pytest.fixture(name="fake_inference")
def _fake_inference():
    with FakeInference(model=MODEL, api_key=API_KEY) as fake:
        yield fake


def _inference_server(world, url: str, api: str, settings: str | None) -> None:
    world.remembered["inference url"] = url
    server = world.start_server({"CYNODE_INFERENCE_URL": url, "CYNODE_INFERENCE_API": api,
                                 "CYNODE_INFERENCE_MODEL": MODEL, "CYNODE_INFERENCE_API_KEY": API_KEY,
                                 **dict(item.split("=", 1) for item in (settings or "").split())})
    server.secrets.add(API_KEY)


@given(parsers.re(r'a separate cynode server whose inference backend is the fake speaking (?P<api>ollama|openai)'
                  r'(?: with "(?P<settings>[^"]*)")?'))
def _server_with_fake(world, fake_inference, api, settings):
    _inference_server(world, fake_inference.url, api, settings)


@given(parsers.re(r"a separate cynode server whose inference backend refuses connections"))
def _server_with_dead_backend(world):
    _inference_server(world, dead_url(), "ollama", None)


@then(parsers.re(r'the fake inference backend was asked by (?P<path>\S+) for the model with the one user message '
                 r'"(?P<text>[^"]*)"'))
def _backend_asked(fake_inference, path, text):
    [request] = fake_inference.requests
    assert (request["path"], request["body"]["model"]) == (path, MODEL), request
    assert request["body"]["messages"] == [{"role": "user", "content": text}], request
    assert request["authorization"] == f"Bearer {API_KEY}"


@then(parsers.re(r'the task\'s stderr names the inference backend and "(?P<cause>[^"]*)"'))
def _stderr_names_backend(world, cause):
    expected = f"inference backend {world.remembered['inference url']}: {cause}"
    assert _logs(world)["stderr"] == expected == _job_result(world, 1)["stderr"]


@then("no answer about the task shows the inference API key")
def _no_key(world):
    seen = json.dumps([_task(world), _result(world), _logs(world)])
    assert API_KEY not in seen


@then(parsers.re(r"the task's stdout log grows while the task is running"))
def _log_grows(world):
    """At least two different, growing stdouts seen while the task still ran."""
    seen = []

    def grew():
        stdout = _logs(world)["stdout"]
        status = _task(world)["status"]
        assert status not in TERMINAL or len(seen) >= 2, f"the task ended {status} before its log grew: {seen}"
        if status == "running" and stdout and (not seen or stdout != seen[-1]):
            assert not seen or stdout.startswith(seen[-1]), (seen, stdout)
            seen.append(stdout)
        return len(seen) >= 2

    wait_until(grew, what="the task's stdout log growing while it runs")


@then(parsers.re(r"the fake inference backend saw the connection close within (?P<seconds>[\d.]+) seconds? of the "
                 r"cancel"))
def _backend_saw_close(world, fake_inference, seconds):
    # The fake notices only when a write of its next piece fails: allow a piece or two in `seconds`.
    assert fake_inference.disconnected.wait(float(seconds) + 5), "the backend never saw the connection close"
    assert time.monotonic() - world.remembered["cancel sent"] <= float(seconds), "closed, but too late"


@then(parsers.re(r"the fake inference backend saw the connection close"))
def _backend_saw_close_at_all(fake_inference):
    assert fake_inference.disconnected.wait(5), "the backend never saw the connection close"


@then(parsers.re(r'the canceled prompt job keeps the partial answer starting with "(?P<start>[^"]*)"'))
def _partial_answer(world, start):
    def stored():
        job = _result(world)["jobs"][0]
        return job if "result" in job else None

    item = wait_until(stored, what="the canceled job's result being stored")
    result = json.loads(item["result"])
    assert (item["status"], result["error"], result["exit_code"]) == ("canceled", "canceled", -1), item
    assert result["stdout"].startswith(start) and result["stdout"] == _logs(world)["stdout"], result


@then(parsers.parse('the response body ends with "{text}"'))
def _body_ends(world, text):
    assert world.response.text.endswith(text), world.response.body
