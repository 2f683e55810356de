"""A dispatcher loop's database outage is one line when it begins and one when it ends; other errors pass."""

import logging
import threading

import pytest

from cynode.dispatch.outage import Outage
from cynode.store.database import DatabaseUnavailable


def test_an_outage_is_one_line_when_it_begins_and_one_when_it_ends(caplog):
    outage, name = Outage(), threading.current_thread().name
    with caplog.at_level(logging.INFO, logger="cynode.dispatch"):
        for _ in range(3):  # three ticks of the loop while the database is away
            with outage:
                raise DatabaseUnavailable("[Errno 111] Connection refused")
        for _ in range(2):
            with outage:
                pass
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"{name}: database unavailable ([Errno 111] Connection refused); retrying"),
        ("INFO", f"{name}: database is back")]


def test_any_other_error_passes_through_for_the_loop_to_log_with_its_traceback():
    with pytest.raises(ValueError, match="a bug"):
        with Outage():
            raise ValueError("a bug")
