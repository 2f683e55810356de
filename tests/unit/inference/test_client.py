"""The inference client against the fake backend in both wire formats: streaming, errors, timeouts, cancel.
The fake itself is checked with the official `ollama` and `openai` packages, so it speaks the real formats."""

import threading
import time

import ollama
import openai
import pytest

from cynode.inference.client import Backend, Canceled, Client, InferenceError
from cynode.settings import resolve
from tests.fakes.inference import FakeInference

APIS = ["ollama", "openai"]


@pytest.fixture(name="fake")
def fixture_fake():
    with FakeInference(model="fake-model") as fake:
        yield fake


def client(fake, api: str, **kwargs) -> Client:
    return Client(Backend(fake.url, api, "fake-model", **kwargs))


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_the_fake_speaks_ollama_to_the_official_ollama_package(fake):
    official = ollama.Client(host=fake.url)
    assert [m.model for m in official.list().models] == ["fake-model"]
    assert official.chat(model="fake-model", messages=user("hi there")).message.content == "echo: hi there"
    streamed = [part.message.content for part in official.chat(model="fake-model", messages=user("a b"), stream=True)]
    assert streamed == ["echo:", " a", " b", ""]
    with pytest.raises(ollama.ResponseError, match="fake failure 500"):
        official.chat(model="fake-model", messages=user("[[error 500]]"))


def test_the_fake_speaks_openai_to_the_official_openai_package(fake):
    official = openai.OpenAI(base_url=fake.url + "/v1", api_key="unused", max_retries=0)
    assert [m.id for m in official.models.list()] == ["fake-model"]
    answer = official.chat.completions.create(model="fake-model", messages=user("hi there"))
    assert answer.choices[0].message.content == "echo: hi there"
    chunks = official.chat.completions.create(model="fake-model", messages=user("a b"), stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: a b"
    with pytest.raises(openai.InternalServerError):
        official.chat.completions.create(model="fake-model", messages=user("[[error 503]]"))


@pytest.mark.parametrize("api", APIS)
def test_an_answer_streams_piece_by_piece_and_the_request_is_what_the_api_expects(fake, api):
    pieces = list(client(fake, api).stream(user("one two"), temperature=0.5, max_tokens=7))
    assert pieces == ["echo:", " one", " two"]
    body = fake.requests[-1]["body"]
    assert body["model"] == "fake-model" and body["stream"] is True and body["messages"] == user("one two")
    if api == "ollama":
        assert fake.requests[-1]["path"] == "/api/chat" and body["options"] == {"temperature": 0.5, "num_predict": 7}
    else:
        assert fake.requests[-1]["path"] == "/v1/chat/completions"
        assert (body["temperature"], body["max_tokens"]) == (0.5, 7)


@pytest.mark.parametrize("api", APIS)
def test_the_api_key_goes_to_the_backend_and_nowhere_else(api):
    with FakeInference(api_key="sk-the-key") as fake:
        assert client(fake, api, api_key="sk-the-key").chat(user("x")) == "echo: x"
        assert fake.requests[-1]["authorization"] == "Bearer sk-the-key"
        with pytest.raises(InferenceError) as error:
            client(fake, api, api_key="wrong").chat(user("x"))
        assert error.value.status == 401 and "sk-the-key" not in str(error.value) and "wrong" not in str(error.value)
        assert "sk-the-key" not in repr(client(fake, api, api_key="sk-the-key").backend)


@pytest.mark.parametrize("api", APIS)
def test_an_upstream_error_names_the_url_and_the_cause(fake, api):
    with pytest.raises(InferenceError) as error:
        client(fake, api).chat(user("[[error 500]]"))
    assert str(error.value) == f"inference backend {fake.url}: HTTP 500: fake failure 500"
    assert error.value.transient and error.value.status == 500
    with pytest.raises(InferenceError, match="HTTP 400: fake failure 400") as error:
        client(fake, api).chat(user("[[error 400]]"))
    assert not error.value.transient


@pytest.mark.parametrize("api", APIS)
def test_an_error_inside_the_stream_ends_the_answer_with_it(fake, api):
    received = []
    with pytest.raises(InferenceError, match="the backend reported: fake stream failure"):
        for piece in client(fake, api).stream(user("[[break]] a b c d")):
            received.append(piece)
    assert received == ["echo:", " a"]


@pytest.mark.parametrize("api", APIS)
def test_a_refused_connection_is_named(api):
    with FakeInference() as fake:
        url = fake.url
    with pytest.raises(InferenceError) as error:
        Client(Backend(url, api, "m")).chat(user("x"))
    assert str(error.value) == f"inference backend {url}: connection refused" and error.value.transient


@pytest.mark.parametrize("api", APIS)
def test_a_silent_backend_times_out(fake, api):
    started = time.monotonic()
    with pytest.raises(InferenceError) as error:
        client(fake, api, read_timeout=0.5).chat(user("[[silent 3]]"))
    assert error.value.timeout and "timed out" in str(error.value)
    assert time.monotonic() - started < 2.5


def seconds_until_canceled(backend_client: Client, prompt: str) -> float:
    """Stream `prompt`, cancel 0.3 s in; how long until the stream ended with Canceled."""
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Canceled):
        list(backend_client.stream(user(prompt), cancel=cancel))
    return time.monotonic() - started


