"""The storage contract for egress credentials, on SQLite and PostgreSQL (fixtures in conftest.py)."""

import uuid

import pytest

from cynode.store.credentials import CredentialExists, CredentialFilter


def _create(store, owner_id: str, name: str = "gh", provider: str = "github", owner_type: str = "user"):
    return store.create_credential(str(uuid.uuid4()), owner_type=owner_type, owner_id=owner_id, provider=provider,
                                   credential_type="api_key", name=name, ciphertext="v1.sealed", kid="k1-x",
                                   expires_at=None, updated_by=owner_id)


def test_a_created_credential_is_found_by_id_and_holds_only_what_it_was_given(store):
    alice = store.create_user("alice", None)
    cred = _create(store, alice.id)
    assert cred.is_active and cred.credential_ciphertext == "v1.sealed" and cred.credential_kid == "k1-x"
    assert store.credential_by_id(cred.id) == cred
    assert store.credential_by_id(str(uuid.uuid4())) is None
    assert "sealed" not in repr(cred)  # the ciphertext stays out of log lines too


def test_owner_provider_and_name_are_unique_together_even_when_disabled(store):
    alice, bob = store.create_user("alice", None), store.create_user("bob", None)
    first = _create(store, alice.id)
    store.set_credential_active(first.id, False, alice.id)
    with pytest.raises(CredentialExists):
        _create(store, alice.id)
    _create(store, alice.id, provider="gitlab")  # same name, another provider
    _create(store, bob.id)  # another owner
    _create(store, alice.id, owner_type="group")  # a group with the same id is another owner
    assert [c.provider for c in store.user_credentials_named(alice.id, "gh")] == ["github", "gitlab"]


def test_the_list_filters_and_pages_in_creation_order(store):
    alice, bob = store.create_user("alice", None), store.create_user("bob", None)
    made = [_create(store, alice.id, name=f"n{i}") for i in range(3)]
    _create(store, bob.id, provider="openai")
    store.set_credential_active(made[1].id, False, alice.id)
    mine = CredentialFilter("user", alice.id)
    assert [c.id for c in store.list_credentials(mine, 10, 0)] == [c.id for c in made]
    assert [c.id for c in store.list_credentials(mine, 2, 1)] == [made[1].id, made[2].id]
    assert [c.id for c in store.list_credentials(CredentialFilter("user", alice.id, is_active=False), 10, 0)] \
        == [made[1].id]
    assert [c.owner_id for c in store.list_credentials(CredentialFilter(provider="openai"), 10, 0)] == [bob.id]
    assert len(store.list_credentials(CredentialFilter(), 10, 0)) == 4


def test_rotate_and_enable_change_the_row_and_who_changed_it(store):
    alice, admin = store.create_user("alice", None), store.create_user("root", None, is_admin=True)
    cred = _create(store, alice.id)
    rotated = store.rotate_credential(cred.id, "v1.other", "k1-y", admin.id)
    assert (rotated.credential_ciphertext, rotated.credential_kid, rotated.updated_by) == ("v1.other", "k1-y",
                                                                                          admin.id)
    assert rotated.updated_at >= cred.updated_at
    assert not store.set_credential_active(cred.id, False, alice.id).is_active
    assert store.set_credential_active(cred.id, True, admin.id).is_active
    assert store.count_credentials_sealed_by_other_keys("k1-y") == 0
    assert store.count_credentials_sealed_by_other_keys("k1-z") == 1
