"""Password hashing, opaque tokens and the login rate limiter."""

import base64
import functools
import hashlib
import hmac
import secrets
import threading
import time

# scrypt n=2^15, r=8, p=3: one of OWASP's listed equivalents. Needs 128*n*r = 32 MiB per hash, so maxmem is
# raised above OpenSSL's 32 MiB default. The parameters travel in the stored string so they can be raised later.
_N, _R, _P = 2**15, 8, 3
_MAXMEM = 64 * 1024 * 1024
_PREFIX = "scrypt"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM, dklen=32)
    return f"${_PREFIX}$n={_N},r={_R},p={_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check against a stored hash; a None hash (no password) is checked against a dummy."""
    try:
        _, prefix, params, salt, digest = (stored or _dummy_hash()).split("$")
        cost = dict(item.split("=") for item in params.split(","))
        if prefix != _PREFIX:
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(cost["n"]), r=int(cost["r"]),
                                p=int(cost["p"]), maxmem=_MAXMEM, dklen=len(expected))
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(actual, expected) and stored is not None


@functools.cache
def _dummy_hash() -> str:
    """Checked for unknown handles, so a failed login costs the same time whether or not the handle exists."""
    return hash_password(secrets.token_urlsafe(16))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Only this digest is stored; a leaked database does not yield usable tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


class RateLimiter:
    """Sliding-window counter per key (client IP or handle). In memory: limits reset on restart."""

    def __init__(self, limit: int, window: float = 60.0, clock=time.monotonic):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may try now."""
        with self._lock:
            hits = self._fresh(key)
            if self.limit and len(hits) >= self.limit:
                return max(1, int(hits[0] + self.window - self._clock() + 0.999))
            return 0

    def hit(self, key: str) -> None:
        with self._lock:
            self._fresh(key).append(self._clock())
            if len(self._hits) > 10000:  # bound memory under a spray of distinct keys
                self._purge()

    def _fresh(self, key: str) -> list[float]:
        cutoff = self._clock() - self.window
        hits = [t for t in self._hits.get(key, ()) if t > cutoff]
        self._hits[key] = hits
        return hits

    def _purge(self) -> None:
        cutoff = self._clock() - self.window
        self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > cutoff}
