"""`cynode serve`: settings, database, bootstrap, then waitress until SIGTERM/SIGINT.

Usage:
  cynode serve [--listen=HOST:PORT] [--data-dir=DIR] [--database=URL] [--sandbox=KIND] [--workers=N] [--config=FILE]
               [--inference-url=URL] [--inference-api=API] [--inference-model=NAME]
  cynode serve -h | --help

Options:
  --listen=HOST:PORT      address to listen on [env: CYNODE_LISTEN; default: 127.0.0.1:8080]
  --data-dir=DIR          data directory [env: CYNODE_DATA_DIR; default: $XDG_DATA_HOME/cynode]
  --database=URL          sqlite:///PATH or postgresql://USER@HOST:PORT/DB [env: CYNODE_DATABASE;
                          default: SQLite file in the data dir]
  --sandbox=KIND          how jobs are isolated: auto, bwrap, process or none [env: CYNODE_SANDBOX; default: auto]
  --workers=N             dispatcher threads running jobs, 0 for none [env: CYNODE_WORKERS; default: 4]
  --config=FILE           YAML file with settings (keys as in the table below) [env: CYNODE_CONFIG]
  --inference-url=URL     the inference backend for prompt tasks and chat [env: CYNODE_INFERENCE_URL; default: none]
  --inference-api=API     its API: ollama or openai [env: CYNODE_INFERENCE_API; default: ollama]
  --inference-model=NAME  the model to use [env: CYNODE_INFERENCE_MODEL; default: qwen3.5:0.8b]
  -h, --help              show this help

Every setting can also be given in the environment as CYNODE_<NAME>:
"""

import logging
import os
import shutil
import signal
import sys
import tempfile

from cynode.server.app import log_message, make_app, server_problem, upload_limit
from cynode.server.bootstrap import ensure_admin, ensure_system_skill
from cynode.server.deps import Deps
from cynode.server.errors import ApiError
from cynode.settings import SPECS, SettingsError, resolve
from cynode.store.database import DatabaseUnavailable, redact, resolve_password
from cynode.usage import unknown_flag

LOG = logging.getLogger("cynode")
SHUTDOWN_GRACE_SECONDS = 10  # running jobs get this long to finish on SIGTERM, then they are killed (failed)
# threads holding a database connection besides the HTTP and job threads: main (start-up, shutdown), heartbeat,
# monitor, and one to spare (a listener)
OTHER_DATABASE_THREADS = 4


def usage() -> str:
    rows = "\n".join(f"  {spec.env:<34} {spec.help} [default: {spec.default}]" for spec in SPECS)
    return __doc__.split("\n", 2)[2] + rows + "\n"


