"""The storage contract for skills, on SQLite and PostgreSQL (fixtures in conftest.py)."""

SYSTEM_ID = "00000000-0000-4000-8000-000000000001"


def _load(store, owner, name="s", scope="user", scope_id=None, content="# doc\n"):
    return store.create_skill(name=name, content=content, scope=scope, scope_id=scope_id, owner_id=owner.id)


def test_a_created_skill_reads_back_whole(store):
    alice = store.create_user("alice", None)
    created = _load(store, alice, name="Deploy", scope="group", scope_id="team-a", content="é\n" * 1000)
    assert store.skill(created.id) == created
    assert (created.owner_id, created.is_system, created.scope_id) == (alice.id, False, "team-a")
    assert created.content == "é\n" * 1000 and created.created_at == created.updated_at
    assert store.skill("00000000-0000-4000-8000-0000000000ff") is None


def test_lists_leave_out_content_and_show_newest_update_first(store):
    alice = store.create_user("alice", None)
    first, second = _load(store, alice, "one"), _load(store, alice, "two")
    assert [s.id for s in store.skills(alice.id, 10, 0)] == [second.id, first.id]
    store.update_skill(first.id, name="one again")
    listed = store.skills(alice.id, 10, 0)
    assert [s.id for s in listed] == [first.id, second.id] and all(s.content is None for s in listed)
    assert [s.id for s in store.skills(alice.id, 1, 1)] == [second.id]


def test_a_user_sees_own_system_and_global_skills_and_an_admin_sees_all(store):
    alice, bob = store.create_user("alice", None), store.create_user("bob", None)
    system = store.ensure_system_skill(SYSTEM_ID, "built in", "# hi\n")
    mine = _load(store, alice)
    shared = _load(store, bob, scope="global")
    private = _load(store, bob, scope="project", scope_id="p")
    assert {s.id for s in store.skills(alice.id, 10, 0)} == {mine.id, shared.id, system.id}
    assert {s.id for s in store.skills(None, 10, 0)} == {mine.id, shared.id, private.id, system.id}
    assert [s.id for s in store.skills(None, 10, 0, scope="project")] == [private.id]
    assert {s.id for s in store.skills(None, 10, 0, owner_id=bob.id)} == {shared.id, private.id}
    assert [s.id for s in store.skills(alice.id, 10, 0, owner_id=bob.id)] == [shared.id]


def test_update_changes_only_what_is_given(store):
    alice = store.create_user("alice", None)
    skill = _load(store, alice, name="n", scope="group", scope_id="g")
    updated = store.update_skill(skill.id, content="# new\n")
    assert (updated.name, updated.scope, updated.scope_id, updated.content) == ("n", "group", "g", "# new\n")
    assert updated.updated_at >= skill.updated_at and updated.created_at == skill.created_at
    moved = store.update_skill(skill.id, scope="user", scope_id=None)
    assert (moved.scope, moved.scope_id) == ("user", None)
    assert store.update_skill("00000000-0000-4000-8000-0000000000ff", name="x") is None


def test_delete_removes_one_skill_once(store):
    alice = store.create_user("alice", None)
    skill, kept = _load(store, alice), _load(store, alice)
    assert store.delete_skill(skill.id) is True
    assert store.delete_skill(skill.id) is False
    assert store.skill(skill.id) is None and store.skill(kept.id) is not None


def test_the_system_skill_is_created_once_refreshed_and_never_changed_through_the_user_queries(store):
    created = store.ensure_system_skill(SYSTEM_ID, "built in", "# v1\n")
    assert (created.scope, created.is_system, created.owner_id) == ("global", True, None)
    again = store.ensure_system_skill(SYSTEM_ID, "built in", "# v1\n")
    assert again == created  # nothing changed: updated_at stays
    refreshed = store.ensure_system_skill(SYSTEM_ID, "built in", "# v2\n")
    assert refreshed.content == "# v2\n" and refreshed.updated_at >= created.updated_at
    assert store.update_skill(SYSTEM_ID, name="mine") is None
    assert store.delete_skill(SYSTEM_ID) is False
    assert store.skill(SYSTEM_ID).name == "built in"


def test_a_users_skills_go_with_the_user(store):
    alice = store.create_user("alice", None)
    skill = _load(store, alice)
    store.db.execute_sql('DELETE FROM "user" WHERE id = ' + store.db.param, (alice.id,))
    assert store.skill(skill.id) is None
