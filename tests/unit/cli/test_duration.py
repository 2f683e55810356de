"""Go-style durations for `task watch --interval`."""

import pytest

from cynode.cli.duration import SECOND, format_ns, parse

MS = SECOND // 1000


@pytest.mark.parametrize("text, nanoseconds", [
    ("500ms", 500 * MS), ("2s", 2 * SECOND), ("1m30s", 90 * SECOND), ("1.5h", 5400 * SECOND), (".5s", 500 * MS),
    ("1.s", SECOND), ("0", 0), ("+3s", 3 * SECOND), ("-2s", -2 * SECOND), ("1h2m3.25s", 3723250 * MS),
    ("300us", 300_000), ("2µs", 2000), ("7ns", 7), ("0.1s", 100 * MS), ("1m0.000000001s", 60 * SECOND + 1),
])
def test_parse(text, nanoseconds):
    assert parse(text) == nanoseconds


@pytest.mark.parametrize("text", ["", "-", "2", "s", ".s", "1x", "1s2", "++1s", "abc", "1.2.3s", " 1s", "1 s",
                                  "1S", "1sec"])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        parse(text)


@pytest.mark.parametrize("nanoseconds, text", [
    (SECOND, "1s"), (2 * SECOND, "2s"), (90 * SECOND, "1m30s"), (3600 * SECOND, "1h0m0s"), (1500 * MS, "1.5s"),
    (3723250 * MS, "1h2m3.25s"), (60 * SECOND + 1, "1m0.000000001s"),
])
def test_format_as_go_does(nanoseconds, text):
    assert format_ns(nanoseconds) == text
    assert parse(text) == nanoseconds
