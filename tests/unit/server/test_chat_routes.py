"""The chat routes in process: POST /v1/chat, GET /v1/models, POST /v1/chat/completions (plain and streamed),
with a real inference Client on the fake backend, in both of its wire formats; every exchange stored."""

import http.client
import json
import logging
import time

import pytest

from cynode.inference.client import Backend as InferenceBackend
from cynode.inference.client import Client, InferenceError
from cynode.server.chat import Exchange, backend_error
from tests.fakes.inference import FakeInference
from tests.support.server import Backend, LiveServer

APIS = ["ollama", "openai"]
MODEL = "fake-model"


@pytest.fixture(name="fake", scope="module")
def fixture_fake():
    with FakeInference(model=MODEL) as fake:
        yield fake


@pytest.fixture(name="api", params=APIS)
def fixture_api(request):
    return request.param


def inference(fake, api: str, **kwargs) -> Client:
    return Client(InferenceBackend(fake.url, api, MODEL, **kwargs))


@pytest.fixture(name="backend")
def fixture_backend(tmp_path, fake, api):
    backend = Backend(tmp_path, inference(fake, api), inference_model=MODEL)
    yield backend
    backend.close()


@pytest.fixture(name="unconfigured")
def fixture_unconfigured(tmp_path):
    backend = Backend(tmp_path, inference_model=MODEL)
    yield backend
    backend.close()


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def complete(backend, body, token=None):
    return backend.call("POST", "/v1/chat/completions", body=body, token=token or backend.session().access)


def assert_openai_error(response, status: int, code: str) -> str:
    assert response.status == status, (response.status, response.body)
    assert response.header("Content-Type") == "application/json"
    error = response.json["error"]
    assert set(response.json) == {"error"} and set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], error["code"]) == ("cynodeai_error", None, code)
    assert isinstance(error["message"], str) and error["message"]
    return error["message"]


def only_exchange(backend):
    [exchange] = backend.store.chat_exchanges(backend.admin.id)
    return exchange


# --- /v1/chat --------------------------------------------------------------------------------------------------


def test_chat_answers_one_message_with_the_configured_model_and_stores_the_exchange(backend, fake):
    response = backend.call("POST", "/v1/chat", body={"message": "héllo there"}, token=backend.session().access)
    assert (response.status, response.json) == (200, {"response": "echo: héllo there"})
    assert fake.requests[-1]["body"]["messages"] == user("héllo there")
    assert fake.requests[-1]["body"]["model"] == MODEL
    exchange = only_exchange(backend)
    assert (exchange.route, exchange.model, exchange.stream, exchange.message_count) == ("/v1/chat", MODEL, False, 1)
    assert (exchange.request_chars, exchange.request_bytes) == (11, 12)
    assert (exchange.response_chars, exchange.response_bytes) == (17, 18)
    assert (exchange.outcome, exchange.error_code) == ("success", None)
    assert exchange.request_id == response.header("X-Request-Id") and exchange.duration_ms >= 0


@pytest.mark.parametrize("body", [{}, {"message": ""}, {"message": " \n\t"}, {"message": 5}])
def test_chat_without_a_message_is_a_400_problem(backend, body):
    response = backend.call("POST", "/v1/chat", body=body, token=backend.session().access)
    assert response.status == 400 and response.header("Content-Type") == "application/problem+json"
    assert response.json["detail"] == "Message is required"
    assert (only_exchange(backend).outcome, only_exchange(backend).error_code) == ("error", "invalid_request")


def test_chat_without_inference_is_a_503_problem_naming_the_setting(unconfigured):
    response = unconfigured.call("POST", "/v1/chat", body={"message": "hi"}, token=unconfigured.session().access)
    assert response.status == 503 and response.header("Content-Type") == "application/problem+json"
    assert "CYNODE_INFERENCE_URL" in response.json["detail"]
    assert only_exchange(unconfigured).error_code == "model_unavailable"


def test_chat_upstream_errors_are_problems(backend):
    response = backend.call("POST", "/v1/chat", body={"message": "[[error 500]]"}, token=backend.session().access)
    assert response.status == 502 and response.json["detail"] == "Completion failed: HTTP 500: fake failure 500"
    assert backend.call("POST", "/v1/chat", body={"message": "x"}).status == 401


# --- /v1/models ------------------------------------------------------------------------------------------------


def test_models_lists_the_configured_model(backend):
    listed = backend.call("GET", "/v1/models", token=backend.session().access)
    assert listed.json == {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0,
                                                       "owned_by": "cynode"}]}


def test_models_lists_nothing_when_inference_is_not_configured(unconfigured):
    empty = unconfigured.call("GET", "/v1/models", token=unconfigured.session().access)
    assert (empty.status, empty.json) == (200, {"object": "list", "data": []})


