"""`cynode serve`: settings, database, bootstrap, then waitress until SIGTERM/SIGINT.

Usage:
  cynode serve [--listen=HOST:PORT] [--data-dir=DIR] [--database=URL] [--config=FILE]
  cynode serve -h | --help

Options:
  --listen=HOST:PORT  address to listen on [env: CYNODE_LISTEN; default: 127.0.0.1:8080]
  --data-dir=DIR      data directory [env: CYNODE_DATA_DIR; default: $XDG_DATA_HOME/cynode]
  --database=URL      sqlite:///PATH or postgresql://USER@HOST:PORT/DB [env: CYNODE_DATABASE;
                      default: SQLite file in the data dir]
  --config=FILE       YAML file with settings (keys as in the table below) [env: CYNODE_CONFIG]
  -h, --help          show this help

Every setting can also be given in the environment as CYNODE_<NAME>:
"""

import logging
import os
import signal
import sys

from cynode.server.app import make_app
from cynode.server.bootstrap import ensure_admin
from cynode.server.deps import Deps
from cynode.server.errors import ApiError
from cynode.settings import SPECS, SettingsError, resolve

LOG = logging.getLogger("cynode")


def usage() -> str:
    rows = "\n".join(f"  {spec.env:<34} {spec.help} [default: {spec.default}]" for spec in SPECS)
    return __doc__.split("\n", 2)[2] + rows + "\n"


def _configure_logging() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # waitress warns on every queued request under load; the request log already shows latency.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def _stop(_signum, _frame):
    raise KeyboardInterrupt  # unwinds waitress's loop in the main thread; handled below


def main(argv: list[str]) -> int:
    from docopt import DocoptExit, docopt  # pylint: disable=import-outside-toplevel

    try:
        args = docopt(usage(), ["serve", *argv], default_help=False)
    except DocoptExit as exc:
        print(f"Error: {exc}".splitlines()[0] + "\n" + usage(), file=sys.stderr)
        return 2
    if args["--help"]:
        print(usage())
        return 0
    flags = {"listen": args["--listen"], "data_dir": args["--data-dir"], "database": args["--database"]}
    try:
        settings = resolve(flags, config_path=args["--config"])
    except SettingsError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    _configure_logging()
    return run(settings)


def run(settings) -> int:
    import waitress  # pylint: disable=import-outside-toplevel

    from cynode.store.store import Store  # pylint: disable=import-outside-toplevel

    os.makedirs(settings.data_dir, mode=0o700, exist_ok=True)
    store = Store(settings.database)
    try:
        version = store.migrate()
        ensure_admin(store, settings.admin_password, lambda text: LOG.warning("%s", text))
    except (ApiError, RuntimeError) as exc:
        print(f"Error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    host, port = settings.host_port
    server = waitress.create_server(make_app(Deps(settings, store)), host=host, port=port,
                                    threads=settings.http_threads, ident="cynode",
                                    max_request_body_size=settings.max_body_bytes + 65536)
    LOG.info("listening on http://%s:%s database=%s schema=v%d", host, server.effective_port, store.backend,
             version)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.run()
    except KeyboardInterrupt:
        LOG.info("shutting down")
    finally:
        server.close()
        server.task_dispatcher.shutdown(timeout=30)  # let in-flight requests finish
        store.close()
    return 0
