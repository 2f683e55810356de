"""Sealing credential secrets: standard AES-256-GCM (cryptography's AESGCM is the independent oracle), bound to
its row, refusing a wrong key, and a key that is never shown."""

import base64
import os
import stat

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cynode.secretbox import KEY_FILE, SecretBox, SecretBoxError, credential_aad, parse_key

KEY = bytes(range(32))
AAD = credential_aad("id-1", "user", "owner-1")


def _raw(token: str) -> bytes:
    body = token.split(".", 1)[1]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _token(raw: bytes) -> str:
    return "v1." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_sealed_secret_opens_again_and_holds_no_plaintext():
    box = SecretBox(KEY)
    sealed = box.seal("s3cret-välue", AAD)
    assert "s3cret" not in sealed and sealed.startswith("v1.")
    assert box.open(sealed, AAD, box.kid) == "s3cret-välue"
    assert box.seal("s3cret-välue", AAD) != sealed  # a fresh nonce every time


def test_our_ciphertext_is_standard_aes_gcm_and_theirs_opens_with_us():
    box = SecretBox(KEY)
    raw = _raw(box.seal("hello", AAD))
    assert AESGCM(KEY).decrypt(raw[:12], raw[12:], AAD) == b"hello"
    nonce = os.urandom(12)
    theirs = _token(nonce + AESGCM(KEY).encrypt(nonce, "from the oracle".encode(), AAD))
    assert box.open(theirs, AAD, box.kid) == "from the oracle"


@pytest.mark.parametrize("position", [0, 12, -1])  # nonce, ciphertext, tag
def test_a_flipped_bit_anywhere_fails_to_open(position):
    box = SecretBox(KEY)
    raw = bytearray(_raw(box.seal("hello", AAD)))
    raw[position] ^= 1
    with pytest.raises(SecretBoxError, match="altered"):
        box.open(_token(bytes(raw)), AAD, box.kid)


def test_a_ciphertext_moved_to_another_row_or_owner_fails_to_open():
    box = SecretBox(KEY)
    sealed = box.seal("hello", AAD)
    for other in (credential_aad("id-2", "user", "owner-1"), credential_aad("id-1", "user", "owner-2"),
                  credential_aad("id-1", "group", "owner-1")):
        with pytest.raises(SecretBoxError):
            box.open(sealed, other, box.kid)


def test_another_key_is_named_as_such_and_never_opens():
    sealed = SecretBox(KEY).seal("hello", AAD)
    other = SecretBox(bytes(32))
    assert other.kid != SecretBox(KEY).kid
    with pytest.raises(SecretBoxError, match="another credentials key"):
        other.open(sealed, AAD, SecretBox(KEY).kid)
    with pytest.raises(SecretBoxError):  # even when the row claims the wrong key's id
        other.open(sealed, AAD, other.kid)


@pytest.mark.parametrize("token", ["", "v1.", "v2.AAAA", "v1.!!!!", "v1." + "A" * 20])
def test_damaged_text_is_an_error_not_a_crash(token):
    box = SecretBox(KEY)
    with pytest.raises(SecretBoxError):
        box.open(token, AAD, box.kid)


def test_the_key_file_is_made_once_private_and_reused(tmp_path):
    first = SecretBox.load(str(tmp_path), None)
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(parse_key(path.read_text(), "x")) == 32
    assert SecretBox.load(str(tmp_path), None).kid == first.kid
    key_text = path.read_text().strip()
    assert key_text not in repr(first) and key_text not in first.kid


def test_a_key_file_others_can_read_is_refused(tmp_path):
    SecretBox.load(str(tmp_path), None)
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(SecretBoxError, match="chmod 600"):
        SecretBox.load(str(tmp_path), None)


def test_a_configured_key_wins_and_a_bad_one_is_refused_without_echoing_it(tmp_path):
    text = base64.urlsafe_b64encode(KEY).rstrip(b"=").decode()
    assert SecretBox.load(str(tmp_path), text).kid == SecretBox(KEY).kid
    assert not (tmp_path / KEY_FILE).exists()
    for bad in ("not a key!", "c2hvcnQ", base64.urlsafe_b64encode(bytes(31)).decode()):
        with pytest.raises(SecretBoxError) as caught:
            SecretBox.load(str(tmp_path), bad)
        assert bad not in str(caught.value) and "CYNODE_CREDENTIALS_KEY" in str(caught.value)
