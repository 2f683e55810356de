"""The credentials a job receives: opened at run time, for the task's owner only, as CYNODE_CRED_<NAME>.

The job payload holds credential ids only. Right before the job starts each one is checked again (still the
owner's own user credential, active, unexpired) and opened with the server's key; if any is not, the job does not
run and its error says which credential and why, never a value. The secrets go only into the job's environment.
"""

from cynode.contract import credential_env_name
from cynode.secretbox import SecretBoxError, credential_aad
from cynode.store.records import utcnow


class CredentialUnavailable(Exception):
    """A credential the task named cannot be given to its job; the message is the job's error."""


def credential_env(store, box, credential_ids, owner_id: str) -> dict[str, str]:
    env: dict[str, str] = {}
    now = utcnow()
    for credential_id in credential_ids:
        cred = store.credential_by_id(credential_id)
        if cred is None or cred.owner_type != "user" or cred.owner_id != owner_id:
            raise CredentialUnavailable(f"credential {credential_id} is no longer available to this task's owner")
        label = f"credential {cred.credential_name!r} ({cred.id})"
        if not cred.is_active:
            raise CredentialUnavailable(f"{label} was disabled after the task was created")
        if cred.expires_at is not None and cred.expires_at <= now:
            raise CredentialUnavailable(f"{label} has expired")
        if box is None:
            raise CredentialUnavailable(f"{label}: this server has no credentials key")
        try:
            secret = box.open(cred.credential_ciphertext, credential_aad(cred.id, cred.owner_type, cred.owner_id),
                              cred.credential_kid)
        except SecretBoxError as exc:
            raise CredentialUnavailable(f"{label} cannot be opened: {exc}; rotate it") from None
        env[credential_env_name(cred.credential_name)] = secret
    return env
