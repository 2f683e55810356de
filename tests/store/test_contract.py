"""The storage contract: what the server relies on from any backend. Every test runs on SQLite and PostgreSQL."""

import pytest

from cynode.store import migrations
from cynode.store.records import utcnow
from cynode.store.store import Conflict, RefreshOutcome, Store

HOUR = 3600


def versions(store) -> list[int]:
    return [row[0] for row in store.db.execute_sql("SELECT version FROM schema_version ORDER BY version")]


def login(store, user, name: str, access_ttl: int = HOUR, refresh_ttl: int = HOUR) -> str:
    """A session whose access hash is `a-<name>` and refresh hash `r-<name>`; returns its family."""
    session_id = store.create_session(user.id, f"a-{name}", f"r-{name}", access_ttl, refresh_ttl)
    return store.session_for_access(f"a-{name}").family if access_ttl else session_id


def rotate(store, old: str, new: str):
    return store.rotate_refresh(f"r-{old}", f"a-{new}", f"r-{new}", HOUR, HOUR)


def refusal(store, old: str, new: str) -> tuple[str | None, str | None]:
    """(the token's user id or None, why it was refused) of a rotation that must fail."""
    user, outcome = rotate(store, old, new)
    return (user.id if user else None), outcome


# schema ----------------------------------------------------------------------------------------------------------


def test_migrate_is_versioned_and_idempotent(unmigrated):
    store = unmigrated
    assert store.migrate() == len(migrations.STEPS)
    assert store.migrate() == len(migrations.STEPS)
    assert versions(store) == list(range(1, len(migrations.STEPS) + 1))


def test_migrate_applies_only_the_missing_steps(url):
    store = Store(url)
    try:
        with store.db.connection_context():
            assert migrations.current_version(store.db) == 0
            with store.db.atomic():
                migrations.apply_step(store.db, 1)
        store.create_user("kept", None)
        assert store.migrate() == len(migrations.STEPS)
        assert versions(store) == list(range(1, len(migrations.STEPS) + 1))
        assert store.user_by_handle("kept") is not None
    finally:
        store.close()


def test_a_database_from_a_newer_build_is_refused(url):
    store = Store(url)
    try:
        store.migrate()
        store.db.execute_sql("INSERT INTO schema_version (version, applied_at) VALUES (999, %s)"
                             .replace("%s", store.db.param), (utcnow(),))
        with pytest.raises(RuntimeError, match="schema version 999 is newer than this build"):
            store.migrate()
    finally:
        store.close()


def test_ping_and_backend_name(store, url):
    store.ping()
    assert store.backend == url.split(":")[0]


# users -----------------------------------------------------------------------------------------------------------


def test_create_and_find_users(store):
    alice = store.create_user("alice", "$hash", is_admin=True, email="alice@example.org")
    assert (alice.handle, alice.password_hash, alice.is_admin, alice.is_active, alice.email) == (
        "alice", "$hash", True, True, "alice@example.org")
    assert len(alice.id) == 36 and alice.created_at == alice.updated_at
    assert store.user_by_id(alice.id) == alice
    assert store.user_by_handle("alice") == alice
    assert store.user_by_handle("Alice") is None
    assert store.user_by_id("00000000-0000-0000-0000-000000000000") is None
    bob = store.create_user("bob", None)
    assert (bob.is_admin, bob.email, bob.password_hash) == (False, None, None)


def test_a_taken_handle_is_a_conflict_and_the_store_keeps_working(store):
    store.create_user("carol", None)
    with pytest.raises(Conflict):
        store.create_user("carol", "$other")
    assert store.create_user("dave", None).handle == "dave"  # no transaction left broken (PostgreSQL)
    assert [u.handle for u in store.list_users(10, 0)] == ["carol", "dave"]


def test_list_users_pages_in_creation_order(store):
    handles = [f"user{n}" for n in range(5)]
    for handle in handles:
        store.create_user(handle, None)
    assert [u.handle for u in store.list_users(2, 0)] == handles[:2]
    assert [u.handle for u in store.list_users(2, 2)] == handles[2:4]
    assert [u.handle for u in store.list_users(2, 4)] == handles[4:]
    assert store.list_users(2, 10) == []