def test_auth_failures_on_the_openai_routes_are_401s_in_the_openai_shape(backend):
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions")):
        assert "authorization" in assert_openai_error(backend.call(method, path), 401, "invalid_api_key")
        assert_openai_error(backend.call(method, path, token="nope"), 401, "invalid_api_key")
    assert_openai_error(backend.call("GET", "/v1/chat/completions"), 405, "method_not_allowed")
    assert not backend.store.chat_exchanges(backend.admin.id)  # no user, nothing to store against


# --- /v1/chat/completions ----------------------------------------------------------------------------------------


def test_a_completion_answers_the_whole_conversation_in_the_openai_shape(backend, fake, api):
    conversation = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "one"},
                    {"role": "assistant", "content": "echo: one", "name": "ignored"},
                    {"role": "user", "content": [{"type": "text", "text": "two "}, {"type": "text", "text": "2"}]}]
    response = complete(backend, {"messages": conversation, "temperature": 0.2, "max_tokens": 9, "x": 1})
    body = response.json
    assert response.status == 200 and body["object"] == "chat.completion" and body["model"] == MODEL
    assert body["id"].startswith("chatcmpl-") and abs(body["created"] - time.time()) < 60
    assert body["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "echo: two 2"},
                                "finish_reason": "stop"}]
    sent = fake.requests[-1]["body"]
    assert sent["messages"][2] == {"role": "assistant", "content": "echo: one"}
    assert sent["messages"][3] == {"role": "user", "content": "two 2"}
    if api == "openai":
        assert (sent["temperature"], sent["max_tokens"]) == (0.2, 9)
    else:
        assert sent["options"] == {"temperature": 0.2, "num_predict": 9}
    exchange = only_exchange(backend)
    assert (exchange.message_count, exchange.request_chars, exchange.response_chars) == (4, 25, 11)


@pytest.mark.parametrize("model", [None, "", MODEL])
def test_no_model_or_the_configured_one_is_the_configured_model(backend, fake, model):
    body = {"messages": user("hi"), **({"model": model} if model is not None else {})}
    assert complete(backend, body).json["model"] == MODEL and fake.requests[-1]["body"]["model"] == MODEL


def test_max_completion_tokens_is_taken_for_max_tokens(backend, fake, api):
    complete(backend, {"messages": user("hi"), "max_completion_tokens": 3})
    sent = fake.requests[-1]["body"]
    assert (sent.get("max_tokens") if api == "openai" else sent["options"]["num_predict"]) == 3


def test_an_integral_number_is_an_integer_as_json_schema_says(backend, fake, api):
    """A client (or schemathesis) may send 4.0; JSON has one number type, and the document says integer."""
    assert complete(backend, {"messages": user("hi"), "max_tokens": 4.0}).status == 200
    sent = fake.requests[-1]["body"]
    assert (sent.get("max_tokens") if api == "openai" else sent["options"]["num_predict"]) == 4


