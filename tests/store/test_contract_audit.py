"""The storage contract for audit events, on SQLite and PostgreSQL (fixtures in conftest.py)."""

from datetime import datetime, timedelta

from cynode.store.audit import AuditFilter
from cynode.store.models import AuditEvent
from cynode.store.records import utcnow

NOON = datetime(2026, 11, 30, 12, 0, 0)


def at(store, moment: datetime, action: str = "login_success", **fields) -> str:
    """An event that happened at `moment` (the store stamps the current time; the test moves it)."""
    event_id = store.record_audit(action, fields.pop("resource_type", "auth"), **fields)
    AuditEvent.update(ts=moment).where(AuditEvent.id == event_id).execute()
    return event_id


def ids(store, where: AuditFilter = AuditFilter(), limit: int = 200, offset: int = 0) -> list[str]:
    return [event.id for event in store.audit_events(where, limit, offset)]


def test_an_event_is_stored_with_every_field_and_read_back(store):
    event_id = store.record_audit("access_denied", "task", resource_id="t-1", actor_id="u-1", actor_handle="alice",
                                  decision="deny", success=False, details={"reason": "Not task owner", "n": 1},
                                  ip_address="10.0.0.1", user_agent="cynork/1")
    event = store.audit_event(event_id)
    assert (event.action, event.resource_type, event.resource_id, event.actor_id, event.actor_handle,
            event.decision, event.success, event.details, event.ip_address, event.user_agent) == (
        "access_denied", "task", "t-1", "u-1", "alice", "deny", False, {"reason": "Not task owner", "n": 1},
        "10.0.0.1", "cynork/1")
    assert abs(event.ts - utcnow()) < timedelta(minutes=1)
    assert store.audit_event("00000000-0000-0000-0000-000000000000") is None


def test_defaults_are_allow_and_success_with_nothing_optional(store):
    event = store.audit_event(store.record_audit("logout", "auth"))
    assert (event.decision, event.success, event.actor_id, event.resource_id, event.details, event.ip_address,
            event.user_agent) == ("allow", True, None, None, None, None, None)


def test_text_a_client_chose_is_cut_to_its_column(store):
    event = store.audit_event(store.record_audit("access_denied", "task", resource_id="r" * 600,
                                                 user_agent="u" * 300, ip_address="1" * 70))
    assert (len(event.resource_id), len(event.user_agent), len(event.ip_address)) == (512, 256, 64)


def test_events_list_newest_first_and_each_filter_applies(store):
    first = at(store, NOON, actor_id="alice", resource_type="auth")
    second = at(store, NOON + timedelta(seconds=1), "task.create", actor_id="bob", resource_type="task")
    third = at(store, NOON + timedelta(seconds=2), "task.cancel", actor_id="alice", resource_type="task")
    assert ids(store) == [third, second, first]
    assert ids(store, AuditFilter(actor_id="alice")) == [third, first]
    assert ids(store, AuditFilter(resource_type="task")) == [third, second]
    assert ids(store, AuditFilter(action="task.create")) == [second]
    assert ids(store, AuditFilter(actor_id="alice", resource_type="task")) == [third]
    assert ids(store, AuditFilter(actor_id="nobody")) == []


def test_since_is_inclusive_and_until_exclusive_to_the_microsecond(store):
    before = at(store, NOON - timedelta(microseconds=1))
    exact = at(store, NOON)
    after = at(store, NOON + timedelta(seconds=1))
    assert ids(store, AuditFilter(since=NOON)) == [after, exact]
    assert ids(store, AuditFilter(until=NOON)) == [before]
    assert ids(store, AuditFilter(since=NOON, until=NOON + timedelta(seconds=1))) == [exact]
    assert ids(store, AuditFilter(since=NOON, until=NOON)) == []
    assert ids(store, AuditFilter(since=datetime.min, until=datetime.max)) == [after, exact, before]


def test_pages_of_events_sharing_one_moment_neither_overlap_nor_leave_gaps(store):
    everything = {at(store, NOON) for _ in range(7)} | {at(store, NOON + timedelta(seconds=1)) for _ in range(6)}
    pages = [ids(store, limit=4, offset=offset) for offset in range(0, 16, 4)]
    seen = [event_id for page in pages for event_id in page]
    assert len(seen) == len(everything) == 13 and set(seen) == everything
    assert [len(page) for page in pages] == [4, 4, 4, 1]
    assert set(seen[:6]) == {e.id for e in AuditEvent.select().where(AuditEvent.ts > NOON)}  # newest first
