"""Server tests call the real app as WSGI over a real SQLite store in a temp dir (a fresh one per test)."""

import pytest

from tests.support.server import Backend


@pytest.fixture(name="backend")
def fixture_backend(tmp_path):
    backend = Backend(tmp_path / "data", max_body_bytes=1024, login_limit_per_ip=1000)
    yield backend
    backend.close()
