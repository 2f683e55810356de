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


def _record(row: AuditEvent) -> AuditRecord:
    return from_model(AuditRecord, row, details=json.loads(row.details) if row.details else None)


class AuditQueries:
    """Mixed into Store."""

    def record_audit(self, *, action: str, resource_type: str, resource_id: str | None = None,
                     actor_id: str | None = None, actor_handle: str | None = None, decision: str = "allow",
                     success: bool = True, details: dict | None = None, ip_address: str | None = None,
                     user_agent: str | None = None) -> str:
        """Append one event; returns its id. Long client-given text is cut to the column's size."""
        event_id = str(uuid.uuid4())
        AuditEvent.create(id=event_id, ts=utcnow(), actor_id=actor_id, actor_handle=actor_handle, action=action,
                          resource_type=resource_type, resource_id=resource_id[:512] if resource_id else resource_id,
                          decision=decision, success=success,
                          details=json.dumps(details, ensure_ascii=False) if details else None,
                          ip_address=ip_address[:64] if ip_address else ip_address,
                          user_agent=user_agent[:256] if user_agent else user_agent)
        return event_id

    def audit_events(self, where: AuditFilter, limit: int, offset: int) -> list[AuditRecord]:
        """Matching events, newest first (ties by id, so pages never overlap)."""
        query = (AuditEvent.select().where(*where.conditions()).order_by(AuditEvent.ts.desc(), AuditEvent.id.desc())
                 .limit(limit).offset(offset))
        return [_record(row) for row in query]

    def audit_event(self, event_id: str) -> AuditRecord | None:
        row = AuditEvent.get_or_none(AuditEvent.id == event_id)
        return _record(row) if row else None
