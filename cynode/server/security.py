"""Password hashing, opaque tokens and the login rate limiter."""

import base64
import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque

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


API_TOKEN_PREFIX = "cyn_"  # marks a personal API token, so secret scanners can find a leaked one


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Only this digest is stored; a leaked database does not yield usable tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


class RateLimiter:
    """Sliding-window counter per key (a client IP, or a handle with the client IP). In memory: limits reset on
    restart.

    Memory is bounded whatever clients send: at most `max_keys` keys, each with at most `limit` timestamps, and a
    key whose text is longer than MAX_KEY_CHARS is kept only as its SHA-256 digest. When the table is full, keys
    whose last hit has left the window go first, then the least recently hit ones.
    """

    MAX_KEY_CHARS = 256

    def __init__(self, limit: int, window: float = 60.0, clock=time.monotonic, max_keys: int = 10_000):
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._hits: OrderedDict[object, deque] = OrderedDict()  # least recently hit first
        self._lock = threading.Lock()

    def retry_after(self, key) -> int:
        """Seconds until `key` may try again; 0 when it may try now."""
        with self._lock:
            hits = self._fresh(self._slot(key))
            if self.limit and len(hits) >= self.limit:
                return max(1, int(hits[0] + self.window - self._clock() + 0.999))
            return 0

    def hit(self, key) -> None:
        if not self.limit:
            return  # unlimited: nothing to remember
        with self._lock:
            slot = self._slot(key)
            hits = self._fresh(slot)
            if not hits:
                hits = self._hits[slot] = deque(maxlen=self.limit)  # older hits never matter
            hits.append(self._clock())
            self._hits.move_to_end(slot)
            if len(self._hits) > self.max_keys:
                self._evict()

    def _slot(self, key):
        """`key` itself (a string or a tuple of strings), or its digest when its text is long."""
        text = repr(key)
        if len(text) <= self.MAX_KEY_CHARS:
            return key
        return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()

    def _fresh(self, slot) -> deque:
        """The hits of `slot` still inside the window (empty when none); never adds a key."""
        hits = self._hits.get(slot)
        if hits is None:
            return deque()
        cutoff = self._clock() - self.window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if not hits:
            del self._hits[slot]
        return hits

    def _evict(self) -> None:
        cutoff = self._clock() - self.window
        while self._hits:
            oldest, hits = next(iter(self._hits.items()))
            if hits[-1] > cutoff and len(self._hits) <= self.max_keys:
                return
            del self._hits[oldest]
