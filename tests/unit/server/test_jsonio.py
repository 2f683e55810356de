"""Reading request bodies and shaping list responses (spec/gateway.md §1, §2.1)."""

import datetime
import io
from types import SimpleNamespace

import pytest

from cynode.server.errors import BadRequest
from cynode.contract import rfc3339
from cynode.server.jsonio import decode_json, page, page_params, read_json, text_field, text_problem


def body(raw: bytes):
    """The one thing read_json uses of a request: a readable body."""
    return SimpleNamespace(body=io.BytesIO(raw))


def test_rfc3339_is_utc_seconds_with_z():
    assert rfc3339(datetime.datetime(2026, 3, 1, 12, 0, 0, 123456)) == "2026-03-01T12:00:00Z"
    assert rfc3339(None) is None


def test_read_json_objects_only():
    assert read_json(body(b'{"a": [1, "\xc3\xbc"]}')) == {"a": [1, "ü"]}
    assert read_json(body(b"  \n"), allow_empty=True) == {}
    for raw in (b"", b"{", b"[]", b'"text"', b"\xff\xfe", b"null"):
        with pytest.raises(BadRequest) as error:
            read_json(body(raw))
        assert (error.value.status, error.value.detail) == (400, "Invalid request body")


SURROGATE = "text must be valid Unicode (a lone surrogate such as \\ud800 cannot be stored)"


@pytest.mark.parametrize("raw, problem", [
    (rb'{"a": "\ud800"}', SURROGATE),
    (rb'{"a": {"b": ["ok", "x\udfff"]}}', SURROGATE),
    (rb'{"\ud800": 1}', SURROGATE),
    (rb'{"a": "x\u0000y"}', "NUL characters (\\u0000) are not allowed"),
    (rb'{"a": [[{"\u0000": null}]]}', "NUL characters (\\u0000) are not allowed"),
])
def test_text_that_cannot_be_stored_is_a_400_naming_the_problem(raw, problem):
    with pytest.raises(BadRequest) as error:
        read_json(body(raw))
    assert (error.value.status, error.value.detail) == (400, f"Invalid request body: {problem}")


def test_decode_json_keeps_good_text_and_names_its_part():
    assert decode_json(rb'{"emoji": "\ud83d\ude00", "tab": "a\tb", "n": [1, null, true]}') == {
        "emoji": "\U0001f600", "tab": "a\tb", "n": [1, None, True]}
    with pytest.raises(BadRequest) as error:
        decode_json(rb'{"a": "\u0000"}', what="request part: Invalid request body")
    assert error.value.detail == "request part: Invalid request body: NUL characters (\\u0000) are not allowed"
    assert text_problem("plain") is None


def test_nesting_too_deep_for_the_decoder_is_a_400_not_a_crash():
    with pytest.raises(BadRequest) as error:
        read_json(body(b"[" * 100_000))
    assert error.value.detail == "Invalid request body"


def test_text_field():
    assert text_field({"a": "x"}, "a") == "x"
    assert text_field({}, "a", required=False) is None
    assert text_field({"a": ""}, "a", required=False) is None
    for data, detail in (({}, "a is required"), ({"a": ""}, "a is required"), ({"a": None}, "a is required"),
                         ({"a": 1}, "a must be a string"), ({"a": ["x"]}, "a must be a string")):
        with pytest.raises(BadRequest) as error:
            text_field(data, "a")
        assert error.value.detail == detail


def test_page_params():
    assert page_params({}) == (50, 0)
    assert page_params({"limit": "200", "offset": "7"}) == (200, 7)
    assert page_params({"limit": "1", "offset": "7", "cursor": "3"}) == (1, 3)  # the cursor wins
    for query in ({"limit": "0"}, {"limit": "201"}, {"limit": "1.5"}, {"offset": "-1"}, {"cursor": "abc"}):
        with pytest.raises(BadRequest):
            page_params(query)


def test_page_has_a_next_cursor_only_when_more_exist():
    assert page([1, 2, 3], 2, 4, "items") == {"items": [1, 2], "next_cursor": "6"}
    assert page([1, 2], 2, 0, "items") == {"items": [1, 2]}
    assert page([], 5, 0, "items") == {"items": []}
