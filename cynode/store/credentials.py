"""Egress credential queries. The store holds only ciphertext: sealing and opening happen above it (secretbox)."""

from dataclasses import dataclass
from datetime import datetime

import peewee

from cynode.store.models import Credential
from cynode.store.records import CredentialRecord, from_model, utcnow


class CredentialExists(Exception):
    """The owner already has a credential of that provider and name."""


@dataclass(frozen=True)
class CredentialFilter:
    """What `list_credentials` keeps: each given field must match."""

    owner_type: str | None = None
    owner_id: str | None = None
    provider: str | None = None
    is_active: bool | None = None

    def conditions(self) -> list:
        return [getattr(Credential, name) == value for name, value in (
            ("owner_type", self.owner_type), ("owner_id", self.owner_id), ("provider", self.provider),
            ("is_active", self.is_active)) if value is not None]


def _record(row: Credential) -> CredentialRecord:
    return from_model(CredentialRecord, row)


class CredentialQueries:
    """Mixed into Store; `self.db` is the open database."""

    db: peewee.Database

    def create_credential(self, credential_id: str, *, owner_type: str, owner_id: str, provider: str,  # pylint: disable=too-many-arguments
                          credential_type: str, name: str, ciphertext: str, kid: str, expires_at: datetime | None,
                          updated_by: str) -> CredentialRecord:
        """A new, active credential with an id the caller chose (its sealed secret is bound to it).
        CredentialExists when (owner_type, owner_id, provider, name) is taken, disabled credentials included."""
        now = utcnow()
        try:
            with self.db.atomic():
                row = Credential.create(id=credential_id, owner_type=owner_type, owner_id=owner_id, provider=provider,
                                        credential_type=credential_type, credential_name=name,
                                        credential_ciphertext=ciphertext, credential_kid=kid, is_active=True,
                                        expires_at=expires_at, created_at=now, updated_at=now, updated_by=updated_by)
        except peewee.IntegrityError:
            raise CredentialExists(name) from None
        return _record(row)

    def credential_by_id(self, credential_id: str) -> CredentialRecord | None:
        row = Credential.get_or_none(Credential.id == credential_id)
        return _record(row) if row else None

    def list_credentials(self, where: CredentialFilter, limit: int, offset: int) -> list[CredentialRecord]:
        """Matching credentials, oldest first (a stable order for paging)."""
        query = Credential.select()
        conditions = where.conditions()
        if conditions:
            query = query.where(*conditions)
        query = query.order_by(Credential.created_at, Credential.id).limit(limit).offset(offset)
        return [_record(row) for row in query]

    def user_credentials_named(self, owner_id: str, name: str) -> list[CredentialRecord]:
        """A user's own credentials of this name (one per provider), whatever their state."""
        query = Credential.select().where((Credential.owner_type == "user") & (Credential.owner_id == owner_id)
                                          & (Credential.credential_name == name)).order_by(Credential.provider)
        return [_record(row) for row in query]

    def rotate_credential(self, credential_id: str, ciphertext: str, kid: str, updated_by: str) -> CredentialRecord:
        Credential.update(credential_ciphertext=ciphertext, credential_kid=kid, updated_at=utcnow(),
                          updated_by=updated_by).where(Credential.id == credential_id).execute()
        return self.credential_by_id(credential_id)

    def set_credential_active(self, credential_id: str, active: bool, updated_by: str) -> CredentialRecord:
        Credential.update(is_active=active, updated_at=utcnow(), updated_by=updated_by).where(
            Credential.id == credential_id).execute()
        return self.credential_by_id(credential_id)

    def count_credentials_sealed_by_other_keys(self, kid: str) -> int:
        """How many credentials this key cannot open (they were sealed with another one)."""
        return Credential.select().where(Credential.credential_kid != kid).count()
