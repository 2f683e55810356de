"""Skill queries: create, read, list what a user may see, update, delete, and keep the built-in system skill."""

import uuid

from cynode.store.models import Skill
from cynode.store.records import SkillRecord, from_model, utcnow

_LISTED = (Skill.id, Skill.name, Skill.scope, Skill.scope_id, Skill.owner, Skill.is_system, Skill.created_at,
           Skill.updated_at)  # everything but the content, which may be large


def _record(row: Skill, *, with_content: bool = True) -> SkillRecord:
    return from_model(SkillRecord, row, content=row.content if with_content else None)


def visible_to(user_id: str):
    """What a user who is not an admin may see: their own skills, system skills and global skills."""
    return (Skill.owner == user_id) | Skill.is_system | (Skill.scope == "global")


class SkillQueries:
    """Mixed into Store."""

    def create_skill(self, *, name: str, content: str, scope: str, scope_id: str | None,
                     owner_id: str | None) -> SkillRecord:
        now = utcnow()
        row = Skill.create(id=str(uuid.uuid4()), name=name, content=content, scope=scope, scope_id=scope_id,
                           owner=owner_id, is_system=False, created_at=now, updated_at=now)
        return _record(row)

    def skill(self, skill_id: str) -> SkillRecord | None:
        row = Skill.get_or_none(Skill.id == skill_id)
        return _record(row) if row else None

    def skills(self, viewer_id: str | None, limit: int, offset: int, *, scope: str | None = None,
               owner_id: str | None = None) -> list[SkillRecord]:
        """Skills newest `updated_at` first (ties by id, so pages never overlap), without their content.
        `viewer_id` None lists every skill (an admin); else only what that user may see (visible_to)."""
        conditions = [] if viewer_id is None else [visible_to(viewer_id)]
        if scope is not None:
            conditions.append(Skill.scope == scope)
        if owner_id is not None:
            conditions.append(Skill.owner == owner_id)
        query = Skill.select(*_LISTED)
        if conditions:
            query = query.where(*conditions)
        query = query.order_by(Skill.updated_at.desc(), Skill.id.desc()).limit(limit).offset(offset)
        return [_record(row, with_content=False) for row in query]

    def update_skill(self, skill_id: str, **changes) -> SkillRecord | None:
        """Change some of name, content, scope and scope_id of a skill that is not a system skill; None when there
        is no such skill (any more)."""
        allowed = {"name", "content", "scope", "scope_id"}
        assert set(changes) <= allowed, set(changes) - allowed
        updated = (Skill.update(**changes, updated_at=utcnow())
                   .where((Skill.id == skill_id) & ~Skill.is_system).execute())
        return self.skill(skill_id) if updated else None

    def delete_skill(self, skill_id: str) -> bool:
        """Delete a skill that is not a system skill; False when there is none."""
        return bool(Skill.delete().where((Skill.id == skill_id) & ~Skill.is_system).execute())

    def ensure_system_skill(self, skill_id: str, name: str, content: str) -> SkillRecord:
        """Create the built-in skill, or bring its name, scope and content up to date. Its updated_at moves only
        when something changed, so a restart does not reorder anyone's list. Safe when servers start together."""
        now = utcnow()
        fields = {"name": name, "content": content, "scope": "global", "scope_id": None, "owner": None,
                  "is_system": True}
        Skill.insert(id=skill_id, created_at=now, updated_at=now, **fields).on_conflict_ignore().execute()
        row = Skill.get(Skill.id == skill_id)
        if any(getattr(row, key) != value for key, value in fields.items() if key != "owner") or row.owner_id:
            Skill.update(**fields, updated_at=now).where(Skill.id == skill_id).execute()
            row = Skill.get(Skill.id == skill_id)
        return _record(row)
