"""The storage contract for preferences and system settings, on SQLite and PostgreSQL (fixtures in conftest.py)."""

import threading

import pytest

from cynode.store.preferences import MODEL_SETTING, VersionConflict


def test_an_upsert_creates_version_1_then_counts_up_and_keeps_the_json(store):
    entry, created = store.set_preference("user", "u1", "language.preferred", "en", "string", by="alice")
    assert created and entry.version == 1 and entry.value == "en" and entry.scope_id == "u1"
    entry, created = store.set_preference("user", "u1", "language.preferred", {"a": [1, None, "é"]}, "object",
                                          by="bob")
    assert not created and entry.version == 2 and entry.value == {"a": [1, None, "é"]}
    assert entry.value_type == "object" and entry.updated_by == "bob" and entry.updated_at >= entry.created_at
    assert store.preference("user", "u1", "language.preferred") == entry


def test_the_system_scope_has_no_id_and_scopes_keep_their_own_keys(store):
    system, _ = store.set_preference("system", None, "k", 1, "number", by="admin")
    assert system.scope_id is None
    store.set_preference("user", "u1", "k", 2, "number", by="alice")
    store.set_preference("task", "t1", "k", None, "null", by="alice")
    assert store.preference("system", None, "k").value == 1
    assert store.preference("user", "u1", "k").value == 2
    assert store.preference("task", "t1", "k").value is None
    assert store.preference("user", "u2", "k") is None


def test_a_wrong_expected_version_is_a_conflict_and_changes_nothing(store):
    store.set_preference("user", "u1", "k", 1, "number", by="alice")
    with pytest.raises(VersionConflict):
        store.set_preference("user", "u1", "k", 2, "number", by="alice", expected_version=2)
    with pytest.raises(VersionConflict):
        store.set_preference("user", "u1", "new", 2, "number", by="alice", expected_version=1)
    with pytest.raises(VersionConflict):
        store.delete_preference("user", "u1", "k", by="alice", expected_version=5)
    assert store.preference("user", "u1", "k").version == 1 and store.preference("user", "u1", "new") is None
    assert store.set_preference("user", "u1", "k", 3, "number", by="alice", expected_version=1)[0].version == 2
    assert store.set_preference("user", "u1", "fresh", 3, "number", by="alice", expected_version=0)[0].version == 1
    assert len(store.preference_history("user", "u1", "k")) == 2


def test_every_change_is_in_the_history_with_old_and_new_json_and_why(store):
    store.set_preference("project", "p1", "k", "a", "string", by="alice", reason="first")
    store.set_preference("project", "p1", "k", ["b"], "array", by="bob")
    assert store.delete_preference("project", "p1", "k", by="carol", reason="done")
    assert not store.delete_preference("project", "p1", "k", by="carol")
    assert not store.delete_preference("project", "p1", "k", by="carol", expected_version=0)  # absent: nothing
    store.set_preference("project", "p1", "k", True, "boolean", by="dave")
    history = store.preference_history("project", "p1", "k")
    assert [(h.old_value, h.new_value, h.changed_by, h.reason) for h in history] == [
        (None, '"a"', "alice", "first"), ('"a"', '["b"]', "bob", None), ('["b"]', None, "carol", "done"),
        (None, "true", "dave", None)]
    assert store.preference("project", "p1", "k").version == 1  # a re-created entry starts again


def test_a_list_is_one_scope_by_key_with_a_prefix_and_pages(store):
    for key in ("b.x", "a", "b.y", "B", "b", "é"):
        store.set_preference("user", "u1", key, key, "string", by="alice")
    store.set_preference("user", "u2", "b.z", 1, "number", by="bob")
    assert [p.key for p in store.preferences("user", "u1", None, 50, 0)] == ["B", "a", "b", "b.x", "b.y", "é"]
    assert [p.key for p in store.preferences("user", "u1", "b.", 50, 0)] == ["b.x", "b.y"]
    assert [p.key for p in store.preferences("user", "u1", "b%", 50, 0)] == []  # a prefix is text, not a pattern
    assert [p.key for p in store.preferences("user", "u1", None, 2, 2)] == ["b", "b.x"]


