"""Preferences and system settings (spec/gateway.md §11, §12): versioned upserts and deletes that write their
change-history row in the same transaction, key-ordered lists, the effective merge, and the one-row read of the
setting that overrides the inference model."""

import json
import uuid

import peewee

from cynode.store.database import first_locked
from cynode.store.models import Preference, User, PreferenceAuditLog, SystemSetting, SystemSettingsAuditLog
from cynode.store.records import ChangeRecord, EffectiveSource, PreferenceRecord, SettingRecord, from_model, utcnow

SYSTEM = "system"
MODEL_SETTING = "agents.project_manager.model.local_default_ollama_model"
MERGE_ORDER = ("system", "user", "project", "task")  # lowest precedence first (group is stored, never applied)


class VersionConflict(Exception):
    """`expected_version` does not match the stored version (0: the entry does not exist)."""


def json_text(value) -> str:
    """The one serialisation of a stored value: compact, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _preference(row: Preference) -> PreferenceRecord:
    return from_model(PreferenceRecord, row, value=json.loads(row.value),
                      scope_id=None if row.scope_type == SYSTEM else row.scope_id)


def _setting(row: SystemSetting) -> SettingRecord:
    return from_model(SettingRecord, row, value=json.loads(row.value))


def _prefix(field, prefix: str | None) -> list:
    """The condition `field` starts with `prefix` exactly (LIKE would need escaping and is case-insensitive as
    peewee spells it on PostgreSQL), or none."""
    return [peewee.fn.SUBSTR(field, 1, len(prefix)) == prefix] if prefix else []


def _check(row, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != (row.version if row else 0):
        raise VersionConflict()


class PreferenceQueries:
    """Mixed into Store; `self.db` is the open database, `self.backend` 'sqlite' or 'postgresql'."""

    db: peewee.Database
    backend: str

    def _upsert(self, model, where, create: dict, expected_version: int | None):
        """Lock the row of `where`, or insert it (version 1) when there is none. A concurrent insert of the same
        key makes ours fail on the unique index inside a savepoint; the loop then locks the row it made.
        Returns (row as it was locked or None when created, row now)."""
        while True:
            row = first_locked(model.select().where(where), self.backend)
            if row is not None:
                _check(row, expected_version)
                return row, None
            _check(None, expected_version)
            try:
                with self.db.atomic():  # a savepoint: only the failed insert is undone
                    return None, model.create(**create)
            except peewee.IntegrityError:
                continue

    def _by_code_point(self, field):
        """Keys in code-point order on both backends, whatever the PostgreSQL database's locale."""
        return field.collate("ucs_basic") if self.backend == "postgresql" else field

    # preferences --------------------------------------------------------------------------------------------

    @staticmethod
    def _pref_where(scope_type: str, scope_id: str | None, key: str):
        return ((Preference.scope_type == scope_type) & (Preference.scope_id == (scope_id or ""))
                & (Preference.key == key))

    def preference(self, scope_type: str, scope_id: str | None, key: str) -> PreferenceRecord | None:
        row = Preference.select().where(self._pref_where(scope_type, scope_id, key)).first()
        return _preference(row) if row else None

    def preferences(self, scope_type: str, scope_id: str | None, key_prefix: str | None, limit: int,
                    offset: int) -> list[PreferenceRecord]:
        """One scope's entries ordered by key (through the unique index)."""
        query = (Preference.select()
                 .where((Preference.scope_type == scope_type) & (Preference.scope_id == (scope_id or "")),
                        *_prefix(Preference.key, key_prefix))
                 .order_by(self._by_code_point(Preference.key)).limit(limit).offset(offset))
        return [_preference(row) for row in query]

    # pylint: disable-next=too-many-arguments  # a scope, a key, a typed value, and who, why, from which version
    def set_preference(self, scope_type: str, scope_id: str | None, key: str, value, value_type: str, *,
                       by: str, reason: str | None = None,
                       expected_version: int | None = None) -> tuple[PreferenceRecord, bool]:
        """Create (version 1) or update (version + 1) an entry and record the change; (entry, created).
        VersionConflict when `expected_version` is given and differs (0 means: must not exist yet)."""
        now, text = utcnow(), json_text(value)
        with self.db.atomic():
            old, created = self._upsert(Preference, self._pref_where(scope_type, scope_id, key), {
                "id": str(uuid.uuid4()), "scope_type": scope_type, "scope_id": scope_id or "", "key": key,
                "value": text, "value_type": value_type, "version": 1, "created_at": now, "updated_at": now,
                "updated_by": by}, expected_version)
            row = created
            if old is not None:
                Preference.update(value=text, value_type=value_type, version=Preference.version + 1,
                                  updated_at=now, updated_by=by).where(Preference.id == old.id).execute()
                row = Preference.get_by_id(old.id)
            self._pref_history(row, old.value if old else None, text, now, by, reason)
        return _preference(row), old is None

    def delete_preference(self, scope_type: str, scope_id: str | None, key: str, *, by: str,
                          reason: str | None = None, expected_version: int | None = None) -> bool:
        """Delete an entry and record it; False when there is none (whatever expected_version says)."""
        with self.db.atomic():
            row = first_locked(Preference.select().where(self._pref_where(scope_type, scope_id, key)), self.backend)
            if row is None:
                return False
            _check(row, expected_version)
            Preference.delete().where(Preference.id == row.id).execute()
            self._pref_history(row, row.value, None, utcnow(), by, reason)
        return True

    @staticmethod
    def _pref_history(row, old: str | None, new: str | None, now, by: str, reason: str | None) -> None:
        PreferenceAuditLog.create(id=str(uuid.uuid4()), entry_id=row.id, scope_type=row.scope_type,
                                  scope_id=row.scope_id, key=row.key, old_value=old, new_value=new, changed_at=now,
                                  changed_by=by, reason=reason)

    def preference_history(self, scope_type: str, scope_id: str | None, key: str) -> list[ChangeRecord]:
        """Every change of this scope's key, oldest first (across deletes and re-creates)."""
        log = PreferenceAuditLog
        query = (log.select().where((log.scope_type == scope_type) & (log.scope_id == (scope_id or ""))
                                    & (log.key == key)).order_by(log.changed_at, log.id))
        return [from_model(ChangeRecord, row) for row in query]

    def effective_preferences(self, scopes: list[tuple[str, str | None]]) -> tuple[dict, list[EffectiveSource]]:
        """Merge the entries of `scopes` ((scope_type, scope_id) pairs) from lowest to highest precedence
        (MERGE_ORDER); within a scope by updated_at, then id. A later entry wins its key, a null value included
        (it masks the lower ones). Returns ({key: value}, the winning entry of each key), both ordered by key."""
        if not scopes:
            return {}, []
        where = None
        for scope_type, scope_id in scopes:
            one = (Preference.scope_type == scope_type) & (Preference.scope_id == (scope_id or ""))
            where = one if where is None else where | one
        rows = sorted(Preference.select().where(where),
                      key=lambda row: (MERGE_ORDER.index(row.scope_type), row.updated_at, row.id))
        winners = {row.key: row for row in rows}
        keys = sorted(winners)
        effective = {key: json.loads(winners[key].value) for key in keys}
        sources = [EffectiveSource(key, winners[key].scope_type,
                                   None if winners[key].scope_type == SYSTEM else winners[key].scope_id,
                                   winners[key].version) for key in keys]
        return effective, sources

    # system settings ----------------------------------------------------------------------------------------

    def setting(self, key: str) -> SettingRecord | None:
        row = SystemSetting.get_or_none(SystemSetting.key == key)
        return _setting(row) if row else None

    def settings(self, key_prefix: str | None, limit: int, offset: int) -> list[SettingRecord]:
        query = SystemSetting.select()
        if key_prefix:
            query = query.where(*_prefix(SystemSetting.key, key_prefix))
        query = query.order_by(self._by_code_point(SystemSetting.key)).limit(limit).offset(offset)
        return [_setting(row) for row in query]

    def set_setting(self, key: str, value, value_type: str, *, by: str, reason: str | None = None,
                    expected_version: int | None = None) -> tuple[SettingRecord, bool]:
        """As set_preference, for a system setting."""
        now, text = utcnow(), json_text(value)
        with self.db.atomic():
            old, created = self._upsert(SystemSetting, SystemSetting.key == key, {
                "key": key, "value": text, "value_type": value_type, "version": 1, "updated_at": now,
                "updated_by": by}, expected_version)
            row = created
            if old is not None:
                SystemSetting.update(value=text, value_type=value_type, version=SystemSetting.version + 1,
                                     updated_at=now, updated_by=by).where(SystemSetting.key == key).execute()
                row = SystemSetting.get_by_id(key)
            self._setting_history(key, old.value if old else None, text, now, by, reason)
        return _setting(row), old is None

    def delete_setting(self, key: str, *, by: str, reason: str | None = None,
                       expected_version: int | None = None) -> bool:
        with self.db.atomic():
            row = first_locked(SystemSetting.select().where(SystemSetting.key == key), self.backend)
            if row is None:
                return False
            _check(row, expected_version)
            SystemSetting.delete().where(SystemSetting.key == key).execute()
            self._setting_history(key, row.value, None, utcnow(), by, reason)
        return True

    @staticmethod
    def _setting_history(key: str, old: str | None, new: str | None, now, by: str, reason: str | None) -> None:
        SystemSettingsAuditLog.create(id=str(uuid.uuid4()), key=key, old_value=old, new_value=new, changed_at=now,
                                      changed_by=by, reason=reason)

    def setting_history(self, key: str) -> list[ChangeRecord]:
        log = SystemSettingsAuditLog
        query = log.select().where(log.key == key).order_by(log.changed_at, log.id)
        return [from_model(ChangeRecord, row) for row in query]

    def user_ids(self) -> list[str]:
        """Every account's id (projects are derived from them, server/projects.py)."""
        return [row[0] for row in User.select(User.id).tuples()]

    def model_override(self) -> str | None:
        """The model the admins chose (MODEL_SETTING) when it is a non-empty string: one primary-key read, made
        per inference call so a change applies to the next prompt or chat at once."""
        row = (SystemSetting.select(SystemSetting.value).where(SystemSetting.key == MODEL_SETTING)
               .tuples().first())
        value = json.loads(row[0]) if row else None
        return value if isinstance(value, str) and value else None
