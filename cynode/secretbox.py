"""Credential secrets at rest: AES-256-GCM (authenticated encryption) under one server key.

The key is 32 random bytes written as unpadded base64url (43 characters). It comes from the setting
`credentials_key` (CYNODE_CREDENTIALS_KEY) or else from the file `credentials.key` in the data dir, created on
first start with mode 0600 and never printed. A sealed secret is `v1.<base64url(nonce | ciphertext | tag)>` with a
fresh random 96-bit nonce, and is bound to its row by associated data (the caller passes the credential's id and
owner), so a ciphertext copied onto another row does not open. The key id (`kid`) stored with each row says which
key sealed it, so a wrong key is reported as such rather than as damaged data.

AES-GCM comes from tlslite-ng's pure-Python implementation (the zipapp carries no compiled extension); it is
imported only when a secret is sealed or opened, so neither start-up nor the CLI pays for it.
"""

import base64
import binascii
import hashlib
import os
import secrets
from pathlib import Path

KEY_FILE = "credentials.key"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
VERSION = "v1"
KEY_FORMAT = "32 random bytes as base64url, e.g. from: python3 -c \"import secrets; print(secrets.token_urlsafe(32))\""


class SecretBoxError(ValueError):
    """A sealed secret cannot be opened (wrong key, tampered or moved ciphertext) or a key is unusable. The
    message never holds a secret or a key."""


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_key(text: str, where: str) -> bytes:
    """The key bytes from their text form; SecretBoxError naming `where` (never the value) otherwise."""
    text = text.strip()
    try:
        if not text or len(text) % 4 == 1 or not set(text) <= set(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="):
            raise ValueError
        key = _b64decode(text.rstrip("="))
    except (ValueError, binascii.Error):
        raise SecretBoxError(f"{where}: not a valid credentials key; expected {KEY_FORMAT}") from None
    if len(key) != KEY_BYTES:
        raise SecretBoxError(f"{where}: a credentials key must be {KEY_BYTES} bytes, this one is {len(key)}; "
                             f"expected {KEY_FORMAT}")
    return key


def _read_or_create_key_file(path: Path) -> bytes:
    """The key in `path`, created first (exclusively, 0600, written in full before it is used) when missing."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    else:  # this process made it: nobody else can have read a half-written file, as it only now gets its content
        text = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).rstrip(b"=") + b"\n"
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    info = os.lstat(path)
    if not path.is_file() or path.is_symlink():
        raise SecretBoxError(f"{path}: the credentials key file must be a regular file")
    if info.st_mode & 0o077:
        raise SecretBoxError(f"{path}: the credentials key file must be readable by its owner only (chmod 600)")
    with open(path, encoding="ascii", errors="replace") as handle:
        return parse_key(handle.read(), str(path))


def key_id(key: bytes) -> str:
    """Names a key without revealing it: the start of a SHA-256 over a label and the key."""
    return "k1-" + hashlib.sha256(b"cynode credentials key id\x00" + key).hexdigest()[:16]


class SecretBox:
    """Seals and opens credential secrets with one key. Safe to share between threads."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise SecretBoxError(f"a credentials key must be {KEY_BYTES} bytes")
        self._key = bytes(key)
        self.kid = key_id(self._key)

    def __repr__(self) -> str:
        return f"SecretBox(kid={self.kid})"  # never the key

    @classmethod
    def load(cls, data_dir: str, configured: str | None) -> "SecretBox":
        """The box for this server: the configured key, else the data dir's key file (made when missing)."""
        if configured:
            return cls(parse_key(configured, "credentials_key (CYNODE_CREDENTIALS_KEY)"))
        return cls(_read_or_create_key_file(Path(data_dir) / KEY_FILE))

    def _aead(self):
        from tlslite.utils import python_aesgcm  # pylint: disable=import-outside-toplevel  # only when used

        return python_aesgcm.new(bytearray(self._key))

    def seal(self, plaintext: str, aad: bytes) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead().seal(bytearray(nonce), bytearray(plaintext.encode("utf-8")), bytearray(aad))
        return f"{VERSION}." + base64.urlsafe_b64encode(nonce + bytes(sealed)).rstrip(b"=").decode("ascii")

    def open(self, token: str, aad: bytes, kid: str) -> str:
        """The plaintext; SecretBoxError when another key sealed it, or it was altered or moved to another row."""
        if kid != self.kid:
            raise SecretBoxError(f"sealed with another credentials key ({kid}); this server's key is {self.kid}")
        version, _, body = token.partition(".")
        try:
            raw = _b64decode(body) if version == VERSION else b""
        except (ValueError, binascii.Error):
            raw = b""
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise SecretBoxError("the sealed secret is damaged")
        opened = self._aead().open(bytearray(raw[:NONCE_BYTES]), bytearray(raw[NONCE_BYTES:]), bytearray(aad))
        if opened is None:
            raise SecretBoxError("the sealed secret does not open: it was altered or belongs to another credential")
        try:
            return bytes(opened).decode("utf-8")
        except UnicodeDecodeError:
            raise SecretBoxError("the sealed secret is damaged") from None


def credential_aad(credential_id: str, owner_type: str, owner_id: str) -> bytes:
    """What binds a sealed secret to its row: a ciphertext copied to another credential or owner fails to open."""
    return f"cynode-credential\x00{credential_id}\x00{owner_type}\x00{owner_id}".encode("utf-8")
