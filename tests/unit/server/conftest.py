"""Server tests call the real app as WSGI over a real SQLite store in a temp dir (a fresh one per test)."""

import pytest

from tests.support.server import Backend


@pytest.fixture(name="backend")
def fixture_backend(tmp_path):
    backend = Backend(tmp_path / "data", max_body_bytes=1024, login_limit_per_ip=1000)
    yield backend
    backend.close()


@pytest.fixture(name="alice")
def fixture_alice(backend):
    """A user's requests: alice(method, path, **kwargs) with her token; `alice.user` is her record."""
    user = backend.add_user("alice")
    token = backend.session(user).access

    def call(method, path, **kwargs):
        return backend.call(method, path, token=token, **kwargs)

    call.user = user
    return call