BAD_REQUESTS = {
    "no messages": ({}, "messages is required and must be non-empty"),
    "empty messages": ({"messages": []}, "messages is required and must be non-empty"),
    "messages not a list": ({"messages": "hi"}, "messages is required and must be non-empty"),
    "message not an object": ({"messages": ["hi"]}, "messages[0] must be an object with role and content"),
    "unknown role": ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role must be one of"),
    "content missing": ({"messages": [{"role": "user"}]}, "messages[0].content must be a string"),
    "content parts not text": ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
                               "messages[0].content must be a string"),
    "no user message": ({"messages": [{"role": "system", "content": "x"}]}, "At least one user message is required"),
    "model not a string": ({"messages": user("x"), "model": 3}, "model must be a string"),
    "temperature too high": ({"messages": user("x"), "temperature": 2.5}, "temperature must be a number from 0"),
    "temperature a boolean": ({"messages": user("x"), "temperature": True}, "temperature must be a number"),
    "max_tokens zero": ({"messages": user("x"), "max_tokens": 0}, "max_tokens must be an integer at least 1"),
    "max_tokens a float": ({"messages": user("x"), "max_tokens": 1.5}, "max_tokens must be an integer"),
    "stream not a boolean": ({"messages": user("x"), "stream": "yes"}, "stream must be a boolean"),
    "not JSON": ("{oops", "Invalid request body"),
    "NUL in content": ('{"messages": [{"role": "user", "content": "a\\u0000"}]}', "Invalid request body: NUL"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_requests_are_400s_in_the_openai_shape_and_stored(backend, fake, case):
    body, message = BAD_REQUESTS[case]
    before = len(fake.requests)
    message_seen = assert_openai_error(complete(backend, body), 400, "invalid_request")
    assert message_seen.startswith(message), message_seen
    assert len(fake.requests) == before  # nothing went upstream
    assert (only_exchange(backend).outcome, only_exchange(backend).error_code) == ("error", "invalid_request")


def test_another_model_is_a_404_model_not_found(backend, fake):
    before = len(fake.requests)
    message = assert_openai_error(complete(backend, {"messages": user("x"), "model": "gpt-9"}), 404,
                                  "model_not_found")
    assert "gpt-9" in message and len(fake.requests) == before
    assert (only_exchange(backend).model, only_exchange(backend).error_code) == ("gpt-9", "model_not_found")


def test_unconfigured_inference_is_a_503_model_unavailable_naming_the_setting(unconfigured):
    for stream in (False, True):
        response = complete(unconfigured, {"messages": user("x"), "stream": stream})
        assert "CYNODE_INFERENCE_URL" in assert_openai_error(response, 503, "model_unavailable")
    assert [e.stream for e in unconfigured.store.chat_exchanges(unconfigured.admin.id)] == [True, False]


@pytest.mark.parametrize("stream", [False, True])
def test_an_upstream_failure_is_a_502_and_a_silent_backend_a_504(tmp_path, fake, api, stream, caplog):
    backend = Backend(tmp_path, inference(fake, api, read_timeout=0.3), inference_model=MODEL)
    try:
        with caplog.at_level(logging.WARNING, logger="cynode.chat"):
            failed = complete(backend, {"messages": user("[[error 500]]"), "stream": stream})
            assert_openai_error(failed, 502, "orchestrator_inference_failed")
            assert fake.url not in failed.body.decode()  # the backend's address stays in the server log
            assert_openai_error(complete(backend, {"messages": user("[[silent 2]]"), "stream": stream}), 504,
                                "cynodeai_completion_timeout")
        assert fake.url in caplog.text
        outcomes = [(e.outcome, e.error_code) for e in backend.store.chat_exchanges(backend.admin.id)]
        assert outcomes == [("timeout", "cynodeai_completion_timeout"), ("error", "orchestrator_inference_failed")]
    finally:
        backend.close()


def events(raw: bytes) -> list:
    """The `data:` payloads of a server-sent event stream, JSON-decoded except `[DONE]`."""
    blocks = [block for block in raw.decode("utf-8").split("\n\n") if block]
    assert all(block.startswith("data: ") for block in blocks), raw
    return [block[6:] if block[6:] == "[DONE]" else json.loads(block[6:]) for block in blocks]


def test_a_streamed_completion_is_openai_chunks_ending_with_done(backend):
    response = complete(backend, {"messages": user("a b"), "stream": True})
    assert response.status == 200
    assert response.header("Content-Type").startswith("text/event-stream")
    assert response.header("Cache-Control") == "no-cache"
    *chunks, done = events(response.body)
    assert done == "[DONE]"
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": "echo:"}, {"content": " a"}, {"content": " b"}, {}]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, None, None, "stop"]
    assert {(c["object"], c["model"], c["id"]) for c in chunks} == {("chat.completion.chunk", MODEL, chunks[0]["id"])}
    exchange = only_exchange(backend)
    assert (exchange.stream, exchange.outcome, exchange.response_chars) == (True, "success", 9)


def test_a_failure_mid_stream_ends_it_with_an_error_event_and_no_done(backend):
    response = complete(backend, {"messages": user("[[break]] a b c"), "stream": True})
    *chunks, error = events(response.body)
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == "echo: a"
    assert error["error"]["code"] == "orchestrator_inference_failed"
    assert error["error"]["message"] == "Completion failed: the backend reported: fake stream failure"
    exchange = only_exchange(backend)
    assert (exchange.outcome, exchange.error_code, exchange.response_chars) == (
        "error", "orchestrator_inference_failed", 7)


def test_an_empty_answer_streams_an_empty_first_chunk(tmp_path, api):
    with FakeInference(model=MODEL) as fake:
        backend = Backend(tmp_path, inference(fake, api), inference_model=MODEL)
        try:
            response = complete(backend, {"messages": user("[[tokens 0]]"), "stream": True})
            assert response.status == 200
            assert [c if c == "[DONE]" else c["choices"][0]["delta"] for c in events(response.body)] == [
                {"role": "assistant", "content": ""}, {}, "[DONE]"]
            assert complete(backend, {"messages": user("[[tokens 0]]")}).json["choices"][0]["message"][
                "content"] == ""
        finally:
            backend.close()


# --- over real HTTP (waitress): chunks go out as they come, a client going away stops the backend -------------


@pytest.fixture(name="live")
def fixture_live(tmp_path, fake, api):
    server = LiveServer(tmp_path, inference(fake, api), inference_model=MODEL)
    yield server
    server.close()


def open_stream(live, text: str):
    host, port = live.url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", "/v1/chat/completions", body=json.dumps({"messages": user(text), "stream": True}),
                 headers={"Authorization": "Bearer " + live.session().access, "Content-Type": "application/json"})
    return conn, conn.getresponse()


