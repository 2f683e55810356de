"""The storage contract: every query the server makes, as methods. The only module that builds queries."""

import functools
import uuid
from datetime import timedelta

import peewee

from cynode.store import migrations, signals
from cynode.store.audit import AuditQueries
from cynode.store.chat import ChatQueries
from cynode.store.credentials import CredentialQueries
from cynode.store.database import connect
from cynode.store.jobs import JobQueries
from cynode.store.models import MODELS, Session, User
from cynode.store.nodes import NodeQueries
from cynode.store.preferences import PreferenceQueries
from cynode.store.prepared import Prepared
from cynode.store.records import SessionRecord, UserRecord, from_model, from_row, utcnow
from cynode.store.skills import SkillQueries
from cynode.store.tasks import TaskQueries
from cynode.store.tokens import TokenQueries


class Conflict(Exception):
    """A unique value is already taken."""


class RefreshOutcome:  # pylint: disable=too-few-public-methods
    """Why a refresh token was refused (or None when it was rotated)."""

    UNKNOWN = "unknown"
    REUSED = "reused"  # an already-rotated token came back: the family is revoked
    INACTIVE = "inactive"


def _user(row: User) -> UserRecord:
    return from_model(UserRecord, row)


class Store(TaskQueries, JobQueries, ChatQueries, TokenQueries, AuditQueries, NodeQueries,  # pylint: disable=too-many-ancestors
            CredentialQueries, SkillQueries, PreferenceQueries):
    """Open database plus the queries on it. Thread-safe: peewee keeps one connection per thread (on PostgreSQL
    taken from a pool of at most `max_connections`; `password` replaces the URL's)."""

    def __init__(self, url: str, *, password: str | None = None, max_connections: int = 20):
        self.url = url
        self.db = connect(url, password=password, max_connections=max_connections)
        self.db.bind(MODELS, bind_refs=False, bind_backrefs=False)
        self.backend = "postgresql" if isinstance(self.db, peewee.PostgresqlDatabase) else "sqlite"

    def migrate(self) -> int:
        with self.db.connection_context():
            return migrations.migrate(self.db)

    def ping(self) -> None:
        """Raise when the database cannot answer a trivial query."""
        self.db.execute_sql("SELECT 1").fetchone()

    def job_listener(self) -> signals.Listener | None:
        """PostgreSQL: notifications of new tasks and cancels from every process on the database; SQLite: None
        (one process, which wakes its own threads)."""
        return signals.Listener(self.db.open_unmanaged) if self.backend == "postgresql" else None

    def release(self) -> None:
        """This thread is done with the database for now (a request ended): on PostgreSQL its connection goes back
        to the pool, which checks it on the way in and out. SQLite keeps its per-thread connection: opening one
        costs a file open and the pragmas."""
        if self.backend == "postgresql" and not self.db.is_closed():
            self.db.close()

    def close(self) -> None:
        """Close this thread's connection, and on PostgreSQL every idle one in the pool (those other threads hold
        stay theirs: a thread may close while others still work)."""
        if not self.db.is_closed():
            self.db.close()
        if self.backend == "postgresql":
            self.db.close_idle()

    # users -----------------------------------------------------------------------------------------------

    def create_user(self, handle: str, password_hash: str | None, *, is_admin=False, email=None) -> UserRecord:
        now = utcnow()
        try:
            with self.db.atomic():
                row = User.create(id=str(uuid.uuid4()), handle=handle, email=email, password_hash=password_hash,
                                  is_admin=is_admin, is_active=True, created_at=now, updated_at=now)
        except peewee.IntegrityError:
            raise Conflict(f"handle {handle!r} is taken") from None
        return _user(row)

    def user_by_handle(self, handle: str) -> UserRecord | None:
        row = User.get_or_none(User.handle == handle)
        return _user(row) if row else None

    def user_by_id(self, user_id: str) -> UserRecord | None:
        row = User.get_or_none(User.id == user_id)
        return _user(row) if row else None

    def list_users(self, limit: int, offset: int) -> list[UserRecord]:
        query = User.select().order_by(User.created_at, User.id).limit(limit).offset(offset)
        return [_user(row) for row in query]

    def count_active_admins(self) -> int:
        return User.select().where(User.is_admin & User.is_active).count()

    def set_user_active(self, user_id: str, active: bool) -> tuple[UserRecord | None, list[str]]:
        """Enable or disable a user. Disabling, in one transaction, revokes every session and API token and cancels
        every unfinished task; returns the user and the ids of their jobs that were running, for the caller to kill.
        Enabling again brings nothing back."""
        running = []
        with self.db.atomic():
            User.update(is_active=active, updated_at=utcnow()).where(User.id == user_id).execute()  # locks the row
            if not active:
                self.revoke_user_sessions(user_id)
                self.revoke_user_api_tokens(user_id)
                running = self.cancel_tasks_of(user_id)
        return self.user_by_id(user_id), running

    # sessions --------------------------------------------------------------------------------------------

    def create_session(self, user_id: str, access_hash: str, refresh_hash: str, access_ttl: int,
                       refresh_ttl: int, family: str | None = None) -> str:
        now = utcnow()
        session_id = str(uuid.uuid4())
        Session.create(id=session_id, user=user_id, family=family or session_id, access_hash=access_hash,
                       refresh_hash=refresh_hash, access_expires_at=now + timedelta(seconds=access_ttl),
                       refresh_expires_at=now + timedelta(seconds=refresh_ttl), state="active", created_at=now)
        return session_id

    @functools.cached_property
    def _session_by_access(self) -> Prepared:
        return Prepared(self.db, lambda access_hash, now: (
            Session.select(Session, User).join(User)
            .where((Session.access_hash == access_hash) & (Session.state == "active")
                   & (Session.access_expires_at > now))), 2)

    def session_for_access(self, access_hash: str) -> SessionRecord | None:
        """The active, unexpired session holding this access token, with its user (one prepared query: this
        runs on every authenticated request)."""
        rows = self._session_by_access.rows(access_hash, utcnow())
        if not rows:
            return None
        row = rows[0]
        user = from_row(UserRecord, User, row)
        return SessionRecord(id=row[(Session, "id")], family=row[(Session, "family")], user=user,
                             access_expires_at=row[(Session, "access_expires_at")],
                             refresh_expires_at=row[(Session, "refresh_expires_at")], state=row[(Session, "state")])

    def rotate_refresh(self, refresh_hash: str, access_hash: str, new_refresh_hash: str, access_ttl: int,
                       refresh_ttl: int) -> tuple[UserRecord | None, str | None]:
        """Swap a refresh token for a new pair in the same family.

        Returns (user, None) on success, else (user or None, RefreshOutcome.*): the token's user whenever the
        token is known (for the audit log), None for an unknown token. A token that was already rotated means
        someone replayed it: the whole family is revoked, so the thief and the owner both must log in again.
        """
        now = utcnow()
        with self.db.atomic():
            row = Session.select(Session, User).join(User).where(Session.refresh_hash == refresh_hash).first()
            if row is None:
                return None, RefreshOutcome.UNKNOWN
            if row.state == "rotated":
                self._revoke(Session.family == row.family)
                return _user(row.user), RefreshOutcome.REUSED
            if row.state != "active" or row.refresh_expires_at <= now or not row.user.is_active:
                return _user(row.user), RefreshOutcome.INACTIVE
            claimed = (Session.update(state="rotated", last_used_at=now)
                       .where((Session.id == row.id) & (Session.state == "active")).execute())
            if not claimed:  # a concurrent refresh won the race with the same token
                self._revoke(Session.family == row.family)
                return _user(row.user), RefreshOutcome.REUSED
            self.create_session(row.user.id, access_hash, new_refresh_hash, access_ttl, refresh_ttl,
                                family=row.family)
        return _user(row.user), None

    def revoke_family(self, family: str) -> None:
        self._revoke(Session.family == family)

    def revoke_user_sessions(self, user_id: str) -> int:
        return self._revoke(Session.user == user_id)

    @staticmethod
    def _revoke(where) -> int:
        return Session.update(state="revoked").where(where & (Session.state != "revoked")).execute()
