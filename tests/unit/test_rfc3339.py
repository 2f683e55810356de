"""contract.parse_rfc3339: what `since`/`until` accept, on the server and (before any request) in the CLI."""

from datetime import datetime

import pytest

from cynode.contract import parse_rfc3339


@pytest.mark.parametrize("text, expected", [
    ("2026-11-30T08:00:00Z", datetime(2026, 11, 30, 8)),
    ("2026-11-30t08:00:00z", datetime(2026, 11, 30, 8)),
    ("2026-11-30T08:00:00.5+02:00", datetime(2026, 11, 30, 6, 0, 0, 500000)),
    ("2026-11-30T08:00:00.123456789-01:30", datetime(2026, 11, 30, 9, 30, 0, 123456)),
    ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59)),  # a leap second
    ("0001-01-01T00:00:00+23:59", datetime.min),  # before the calendar's start once the offset applies
    ("9999-12-31T23:59:59-23:59", datetime.max),
])
def test_rfc3339_times_are_read_as_naive_utc(text, expected):
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize("text", [
    "yesterday", "", "2026-11-30", "2026-11-30T08:00:00", "2026-11-30 08:00:00Z", "2026-11-30T24:00:00Z",
    "2026-11-30T08:60:00Z", "2026-11-30T08:00:61Z", "2026-02-30T00:00:00Z", "0000-01-01T00:00:00Z",
    "2026-11-30T08:00:00+24:00", "2026-11-30T08:00:00+0200", "2026-11-30T08:00:00.Z", "\uff12026-11-30T08:00:00Z",
    "2026-11-30T08:00:00Z\n", "1700000000",
])
def test_anything_else_is_not_a_time(text):
    assert parse_rfc3339(text) is None