def test_each_chunk_is_sent_as_soon_as_the_backend_yields_it(live, caplog):
    conn, response = open_stream(live, "[[slow 0.3]] a b c")
    try:
        assert response.status == 200 and response.getheader("Transfer-Encoding") == "chunked"
        arrivals = []
        with caplog.at_level(logging.INFO, logger="cynode.http"):
            while line := response.readline():
                if line.startswith(b"data: "):
                    arrivals.append((time.monotonic(), line))
            request_ms = float(next(r.getMessage() for r in caplog.records
                                    if "path=/v1/chat/completions" in r.getMessage()).split(" ms=")[1].split()[0])
    finally:
        conn.close()
    assert arrivals[-1][1] == b"data: [DONE]\n" and len(arrivals) == 6
    gaps = [later[0] - earlier[0] for earlier, later in zip(arrivals, arrivals[1:4])]
    assert all(gap > 0.15 for gap in gaps), gaps  # one word every 0.3 s, each on its own
    assert request_ms >= 900  # the request log holds the stream's whole duration (4 words x 0.3 s)


def test_a_client_that_goes_away_mid_stream_stops_the_backend(live, fake):
    fake.disconnected.clear()
    conn, response = open_stream(live, "[[slow 0.2]] a b c d e f g h i j k l m n o p")
    assert response.readline().startswith(b"data: ")
    conn.close()
    response.close()
    assert fake.disconnected.wait(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not live.store.chat_exchanges(live.admin.id):
        time.sleep(0.05)
    exchange = only_exchange(live)
    assert (exchange.outcome, exchange.stream) == ("canceled", True)
    assert 0 < exchange.response_chars < len("echo: a b c d e f g h i j k l m n o p")


def test_an_oversized_body_and_a_broken_database_keep_the_openai_shape(tmp_path, fake, caplog):
    backend = Backend(tmp_path, inference(fake, "openai"), inference_model=MODEL, max_body_bytes=1024)
    try:
        token = backend.session().access
        assert_openai_error(complete(backend, {"messages": user("x" * 2000)}, token), 413, "payload_too_large")
        backend.store.db.execute_sql('ALTER TABLE "session" RENAME TO "session_gone"')
        with caplog.at_level(logging.ERROR, logger="cynode.http"):
            message = assert_openai_error(complete(backend, {"messages": user("x")}, token), 500, "internal_error")
        assert message == "Internal server error"
    finally:
        backend.close()


def test_an_exchange_that_cannot_be_stored_is_logged_and_the_answer_still_goes_out(backend, caplog):
    token = backend.session().access
    backend.store.db.execute_sql('ALTER TABLE "chat_exchange" RENAME TO "chat_exchange_gone"')
    with caplog.at_level(logging.ERROR, logger="cynode.chat"):
        response = complete(backend, {"messages": user("still here")}, token)
    assert response.json["choices"][0]["message"]["content"] == "echo: still here"
    assert "chat exchange not stored request_id=" + response.header("X-Request-Id") in caplog.text


def test_an_answer_with_a_lone_surrogate_is_sent_as_valid_text(backend):
    """A backend may send `\\ud800` as a JSON escape; the answer must still encode (and count) cleanly."""
    exchange = Exchange(backend.deps, type("Req", (), {"environ": {}, "headers": {}})(), backend.admin.id, "/v1/chat")
    assert exchange.answered("a\ud800b") == "a?b" and (exchange.answer_chars, exchange.answer_bytes) == (3, 3)
    exchange.finish("success")
    exchange.finish("error")  # stored once: the first outcome stands
    assert only_exchange(backend).outcome == "success"


def test_an_unexpected_error_in_a_chat_is_stored_as_an_internal_error(backend):
    with pytest.raises(ZeroDivisionError):
        with Exchange(backend.deps, type("Req", (), {"environ": {}, "headers": {}})(), backend.admin.id, "/v1/chat"):
            _ = 1 / 0
    assert (only_exchange(backend).outcome, only_exchange(backend).error_code) == ("error", "internal_error")


def test_a_502_detail_never_names_the_backends_address():
    error = backend_error(InferenceError("http://llm.internal:11434", "NameResolutionError: Failed to resolve "
                                         "'llm.internal' (http://llm.internal:11434)", transient=True), None)
    assert (error.status, error.code) == (502, "orchestrator_inference_failed")
    assert "llm.internal" not in error.detail and error.detail.startswith("Completion failed: NameResolutionError")