def _configure_logging() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # waitress warns on every queued request under load; the request log already shows latency.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def _stop(signum, _frame):
    LOG.info("%s: shutting down", signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second signal ends the process at once
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # waitress's run() catches this, stops accepting and closes (in-flight requests get waitress's 5 s)
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    from docopt import DocoptExit, docopt  # pylint: disable=import-outside-toplevel

    try:
        args = docopt(usage(), ["serve", *argv], default_help=False)
    except DocoptExit as exc:
        flag = unknown_flag(usage(), argv)
        message = f"unknown flag: {flag}" if flag else str(exc).splitlines()[0]
        print(f"Error: {message}\n\n{usage()}", file=sys.stderr)
        return 2
    if args["--help"]:
        print(usage())
        return 0
    # every flag but --config and --help is a setting of the same name: --data-dir -> data_dir
    flags = {name[2:].replace("-", "_"): value for name, value in args.items()
             if name.startswith("--") and name not in ("--config", "--help")}
    try:
        settings = resolve(flags, config_path=args["--config"])
    except SettingsError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    _configure_logging()
    return run(settings)


def _jobs(settings):
    """The sandbox runner (None when this server runs no jobs) with its warning, and the prepared workspace."""
    # pylint: disable=import-outside-toplevel  # the server side loads only for `serve`
    from cynode.dispatch.sandbox import make_runner
    from cynode.dispatch.workspace import Workspace, work_root_for

    runner, warning = make_runner(settings.sandbox) if settings.workers else (None, None)
    # Jobs outside bubblewrap walk host paths to their work dir, as a job uid when the server is root.
    walks = os.geteuid() == 0 and runner is not None and runner.name != "bwrap"
    workspace = Workspace(settings.data_dir, work_root_for(settings.data_dir, settings.work_root, walks))
    workspace.prepare()
    return runner, warning, workspace


def _open(settings):  # pylint: disable=too-many-locals  # the one place the server's parts are put together
    """Sandbox runner, workspace, database (migrated, admin ensured), inference client, and the dispatcher."""
    # pylint: disable=import-outside-toplevel  # the server side loads only for `serve`
    from cynode.dispatch import kernel
    from cynode.dispatch.dispatcher import Dispatcher
    from cynode.inference.client import Backend, Client
    from cynode.store.store import Store

    os.umask(0o077)  # everything the server writes is private to it; jobs never read the data dir
    kernel.set_dumpable(False)  # nor its memory or /proc/PID/environ, even as a job of the same uid
    runner, warning, workspace = _jobs(settings)  # before the next line: the job uid locks are host-wide, in /tmp
    tempfile.tempdir = private_tempdir(settings.data_dir)
    store = Store(settings.database, password=resolve_password(settings.database_password_file, os.environ),
                  max_connections=settings.http_threads + settings.workers + OTHER_DATABASE_THREADS)
    store.migrate()
    ensure_admin(store, settings.admin_password, lambda text: LOG.warning("%s", text))
    box = _secretbox(settings, store)
    ensure_system_skill(store)
    notes = (warning,) if warning else ()
    for note in notes:
        LOG.warning("%s", note)
    backend = Backend.from_settings(settings)
    inference = Client(backend) if backend else None  # one client for prompt jobs and chat
    dispatcher = (Dispatcher(store, runner, settings, workspace, inference, secretbox=box)
                  if settings.workers else None)
    return Deps(settings, store, workspace, dispatcher, notes=notes, inference=inference, secretbox=box)


def private_tempdir(data_dir: str) -> str:
    """`<data dir>/tmp`, emptied: where this process's temp files go (request bodies over 1 MiB that bottle and the
    multipart parser spool to disk), instead of the host's shared /tmp, where jobs of the plain process runner
    write, other processes clean up, and names alone tell who uploads what."""
    path = os.path.join(data_dir, "tmp")
    shutil.rmtree(path, ignore_errors=True)  # a crashed server's spooled bodies
    os.makedirs(path, mode=0o700)
    return path


def _secretbox(settings, store):
    """The credentials key (refusing to start on a bad one), and a warning when stored credentials were sealed
    with another key: they can be rotated, not used."""
    from cynode.secretbox import SecretBox  # pylint: disable=import-outside-toplevel

    box = SecretBox.load(settings.data_dir, settings.credentials_key)
    unreadable = store.count_credentials_sealed_by_other_keys(box.kid)
    if unreadable:
        LOG.warning("%d credential(s) were sealed with another credentials key than this one (%s): jobs cannot "
                    "receive them until they are rotated", unreadable, box.kid)
    return box


class _EscapedMessages(logging.Filter):
    """waitress puts request paths into its own log messages ("Client disconnected while serving /x..."):
    escaped like the request log, so a client cannot add lines to the server's log through them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = log_message(message), None
        return True


_WAITRESS_LOG_FILTER = _EscapedMessages()


def create_server(app, host: str, port: int, threads: int, body_limit: int, socket_map: dict | None = None):
    """waitress serving `app`. Every error waitress answers by itself, without calling the app (a body over
    `body_limit`, an unparsable request, header fields too large, an unsupported transfer coding, a crash), is a
    problem+json response logged like any request, through waitress's own hooks: the listeners' channel class
    and its error task class."""
    # pylint: disable=import-outside-toplevel  # the server side loads only for `serve`
    import waitress
    from waitress.channel import HTTPChannel
    from waitress.server import BaseWSGIServer
    from waitress.task import ErrorTask

    class ProblemErrorTask(ErrorTask):
        """waitress's ErrorTask, answering problem+json instead of its text/plain page."""

        def execute(self):
            error = self.request.error
            detail = f"request body exceeds {body_limit} bytes" if error.code == 413 else error.body
            status, headers, body = server_problem(error.code, detail, getattr(self.request, "command", None),
                                                   getattr(self.request, "path", None))
            self.status = status
            self.response_headers.extend(headers)
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    logging.getLogger("waitress").addFilter(_WAITRESS_LOG_FILTER)  # once: the same filter is never added twice
    socket_map = {} if socket_map is None else socket_map
    # waitress refuses a Content-Length >= its limit; the app's limits let a body of exactly the limit through.
    # waitress would strip X-Forwarded-For from every peer (none is its trusted proxy), so the setting
    # trust_proxy_headers could never take effect; the app alone decides whether to believe that header.
    server = waitress.create_server(app, map=socket_map, host=host, port=port, threads=threads, ident="cynode",
                                    max_request_body_size=body_limit + 1, clear_untrusted_proxy_headers=False)
    channel = type("ProblemChannel", (HTTPChannel,), {"error_task_class": ProblemErrorTask})
    for listener in socket_map.values():  # one per listening socket (a host name may resolve to several)
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel
    return server


def run(settings) -> int:
    try:
        deps = _open(settings)
    except DatabaseUnavailable as exc:
        print(f"Error: database unreachable ({redact(settings.database)}): {exc}", file=sys.stderr)
        return 2
    except (ApiError, RuntimeError, ValueError, OSError) as exc:
        print(f"Error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    host, port = settings.host_port
    server = create_server(make_app(deps), host, port, settings.http_threads, upload_limit(settings.max_body_bytes))
    if deps.dispatcher:
        deps.dispatcher.recover()
        deps.dispatcher.start()
    deps.store.release()  # the main thread is done with the database until shutdown
    LOG.info("listening on http://%s:%s database=%s sandbox=%s workers=%d work_root=%s", host,
             server.effective_port, deps.store.backend, deps.dispatcher.runner.name if deps.dispatcher else "-",
             settings.workers, deps.workspace.work_root)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.run()
    finally:
        if deps.dispatcher:
            deps.dispatcher.stop(grace=SHUTDOWN_GRACE_SECONDS)
        deps.store.close()
    LOG.info("stopped")
    return 0
