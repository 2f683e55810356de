"""Audit events: append one, list them newest first with filters, read one. Nothing updates or deletes a row."""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from cynode.store.models import AuditEvent
from cynode.store.records import AuditRecord, from_model, utcnow


@dataclass(frozen=True)
class AuditFilter:
    """What `audit_events` keeps: each given field must match; `since` inclusive, `until` exclusive."""

    actor_id: str | None = None
    resource_type: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list:
        conditions = []
        for field, value in (("actor_id", self.actor_id), ("resource_type", self.resource_type),
                             ("action", self.action)):
            if value is not None:
                conditions.append(getattr(AuditEvent, field) == value)
        if self.since is not None:
            conditions.append(AuditEvent.ts >= self.since)
        if self.until is not None:
            conditions.append(AuditEvent.ts < self.until)
        return conditions


_CLIPPED = {"resource_id": 512, "ip_address": 64, "user_agent": 256}


def _record(row: AuditEvent) -> AuditRecord:
    return from_model(AuditRecord, row, details=json.loads(row.details) if row.details else None)


class AuditQueries:
    """Mixed into Store."""

    def record_audit(self, action: str, resource_type: str, **fields) -> str:
        """Append one event; returns its id. `fields`: resource_id, actor_id, actor_handle, decision ('allow' or
        'deny', default allow), success (default True), details (a JSON object), ip_address, user_agent. Text a
        client chose is cut to its column's size."""
        details = fields.pop("details", None)
        for name, size in _CLIPPED.items():
            if fields.get(name):
                fields[name] = fields[name][:size]
        event_id = str(uuid.uuid4())
        AuditEvent.create(id=event_id, ts=utcnow(), action=action, resource_type=resource_type,
                          decision=fields.pop("decision", "allow"), success=fields.pop("success", True),
                          details=json.dumps(details, ensure_ascii=False) if details else None, **fields)
        return event_id

    def audit_events(self, where: AuditFilter, limit: int, offset: int) -> list[AuditRecord]:
        """Matching events, newest first (ties by id, so pages never overlap)."""
        query, conditions = AuditEvent.select(), where.conditions()
        if conditions:
            query = query.where(*conditions)
        query = query.order_by(AuditEvent.ts.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
        return [_record(row) for row in query]

    def audit_event(self, event_id: str) -> AuditRecord | None:
        row = AuditEvent.get_or_none(AuditEvent.id == event_id)
        return _record(row) if row else None
