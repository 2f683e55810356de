"""Personal API token queries: create, list and revoke a user's tokens, and find a live one by its digest."""

import functools
import uuid
from datetime import datetime, timedelta

import peewee

from cynode.store.models import ApiToken, User
from cynode.store.prepared import Prepared
from cynode.store.records import ApiTokenAuth, ApiTokenRecord, UserRecord, from_model, from_row, utcnow

TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at is kept to the minute, so most requests write nothing


class NameTaken(Exception):
    """The user already has a live token of that name."""


def _live(now: datetime):
    return ApiToken.revoked_at.is_null() & (ApiToken.expires_at > now)


class TokenQueries:
    """Mixed into Store; `self.db` is the open database, `self.backend` 'sqlite' or 'postgresql'."""

    db: peewee.Database
    backend: str

    def create_api_token(self, user_id: str, name: str, token_hash: str, expires_at: datetime) -> ApiTokenRecord:
        """Store a new token's digest. A name is unique among the user's live tokens (NameTaken otherwise), so a
        revoked or expired token's name can be used again."""
        now = utcnow()
        with self.db.atomic():
            if self.backend == "postgresql":  # serialises one user's creates; SQLite's BEGIN IMMEDIATE already does
                User.select(User.id).where(User.id == user_id).for_update().execute()
            if ApiToken.select().where((ApiToken.user == user_id) & (ApiToken.name == name) & _live(now)).exists():
                raise NameTaken(name)
            row = ApiToken.create(id=str(uuid.uuid4()), user=user_id, name=name, token_hash=token_hash,
                                  created_at=now, expires_at=expires_at)
        return from_model(ApiTokenRecord, row)

    def api_tokens(self, user_id: str) -> list[ApiTokenRecord]:
        """A user's live tokens, newest first."""
        query = (ApiToken.select().where((ApiToken.user == user_id) & _live(utcnow()))
                 .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
        return [from_model(ApiTokenRecord, row) for row in query]

    def revoke_api_token(self, user_id: str, token_id: str) -> bool:
        """Revoke one of the user's live tokens; False when they have no live token with that id."""
        now = utcnow()
        return bool(ApiToken.update(revoked_at=now)
                    .where((ApiToken.id == token_id) & (ApiToken.user == user_id) & _live(now)).execute())

    def revoke_user_api_tokens(self, user_id: str) -> int:
        now = utcnow()
        return ApiToken.update(revoked_at=now).where((ApiToken.user == user_id) & _live(now)).execute()

    @functools.cached_property
    def _api_token_by_hash(self) -> Prepared:
        return Prepared(self.db, lambda digest, now: (
            ApiToken.select(ApiToken.id, ApiToken.last_used_at, User).join(User)
            .where((ApiToken.token_hash == digest) & _live(now))), 2)

    def api_token_for(self, token_hash: str) -> ApiTokenAuth | None:
        """The live token with this digest, with its user (one prepared query through the unique index)."""
        rows = self._api_token_by_hash.rows(token_hash, utcnow())
        if not rows:
            return None
        row = rows[0]
        return ApiTokenAuth(id=row[(ApiToken, "id")], user=from_row(UserRecord, User, row),
                            last_used_at=row[(ApiToken, "last_used_at")])

    def touch_api_token(self, token: ApiTokenAuth) -> None:
        """Record a use, at most once per TOUCH_INTERVAL per token (the guard also holds between processes)."""
        now = utcnow()
        if token.last_used_at is not None and now - token.last_used_at < TOUCH_INTERVAL:
            return
        stale = ApiToken.last_used_at.is_null() | (ApiToken.last_used_at <= now - TOUCH_INTERVAL)
        ApiToken.update(last_used_at=now).where((ApiToken.id == token.id) & stale).execute()
