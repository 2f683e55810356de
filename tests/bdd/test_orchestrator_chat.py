"""Steps for features/orchestrator/orchestrator_chat.feature: chat, streaming and the OpenAI-compatible API of a
real `cynode serve`, answered by the fake inference backend on loopback (run here, in the test process).

The shared steps (servers, sending requests, problem checks) live in conftest.py.
"""

import http.client
import json
import re
import time

import openai
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.bdd.backend import holds
from tests.bdd.backend import stored as stored_in
from tests.fakes.inference import FakeInference

scenarios("orchestrator/orchestrator_chat.feature")

MODEL = "fake-model"
WAIT = 5.0


@pytest.fixture(name="fake", scope="module")
def fixture_fake():
    with FakeInference(model=MODEL) as fake:
        yield fake


def wait_for(check, timeout: float = WAIT):
    """check()'s first truthy value within `timeout` seconds (None after that)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def exchanges(world, handle: str) -> list:
    """The user's stored chat exchanges, oldest first, read from the server's own database."""
    from cynode.store.store import Store  # pylint: disable=import-outside-toplevel  # only these steps need it

    store = Store(world.server.database_url)
    try:
        return store.chat_exchanges(world.user_id(handle), limit=200)[::-1]
    finally:
        store.close()


# --- servers and sessions -------------------------------------------------------------------------------------


@given(parsers.re(r'a cynode server using the fake "(?P<api>ollama|openai)" inference backend'
                  r'(?: with "(?P<settings>[^"]*)")?'))
def _server_with_fake(world, fake, api, settings):
    fake.requests.clear()
    world.remembered["fake"] = fake
    world.start_server({"CYNODE_INFERENCE_URL": fake.url, "CYNODE_INFERENCE_API": api,
                        "CYNODE_INFERENCE_MODEL": MODEL,
                        **dict(item.split("=", 1) for item in (settings or "").split())})


@given("I have an access token")
def _access_token(world):
    world.sessions["me"] = world.server.login("admin", world.server.admin_password)


# --- streaming ------------------------------------------------------------------------------------------------


def _open_stream(world, text: str):
    world.server.requests_sent += 1
    conn = http.client.HTTPConnection("127.0.0.1", world.server.port, timeout=30)
    conn.request("POST", "/v1/chat/completions", body=json.dumps(
        {"messages": [{"role": "user", "content": text}], "stream": True}),
                 headers={"Authorization": f"Bearer {world.token('me')}", "Content-Type": "application/json"})
    return conn, conn.getresponse()


def _request_log_lines(world) -> list[str]:
    return [line for line in world.server.log().splitlines() if " path=/v1/chat/completions " in line]


@when(parsers.parse('I stream a completion of "{text}"'))
def _stream(world, text):
    logged = len(_request_log_lines(world))
    conn, response = _open_stream(world, text)
    events, started = [], time.monotonic()
    try:
        while line := response.readline():
            if line.strip():
                events.append((time.monotonic() - started, line.decode("utf-8").rstrip("\n")))
    finally:
        conn.close()
    world.remembered["stream"] = {"status": response.status, "headers": dict(response.getheaders()),
                                  "events": events}
    # The request's log line is written once the server closed the answer: wait for it, then keep it.
    assert wait_for(lambda: len(_request_log_lines(world)) > logged), "the stream's request was never logged"
    world.remembered["stream"]["log"] = _request_log_lines(world)[-1]


def _payloads(world) -> list:
    return [event[6:] if event == "data: [DONE]" else json.loads(event[6:])
            for _, event in world.remembered["stream"]["events"]]


@then("the stream is server-sent events in the OpenAI chunk format ending with [DONE]")
def _stream_format(world):
    stream = world.remembered["stream"]
    assert stream["headers"]["Content-Type"].startswith("text/event-stream"), stream["headers"]
    assert stream["headers"]["Cache-Control"] == "no-cache"
    assert all(event.startswith("data: ") for _, event in stream["events"]), stream["events"]
    *chunks, done = _payloads(world)
    assert done == "[DONE]"
    assert {(c["object"], c["model"]) for c in chunks} == {("chat.completion.chunk", MODEL)}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}


@then(parsers.parse('the streamed answer is "{text}"'))
def _streamed_answer(world, text):
    chunks = _payloads(world)[:-1]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == text


@then("the first piece arrived well before the last")
def _incremental(world):
    times = [at for at, event in world.remembered["stream"]["events"] if '"content"' in event]
    assert len(times) >= 4 and times[-1] - times[0] >= 0.6, times  # 4 words, one every 0.3 s


@then("the request log line of that stream shows its whole duration")
def _logged_duration(world):
    line = world.remembered["stream"]["log"]
    assert " status=200 " in line and float(re.search(r" ms=([\d.]+)", line).group(1)) >= 900, line


@then(parsers.parse("the stream answered with status {status:d}"))
def _stream_status(world, status):
    assert world.remembered["stream"]["status"] == status, world.remembered["stream"]


@when(parsers.parse('I stream a completion of "{text}" and hang up after the first piece'))
def _hang_up(world, text):
    fake = world.remembered["fake"]
    fake.disconnected.clear()
    conn, response = _open_stream(world, text)
    assert response.status == 200 and response.readline().startswith(b"data: ")
    response.close()
    conn.close()


@then("the inference backend sees its connection close")
def _backend_disconnected(world):
    assert world.remembered["fake"].disconnected.wait(WAIT)


@then(parsers.parse('the server stores a "{outcome}" exchange for "{handle}"'))
def _stored_one(world, outcome, handle):
    stored = wait_for(lambda: exchanges(world, handle))
    assert [(e.outcome, e.stream) for e in stored] == [(outcome, True)], stored


# --- the official openai package ------------------------------------------------------------------------------


@when("I use the official openai client with my access token")
def _openai_client(world):
    world.remembered["openai"] = openai.OpenAI(base_url=world.server.url + "/v1", api_key=world.token("me"),
                                               max_retries=0, timeout=30)


@then(parsers.parse('it lists the model "{model}"'))
def _openai_models(world, model):
    assert [m.id for m in world.remembered["openai"].models.list()] == [model]


@then(parsers.parse('it completes "{text}" with "{answer}"'))
def _openai_complete(world, text, answer):
    completion = world.remembered["openai"].chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}], temperature=0.3, max_tokens=50)
    assert completion.choices[0].message.content == answer and completion.model == MODEL
    unnamed = world.remembered["openai"].chat.completions.create(model="", messages=[{"role": "user", "content": text}])
    assert unnamed.choices[0].message.content == answer and unnamed.model == MODEL  # "": the configured model


@then(parsers.parse('it streams "{text}" as "{answer}" in more than one chunk'))
def _openai_stream(world, text, answer):
    chunks = list(world.remembered["openai"].chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}], stream=True))
    assert len(chunks) > 2 and "".join(c.choices[0].delta.content or "" for c in chunks) == answer
    assert chunks[-1].choices[0].finish_reason == "stop"


@then(parsers.parse('with a wrong api key it gets an authentication error saying "{message}"'))
def _openai_bad_key(world, message):
    wrong = openai.OpenAI(base_url=world.server.url + "/v1", api_key="not-a-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as error:
        wrong.models.list()
    assert error.value.status_code == 401 and error.value.message == f"Error code: 401 - {message}"
    assert error.value.code == "invalid_api_key"


# --- errors and what the backend saw ------------------------------------------------------------------------------


@then(parsers.parse('the response is an OpenAI error with status {status:d} and code "{code}" mentioning "{text}"'))
def _openai_error(world, status, code, text):
    response = world.response
    assert response.status == status, (response.status, response.body)
    assert (response.header("Content-Type") or "").startswith("application/json"), response.headers
    assert list(response.json) == ["error"], response.json
    error = response.json["error"]
    assert sorted(error) == ["code", "message", "param", "type"], error
    assert (error["code"], error["type"], error["param"]) == (code, "cynodeai_error", None), error
    assert text in error["message"], error


@then(parsers.parse('the response is a chat completion for model "{model}" answering "{text}"'))
def _completion(world, model, text):
    body = world.response.json
    assert sorted(body) == ["choices", "created", "id", "model", "object"], body
    assert (body["object"], body["model"]) == ("chat.completion", model)
    assert body["choices"] == [{"index": 0, "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop"}]


@then(parsers.re(r'the inference backend was asked with (?P<count>\d+) messages? for model "(?P<model>[^"]+)"'))
def _backend_asked(world, count, model):
    body = world.remembered["fake"].requests[-1]["body"]
    assert len(body["messages"]) == int(count) and body["model"] == model, body


@then("the inference backend was not asked anything")
def _backend_not_asked(world):
    assert world.remembered["fake"].requests == []


# --- what is kept ---------------------------------------------------------------------------------------------


@then(parsers.parse('the server stores exchanges for "{handle}" with outcomes "{outcomes}"'))
def _stored_outcomes(world, handle, outcomes):
    expected = [o.strip() for o in outcomes.split(",")]
    wait_for(lambda: len(exchanges(world, handle)) >= len(expected))
    stored = exchanges(world, handle)
    assert [e.outcome for e in stored] == expected, stored
    world.remembered["exchanges"] = stored


@then(parsers.parse('the stored exchanges have error codes "{codes}"'))
def _stored_codes(world, codes):
    assert [e.error_code or "" for e in world.remembered["exchanges"]] == [c.strip() for c in codes.split(",")]


@then("the stored exchanges have the routes, models, sizes and request ids of those requests")
def _stored_details(world):
    chat, failed, invalid, streamed = world.remembered["exchanges"]
    assert [e.route for e in (chat, failed, invalid, streamed)] == ["/v1/chat"] + ["/v1/chat/completions"] * 3
    assert {e.model for e in (chat, failed, invalid, streamed)} == {MODEL}
    assert [e.stream for e in (chat, failed, invalid, streamed)] == [False, False, False, True]
    assert [e.message_count for e in (chat, failed, invalid, streamed)] == [1, 1, 0, 1]
    assert (chat.request_chars, chat.response_chars) == (21, 27)  # "echo: " + the message
    assert (streamed.request_chars, streamed.response_bytes) == (14, 20)
    assert failed.response_chars == 0 and all(e.duration_ms >= 0 for e in (chat, failed, invalid, streamed))
    logged = {re.search(r" request_id=(\w+)", line).group(1) for line in world.server.log().splitlines()
              if " path=/v1/chat" in line}
    assert {e.request_id for e in (chat, failed, invalid, streamed)} <= logged


@then(parsers.parse('the server\'s database does not contain "{text}" nor the access token'))
def _no_content_stored(world, text):
    places = stored_in(world.server.database_url)
    assert places, world.server.database_url
    for place, raw in places.items():
        assert not holds(raw, text.encode()) and not holds(raw, world.token("me").encode()), place
