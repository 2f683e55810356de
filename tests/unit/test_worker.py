"""`cynode worker` start-up: a database that cannot be reached is one line and exit 2, its password hidden."""

from cynode import worker
from tests.support.server import make_settings


def test_a_worker_whose_database_cannot_be_reached_exits_2_with_one_line(tmp_path, capsys):
    settings = make_settings(tmp_path, database="postgresql://root:url-pw@127.0.0.1:1/test", workers=1)
    assert worker.run(settings) == 2  # nothing listens on port 1
    assert capsys.readouterr().err == ("Error: database unreachable (postgresql://root:***@127.0.0.1:1/test): "
                                       "[Errno 111] Connection refused\n")
