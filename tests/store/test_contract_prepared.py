"""Prepared queries on both backends: writes bind fresh values into SQL built once and report what they changed."""

from datetime import datetime

import pytest

from cynode.store.models import User
from cynode.store.prepared import Prepared


def test_a_prepared_update_counts_rows_and_returns_them(store):
    user = store.create_user("alice", None).id
    stamp = datetime(2026, 1, 2, 3, 4, 5, 678000)
    stamp_of = Prepared(store.db, lambda owner, now: User.update(last_claimed_at=now).where(User.id == owner), 2)
    assert stamp_of.count(user, stamp) == 1
    assert stamp_of.count("nobody", stamp) == 0
    returning = Prepared(store.db, lambda owner, handle: User.update(handle=handle).where(User.id == owner)
                         .returning(User.id, User.handle, User.last_claimed_at), 2)
    assert returning.rows(user, "bob") == [{(User, "id"): user, (User, "handle"): "bob",
                                            (User, "last_claimed_at"): stamp}]
    assert not returning.rows("nobody", "carol")


def test_a_marker_the_query_never_binds_is_refused(store):
    with pytest.raises(ValueError):
        Prepared(store.db, lambda owner: User.update(handle="x").where(User.id == "fixed"), 1)
