"""peewee models. Bound to one database by Store (one open Store per process)."""

import peewee


class BaseModel(peewee.Model):
    class Meta:
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = peewee.IntegerField(primary_key=True)
    applied_at = peewee.DateTimeField()


class User(BaseModel):
    id = peewee.CharField(max_length=36, primary_key=True)
    handle = peewee.CharField(max_length=64, unique=True)
    email = peewee.CharField(max_length=254, null=True)
    password_hash = peewee.CharField(max_length=255, null=True)
    is_admin = peewee.BooleanField(default=False)
    is_active = peewee.BooleanField(default=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()


class Session(BaseModel):
    """One issued token pair. A login starts a family; every refresh rotates to a new row of that family."""

    id = peewee.CharField(max_length=36, primary_key=True)
    user = peewee.ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    family = peewee.CharField(max_length=36, index=True)
    access_hash = peewee.CharField(max_length=64, unique=True)
    refresh_hash = peewee.CharField(max_length=64, unique=True)
    access_expires_at = peewee.DateTimeField()
    refresh_expires_at = peewee.DateTimeField()
    state = peewee.CharField(max_length=16, default="active")  # active | rotated | revoked
    created_at = peewee.DateTimeField()
    last_used_at = peewee.DateTimeField(null=True)


MODELS = (SchemaVersion, User, Session)
