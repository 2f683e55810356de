"""Start-up set-up: the `admin` account (first start) and the built-in system skill (every start)."""

import secrets
from importlib import resources

from cynode.server.routes.users import check_new_credentials
from cynode.server.security import hash_password
from cynode.store.store import Conflict

ADMIN_HANDLE = "admin"


def ensure_admin(store, password: str | None, announce) -> bool:
    """Create `admin` when missing: with `password`, else a generated one shown once via `announce`.

    Never resets an existing admin. Only the hash is stored. Returns True when the account was created (False also
    when another process starting on the same database created it first: gateways may start at once).
    """
    if store.user_by_handle(ADMIN_HANDLE):
        return False
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(15)
    check_new_credentials(ADMIN_HANDLE, password)
    try:
        store.create_user(ADMIN_HANDLE, hash_password(password), is_admin=True)
    except Conflict:
        return False  # another process sharing the database (scale-out) created it since the look above
    if generated:
        announce(f"created user '{ADMIN_HANDLE}' with password: {password}\n"
                 "  (shown once; it is stored only as a hash. Set CYNODE_ADMIN_PASSWORD to choose it instead.)")
    else:
        announce(f"created user '{ADMIN_HANDLE}' with the password from CYNODE_ADMIN_PASSWORD")
    return True


SYSTEM_SKILL_ID = "00000000-0000-4000-8000-000000000001"
SYSTEM_SKILL_NAME = "CyNodeAI interaction"
SYSTEM_SKILL_FILE = "skill_default.md"  # shipped in the package beside this module


def system_skill_content() -> str:
    return resources.files(__package__).joinpath(SYSTEM_SKILL_FILE).read_text(encoding="utf-8")


def ensure_system_skill(store):
    """The built-in skill (spec/gateway.md §9): created, or its content refreshed, at every start."""
    return store.ensure_system_skill(SYSTEM_SKILL_ID, SYSTEM_SKILL_NAME, system_skill_content())
