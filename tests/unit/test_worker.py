"""`cynode worker` start-up: a database that cannot be reached is one line and exit 2, its password hidden."""

from cynode import worker
from cynode.server import serve
from tests.support.server import make_settings


def test_a_worker_whose_database_cannot_be_reached_exits_2_with_one_line(tmp_path, capsys):
    settings = make_settings(tmp_path, database="postgresql://root:url-pw@127.0.0.1:1/test", workers=1)
    assert worker.run(settings) == 2  # nothing listens on port 1
    assert capsys.readouterr().err == ("Error: database unreachable (postgresql://root:***@127.0.0.1:1/test): "
                                       "[Errno 111] Connection refused\n")


def test_a_worker_or_a_gateway_without_dispatcher_on_sqlite_is_a_usage_error(tmp_path, capsys):
    """Nothing would ever run their jobs: SQLite serves one process, which then must dispatch itself."""
    data = ["--data-dir", str(tmp_path)]
    assert worker.main([*data, "--database", f"sqlite:///{tmp_path}/x.db"]) == 2
    assert capsys.readouterr().err.startswith("Error: database: a worker shares a PostgreSQL database")
    assert serve.main([*data, "--no-dispatch"]) == 2
    assert capsys.readouterr().err.startswith("Error: no_dispatch: a gateway without a dispatcher needs")
    assert not (tmp_path / "cynode.db").exists()  # refused before anything was opened
