"""First-start set-up: the `admin` account."""

import secrets

from cynode.server.routes.users import check_new_credentials
from cynode.server.security import hash_password

ADMIN_HANDLE = "admin"


def ensure_admin(store, password: str | None, announce) -> bool:
    """Create `admin` when missing: with `password`, else a generated one shown once via `announce`.

    Never resets an existing admin. Only the hash is stored. Returns True when the account was created.
    """
    if store.user_by_handle(ADMIN_HANDLE):
        return False
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(15)
    check_new_credentials(ADMIN_HANDLE, password)
    store.create_user(ADMIN_HANDLE, hash_password(password), is_admin=True)
    if generated:
        announce(f"created user '{ADMIN_HANDLE}' with password: {password}\n"
                 "  (shown once; it is stored only as a hash. Set CYNODE_ADMIN_PASSWORD to choose it instead.)")
    else:
        announce(f"created user '{ADMIN_HANDLE}' with the password from CYNODE_ADMIN_PASSWORD")
    return True
