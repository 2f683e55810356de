"""The storage contract for chat exchanges, on SQLite and PostgreSQL (fixtures in conftest.py)."""

import dataclasses

import pytest

from cynode.store.records import ChatExchangeRecord, utcnow


def exchange(user, **changes) -> ChatExchangeRecord:
    values = {"user_id": user.id, "route": "/v1/chat/completions", "model": "m1", "stream": False,
              "message_count": 3, "request_bytes": 12, "request_chars": 10, "response_bytes": 7,
              "response_chars": 7, "outcome": "success", "error_code": None, "duration_ms": 42,
              "request_id": "0" * 32}
    return ChatExchangeRecord(**{**values, **changes})


def test_an_exchange_is_stored_with_every_field_and_listed_for_its_user(store):
    alice = store.create_user("alice", None)
    before = utcnow()
    stored = store.record_chat_exchange(exchange(alice, stream=True, outcome="timeout",
                                                 error_code="cynodeai_completion_timeout", response_chars=0,
                                                 response_bytes=0))
    assert stored.id and before <= stored.created_at <= utcnow()
    [listed] = store.chat_exchanges(alice.id)
    assert listed == stored
    assert listed.stream is True and listed.error_code == "cynodeai_completion_timeout"


def test_a_users_exchanges_come_newest_first_and_page_and_other_users_see_none(store):
    alice, bob = store.create_user("alice", None), store.create_user("bob", None)
    ids = [store.record_chat_exchange(exchange(alice, duration_ms=n)).id for n in range(3)]
    store.record_chat_exchange(exchange(bob))
    assert [e.id for e in store.chat_exchanges(alice.id)] == ids[::-1]
    assert [e.id for e in store.chat_exchanges(alice.id, limit=2, offset=1)] == ids[1::-1]
    assert len(store.chat_exchanges(bob.id)) == 1
    assert not store.chat_exchanges(store.create_user("carol", None).id)


def test_every_outcome_is_accepted_and_anything_else_refused(store):
    alice = store.create_user("alice", None)
    for outcome in ("success", "error", "timeout", "canceled"):
        store.record_chat_exchange(exchange(alice, outcome=outcome))
    with pytest.raises(ValueError, match="outcome must be one of"):
        store.record_chat_exchange(exchange(alice, outcome="fine"))
    assert sorted(e.outcome for e in store.chat_exchanges(alice.id)) == ["canceled", "error", "success", "timeout"]


def test_text_fields_at_their_limits_are_kept(store):
    alice = store.create_user("alice", None)
    long = exchange(alice, model="m" * 256, error_code="e" * 64, request_id="r" * 64, request_bytes=2**31 - 1)
    stored = store.record_chat_exchange(long)
    assert store.chat_exchanges(alice.id) == [stored]
    assert dataclasses.replace(stored, id="", created_at=None) == long


def test_a_deleted_user_takes_their_exchanges_along(store):
    alice = store.create_user("alice", None)
    store.record_chat_exchange(exchange(alice))
    with store.db.atomic():
        store.db.execute_sql('DELETE FROM "user" WHERE "id" = ' + store.db.param, (alice.id,))
    assert not store.chat_exchanges(alice.id)
