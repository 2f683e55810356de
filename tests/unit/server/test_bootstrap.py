"""The bootstrap `admin` account: created once, never reset, never with a default password."""

import pytest

from cynode.server.bootstrap import ensure_admin
from cynode.server.errors import ApiError
from cynode.server.security import verify_password
from cynode.store.store import Store


@pytest.fixture(name="store")
def fixture_store(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/cynode.db")
    store.migrate()
    yield store
    store.close()


def test_a_generated_password_is_announced_once_and_works(store):
    said = []
    assert ensure_admin(store, None, said.append) is True
    assert len(said) == 1
    password = said[0].split("password: ", 1)[1].split("\n", 1)[0]
    assert len(password) >= 16
    admin = store.user_by_handle("admin")
    assert admin.is_admin and admin.is_active and password not in admin.password_hash
    assert verify_password(password, admin.password_hash)
    assert ensure_admin(store, None, said.append) is False
    assert len(said) == 1 and store.user_by_handle("admin").password_hash == admin.password_hash


def test_the_environment_password_is_used_and_never_shown(store):
    said = []
    assert ensure_admin(store, "chosen-password-1", said.append) is True
    assert "chosen-password-1" not in said[0] and "CYNODE_ADMIN_PASSWORD" in said[0]
    assert verify_password("chosen-password-1", store.user_by_handle("admin").password_hash)


def test_an_existing_admin_is_never_reset(store):
    store.create_user("admin", "$scrypt$n=1024,r=8,p=1$AAAA$AAAA", is_admin=True)
    said = []
    assert ensure_admin(store, "new-password-99", said.append) is False
    assert not said and store.user_by_handle("admin").password_hash == "$scrypt$n=1024,r=8,p=1$AAAA$AAAA"


def test_a_too_short_environment_password_is_refused(store):
    with pytest.raises(ApiError) as error:
        ensure_admin(store, "short", lambda text: None)
    assert error.value.detail == "password must be at least 8 characters"
    assert store.user_by_handle("admin") is None


def test_a_password_longer_than_login_accepts_is_refused(store):
    """Login refuses passwords over 1024 characters before hashing them, so no account may be given one."""
    with pytest.raises(ApiError) as error:
        ensure_admin(store, "p" * 1025, lambda text: None)
    assert error.value.detail == "password: at most 1024 characters"
    assert store.user_by_handle("admin") is None


def test_an_admin_created_by_another_process_meanwhile_is_kept_and_nothing_is_announced(store, monkeypatch):
    """Gateways starting at once on one database (scale-out) both find no admin; the slower one's insert conflicts.
    That is not an error (it was: the second `serve` crashed with Conflict and exited 1)."""
    other = store.create_user("admin", "$scrypt$n=1024,r=8,p=1$AAAA$AAAA", is_admin=True)
    monkeypatch.setattr(store, "user_by_handle", lambda handle: None)  # what the slower process saw before the insert
    said = []
    assert ensure_admin(store, "chosen-password-1", said.append) is False
    assert not said
    monkeypatch.undo()
    assert store.user_by_handle("admin").password_hash == other.password_hash
