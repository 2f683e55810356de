"""Projects, as far as they exist yet (spec/gateway.md §16): every user has one default project whose id is derived
from the user's id, so it needs no table and is the same on every server; a task belongs to its owner's default
project. When a projects table arrives, these ids become its rows' ids."""

import uuid

# Fixed for ever: changing it would orphan every project-scoped preference.
PROJECT_NAMESPACE = uuid.UUID("6f1c2a8e-4d0b-5c7e-9a31-2b8f0e6d4c15")


def default_project_id(user_id: str) -> str:
    return str(uuid.uuid5(PROJECT_NAMESPACE, user_id))


def project_owner(store, project_id: str) -> str | None:
    """The id of the user whose default project this is, or None (a scan of the user ids: admins only need it)."""
    return next((user_id for user_id in store.user_ids() if default_project_id(user_id) == project_id), None)
