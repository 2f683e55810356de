"""Reading server-sent events and the streamed answer from bodies cut at every possible byte boundary."""

import json

import pytest

from cynode.cli.exits import CliError, ExitStatus
from cynode.cli.sse import MAX_LINE, answer_pieces, events


def chunk(text: str, **delta) -> str:
    return "data: " + json.dumps({"object": "chat.completion.chunk", "choices": [
        {"index": 0, "delta": {"content": text, **delta}, "finish_reason": None}]}) + "\n\n"


def every_split(body: bytes):
    """The body as one piece, byte by byte, and cut in two at every position."""
    yield [body]
    yield [body[n:n + 1] for n in range(len(body))]
    for cut in range(len(body) + 1):
        yield [body[:cut], body[cut:]]


def answer(pieces) -> str:
    return "".join(answer_pieces(events(pieces)))


def test_an_answer_reads_the_same_however_the_body_is_cut():
    body = (": keep-alive\n\n" + chunk("", role="assistant") + chunk("héllo") + chunk(" wörld 🌍")
            + "data: [DONE]\n\n").encode()
    for pieces in every_split(body):
        assert answer(pieces) == "héllo wörld 🌍", pieces


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_every_line_end_and_a_crlf_split_across_chunks(end):
    body = f"data: one{end}{end}data: two{end}data: three{end}{end}".encode()
    for pieces in every_split(body):
        assert list(events(pieces)) == ["one", "two\nthree"], pieces


def test_fields_comments_and_spacing():
    body = (b"\xef\xbb\xbf: a comment\nevent: message\nid: 7\nretry: 10\ndata:no-space\n\n"
            b"data:  two spaces\n\ndata\n\n: only a comment\n\nunknown: field\n\n")
    assert list(events([body])) == ["no-space", " two spaces", ""]
    assert list(events([b"\xef", b"\xbb", b"\xbfdata: x\n\n"])) == ["x"]  # a byte order mark cut in three


def test_an_event_cut_off_at_the_end_is_dropped():
    assert list(events([b"data: whole\n\ndata: half"])) == ["whole"]
    assert list(events([b"data: whole\n\ndata: half\n"])) == ["whole"]


def test_invalid_utf8_becomes_a_replacement_character():
    assert list(events([b"data: \xff\xfe ok\n\n"])) == ["\ufffd\ufffd ok"]


def test_a_line_without_end_that_never_stops_is_refused():
    with pytest.raises(CliError) as error:
        list(events(iter([b"data: ", b"x" * MAX_LINE, b"x"])))
    assert error.value.status == ExitStatus.GATEWAY


def test_done_ends_the_answer_and_what_follows_is_not_read():
    assert answer([(chunk("a") + "data: [DONE]\n\n" + "data: not json\n\n").encode()]) == "a"


def test_pieces_without_text_are_skipped():
    body = ("data: " + json.dumps({"choices": []}) + "\n\n" + chunk("") + "data: "
            + json.dumps({"choices": [{"delta": {}, "finish_reason": "stop"}]}) + "\n\n"
            + "data: " + json.dumps({"choices": [{"delta": {"content": None}}]}) + "\n\ndata: [DONE]\n\n")
    assert answer([body.encode()]) == ""


@pytest.mark.parametrize("payload", ["not json", "[1, 2]", '{"choices": "x"}', '{"choices": [1]}',
                                     '{"choices": [{"delta": 5}]}', '{"choices": [{"delta": {"content": 5}}]}',
                                     '{"object": "something else"}', '"text"'])
def test_garbage_is_a_gateway_error(payload):
    with pytest.raises(CliError) as error:
        answer([(chunk("partial") + f"data: {payload}\n\n").encode()])
    assert (error.value.status, error.value.message) == (
        ExitStatus.GATEWAY, "the gateway sent a piece of the answer that is not a completion chunk")


@pytest.mark.parametrize("payload, message", [
    ({"error": {"message": "Completion failed: boom", "code": "x"}}, "Completion failed: boom"),
    ({"error": "plain words"}, "plain words"),
    ({"error": 42}, "the gateway reported an error")])
def test_an_error_event_breaks_the_answer_off(payload, message):
    seen = []
    with pytest.raises(CliError) as error:
        for piece in answer_pieces(events([(chunk("half") + "data: " + json.dumps(payload) + "\n\n").encode()])):
            seen.append(piece)
    assert seen == ["half"]  # what came before the error was given out first
    assert (error.value.status, error.value.message) == (ExitStatus.GATEWAY, f"the answer broke off: {message}")


@pytest.mark.parametrize("body", [b"", chunk("half").encode(), (chunk("half") + "data: [DO").encode()])
def test_a_stream_that_ends_before_done_is_cut_off(body):
    with pytest.raises(CliError) as error:
        answer([body])
    assert error.value.status == ExitStatus.GATEWAY
    assert error.value.message.endswith("the stream ended before the gateway said it was done")
