"""Password hashing, tokens and the login rate limiter."""

import base64
import hashlib
import tracemalloc

import pytest

from cynode.server.security import RateLimiter, new_token, token_hash, verify_password
from tests.support.server import PASSWORD, password_hash


def test_hash_round_trip_and_wrong_password():
    stored = password_hash()
    assert stored.startswith("$scrypt$n=32768,r=8,p=3$") and PASSWORD not in stored
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "x", stored)


def test_parameters_travel_with_the_hash():
    """A hash made with other (here: cheaper) parameters still verifies, so the cost can be raised later."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"old-password", salt=salt, n=1024, r=8, p=1, dklen=32)
    b64 = lambda raw: base64.b64encode(raw).decode().rstrip("=")  # pylint: disable=unnecessary-lambda-assignment
    stored = f"$scrypt$n=1024,r=8,p=1${b64(salt)}${b64(digest)}"
    assert verify_password("old-password", stored)
    assert not verify_password("other", stored)


@pytest.mark.parametrize("stored", [
    "garbage", "$scrypt$n=x,r=8,p=1$AAAA$AAAA", "$bcrypt$n=1024,r=8,p=1$AAAA$AAAA", "$scrypt$r=8,p=1$AAAA$AAAA",
    "$scrypt$n=1024,r=8,p=1$!!!$AAAA", "$scrypt$n=1000,r=8,p=1$AAAA$AAAA", "$scrypt$nonsense$AAAA$AAAA",
])
def test_a_malformed_stored_hash_never_verifies(stored):
    assert verify_password(PASSWORD, stored) is False


def test_no_hash_is_checked_against_a_dummy_and_fails(monkeypatch):
    """Unknown handles cost a real scrypt run (so timing does not reveal them) and never succeed."""
    calls = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: calls.append(k["n"]) or real(*a, **k))
    assert verify_password(PASSWORD, None) is False
    assert 32768 in calls


def test_tokens_are_random_and_stored_only_as_digests():
    token = new_token()
    assert len(token) >= 43 and token != new_token()
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest() and token not in token_hash(token)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_rate_limiter_window_and_retry_after():
    clock = Clock()
    limiter = RateLimiter(3, window=60, clock=clock)
    for offset in (0, 10, 20):
        clock.now = 1000 + offset
        assert limiter.retry_after("ip") == 0
        limiter.hit("ip")
    assert limiter.retry_after("ip") == 40  # the oldest hit (t=0) leaves the window at t=60
    assert limiter.retry_after("other") == 0
    clock.now = 1059.5
    assert limiter.retry_after("ip") == 1  # never 0 while limited: rounded up
    clock.now = 1060.0
    assert limiter.retry_after("ip") == 0
    limiter.hit("ip")
    assert limiter.retry_after("ip") == 10  # now the t=10 hit is the oldest of three


def test_rate_limit_zero_means_unlimited():
    limiter = RateLimiter(0, clock=Clock())
    for _ in range(100):
        limiter.hit("ip")
    assert limiter.retry_after("ip") == 0


def test_rate_limiter_memory_is_bounded():
    """A spray of distinct keys (e.g. made-up handles) does not grow memory without bound."""
    clock = Clock()
    limiter = RateLimiter(5, window=60, clock=clock)
    for number in range(10001):
        limiter.hit(f"key-{number}")
    clock.now += 61
    limiter.hit("late")
    assert len(limiter._hits) <= 2  # pylint: disable=protected-access  # memory is not otherwise observable


def test_a_full_rate_limiter_evicts_the_least_recently_hit_key():
    clock = Clock()
    limiter = RateLimiter(1, window=60, clock=clock, max_keys=3)
    for key in ("a", "b", "c"):
        limiter.hit(key)
    limiter.hit("a")  # "a" is now the most recently hit, "b" the least
    limiter.hit("d")
    assert [limiter.retry_after(key) > 0 for key in ("a", "b", "c", "d")] == [True, False, True, True]


def test_checking_a_key_does_not_make_the_limiter_remember_it():
    limiter = RateLimiter(1, window=60, clock=Clock(), max_keys=2)
    limiter.hit("a")
    for number in range(100):
        assert limiter.retry_after(f"never-hit-{number}") == 0
    limiter.hit("b")
    assert limiter.retry_after("a") > 0  # neither the checks nor "b" pushed "a" out


def test_huge_keys_are_not_kept_and_still_count():
    """30 failed logins with 2 MB handles once kept 60 MB of handles; a long key is kept as its digest."""
    limiter = RateLimiter(2, window=60, clock=Clock())
    handles = [chr(97 + n) * (2 << 20) for n in range(30)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for handle in handles:
            limiter.hit((handle, "203.0.113.1"))
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 100_000, kept
    limiter.hit((handles[0], "203.0.113.1"))
    assert limiter.retry_after((handles[0], "203.0.113.1")) > 0
    assert limiter.retry_after((handles[0], "198.51.100.7")) == 0