def test_concurrent_upserts_of_one_key_lose_no_version(store):
    threads, each = 6, 5
    barrier = threading.Barrier(threads)
    failures = []

    def writer(number):
        try:
            barrier.wait()
            for turn in range(each):
                store.set_preference("user", "u1", "hot", [number, turn], "array", by=f"w{number}")
                store.set_setting("hot", turn, "number", by=f"w{number}")
        except Exception as exc:  # pylint: disable=broad-exception-caught  # reported below
            failures.append(exc)
        finally:
            store.db.close()  # this thread's connection

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not failures, failures
    assert store.preference("user", "u1", "hot").version == threads * each
    assert len(store.preference_history("user", "u1", "hot")) == threads * each
    assert store.setting("hot").version == threads * each
    assert len(store.setting_history("hot")) == threads * each


def test_the_effective_merge_lets_the_narrower_scope_win_and_null_mask(store):
    store.set_preference("system", None, "style", "long", "string", by="admin")
    store.set_preference("system", None, "only.system", 1, "number", by="admin")
    store.set_preference("user", "u1", "style", "short", "string", by="alice")
    store.set_preference("user", "u1", "lang", "en", "string", by="alice")
    store.set_preference("project", "p1", "lang", None, "null", by="alice")
    store.set_preference("task", "t1", "style", "bullets", "string", by="alice")
    store.set_preference("user", "u2", "lang", "fr", "string", by="bob")  # another user's: never applied
    effective, sources = store.effective_preferences(
        [("system", None), ("user", "u1"), ("project", "p1"), ("task", "t1")])
    assert effective == {"lang": None, "only.system": 1, "style": "bullets"}
    assert list(effective) == ["lang", "only.system", "style"]
    assert [(s.key, s.scope_type, s.scope_id, s.version) for s in sources] == [
        ("lang", "project", "p1", 1), ("only.system", "system", None, 1), ("style", "task", "t1", 1)]
    effective, _ = store.effective_preferences([("system", None), ("user", "u1")])
    assert effective == {"lang": "en", "only.system": 1, "style": "short"}
    assert store.effective_preferences([]) == ({}, [])


def test_settings_upsert_list_delete_and_history(store):
    setting, created = store.set_setting("b.one", "x", "string", by="admin", reason="why")
    assert created and setting.version == 1 and setting.value == "x"
    store.set_setting("a.two", False, "boolean", by="admin")
    assert store.set_setting("b.one", "y", "string", by="root", expected_version=1)[0].version == 2
    with pytest.raises(VersionConflict):
        store.set_setting("b.one", "z", "string", by="root", expected_version=1)
    assert [s.key for s in store.settings(None, 50, 0)] == ["a.two", "b.one"]
    assert [s.key for s in store.settings("b.", 50, 0)] == ["b.one"]
    assert store.delete_setting("b.one", by="admin")
    assert store.setting("b.one") is None and not store.delete_setting("b.one", by="admin")
    assert [(h.old_value, h.new_value, h.changed_by) for h in store.setting_history("b.one")] == [
        (None, '"x"', "admin"), ('"x"', '"y"', "root"), ('"y"', None, "admin")]


def test_the_model_override_is_the_setting_when_it_is_a_non_empty_string(store):
    assert store.model_override() is None
    store.set_setting(MODEL_SETTING, "llama3.2:1b", "string", by="admin")
    assert store.model_override() == "llama3.2:1b"
    store.set_setting(MODEL_SETTING, "", "string", by="admin")
    assert store.model_override() is None
    store.delete_setting(MODEL_SETTING, by="admin")
    assert store.model_override() is None
