"""The storage contract for personal API tokens, on SQLite and PostgreSQL (fixtures in conftest.py)."""

from datetime import timedelta

import pytest

from cynode.store.models import ApiToken
from cynode.store.records import utcnow
from cynode.store.tokens import TOUCH_INTERVAL, NameTaken

DIGEST = "a" * 64


def later(days: int = 90):
    return utcnow() + timedelta(days=days)


def test_a_created_token_is_listed_and_found_by_its_digest_with_its_user(store):
    alice = store.create_user("alice", None)
    created = store.create_api_token(alice.id, "ci", DIGEST, later())
    assert created.user_id == alice.id and created.name == "ci" and created.revoked_at is None
    assert store.api_tokens(alice.id) == [created]
    found = store.api_token_for(DIGEST)
    assert found.id == created.id and found.user == alice and found.last_used_at is None
    assert store.api_token_for("b" * 64) is None


def test_tokens_list_newest_first_and_only_for_their_owner(store):
    alice, bob = store.create_user("alice", None), store.create_user("bob", None)
    first = store.create_api_token(alice.id, "one", "1" * 64, later())
    second = store.create_api_token(alice.id, "two", "2" * 64, later())
    store.create_api_token(bob.id, "one", "3" * 64, later())
    assert [t.id for t in store.api_tokens(alice.id)] == [second.id, first.id]
    assert [t.name for t in store.api_tokens(bob.id)] == ["one"]


def test_a_name_is_unique_among_live_tokens_only(store):
    alice = store.create_user("alice", None)
    first = store.create_api_token(alice.id, "ci", "1" * 64, later())
    with pytest.raises(NameTaken):
        store.create_api_token(alice.id, "ci", "2" * 64, later())
    assert store.revoke_api_token(alice.id, first.id)
    again = store.create_api_token(alice.id, "ci", "2" * 64, later())
    assert store.api_tokens(alice.id) == [again]


def test_a_revoked_token_is_neither_found_nor_listed_and_revoking_again_finds_nothing(store):
    alice = store.create_user("alice", None)
    token = store.create_api_token(alice.id, "ci", DIGEST, later())
    assert store.revoke_api_token(alice.id, token.id)
    assert store.api_token_for(DIGEST) is None and store.api_tokens(alice.id) == []
    assert not store.revoke_api_token(alice.id, token.id)


def test_only_the_owner_can_revoke_a_token(store):
    alice, bob = store.create_user("alice", None), store.create_user("bob", None)
    token = store.create_api_token(alice.id, "ci", DIGEST, later())
    assert not store.revoke_api_token(bob.id, token.id)
    assert store.api_token_for(DIGEST).id == token.id


def test_an_expired_token_is_neither_found_nor_listed_nor_revocable(store):
    alice = store.create_user("alice", None)
    token = store.create_api_token(alice.id, "ci", DIGEST, utcnow() - timedelta(seconds=1))
    assert store.api_token_for(DIGEST) is None and store.api_tokens(alice.id) == []
    assert not store.revoke_api_token(alice.id, token.id)
    store.create_api_token(alice.id, "ci", "b" * 64, later())  # its name is free again


def test_disabling_a_user_revokes_their_tokens_and_enabling_brings_none_back(store):
    alice = store.create_user("alice", None)
    store.create_api_token(alice.id, "ci", DIGEST, later())
    store.set_user_active(alice.id, False)
    assert store.api_token_for(DIGEST) is None
    store.set_user_active(alice.id, True)
    assert store.api_token_for(DIGEST) is None and store.api_tokens(alice.id) == []


def test_a_use_is_recorded_at_most_once_per_interval(store):
    alice = store.create_user("alice", None)
    store.create_api_token(alice.id, "ci", DIGEST, later())
    store.touch_api_token(store.api_token_for(DIGEST))
    [listed] = store.api_tokens(alice.id)
    assert listed.last_used_at is not None
    store.touch_api_token(store.api_token_for(DIGEST))  # within the interval: nothing written
    assert store.api_tokens(alice.id)[0].last_used_at == listed.last_used_at
    ApiToken.update(last_used_at=listed.last_used_at - TOUCH_INTERVAL).execute()
    store.touch_api_token(store.api_token_for(DIGEST))
    assert store.api_tokens(alice.id)[0].last_used_at > listed.last_used_at - TOUCH_INTERVAL


def test_a_deleted_user_takes_their_tokens_along(store):
    alice = store.create_user("alice", None)
    store.create_api_token(alice.id, "ci", DIGEST, later())
    with store.db.atomic():
        store.db.execute_sql('DELETE FROM "user"')
    assert ApiToken.select().count() == 0
