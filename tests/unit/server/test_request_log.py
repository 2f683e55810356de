"""RequestLog writes one line per request when the server closes the response body, so a streamed answer is
logged with its whole duration; a body the server sends by itself, and an app that raises, are logged at once."""

import io
import logging
import time

import pytest

from cynode.server.app import RequestLog


def environ(**extra) -> dict:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", **extra}


def lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cynode.http"]


def start_response(_status, _headers, _exc_info=None):
    return None


def test_a_streamed_body_is_logged_once_when_closed_with_its_whole_duration(caplog):
    closed = []

    def stream():
        try:
            yield b"a"
            time.sleep(0.05)
            yield b"b"
        finally:
            closed.append(True)

    def app(env, respond):
        respond("200 OK", [])
        env["cynode.user_id"] = "u1"
        return stream()

    with caplog.at_level(logging.INFO, logger="cynode.http"):
        body = RequestLog(app)(environ(), start_response)
        assert not lines(caplog)  # not yet: nothing has been sent
        assert b"".join(body) == b"ab"
        body.close()
        body.close()  # a second close writes nothing more
    [line] = lines(caplog)
    assert closed == [True] and " status=200 " in line and " user=u1 " in line
    assert float(line.split(" ms=")[1].split()[0]) >= 50


def test_an_app_that_raises_is_logged_and_the_error_goes_on(caplog):
    def app(_env, _respond):
        raise RuntimeError("boom")

    with caplog.at_level(logging.INFO, logger="cynode.http"), pytest.raises(RuntimeError):
        RequestLog(app)(environ(), start_response)
    [line] = lines(caplog)
    assert " status=- " in line


class FileWrapper:  # pylint: disable=too-few-public-methods
    """What a server offers as wsgi.file_wrapper (waitress: a buffer it sends by itself)."""

    def __init__(self, handle):
        self.handle = handle


def test_a_file_the_server_sends_itself_is_returned_as_it_is_and_logged_at_once(caplog):
    wrapped = FileWrapper(io.BytesIO(b"data"))

    def app(_env, respond):
        respond("200 OK", [])
        return wrapped

    with caplog.at_level(logging.INFO, logger="cynode.http"):
        assert RequestLog(app)(environ(**{"wsgi.file_wrapper": FileWrapper}), start_response) is wrapped
    assert len(lines(caplog)) == 1


def test_a_body_of_known_length_keeps_its_length():
    def app(_env, respond):
        respond("200 OK", [])
        return [b"whole"]

    body = RequestLog(app)(environ(), start_response)
    assert len(body) == 1 and list(body) == [b"whole"]
    body.close()


def test_the_request_releases_its_database_connection_once_when_it_is_over_even_when_the_app_raises():
    released = []

    def app(_env, respond):
        respond("200 OK", [])
        return [b"ok"]

    def failing(_env, _respond):
        raise RuntimeError("boom")

    body = RequestLog(app, lambda: released.append("ok"))(environ(), start_response)
    assert not released  # a streamed answer may still read the database
    body.close()
    body.close()
    with pytest.raises(RuntimeError):
        RequestLog(failing, lambda: released.append("raised"))(environ(), start_response)
    assert released == ["ok", "raised"]