def test_count_active_admins(store):
    assert store.count_active_admins() == 0
    first = store.create_user("root1", None, is_admin=True)
    store.create_user("root2", None, is_admin=True)
    store.create_user("plain", None)
    assert store.count_active_admins() == 2
    store.set_user_active(first.id, False)
    assert store.count_active_admins() == 1


def test_disabling_a_user_revokes_every_session_at_once(store):
    erin = store.create_user("erin", None)
    login(store, erin, "one")
    login(store, erin, "two")
    disabled, _ = store.set_user_active(erin.id, False)
    assert disabled.is_active is False and disabled.updated_at >= erin.updated_at
    assert store.session_for_access("a-one") is None and store.session_for_access("a-two") is None
    assert store.set_user_active(erin.id, True)[0].is_active is True
    assert store.session_for_access("a-one") is None  # enabling does not bring old sessions back
    assert store.set_user_active("00000000-0000-0000-0000-000000000000", False) == (None, [])


# sessions --------------------------------------------------------------------------------------------------------


def test_an_active_session_is_found_with_its_user(store):
    frank = store.create_user("frank", None, is_admin=True)
    family = login(store, frank, "f")
    session = store.session_for_access("a-f")
    assert (session.family, session.state, session.user) == (family, "active", frank)
    assert session.access_expires_at < session.refresh_expires_at or session.access_expires_at is not None
    assert store.session_for_access("a-unknown") is None
    assert store.session_for_access("r-f") is None  # a refresh token is not an access token


def test_an_expired_access_token_is_not_found(store):
    gina = store.create_user("gina", None)
    store.create_session(gina.id, "a-expired", "r-expired", 0, HOUR)
    assert store.session_for_access("a-expired") is None


def test_rotation_issues_a_new_pair_in_the_same_family(store):
    hank = store.create_user("hank", None)
    family = login(store, hank, "h1")
    user, refused = rotate(store, "h1", "h2")
    assert (user, refused) == (hank, None)
    assert store.session_for_access("a-h1") is None  # the old access token ends with its refresh token
    assert store.session_for_access("a-h2").family == family


def test_an_unknown_refresh_token_is_refused(store):
    assert refusal(store, "nothing", "x") == (None, RefreshOutcome.UNKNOWN)


def test_a_reused_refresh_token_revokes_the_whole_family(store):
    ivan = store.create_user("ivan", None)
    login(store, ivan, "i1")
    other = login(store, ivan, "other")
    assert rotate(store, "i1", "i2")[1] is None
    assert refusal(store, "i1", "thief") == (ivan.id, RefreshOutcome.REUSED)
    assert store.session_for_access("a-i2") is None and store.session_for_access("a-thief") is None
    assert refusal(store, "i2", "i3") == (ivan.id, RefreshOutcome.INACTIVE)
    assert store.session_for_access("a-other").family == other  # another login of the same user survives


def test_refresh_is_refused_for_a_disabled_user_and_an_expired_or_revoked_session(store):
    judy = store.create_user("judy", None)
    login(store, judy, "j")
    store.set_user_active(judy.id, False)
    assert refusal(store, "j", "j2") == (judy.id, RefreshOutcome.INACTIVE)
    kim = store.create_user("kim", None)
    store.create_session(kim.id, "a-k", "r-k", HOUR, 0)
    assert refusal(store, "k", "k2") == (kim.id, RefreshOutcome.INACTIVE)
    family = login(store, kim, "k3")
    store.revoke_family(family)
    assert refusal(store, "k3", "k4") == (kim.id, RefreshOutcome.INACTIVE)


def test_revoke_family_ends_one_login_only(store):
    lena = store.create_user("lena", None)
    family = login(store, lena, "l1")
    rotate(store, "l1", "l2")
    login(store, lena, "l3")
    store.revoke_family(family)
    assert store.session_for_access("a-l2") is None
    assert store.session_for_access("a-l3") is not None
    store.revoke_family(family)  # twice is fine


def test_revoke_user_sessions_counts_and_spares_other_users(store):
    mia, ned = store.create_user("mia", None), store.create_user("ned", None)
    login(store, mia, "m1")
    login(store, mia, "m2")
    login(store, ned, "n1")
    assert store.revoke_user_sessions(mia.id) == 2
    assert store.revoke_user_sessions(mia.id) == 0
    assert store.session_for_access("a-m1") is None and store.session_for_access("a-n1") is not None