@pytest.mark.parametrize("api", APIS)
def test_cancel_closes_the_upstream_request_at_once_even_while_the_backend_is_silent(fake, api):
    # at once, not at the next word: 5 s apart, so a loaded machine cannot blur the two
    assert seconds_until_canceled(client(fake, api), "[[slow 5]] a b c d e f") < 2.5
    assert fake.disconnected.wait(15)  # the fake sees the connection closed when it next writes (5 s on)


@pytest.mark.parametrize("api", APIS)
def test_a_caller_that_stops_reading_closes_the_upstream_request(fake, api):
    answer = client(fake, api).stream(user("[[slow 0.2]] a b c d e"))
    assert next(answer) == "echo:"
    answer.close()
    assert fake.disconnected.wait(5)


@pytest.mark.parametrize("api", APIS)
def test_probe_says_whether_the_backend_answers(fake, api):
    assert client(fake, api).probe() is True
    assert Client(Backend("http://127.0.0.1:9", api, "m")).probe() is False


def test_from_settings_is_none_without_a_url(tmp_path):
    assert Backend.from_settings(resolve({"data_dir": str(tmp_path)}, {})) is None
    configured = Backend.from_settings(resolve({"data_dir": str(tmp_path)}, {
        "CYNODE_INFERENCE_URL": "http://models:8000/", "CYNODE_INFERENCE_API": "openai"}))
    assert (configured.url, configured.api, configured.model) == ("http://models:8000", "openai", "qwen3.5:0.8b")


@pytest.mark.parametrize("api", APIS)
def test_cancel_works_while_the_backend_has_not_even_sent_its_headers(fake, api):
    """Ollama stays silent before its headers while it loads a model: cancel must not wait for them."""
    # not after the backend's 30 s of silence
    assert seconds_until_canceled(client(fake, api, read_timeout=60), "[[silent 30]] a b c") < 10


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("directive, cause", [
    ("[[cut]]", "the answer ended "),
    ("[[garbage]]", "the backend sent something that is not JSON: b'not json'"),
    ("[[garbage]] [[array]]", "the backend sent an unexpected value: b'[1, 2]'"),
    ("[[html 502]]", "HTTP 502: <html><body>Bad Gateway</body></html>"),
])
def test_a_broken_answer_is_named_not_taken_for_an_answer(fake, api, directive, cause):
    with pytest.raises(InferenceError) as error:
        client(fake, api).chat(user(f"{directive} a b c d"))
    assert str(error.value).startswith(f"inference backend {fake.url}: {cause}")


def test_a_base_url_with_a_path_keeps_it(fake):
    """LiteLLM or a proxy may serve the API below a path: the chat path goes after it."""
    with pytest.raises(InferenceError, match="HTTP 404"):
        Client(Backend(fake.url + "/proxy", "openai", "fake-model")).chat(user("x"))
    assert fake.requests[-1]["path"] == "/proxy/v1/chat/completions"
